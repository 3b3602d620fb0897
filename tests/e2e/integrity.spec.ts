// Issue 21, parts 2 and 4, in real Chromium against the production build:
//  - a shard of the bundled Inception-v3 damaged in Cache Storage is detected on the next load,
//    fetched again (that file only) and replaced, and the embeddings equal the known-good ones;
//  - an update that ships other weights at the same URLs (a new manifest and a changed shard,
//    served by the test as the new deploy) replaces the cached file, gives the extractor a new key,
//    re-embeds the project (the UI says why) and trains on the new vectors; going back to the old
//    weights restores the old vectors from the stash exactly;
//  - persistent storage refused: said once, with a working project export; a project deleted
//    behind the app's back (the database deleted, as an eviction does) is reported at start until
//    acknowledged, with its name from the localStorage marker or its count from the cookie alone.
// The service worker is blocked so that the test's routes see the worker's model requests.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { readStores } from './db';
import { blockModelHosts, classCard as card, datasetFiles, dropFiles, fileForDrop, repoRoot, waitForEngine } from './helpers';

test.use({ serviceWorkers: 'block' });

const MODEL_DIR = path.join(repoRoot, 'public', 'models', 'inception-v3-2015-mixed8');
const KEY0 = 'inception-v3-2015-mixed8@2015-12-05-mixed8-f16/signed/299';
const CACHE = 'glimpse-models-v1';

interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

const sha256 = (b: Buffer | Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

function readManifest(): ManifestFile[] {
  return (JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as { files: ManifestFile[] }).files;
}

/** The app's digest: SHA-256 of the sha256sum-style listing, sorted by name. */
function digestOf(files: ManifestFile[]): string {
  const listing = [...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => `${f.sha256}  ${f.path}\n`).join('');
  return sha256(Buffer.from(listing));
}

/** Model file requests (page and its workers), by file name. */
function watchModelRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const m = /\/models\/inception-v3-2015-mixed8\/([^?]+)/.exec(r.url());
    if (m) seen.push(m[1]!);
  });
  return seen;
}

/** Cached files of the bundled model: name -> { key, sha256 of the cached bytes }. */
function cachedFiles(page: Page): Promise<Record<string, { keys: string[]; sha256: string[] }>> {
  return page.evaluate(async (name) => {
    const cache = await caches.open(name);
    const out: Record<string, { keys: string[]; sha256: string[] }> = {};
    for (const req of await cache.keys()) {
      const m = /\/models\/inception-v3-2015-mixed8\/([^?]+)/.exec(req.url);
      if (!m) continue;
      const bytes = await (await cache.match(req))!.arrayBuffer();
      const hex = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
      const e = (out[m[1]!] ??= { keys: [], sha256: [] });
      e.keys.push(req.url);
      e.sha256.push(hex);
    }
    return out;
  }, CACHE);
}

