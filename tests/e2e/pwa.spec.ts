// Offline first, in real Chromium against the production build: an installable app (manifest,
// icons, service worker, CSP header + meta), the whole teach/train/predict loop with the network
// off and the model served from its own cache, and an update that waits for the user.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, repoRoot, waitForEngine, watchCsp, classCard as card } from './helpers';

const APP = '?extractor=resnet50-imagenet';
const RESNET = '[data-testid="model-offline"][data-extractor="resnet50-imagenet"]';
const DEFAULT_MODEL = '[data-testid="model-offline"][data-extractor="inception-v3-2015-mixed8"]';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(buf.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Resolves once a service worker is active and controls the page. */
async function waitForServiceWorker(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.state ?? null), { timeout: 90_000 }).toBe('activated');
}


test.describe('pwa', () => {
  // Other people build dist/ while tests run: these tests serve a build of their own, on a port
  // of their own, with the same `vite preview` (headers included) as the shared test server.
  let app: Served;
  test.beforeAll(async () => {
    test.setTimeout(300_000);
    app = await serveBuild('e2e');
  });
  test.afterAll(() => app?.stop());

  test('manifest is valid and linked, icons exist at their declared sizes, CSP header + meta, the service worker controls the page', async ({ page }) => {
    const csp = await watchCsp(page);
    await blockModelHosts(page);
    const first = await page.goto(app.url + APP);
    // First install: the shell is precached and the page is told it works offline now.
    await expect(page.getByTestId('offline-ready')).toContainText('Ready to work offline', { timeout: 90_000 });
    const header = first!.headers()['content-security-policy'] ?? '';
    expect(header).toContain("frame-ancestors 'none'");
    expect(header).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);

    // The same policy as a meta tag (for hosts without headers), minus frame-ancestors.
    const meta = (await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')) ?? '';
    expect(meta).toContain("default-src 'self'");
    expect(meta).toContain("script-src 'self' blob: 'wasm-unsafe-eval'");
    expect(meta).not.toContain('frame-ancestors');
    expect(meta).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);
    expect(header.replace(/; frame-ancestors 'none'/, '')).toBe(meta);

    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    expect(href).toBeTruthy();
    const manifestUrl = new URL(href!, page.url());
    const res = await page.request.get(manifestUrl.toString());
    expect(res.ok()).toBe(true);
    const m = (await res.json()) as Record<string, unknown> & { icons: { src: string; sizes: string; type: string; purpose?: string }[] };
    expect(m.name).toEqual(expect.stringContaining('Glimpse'));
    expect(m.short_name).toBe('Glimpse');
    expect(typeof m.description).toBe('string');
    expect(m.display).toBe('standalone');
    expect(m.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(m.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    const appRoot = new URL('./', page.url()).toString();
    expect(new URL(String(m.start_url), manifestUrl).toString()).toBe(appRoot);
    expect(new URL(String(m.scope), manifestUrl).toString()).toBe(appRoot);

    const purposes = m.icons.map((i) => `${i.sizes} ${i.purpose ?? 'any'} ${i.type}`);
    expect(purposes).toEqual(
      expect.arrayContaining(['192x192 any image/png', '512x512 any image/png', '512x512 maskable image/png', 'any any image/svg+xml']),
    );
    for (const icon of m.icons) {
      const r = await page.request.get(new URL(icon.src, manifestUrl).toString());
      expect(r.ok(), icon.src).toBe(true);
      expect(r.headers()['content-type']).toContain(icon.type);
      if (icon.type !== 'image/png') continue;
      const [w, h] = icon.sizes.split('x').map(Number);
      expect(pngSize(await r.body()), icon.src).toEqual({ width: w, height: h });
    }

    await waitForServiceWorker(page);
    await page.reload();
    const sw = await page.evaluate(() => ({
      script: navigator.serviceWorker.controller?.scriptURL ?? null,
      isolated: crossOriginIsolated,
    }));
    expect(sw.script).toBe(new URL('sw.js', appRoot).toString());
    expect(sw.isolated).toBe(true);
    await waitForEngine(page);
    await expect(page.getByTestId('update-prompt')).toHaveCount(0);

    // A lazy chunk of this version that can no longer be fetched (Vite's vite:preloadError) asks
    // for a reload instead of leaving a broken page.
    await page.evaluate(() => window.dispatchEvent(new Event('vite:preloadError', { cancelable: true })));
    await expect(page.getByTestId('chunk-error')).toContainText('A new version of Glimpse is available');
    expect(await csp()).toEqual([]);
  });

  test('offline after first use: Download for offline use, then with the network off the app, the model (from its cache, no request) and teach -> train -> predict all work', async ({
    page,
    context,
  }) => {
    test.setTimeout(600_000);
    const csp = await watchCsp(page);
    await blockModelHosts(page);
    // Requests from the page and its dedicated worker; served-by-SW responses say so.
    const modelRequests: string[] = [];
    page.on('request', (r) => {
      if (/\/models\//.test(r.url())) modelRequests.push(r.url());
    });
    await page.goto(app.url + APP);
    await waitForEngine(page);
    await waitForServiceWorker(page);
    // The first load fetched the model over the network (and the listener sees worker requests).
    expect(modelRequests.filter((u) => u.endsWith('.bin')).length).toBeGreaterThan(0);

    // Forget the model, then bring it back with "Download for offline use".
    await page.evaluate(() => caches.delete('glimpse-models-v1'));
    await page.getByTestId('settings-toggle').click();
    await expect(page.locator(RESNET)).toHaveAttribute('data-available', 'false');
    await expect(page.locator(RESNET).getByTestId('model-offline-state')).toHaveText('Not downloaded');
    await page.evaluate(() => {
      const w = window as unknown as { __sawProgress: boolean };
      w.__sawProgress = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="model-download-progress"]')) w.__sawProgress = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.locator(RESNET).getByTestId('model-download').click();
    await expect(page.locator(RESNET)).toHaveAttribute('data-available', 'true', { timeout: 120_000 });
    await expect(page.locator(RESNET).getByTestId('model-offline-state')).toHaveText(/^Available offline \(4\d\.\d MB\)$/);
    expect(await page.evaluate(() => (window as unknown as { __sawProgress: boolean }).__sawProgress)).toBe(true);
    await expect(page.getByTestId('storage-usage')).toContainText('Storage used');
    // The bundled default too: it is what the app falls back to when a model cannot be had.
    await page.locator(DEFAULT_MODEL).getByTestId('model-download').click();
    await expect(page.locator(DEFAULT_MODEL)).toHaveAttribute('data-available', 'true', { timeout: 120_000 });
    await page.getByTestId('settings-toggle').click();

    // Network off, reload.
    modelRequests.length = 0;
    await context.setOffline(true);
    const nav = await page.reload();
    expect(nav?.fromServiceWorker()).toBe(true);
    await expect(page.getByTestId('network-status')).toBeVisible();
    await expect(page.getByTestId('network-status')).toHaveAttribute('data-online', 'false');
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor', 'resnet50-imagenet');
    expect(await page.evaluate(() => ({ isolated: crossOriginIsolated, online: navigator.onLine, controlled: !!navigator.serviceWorker.controller }))).toEqual({
      isolated: true,
      online: false,
      controlled: true,
    });
    expect(modelRequests).toEqual([]);

    // Teach: a dropped folder of two classes, embedded offline.
    const classes = ['daisy', 'roses'];
    const files = classes.flatMap((c) => datasetFiles('flower_photos', c, 8).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
    await dropFiles(page, '[data-testid="folder-drop"]', files);
    for (const c of classes) await expect(card(page, c).getByTestId('class-count')).toHaveText('8', { timeout: 300_000 });

    await page.getByTestId('train-button').click();
    await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 180_000 });

    // Held-out photos (never imported) are predicted as their class.
    for (const c of classes) {
      const id = await card(page, c).getAttribute('data-class-id');
      const [heldOut] = datasetFiles('flower_photos', c, 1, 20);
      await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(heldOut!)]);
      await expect(page.getByTestId('prediction-top')).toHaveAttribute('data-class-id', id!, { timeout: 60_000 });
    }

    // A model that was never downloaded, needed offline: say so plainly, carry on with the bundled
    // Inception-v3 (the fallback).
    await page.goto(`${app.url}?extractor=inception-v3-nsfwjs`);
    await waitForEngine(page);
    await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor', 'inception-v3-2015-mixed8');
    await expect(page.getByTestId('notice')).toContainText("You are offline and this model isn't downloaded yet");
    expect(modelRequests.filter((u) => !u.includes('inception-v3-nsfwjs'))).toEqual([]);
    expect(await csp()).toEqual([]);
    await context.setOffline(false);
  });

  test('update: v2 built underneath a running v1 shows "Update available", v1 keeps working and saving, Reload brings v2 with the data', async ({ browser }) => {
    test.setTimeout(600_000);
    const v1 = await serveBuild('v1');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const csp = await watchCsp(page);
      await blockModelHosts(page);
      await page.goto(v1.url + APP);
      await waitForServiceWorker(page);
      await page.getByTestId('settings-toggle').click();
      await expect(page.getByTestId('app-version')).toHaveText(/\(v1\)$/);
      await page.getByTestId('settings-toggle').click();
      await page.getByTestId('class-new-name').fill('cats');
      await page.getByTestId('class-add').click();
      await expect(card(page, 'cats')).toHaveCount(1);
      await page.evaluate(() => {
        (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
      });

      // Deploy v2 into the served folder under the running page, then check for updates.
      build('v2', v1.dir);
      await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
      await expect(page.getByTestId('update-prompt')).toBeVisible({ timeout: 60_000 });
      await expect(page.getByTestId('update-prompt')).toContainText('Update available');

      // Still v1, never reloaded, and it keeps saving.
      await page.waitForTimeout(2000);
      expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
      await page.getByTestId('settings-toggle').click();
      await expect(page.getByTestId('app-version')).toHaveText(/\(v1\)$/);
      await page.getByTestId('settings-toggle').click();
      await card(page, 'cats').getByTestId('class-rename').click();
      await page.getByTestId('class-rename-input').fill('kittens');
      await page.getByTestId('class-rename-input').press('Enter');
      await expect(card(page, 'kittens')).toHaveCount(1);
      expect(await csp()).toEqual([]);

      // Accept: one reload into v2, data intact.
      await Promise.all([page.waitForEvent('load'), page.getByTestId('update-reload').click()]);
      expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBeUndefined();
      await page.getByTestId('settings-toggle').click();
      await expect(page.getByTestId('app-version')).toHaveText(/\(v2\)$/);
      await expect(card(page, 'kittens')).toHaveCount(1);
      await expect(page.getByTestId('update-prompt')).toHaveCount(0);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await csp()).toEqual([]);
    } finally {
      await context.close();
      v1.stop();
    }
  });
});

interface Served {
  url: string;
  dir: string;
  stop: () => void;
}

/** Builds into a temporary folder and serves it with `vite preview` on a free port. */
async function serveBuild(id: string): Promise<Served> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glimpse-pwa-'));
  const dir = path.join(root, 'site');
  build(id, dir);
  const port = await freePort();
  const server = await startPreview(dir, port);
  return {
    url: `http://127.0.0.1:${port}/`,
    dir,
    stop: () => {
      stopPreview(server);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A production build with a visible build id, into a folder outside the repo (not emptied). */
function build(id: string, outDir: string): void {
  execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--logLevel', 'error'], {
    cwd: repoRoot,
    env: { ...process.env, VITE_APP_BUILD: id },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 240_000,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** `vite preview` (same headers as the shared test server) serving outDir on its own port. */
async function startPreview(outDir: string, port: number): Promise<ChildProcess> {
  const child = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--outDir', outDir], {
    cwd: repoRoot,
    stdio: 'ignore',
    detached: true,
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      if (r.ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  stopPreview(child);
  throw new Error(`vite preview did not start on port ${port}`);
}

function stopPreview(child: ChildProcess): void {
  // The whole process group we started (npx -> node vite), by its id.
  if (child.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
