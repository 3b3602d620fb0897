// Issue 4, item 5, in real Chromium: a project embedded with one extractor, then the extractor is
// switched in Settings. The samples keep their images and are re-embedded in the background with
// visible done/total progress (a live region); cancelling stops it, a reload resumes it from what
// is missing in the database, training waits for it, and in the end every sample has an embedding
// for the new extractor key only and the head is trained on that key.
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine, classCard as card } from './helpers';
import { readStores } from './db';

const CLASSES = ['daisy', 'roses'];
const PER_CLASS = 3;
const TOTAL = CLASSES.length * PER_CLASS;
const FIRST = 'inception-v3-nsfwjs';
const SECOND = 'resnet50-imagenet';

/** Every sample id with the extractor key of its embedding ('' when it has none), read straight from IndexedDB. */
async function embeddingKeys(page: Page): Promise<{ samples: number; keys: Record<string, string>; dims: number[] }> {
  const { samples, embeddings } = await readStores(page, ['samples', 'embeddings']);
  const byId = new Map(embeddings.map((e) => [e.sampleId as string, e]));
  const keys: Record<string, string> = {};
  for (const s of samples) keys[s.id as string] = (byId.get(s.id as string)?.extractorKey as string | undefined) ?? '';
  return { samples: samples.length, keys, dims: [...byId.values()].map((e) => e.dim as number) };
}

/** Records every state the re-embedding live region goes through (status and done/total). */
async function watchReembedStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { __reembed: string[] };
    w.__reembed = [];
    const record = () => {
      const el = document.querySelector('[data-testid="reembed-status"]');
      if (!el) return;
      const entry = `${el.getAttribute('data-status')} ${el.getAttribute('data-done')}/${el.getAttribute('data-total')}`;
      if (w.__reembed[w.__reembed.length - 1] !== entry) w.__reembed.push(entry);
    };
    new MutationObserver(record).observe(document, { subtree: true, childList: true, attributes: true });
  });
  return () => page.evaluate(() => (window as unknown as { __reembed: string[] }).__reembed);
}

test('switching extractor re-embeds in the background with progress, cancels, resumes after reload, and training uses only the new key', async ({ page }) => {
  test.setTimeout(600_000);
  await blockModelHosts(page);
  const seen = await watchReembedStatus(page);

  // A small project embedded with the first extractor.
  await page.goto(`./?extractor=${FIRST}`);
  await waitForEngine(page, 300_000);
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor', FIRST);
  const files = CLASSES.flatMap((c) => datasetFiles('flower_photos', c, PER_CLASS).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  for (const c of CLASSES) await expect(card(page, c).getByTestId('class-count')).toHaveText(String(PER_CLASS), { timeout: 300_000 });
  const before = await embeddingKeys(page);
  expect(before.samples).toBe(TOTAL);
  expect(Object.values(before.keys).every((k) => k.startsWith(`${FIRST}@`))).toBe(true);
  await expect(page.getByTestId('reembed-status')).toHaveAttribute('data-status', 'idle');

  // Switch in Settings: the re-embedding starts by itself and shows done/total in a live region.
  await page.getByTestId('settings-toggle').click();
  await page.getByLabel('Feature extractor').selectOption(SECOND);
  await waitForEngine(page, 300_000);
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-extractor', SECOND);
  const status = page.getByTestId('reembed-status');
  await expect(status).toHaveAttribute('data-status', 'running');
  await expect(status).toHaveAttribute('role', 'status');
  await expect(status).toHaveAttribute('aria-live', 'polite');
  await expect(status).toHaveAttribute('data-total', String(TOTAL));
  await expect(status.getByTestId('reembed-counts')).toContainText(`/ ${TOTAL}`);
  // Cancel: it stops and says how far it got; the images are all still there.
  await page.getByTestId('reembed-cancel').click();
  await expect(status).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('reembed-resume')).toBeVisible();
  const paused = await embeddingKeys(page);
  expect(paused.samples).toBe(TOTAL);
  const pausedDone = Number(await status.getAttribute('data-done'));
  expect(Object.values(paused.keys).filter((k) => k.startsWith(`${SECOND}@`)).length).toBe(pausedDone);

  const beforeReload = await seen();
  expect(beforeReload.some((e) => e.startsWith('running ') && e.endsWith(`/${TOTAL}`))).toBe(true);
  expect(beforeReload).toContain(`cancelled ${pausedDone}/${TOTAL}`);

  // A reload on the new extractor resumes from what is missing; Train right away waits for it.
  await page.goto(`./?extractor=${SECOND}`);
  await waitForEngine(page, 300_000);
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 300_000 });
  await expect(status).toHaveAttribute('data-status', /done|idle/);

  const after = await embeddingKeys(page);
  expect(after.samples).toBe(TOTAL);
  expect(Object.values(after.keys).every((k) => k.startsWith(`${SECOND}@`))).toBe(true);
  expect(after.dims.every((d) => d === 2048)).toBe(true);
  const headKeys = (await readStores(page, ['heads'])).heads.map((h) => h.extractorKey as string);
  expect(headKeys).toHaveLength(1);
  expect(headKeys[0]!.startsWith(`${SECOND}@`)).toBe(true);

  // After the reload it resumed where it stopped (from what was missing) and finished.
  const afterReload = await seen();
  if (pausedDone < TOTAL) expect(afterReload.some((e) => e.startsWith('running '))).toBe(true);
  expect(afterReload[afterReload.length - 1]).toBe(`done ${TOTAL}/${TOTAL}`);
});