async function dropClasses(page: Page, root: string, classes: string[], perClass: number): Promise<void> {
  const files = classes.flatMap((c) => datasetFiles('flower_photos', c, perClass).map((f) => fileForDrop(f, `${root}/${c === 'daisy' && root !== 'flowers' ? `${c}-again` : c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
}

/** Embeddings by "class name/file name" for one extractor key. */
async function vectorsByName(page: Page, key: string): Promise<Map<string, number[]>> {
  const { samples, embeddings, classes } = await readStores(page, ['samples', 'embeddings', 'classes']);
  const className = new Map(classes.map((c) => [c.id as string, c.name as string]));
  // A sample's name is its path in the drop ("flowers/daisy/x.jpg"): keyed by class and file name.
  const byId = new Map(samples.map((s) => [s.id as string, `${className.get(s.classId as string)}/${(s.name as string).split('/').pop()}`]));
  const out = new Map<string, number[]>();
  for (const e of embeddings) if (e.extractorKey === key) out.set(byId.get(e.sampleId as string)!, e.vector as number[]);
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function printLoad(page: Page, what: string): Promise<void> {
  const el = page.getByTestId('engine-status');
  const [files, bytes, hashMs, loadMs] = await Promise.all(['data-verified-files', 'data-verified-bytes', 'data-hash-ms', 'data-load-ms'].map((a) => el.getAttribute(a)));
  console.log(`integrity: ${what}: ${files} files, ${(Number(bytes) / 2 ** 20).toFixed(1)} MiB verified, hashing ${hashMs} ms (wall clock), model load ${loadMs} ms`);
}

test.describe('model integrity', () => {
  test('a damaged cached shard is detected on the next load, fetched again (that file only), replaced, and the embeddings equal the known-good ones', async ({ page }) => {
    test.setTimeout(600_000);
    await blockModelHosts(page);
    const requests = watchModelRequests(page);
    await page.goto('./');
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor-key', KEY0);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-verified-files', '8');
    await printLoad(page, 'first load (network)');
    expect(requests.filter((r) => r.endsWith('.bin')).sort()).toEqual(readManifest().filter((f) => f.path.endsWith('.bin')).map((f) => f.path).sort());

    await dropClasses(page, 'flowers', ['daisy'], 3);
    await expect(card(page, 'daisy').getByTestId('class-count')).toHaveText('3', { timeout: 300_000 });
    const good = await vectorsByName(page, KEY0);
    expect(good.size).toBe(3);

    // Damage shard 3 in Cache Storage: same length, 256 bytes overwritten (valid float16 values).
    const manifest = readManifest();
    const shard = manifest.find((f) => f.path === 'group1-shard3of7.bin')!;
    const damaged = await page.evaluate(
      async ({ name, file }) => {
        const cache = await caches.open(name);
        const req = (await cache.keys()).find((r) => r.url.includes(`/${file}?`))!;
        const res = (await cache.match(req))!;
        const bytes = new Uint8Array(await res.arrayBuffer());
        bytes.fill(0x3c, 4096, 4096 + 256);
        await cache.put(req, new Response(bytes, { headers: res.headers }));
        return req.url;
      },
      { name: CACHE, file: shard.path },
    );
    expect(damaged).toContain(`sha256=${shard.sha256}`);
    expect((await cachedFiles(page))[shard.path]!.sha256).not.toEqual([shard.sha256]);

    requests.length = 0;
    await page.reload();
    await waitForEngine(page);
    await printLoad(page, 'reload with a damaged cached shard');
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-repaired', shard.path);
    await expect(page.getByTestId('notice')).toContainText(`had a damaged file (${shard.path}); it was downloaded again and checked`);
    // Only the damaged shard came from the network (and the manifest, revalidated each load).
    expect(requests.filter((r) => r !== 'manifest.json')).toEqual([shard.path]);
    const cached = await cachedFiles(page);
    expect(cached[shard.path]).toEqual({ keys: [damaged], sha256: [shard.sha256] });
    for (const f of manifest) expect(cached[f.path]?.sha256, f.path).toEqual([f.sha256]);

    // The same photos in another class are embedded by the repaired model: bit for bit the known-good vectors.
    await dropClasses(page, 'again', ['daisy'], 3);
    await expect(card(page, 'daisy-again').getByTestId('class-count')).toHaveText('3', { timeout: 300_000 });
    const after = await vectorsByName(page, KEY0);
    for (const [name, vec] of good) {
      const again = after.get(name.replace(/^daisy\//, 'daisy-again/'));
      expect(again, name).toBeDefined();
      expect(maxAbsDiff(vec, again!), name).toBe(0);
    }

    // A reload with nothing damaged fetches no model file at all.
    requests.length = 0;
    await page.reload();
    await waitForEngine(page);
    await printLoad(page, 'reload, all cached');
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-repaired', '');
    expect(requests.filter((r) => r !== 'manifest.json')).toEqual([]);
  });

  test('an update with changed weights replaces the cached file, gives a new key, re-embeds (saying why) and trains; the old weights come back with their stashed vectors', async ({ page, context }) => {
    test.setTimeout(600_000);
    await blockModelHosts(page);
    const requests = watchModelRequests(page);
    await page.goto('./');
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor-key', KEY0);
    const classes = ['daisy', 'roses'];
    await dropClasses(page, 'flowers', classes, 3);
    for (const c of classes) await expect(card(page, c).getByTestId('class-count')).toHaveText('3', { timeout: 300_000 });
    await page.getByTestId('train-button').click();
    await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
    const before = await vectorsByName(page, KEY0);
    expect(before.size).toBe(6);

    // The new deploy: shard 7 (the mixed_8 block) with its float16 values in reverse order, and a
    // manifest that lists it. Same URLs as before.
    const manifest = readManifest();
    const old7 = fs.readFileSync(path.join(MODEL_DIR, 'group1-shard7of7.bin'));
    const new7 = Buffer.from(new Uint16Array(new Uint16Array(old7.buffer.slice(old7.byteOffset, old7.byteOffset + old7.length)).reverse()).buffer);
    const files2 = manifest.map((f) => (f.path === 'group1-shard7of7.bin' ? { ...f, sha256: sha256(new7) } : f));
    const key2 = `${KEY0}#${digestOf(files2).slice(0, 16)}`;
    const manifest2 = JSON.stringify({ files: files2 });
    const deploy = async (ctx: BrowserContext) => {
      await ctx.route('**/models/inception-v3-2015-mixed8/manifest.json', (r) => r.fulfill({ body: manifest2, contentType: 'application/json' }));
      await ctx.route('**/models/inception-v3-2015-mixed8/group1-shard7of7.bin', (r) => r.fulfill({ body: new7, contentType: 'application/octet-stream' }));
    };
    await deploy(context);
    requests.length = 0;
    await page.reload();
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor-key', key2);
    expect(requests.filter((r) => r !== 'manifest.json')).toEqual(['group1-shard7of7.bin']);
    // The cache holds the new shard only (the old one was removed after the new weights loaded).
    const cached = await cachedFiles(page);
    expect(cached['group1-shard7of7.bin']!.sha256).toEqual([sha256(new7)]);
    expect(cached['group1-shard1of7.bin']!.sha256).toEqual([manifest[0]!.sha256]);

    // The project is re-embedded in the background, and the UI says it is an update.
    const status = page.getByTestId('reembed-status');
    await expect(status).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
    await expect(status).toHaveAttribute('data-reason', 'update');
    await expect(status).toHaveAttribute('data-done', '6');
    await expect(status).toContainText('embedded again with the new weights');
    const after = await vectorsByName(page, key2);
    expect(after.size).toBe(6);
    for (const [name, vec] of before) {
      const v2 = after.get(name)!;
      expect(v2.every(Number.isFinite), name).toBe(true);
      expect(maxAbsDiff(vec, v2), name).toBeGreaterThan(1e-3);
    }
    const { embeddings, stash } = await readStores(page, ['embeddings', 'stash']);
    expect(new Set(embeddings.map((e) => e.extractorKey))).toEqual(new Set([key2]));
    expect(stash.filter((s) => s.extractorKey === KEY0).length).toBe(6);

    // Training uses the new vectors.
    await page.getByTestId('train-button').click();
    await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });
    const heads = (await readStores(page, ['heads'])).heads;
    expect(heads.map((h) => h.extractorKey).sort()).toEqual([KEY0, key2].sort());

    // Back to the shipped weights: fetched again, the old key, the stashed vectors restored exactly.
    await context.unrouteAll();
    requests.length = 0;
    await page.reload();
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor-key', KEY0);
    expect(requests.filter((r) => r !== 'manifest.json')).toEqual(['group1-shard7of7.bin']);
    await expect.poll(async () => (await vectorsByName(page, KEY0)).size, { timeout: 120_000 }).toBe(6);
    const restored = await vectorsByName(page, KEY0);
    for (const [name, vec] of before) expect(maxAbsDiff(vec, restored.get(name)!), name).toBe(0);
  });
});

