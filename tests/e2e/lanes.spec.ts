// The second embedding worker on WASM (src/embed/lanes.ts), in real Chromium:
// - with ?lanes=2 an import is shared between the two workers, and every stored embedding equals
//   the one a single worker (?lanes=1, its own browser context) computes for the same photo;
// - when the second worker dies in the middle of a batch, that batch is redone by the first:
//   every photo is stored once, with the same numbers, and the app carries on with one worker.
// Embeddings are read straight from IndexedDB and matched by the photo's SHA-256.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { benchCall, type BenchApi } from './bench-api';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine, type DropFile } from './helpers';
import { readStores } from './db';

type Memory = Awaited<ReturnType<BenchApi['memory']>>;

/** Embeddings by SHA-256 of the photo, straight from IndexedDB. */
async function storedBySha(page: Page): Promise<Record<string, number[]>> {
  const { samples, embeddings } = await readStores(page, ['samples', 'embeddings']);
  const sha = new Map(samples.map((x) => [x.id as string, x.sha256 as string]));
  const out: Record<string, number[]> = {};
  for (const row of embeddings) {
    const key = sha.get(row.sampleId as string) ?? `missing sample ${String(row.sampleId)}`;
    if (out[key]) out[`duplicate ${key}`] = [];
    out[key] = row.vector as number[];
  }
  return out;
}

function photos(cls: string, count: number, offset = 0): DropFile[] {
  return datasetFiles('flower_photos', cls, count, offset).map((f) => fileForDrop(f, `${cls}/${f.split('/').pop()}`));
}

async function open(browser: Browser, lanes: number): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await blockModelHosts(page);
  await page.goto(`./?bench=1&extractor=resnet50-imagenet&lanes=${lanes}`);
  await waitForEngine(page);
  return page;
}

function memory(page: Page): Promise<Memory> {
  return benchCall(page, 'memory');
}

async function totalCount(page: Page): Promise<number> {
  const counts = await page.getByTestId('class-count').allTextContents();
  return counts.reduce((s, c) => s + Number(c), 0);
}

async function dropAndWait(page: Page, files: DropFile[]): Promise<void> {
  const before = await totalCount(page);
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  await expect.poll(() => totalCount(page), { timeout: 170_000, intervals: [500] }).toBe(before + files.length);
}

function maxAbsDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let worst = 0;
  for (const [k, va] of Object.entries(a)) {
    const vb = b[k]!;
    for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs(va[i]! - vb[i]!));
  }
  return worst;
}

test.describe('two embedding workers on WASM', () => {
  test.describe.configure({ timeout: 600_000 });

  test('share an import, store the same numbers as one worker, and survive the second one dying', async ({ browser }) => {
    // Warm-up drop: its first call starts the second worker; the later drops find it loaded.
    const warm = photos('tulips', 8);
    const shared = photos('daisy', 12);
    const crashed = photos('roses', 12);

    // Reference: one worker.
    const one = await open(browser, 1);
    await expect(one.getByTestId('engine-status')).not.toContainText('2 workers');
    await dropAndWait(one, [...shared, ...crashed]);
    const reference = await storedBySha(one);
    expect(Object.keys(reference)).toHaveLength(24);
    expect((await memory(one)).helperBatches).toBe(0);
    await one.context().close();

    const two = await open(browser, 2);
    await expect(two.getByTestId('engine-status')).toContainText('2 workers');
    await dropAndWait(two, warm);
    await expect.poll(async () => (await memory(two)).lanes, { timeout: 120_000, intervals: [500] }).toBe(2);

    const before = (await memory(two)).helperBatches;
    await dropAndWait(two, shared);
    const after = await memory(two);
    // 12 photos are several batches; the second worker took at least one of them.
    expect(after.helperBatches).toBeGreaterThan(before);
    const sharedStored = await storedBySha(two);
    expect(Object.keys(sharedStored)).toHaveLength(20);
    const sharedOnly = Object.fromEntries(Object.entries(sharedStored).filter(([k]) => k in reference));
    expect(Object.keys(sharedOnly)).toHaveLength(12);
    const sharedDiff = maxAbsDiff(sharedOnly, reference);
    console.log(`lanes: helper batches ${after.helperBatches - before}; max |diff| vs one worker ${sharedDiff}`);
    expect(sharedDiff).toBeLessThanOrEqual(1e-5);

    // The next batch sent to the second worker finds it killed: the first worker redoes it.
    expect((await benchCall(two, 'crashHelperLane')).armed).toBe(true);
    await dropAndWait(two, crashed);
    const afterCrash = await memory(two);
    expect(afterCrash.lanes).toBe(1);
    expect(afterCrash.helperBatches).toBe(after.helperBatches);
    const all = await storedBySha(two);
    expect(Object.keys(all)).toHaveLength(32);
    const crashedOnly = Object.fromEntries(Object.entries(all).filter(([k]) => k in reference));
    expect(Object.keys(crashedOnly)).toHaveLength(24);
    const crashedDiff = maxAbsDiff(crashedOnly, reference);
    console.log(`lanes: after the helper died: lanes ${afterCrash.lanes}, max |diff| vs one worker ${crashedDiff}`);
    expect(crashedDiff).toBeLessThanOrEqual(1e-5);
    await expect(two.getByText(/could not be|failed/i)).toHaveCount(0);
    await two.context().close();
  });
});
