// The long-session soak shared by tests/e2e/soak.spec.ts (short, in CI) and scripts/soak.ts
// (`npm run soak`, 1,000 cycles): a 2-class project, then embed / "What is this?" / predict cycles
// and training runs through the app's own actions (the ?bench=1 hooks), with the worker's tensor
// count and the JS heaps (after a forced GC) measured before and after.
import path from 'node:path';
import type { Page } from '@playwright/test';
import { benchCall, waitForBench } from './bench-api';
import { datasetFiles, dropFiles, fileForDrop } from './helpers';

export interface SoakOptions {
  baseUrl: string;
  cycles: number;
  trainingRuns: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  cycles: number;
  trainingRuns: number;
  msPerCycle: number;
  msPerTrainingRun: number;
  tensorsBefore: number;
  tensorsAfter: number;
  pageHeapBeforeMb: number;
  pageHeapAfterMb: number;
  /** The embedding worker's memory, WASM heap included (null where it cannot be measured). */
  workerHeapBeforeMb: number | null;
  workerHeapAfterMb: number | null;
  failures: string[];
  trainingPhases: string[];
}

/** Chromium flags the soak needs on top of the usual ones: gc() in the worker, an immediate memory measurement. */
export const SOAK_BROWSER_ARGS = ['--js-flags=--expose-gc', '--enable-blink-features=ForceEagerMeasureMemory'];

const bench = (page: Page) => ({
  memory: () => benchCall(page, 'memory'),
  cycles: (url: string, n: number) => benchCall(page, 'soakCycles', url, n),
  train: (n: number) => benchCall(page, 'soakTrain', n),
});

async function heaps(page: Page): Promise<{ page: number; worker: number | null }> {
  // The embedding worker first (gc() from --expose-gc), then the page through DevTools; twice each,
  // as the first pass frees objects whose finalisers release more.
  const worker = page.workers().find((w) => w.url().includes('embed.worker'));
  await worker?.evaluate(() => {
    const g = globalThis as unknown as { gc?: () => void };
    g.gc?.();
    g.gc?.();
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.detach();
  return page.evaluate(async () => {
    const pageBytes = (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
    // The worker's heap (WASM memory included) is visible only through this API (cross-origin
    // isolated pages; immediate with --enable-blink-features=ForceEagerMeasureMemory).
    type Breakdown = { bytes: number; attribution: { url: string; scope: string }[] }[];
    const measure = (performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<{ breakdown: Breakdown }> }).measureUserAgentSpecificMemory;
    let workerBytes: number | null = null;
    if (measure && crossOriginIsolated) {
      const m = await measure.call(performance);
      workerBytes = m.breakdown.filter((b) => b.attribution.some((a) => a.url.includes('embed.worker'))).reduce((s, b) => s + b.bytes, 0);
    }
    return { page: pageBytes / 2 ** 20, worker: workerBytes === null ? null : workerBytes / 2 ** 20 };
  });
}

export async function runSoak(page: Page, opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const [image] = datasetFiles('imagenet-sample', 'n01443537', 1);
  await page.route(/tfhub\.dev|kaggle\.com|storage\.googleapis\.com/, (r) => r.abort('internetdisconnected'));
  await page.route('**/soak-image.jpg', (r) => r.fulfill({ path: image!, contentType: 'image/jpeg' }));
  const url = new URL('soak-image.jpg', opts.baseUrl).toString();
  // One worker lane: a second lane loads its own model copy whenever the scheduler first uses it,
  // which can fall after the baseline and read as a leak (the lane itself is not soaked here).
  await page.goto(new URL('./?bench=1&extractor=resnet50-imagenet&lanes=1', opts.baseUrl).toString());
  await waitForBench(page);

  const classes = ['daisy', 'sunflowers'];
  const files = classes.flatMap((c) => datasetFiles('flower_photos', c, 3).map((f) => fileForDrop(f, `soak/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  await page.waitForFunction(
    () => Array.from(document.querySelectorAll('[data-testid="class-count"]')).reduce((s, e) => s + Number(e.textContent), 0) >= 6,
    null,
    { timeout: 300_000, polling: 500 },
  );
  // Warm-up: the first run of each path compiles kernels and fills caches that are meant to stay.
  const h = bench(page);
  await h.train(1);
  await h.cycles(url, 6);
  await page.waitForTimeout(500);

  const tensorsBefore = (await h.memory()).numTensors;
  const before = await heaps(page);
  log(`baseline: ${tensorsBefore} tensors, page heap ${before.page.toFixed(1)} MB, worker heap ${before.worker?.toFixed(1) ?? 'n/a'} MB`);

  const failures: string[] = [];
  let cycleMs = 0;
  // In slices, so progress shows and no single evaluate runs for many minutes.
  for (let done = 0; done < opts.cycles; ) {
    const n = Math.min(100, opts.cycles - done);
    const r = await h.cycles(url, n);
    failures.push(...r.failures);
    cycleMs += r.ms;
    done += n;
    log(`${done}/${opts.cycles} cycles, ${(cycleMs / done).toFixed(0)} ms/cycle`);
  }
  log(`after the cycles: ${(await h.memory()).numTensors} tensors`);
  const train = await h.train(opts.trainingRuns);
  log(`${opts.trainingRuns} training runs, ${train.msPerRun.toFixed(0)} ms/run`);
  await page.waitForTimeout(500);

  const tensorsAfter = (await h.memory()).numTensors;
  const after = await heaps(page);
  log(`after: ${tensorsAfter} tensors, page heap ${after.page.toFixed(1)} MB, worker heap ${after.worker?.toFixed(1) ?? 'n/a'} MB`);
  return {
    cycles: opts.cycles,
    trainingRuns: opts.trainingRuns,
    msPerCycle: cycleMs / Math.max(1, opts.cycles),
    msPerTrainingRun: train.msPerRun,
    tensorsBefore,
    tensorsAfter,
    pageHeapBeforeMb: before.page,
    pageHeapAfterMb: after.page,
    workerHeapBeforeMb: before.worker,
    workerHeapAfterMb: after.worker,
    failures,
    trainingPhases: train.phases,
  };
}