test('a model loaded from files: a damaged file is named on the next load, and Glimpse carries on with the bundled model', async ({ page }) => {
  test.setTimeout(300_000);
  await blockModelHosts(page);
  await page.goto('./');
  await waitForEngine(page);
  await page.getByTestId('settings-toggle').click();
  const box = page.getByTestId('custom-model');
  await box.getByRole('combobox').selectOption('signed');
  const files = fs.readdirSync(MODEL_DIR).filter((f) => /^(model\.json|.*\.bin)$/.test(f)).map((f) => path.join(MODEL_DIR, f));
  await page.getByTestId('custom-model-input').setInputFiles(files);
  await expect(page.getByTestId('custom-model-message')).toContainText('is in use (1280-d embeddings)', { timeout: 120_000 });
  const status = page.getByTestId('engine-status');
  const id = (await status.getAttribute('data-extractor'))!;
  expect(id).toMatch(/^custom-[0-9a-f]{12}$/);
  await expect(status).toHaveAttribute('data-verified-files', '8');

  // One byte of shard 4 changes in Cache Storage.
  const key = await page.evaluate(
    async ({ name, model }) => {
      const cache = await caches.open(name);
      const req = (await cache.keys()).find((r) => r.url.includes(`/custom-models/${model}/group1-shard4of7.bin?sha256=`))!;
      const res = (await cache.match(req))!;
      const bytes = new Uint8Array(await res.arrayBuffer());
      bytes[12345] = bytes[12345]! ^ 0x01;
      await cache.put(req, new Response(bytes, { headers: res.headers }));
      return req.url;
    },
    { name: CACHE, model: id },
  );
  expect(key).toBeTruthy();
  await page.reload();
  await waitForEngine(page);
  await expect(status).toHaveAttribute('data-extractor', 'inception-v3-2015-mixed8');
  await expect(page.getByTestId('notice')).toContainText('The file group1-shard4of7.bin of “Your model (model.json)” is damaged on this device');
  await expect(page.getByTestId('notice')).toContainText('load it again from your files');
  await page.getByTestId('settings-toggle').click();
  await expect(page.getByTestId('custom-model-item')).toHaveCount(1);
});

