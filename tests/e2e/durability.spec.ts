// Durability promises in real Chromium (DESIGN.md "Reliability promises", issue 4):
// - a browser killed by PID in the middle of an import loses nothing it reported saved and leaves
//   no half-written sample; dropping the same folder again resumes without duplicates;
// - a full disk (DevTools Storage.overrideQuotaForOrigin) gives the "storage is full" message with
//   its ways out, keeps every earlier sample, and imports work again once there is room;
// - a second tab that moves the database to a newer schema (or a newer database already on disk)
//   makes this page ask for a reload and stop writing, and the newer data is left untouched.
// Rows are counted with raw IndexedDB in the page, bypassing the app.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import {
  blockModelHosts,
  datasetFiles,
  datasets,
  dropFiles,
  fileForDrop,
  stageFiles,
  dropStaged,
  waitForEngine,
  type DropFile,
} from './helpers';
import { CHROMIUM_ARGS } from './chromium';

const PORT = Number(process.env.GLIMPSE_E2E_PORT ?? 4317);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const APP = '/?extractor=resnet50-imagenet';
const DIM = 2048;

/** The flags of playwright.config.ts, for the Chromium this file launches itself. */
const CONFIG_FLAGS = CHROMIUM_ARGS;

interface Rows {
  version: number;
  stores: string[];
  samples: number;
  embeddings: number;
  classes: string[];
  /** Samples without an embedding row, embeddings without a sample, wrong dims, unknown classes. */
  orphanSamples: number;
  orphanEmbeddings: number;
  badDims: number;
  missingClass: number;
  withoutHash: number;
  /** Samples sharing (classId, sha256) with an earlier one. */
  duplicateHashes: number;
  blobs: number;
  perClass: Record<string, number>;
}

/** Counts the rows of the "glimpse" database straight from IndexedDB. */
function storedRows(page: Page): Promise<Rows> {
  return page.evaluate(
    (dim) =>
      new Promise<Rows>((resolve, reject) => {
        const req = indexedDB.open('glimpse');
        req.onerror = () => reject(req.error ?? new Error('open failed'));
        req.onsuccess = () => {
          const db = req.result;
          const stores = [...db.objectStoreNames];
          const tx = db.transaction(['samples', 'embeddings', 'classes'], 'readonly');
          const s = tx.objectStore('samples').getAll();
          const e = tx.objectStore('embeddings').getAll();
          const c = tx.objectStore('classes').getAll();
          tx.onerror = () => reject(tx.error ?? new Error('read failed'));
          tx.oncomplete = () => {
            type S = { id: string; classId: string; sha256?: string; blob: Blob | null };
            type E = { sampleId: string; dim: number; vector: Float32Array | number[] };
            type C = { id: string; name: string };
            const samples = s.result as S[];
            const embeddings = e.result as E[];
            const classes = c.result as C[];
            const classNames = new Map(classes.map((x) => [x.id, x.name]));
            const sampleIds = new Set(samples.map((x) => x.id));
            const embedded = new Set(embeddings.map((x) => x.sampleId));
            const seen = new Set<string>();
            let duplicateHashes = 0;
            const perClass: Record<string, number> = {};
            for (const x of samples) {
              const key = `${x.classId} ${x.sha256 ?? x.id}`;
              if (seen.has(key)) duplicateHashes++;
              seen.add(key);
              const name = classNames.get(x.classId) ?? '?';
              perClass[name] = (perClass[name] ?? 0) + 1;
            }
            resolve({
              version: db.version,
              stores,
              samples: samples.length,
              embeddings: embeddings.length,
              classes: classes.map((x) => x.name),
              orphanSamples: samples.filter((x) => !embedded.has(x.id)).length,
              orphanEmbeddings: embeddings.filter((x) => !sampleIds.has(x.sampleId)).length,
              badDims: embeddings.filter((x) => x.dim !== dim || x.vector.length !== dim).length,
              missingClass: samples.filter((x) => !classNames.has(x.classId)).length,
              withoutHash: samples.filter((x) => typeof x.sha256 !== 'string').length,
              duplicateHashes,
              blobs: samples.filter((x) => x.blob !== null).length,
              perClass,
            });
            db.close();
          };
        };
      }),
    DIM,
  );
}

function expectWhole(rows: Rows): void {
  expect(rows.samples).toBe(rows.embeddings);
  expect(rows.orphanSamples).toBe(0);
  expect(rows.orphanEmbeddings).toBe(0);
  expect(rows.badDims).toBe(0);
  expect(rows.missingClass).toBe(0);
  expect(rows.duplicateHashes).toBe(0);
}

