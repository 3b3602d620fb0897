// "Export complete model" end to end in Chromium, with the default extractor (Inception-v3 2015
// to mixed_8): a few flower photos imported and trained, a held-out photo predicted in the app,
// the complete model exported from the UI (built and zipped in the worker, with progress), and
// then the example page from that zip opened in a fresh browser context where nothing but the
// zip's own files answers (every other request is aborted, so a CDN or the app's server would
// fail the page). The page must name the app's top class for the same photo.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, openExportTools, repoRoot, waitForEngine } from './helpers';

const CLASSES = ['daisy', 'roses', 'sunflowers'];
const PER_CLASS = 4;
const BUNDLE_ORIGIN = 'http://glimpse-bundle.test';
const outDir = path.join(repoRoot, '.cache', 'e2e-export-complete', String(process.pid));

const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', json: 'application/json', bin: 'application/octet-stream', md: 'text/markdown', mjs: 'text/javascript' };

async function appScores(page: Page, file: string): Promise<{ top: string; scores: Map<string, number> }> {
  await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(file)]);
  await expect(page.getByTestId('prediction-bar').first()).toHaveAttribute('data-score', /\d/, { timeout: 120_000 });
  const bars = page.getByTestId('prediction-bar');
  const scores = await bars.evaluateAll((els) => els.map((e) => [e.getAttribute('data-class-id')!, Number(e.getAttribute('data-score'))] as const));
  return { top: (await page.getByTestId('prediction-top').getAttribute('data-class-id'))!, scores: new Map(scores) };
}

test('complete model: exported from the UI, its example page classifies a photo with the network off', async ({ page, browser }) => {
  test.setTimeout(600_000);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  await blockModelHosts(page);
  await page.goto('./?extractor=inception-v3-2015-mixed8');
  await waitForEngine(page);

  const files: Record<string, Uint8Array> = { 'flowers/README.txt': strToU8('not an image') };
  for (const c of CLASSES) for (const f of datasetFiles('flower_photos', c, PER_CLASS)) files[`flowers/${c}/${path.basename(f)}`] = new Uint8Array(fs.readFileSync(f));
  await page.getByTestId('import-dataset-input').setInputFiles({ name: 'flowers.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(files)) });
  await expect(page.getByTestId('import-status')).toHaveAttribute('data-running', 'false', { timeout: 300_000 });
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  const probe = datasetFiles('flower_photos', 'sunflowers', 1, 40)[0]!; // held out: not imported
  const app = await appScores(page, probe);

  await openExportTools(page);
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), page.getByTestId('export-complete').click()]);
  expect(dl.suggestedFilename()).toMatch(/-complete-model\.zip$/);
  const zipPath = path.join(outDir, 'complete.zip');
  await dl.saveAs(zipPath);
  await expect(page.getByTestId('export-message')).toContainText('Exported the complete model');
  const bundle = unzipSync(new Uint8Array(fs.readFileSync(zipPath)));
  expect(Object.keys(bundle).sort()).toEqual(['README.md', 'example/classify.mjs', 'example/index.html', 'example/package.json', 'example/tf.min.js', 'metadata.json', 'model/model.json', 'model/weights.bin', 'tm/model.json']);
  const meta = JSON.parse(new TextDecoder().decode(bundle['metadata.json'])) as { kind: string; labels: string[]; classIds: string[]; imageSize: number };
  expect(meta).toMatchObject({ kind: 'complete', labels: CLASSES, imageSize: 299 });
  for (const [name, bytes] of Object.entries(bundle)) {
    if (/\.bin$|tf\.min\.js$/.test(name)) continue;
    expect(new TextDecoder().decode(bytes), name).not.toMatch(/127\.0\.0\.1|localhost/);
  }

  // The zip's example page, served from the zip's bytes only; everything else is cut off.
  const context = await browser.newContext();
  const refused: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    const body = url.origin === BUNDLE_ORIGIN ? bundle[decodeURIComponent(url.pathname.slice(1))] : undefined;
    if (url.origin !== BUNDLE_ORIGIN) {
      refused.push(url.href);
      return route.abort('internetdisconnected');
    }
    if (!body) return route.fulfill({ status: 404, body: 'not in the zip' });
    return route.fulfill({ status: 200, body: Buffer.from(body), contentType: TYPES[url.pathname.split('.').pop()!] ?? 'application/octet-stream' });
  });
  const example = await context.newPage();
  await example.goto(`${BUNDLE_ORIGIN}/example/index.html`);
  await expect(example.locator('#status')).toContainText('Ready', { timeout: 180_000 });
  await example.locator('#file').setInputFiles(probe);
  await expect(example.locator('#status')).toContainText('Classified', { timeout: 180_000 });
  const rows = await example.locator('#results li').allTextContents();
  const topLabel = (await example.locator('#results li.top').textContent())!.split(':')[0];
  expect(topLabel).toBe(meta.labels[meta.classIds.indexOf(app.top)]);
  // The page shows percentages to one decimal: each is the app's score within rounding and backend noise.
  let maxDiff = 0;
  for (const row of rows) {
    const [label, pct] = row.split(': ');
    const appScore = app.scores.get(meta.classIds[meta.labels.indexOf(label!)]!)!;
    maxDiff = Math.max(maxDiff, Math.abs(parseFloat(pct!) / 100 - appScore));
  }
  console.log(`example page (offline) vs app: top ${topLabel}, max |diff| ${maxDiff.toExponential(2)} (page shows 0.1 % steps)`);
  expect(maxDiff).toBeLessThan(0.002);
  expect(refused).toEqual([]);
  await context.close();
});