test.describe('eviction', () => {
  test('persistence refused is said once with a working export; a project deleted behind the app is reported at start until acknowledged', async ({ page }) => {
    test.setTimeout(300_000);
    await blockModelHosts(page);
    // This browser refuses persistent storage (Chromium decides from engagement; here it is forced).
    await page.addInitScript(() => {
      Object.defineProperty(navigator.storage, 'persist', { value: () => Promise.resolve(false) });
      Object.defineProperty(navigator.storage, 'persisted', { value: () => Promise.resolve(false) });
    });
    await page.goto('./');
    await expect(page.getByTestId('class-new-name')).toBeVisible({ timeout: 60_000 });
    // Nothing to lose yet: nothing said.
    await expect(page.getByTestId('persist-denied')).toHaveCount(0);
    await page.getByTestId('class-new-name').fill('cats');
    await page.getByTestId('class-add').click();
    await expect(card(page, 'cats')).toHaveCount(1);
    await expect(page.getByTestId('persist-denied')).toContainText('did not grant persistent storage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('persist-export').click()]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const zip = fs.readFileSync((await download.path())!);
    expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
    // Said once: not again after a reload.
    await page.reload();
    await expect(card(page, 'cats')).toHaveCount(1);
    await page.waitForTimeout(1000);
    await expect(page.getByTestId('persist-denied')).toHaveCount(0);
    await expect(page.getByTestId('eviction-report')).toHaveCount(0);

    // The browser deletes the database (as an eviction does), from a page of the origin that is not the app.
    const evict = async (alsoLocalStorage: boolean) => {
      await page.goto('./manifest.webmanifest');
      await page.evaluate(async (ls) => {
        await new Promise<void>((resolve, reject) => {
          const req = indexedDB.deleteDatabase('glimpse');
          req.onsuccess = () => resolve();
          req.onerror = () => reject(req.error ?? new Error('delete failed'));
        });
        if (ls) localStorage.removeItem('glimpse.projectsKept');
      }, alsoLocalStorage);
      await page.goto('./');
    };
    await evict(false);
    const report = page.getByTestId('eviction-report');
    await expect(report).toContainText('A project that was on this device is gone: “My first project”.');
    await expect(report).toContainText('The browser deleted this site’s stored data');
    await expect(card(page, 'cats')).toHaveCount(0);
    // Not acknowledged: said again on the next start.
    await page.reload();
    await expect(report).toHaveAttribute('data-count', '1');
    await report.getByTestId('eviction-ack').click();
    await expect(report).toHaveCount(0);
    await page.reload();
    await expect(page.getByTestId('class-new-name')).toBeVisible();
    await page.waitForTimeout(1000);
    await expect(report).toHaveCount(0);

    // localStorage gone with it (Firefox evicts it too): the cookie's count still tells.
    await page.getByTestId('class-new-name').fill('dogs');
    await page.getByTestId('class-add').click();
    await expect(card(page, 'dogs')).toHaveCount(1);
    await expect.poll(() => page.evaluate(() => document.cookie)).toContain('glimpse_projects=1');
    await evict(true);
    await expect(report).toContainText('A project that was on this device is gone.');
    await expect(report).toHaveAttribute('data-count', '1');
  });
});