/** Writes 256 KB (always the same key) into a scratch database of the origin: 'ok' or the name of the error. */
function probeWrite(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const req = indexedDB.open('quota-probe', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('s');
        req.onerror = () => resolve(req.error?.name ?? 'open failed');
        req.onsuccess = () => {
          const db = req.result;
          const tx = db.transaction('s', 'readwrite');
          tx.objectStore('s').put(new Uint8Array(256 * 1024), 'x');
          tx.oncomplete = () => {
            db.close();
            resolve('ok');
          };
          tx.onabort = () => {
            db.close();
            resolve(tx.error?.name ?? 'aborted');
          };
        };
      }),
  );
}

async function status(
  page: Page,
  attr: 'done' | 'failed' | 'duplicates' | 'total',
): Promise<number> {
  return Number(await page.getByTestId('import-status').getAttribute(`data-${attr}`));
}

// ---- a Chromium this test owns (so it can kill it by PID) ---------------------------------------

interface Owned {
  proc: ChildProcess;
  pid: number;
  browser: Browser;
  page: Page;
}

async function launchOwned(userDataDir: string): Promise<Owned> {
  const proc = spawn(
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    [
      ...CONFIG_FLAGS,
      '--headless=new',
      '--remote-debugging-port=0',
      `--user-data-dir=${userDataDir}`,
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      '--no-default-browser-check',
      '--mute-audio',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const ws = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${text}`)), 60_000);
    proc.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}):\n${text}`));
    });
  });
  proc.stderr?.resume();
  const browser = await chromium.connectOverCDP(ws);
  const context = browser.contexts()[0] ?? (await browser.newContext());
  const page = context.pages()[0] ?? (await context.newPage());
  return { proc, pid: proc.pid!, browser, page };
}

async function killHard(owned: Owned): Promise<void> {
  const exited = new Promise<void>((resolve) => owned.proc.once('exit', () => resolve()));
  process.kill(owned.pid, 'SIGKILL');
  await exited;
  await owned.browser.close().catch(() => undefined);
}

// ---- tests --------------------------------------------------------------------------------------

test.describe('durability', () => {
  test('killing Chromium by PID mid-import loses nothing reported saved; the import resumes without duplicates', async () => {
    test.setTimeout(900_000);
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glimpse-kill-'));
    // 200 real photos (100x100 JPEGs), two classes, dropped as one folder.
    const files: DropFile[] = ['0', '1'].flatMap((c) =>
      datasetFiles('sign-language-digits', c, 100).map((f) =>
        fileForDrop(f, `digits/${c}/${path.basename(f)}`),
      ),
    );
    expect(files).toHaveLength(200);

    let owned = await launchOwned(userDataDir);
    try {
      let page = owned.page;
      await blockModelHosts(page);
      await page.goto(`${ORIGIN}${APP}`);
      await waitForEngine(page);
      await stageFiles(page, files);
      await dropStaged(page, '[data-testid="folder-drop"]');
      await expect
        .poll(() => status(page, 'done'), { timeout: 300_000, intervals: [100] })
        .toBeGreaterThanOrEqual(12);
      // What the UI says is saved, read just before the kill.
      const reported = await status(page, 'done');
      await killHard(owned);

      owned = await launchOwned(userDataDir);
      page = owned.page;
      await blockModelHosts(page);
      await page.goto(`${ORIGIN}${APP}`);
      await expect(page.getByTestId('teach-view')).toBeVisible();
      const after = await storedRows(page);
      console.log(
        `kill test: UI reported ${reported} saved; after relaunch ${after.samples} samples`,
        after.perClass,
      );
      expectWhole(after);
      expect(after.samples).toBeGreaterThanOrEqual(reported);
      expect(after.samples).toBeLessThan(200); // the kill really came mid-import
      expect(after.withoutHash).toBe(0);
      expect(after.classes.sort()).toEqual(['0', '1']);
      // The UI shows the same counts.
      for (const [name, n] of Object.entries(after.perClass)) {
        const card = page.getByTestId('class-card').filter({
          has: page.getByTestId('class-name').getByText(name, { exact: true }),
        });
        await expect(card.getByTestId('class-count')).toHaveText(String(n));
      }

      // Resume: drop the same folder again. Everything already saved is skipped, the rest is added.
      await waitForEngine(page);
      await stageFiles(page, files);
      await dropStaged(page, '[data-testid="folder-drop"]');
      await expect
        .poll(() => status(page, 'duplicates'), { timeout: 300_000, intervals: [200] })
        .toBe(after.samples);
      await expect
        .poll(() => status(page, 'done'), { timeout: 300_000, intervals: [200] })
        .toBeGreaterThanOrEqual(2);
      // Enough to show the rest goes in; the test does not wait for all 200 on a slow machine.
      await page.getByTestId('import-cancel').click();
      await expect(page.getByTestId('import-status')).toHaveAttribute('data-running', 'false');
      const added = await status(page, 'done');
      const resumed = await storedRows(page);
      console.log(`resume: ${after.samples} skipped as already saved, ${added} added`);
      expectWhole(resumed);
      expect(resumed.samples).toBe(after.samples + added);
      expect(await status(page, 'failed')).toBe(0);
    } finally {
      if (owned.proc.exitCode === null) await killHard(owned).catch(() => undefined);
      // Chromium's helper processes can still be writing into the profile for a moment after the
      // browser is gone (ENOTEMPTY): retry, and never let clean-up of a temp folder fail the test.
      try {
        fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch (err) {
        console.warn(`could not remove ${userDataDir}: ${String(err)}`);
      }
    }
  });

  test('a full disk says so, offers the ways out, keeps earlier samples, and imports work again once there is room', async ({
    page,
  }) => {
    test.setTimeout(600_000);
    await blockModelHosts(page);
    await page.goto(APP);
    await waitForEngine(page);
    const pick = (n: number, offset: number) =>
      datasetFiles('fashion-mnist-tiny', 'bag', n, offset).map((f) =>
        fileForDrop(f, `fm/bag/${path.basename(f)}`),
      );
    await dropFiles(page, '[data-testid="folder-drop"]', pick(6, 0));
    const status$ = page.getByTestId('import-status');
    await expect(status$).toHaveAttribute('data-running', 'false', { timeout: 300_000 });
    await expect(status$).toHaveAttribute('data-done', '6');
    const before = await storedRows(page);
    expect(before.samples).toBe(6);

    // Leave little room: the quota becomes what is used now plus 96 KB, less than one of the
    // photos imported next. Chromium's IndexedDB caches the space it may hand out for up to
    // ~30 s, so wait until a 256 KB probe write (another database of the origin) is refused.
    expect(await probeWrite(page)).toBe('ok');
    const cdp = await page.context().newCDPSession(page);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await cdp.send('Storage.overrideQuotaForOrigin', {
      origin: ORIGIN,
      quotaSize: usage + 96 * 1024,
    });
    await expect
      .poll(() => probeWrite(page), { timeout: 120_000, intervals: [2_000] })
      .toBe('QuotaExceededError');

    // Two photos of 170-180 KB each: they do not fit.
    const photos = ['5869147563_66fb88119d.jpg', '10993710036_2033222c91.jpg'].map((f) =>
      fileForDrop(path.join(datasets, 'flower_photos', 'daisy', f), `fm/daisy/${f}`),
    );
    await page.getByTestId('import-close').click();
    await dropFiles(page, '[data-testid="folder-drop"]', photos);
    await expect(status$).toHaveAttribute('data-outcome', 'stopped', { timeout: 300_000 });
    await expect(page.getByTestId('import-stop-reason')).toHaveAttribute(
      'data-code',
      'quota-exceeded',
    );
    await expect(page.getByTestId('import-stop-reason')).toContainText('Storage is full');
    await expect(page.getByTestId('import-stop-reason')).toContainText(
      'Nothing saved earlier was lost',
    );
    await expect(page.getByTestId('import-stop-reason')).toContainText('export the project');
    await expect(page.getByTestId('drop-originals')).toBeVisible();
    const full = await storedRows(page);
    expectWhole(full);
    expect(full.samples).toBe(6);
    expect(full.blobs).toBe(6);

    // Room again (override removed; Chromium's IndexedDB re-reads the quota after a refusal).
    // Dropping the originals also works now (it rewrites the rows, which needs a little room),
    // and the photos that did not fit go in, nothing duplicated.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: ORIGIN });
    await page.getByTestId('drop-originals').click();
    await page.getByTestId('drop-originals-confirm').click();
    await expect(page.getByTestId('toast').first()).toBeVisible();
    expect(await page.getByTestId('toast').allTextContents()).toEqual([
      expect.stringContaining('Dropped 6 original images'),
    ]);
    const dropped = await storedRows(page);
    expectWhole(dropped);
    expect(dropped.samples).toBe(6);
    expect(dropped.blobs).toBe(0);

    await page.getByTestId('import-close').click();
    await dropFiles(page, '[data-testid="folder-drop"]', photos);
    await expect(status$).toHaveAttribute('data-running', 'false', { timeout: 300_000 });
    await expect(status$).toHaveAttribute('data-outcome', 'finished');
    await expect(status$).toHaveAttribute('data-done', '2');
    const again = await storedRows(page);
    expectWhole(again);
    expect(again.samples).toBe(8);
    expect(again.perClass).toEqual({ bag: 6, daisy: 2 });
  });

  test('a second tab opening a newer schema makes this tab ask for a reload and stop writing', async ({
    page,
    context,
  }) => {
    await blockModelHosts(page);
    await page.goto(APP);
    await expect(page.getByTestId('teach-view')).toBeVisible();
    await page.getByTestId('class-new-name').fill('Before');
    await page.getByTestId('class-add').click();
    await expect(page.getByTestId('class-name').getByText('Before', { exact: true })).toBeVisible();

    // Tab B: a page of the same origin (not the app) opens the database at a higher version.
    const tabB = await context.newPage();
    await tabB.goto('/manifest.webmanifest');
    const version = await tabB.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const req = indexedDB.open('glimpse', 990);
          req.onupgradeneeded = () => req.result.createObjectStore('fromTheFuture');
          req.onerror = () => reject(req.error ?? new Error('open failed'));
          req.onsuccess = () => {
            (window as unknown as { __db: IDBDatabase }).__db = req.result;
            resolve(req.result.version);
          };
        }),
    );
    expect(version).toBe(990);

    const banner = page.getByTestId('reload-banner');
    await expect(banner).toBeVisible();
    await expect(banner).toContainText('Reload this page');

    // A later action shows the reload message instead of writing.
    await page.getByTestId('class-new-name').fill('After');
    await page.getByTestId('class-add').click();
    await expect(
      page.getByTestId('toast').filter({ hasText: 'Reload this page' }).first(),
    ).toBeVisible();
    const rows = await tabB.evaluate(
      () =>
        new Promise<{ version: number; classes: string[] }>((resolve, reject) => {
          const db = (window as unknown as { __db: IDBDatabase }).__db;
          const req = db.transaction('classes').objectStore('classes').getAll();
          req.onerror = () => reject(req.error ?? new Error('read failed'));
          req.onsuccess = () =>
            resolve({
              version: db.version,
              classes: (req.result as { name: string }[]).map((c) => c.name),
            });
        }),
    );
    expect(rows).toEqual({ version: 990, classes: ['Before'] });
    await expect(page.getByTestId('class-name').getByText('After', { exact: true })).toHaveCount(0);
  });

  test('a database from a newer Glimpse already on disk: the app asks to reload and leaves it untouched', async ({
    page,
  }) => {
    await blockModelHosts(page);
    // Written before the app ever runs here: version 99 (IndexedDB 990), some rows.
    await page.goto('/manifest.webmanifest');
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = indexedDB.open('glimpse', 990);
          req.onupgradeneeded = () => {
            const db = req.result;
            db.createObjectStore('projects', { keyPath: 'id' }).put({ id: 'p1', name: 'Future' });
            db.createObjectStore('settings', { keyPath: 'key' });
            db.createObjectStore('fromTheFuture');
          };
          req.onerror = () => reject(req.error ?? new Error('open failed'));
          req.onsuccess = () => {
            req.result.close();
            resolve();
          };
        }),
    );

    await page.goto(APP);
    await expect(page.getByTestId('reload-banner')).toBeVisible();
    await expect(page.getByTestId('reload-banner')).toContainText('newer version of Glimpse');
    await expect(page.getByTestId('projects-error')).toBeVisible();

    const after = await page.evaluate(
      () =>
        new Promise<{ version: number; stores: string[]; projects: unknown[]; settings: number }>(
          (resolve, reject) => {
            const req = indexedDB.open('glimpse');
            req.onerror = () => reject(req.error ?? new Error('open failed'));
            req.onsuccess = () => {
              const db = req.result;
              const tx = db.transaction(['projects', 'settings']);
              const p = tx.objectStore('projects').getAll();
              const s = tx.objectStore('settings').count();
              tx.oncomplete = () => {
                resolve({
                  version: db.version,
                  stores: [...db.objectStoreNames].sort(),
                  projects: p.result,
                  settings: s.result,
                });
                db.close();
              };
            };
          },
        ),
    );
    expect(after).toEqual({
      version: 990,
      stores: ['fromTheFuture', 'projects', 'settings'],
      projects: [{ id: 'p1', name: 'Future' }],
      settings: 0,
    });
  });
});
