// npm run bench:scale: a project of --samples rows in --classes classes is made: --real photos
// (default 2,000) from the shared datasets imported through the real importer (folder picker ->
// worker -> IndexedDB) as class folders of their own (2,000 = 80 from each of 25 classes of
// clothing-small, flower_photos and sign-language-digits), the rest synthetic embeddings written
// through the app's own repositories (8x8 JPEG thumbnails) in the remaining classes. It is then
// trained with trainProject, reviewed (loadReview), mapped (computeMap) and reopened; prints the
// import, training, review, map and first-view times and the heaps. Writes bench/scale.json.
//
// Heaps: `heap*Mb` are performance.memory's usedJSHeapSize (the page's V8 heap, without ArrayBuffer
// contents); `peaks` and `pagePeakMb` come from the DevTools protocol (scripts/lib/heap-probe.ts):
// the V8 heap plus ArrayBuffer backing stores, sampled every 250 ms, the largest total of the page
// and of any one worker during each step. That figure leaves out the WASM backend's memory, which
// the worker reports itself (`wasmHeapMb`, read after each step: it never shrinks, so it is its
// peak); `workerHeapMb` = the worker's peak + its WASM memory.
// Needs a production build (npx vite build); serves it with vite preview on its own port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { repoRoot, sharedRoot } from './lib/node-env';
import { waitForServer } from './lib/server';
import { HeapProbe, type HeapFigure } from './lib/heap-probe';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '4393' },
    samples: { type: 'string', default: '5000' },
    classes: { type: 'string', default: '26' },
    real: { type: 'string', default: '2000' },
    extractor: { type: 'string', default: 'inception-v3-2015-mixed8' },
  },
});
const SAMPLES = Number(args.samples);
const CLASSES = Number(args.classes);
const REAL = Number(args.real);

interface ScaleApi {
  seedProject(samples: number, classes: number): Promise<{ projectId: string; ms: number }>;
  newProject(name: string): Promise<string>;
  train(projectId: string): Promise<{ ms: number; phase: string; error: string | null; rows: number; of: number; validationAccuracy: number | null; fitMs: number; readMs: number; epochs: number }>;
  review(projectId: string): Promise<{ ms: number; status: string; items: number; error: string | null }>;
  map(projectId: string, umap: boolean): Promise<{ ms: number; status: string; method: string | null; points: number; error: string | null }>;
  heapMb(): number | null;
  readRows(projectId: string): Promise<{ ms: number; rows: number }>;
}

function scale<K extends keyof ScaleApi>(page: Page, name: K, ...a: Parameters<ScaleApi[K]>): Promise<Awaited<ReturnType<ScaleApi[K]>>> {
  return page.evaluate(
    ([n, list]) => {
      const api = (window as unknown as { __glimpseScale: Record<string, (...x: unknown[]) => unknown> }).__glimpseScale;
      return api[n as string]!(...(list as unknown[]));
    },
    [name, a] as const,
  ) as Promise<Awaited<ReturnType<ScaleApi[K]>>>;
}

/** The embedding worker's WASM memory in MB (0 on another backend). */
async function wasmHeapMb(page: Page): Promise<number> {
  const m = await page.evaluate(() => (window as unknown as { __glimpseBench: { memory(): Promise<{ wasmHeapBytes: number }> } }).__glimpseBench.memory());
  return +(m.wasmHeapBytes / 2 ** 20).toFixed(1);
}

async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __glimpseBench?: { ready(): boolean } }).__glimpseBench?.ready(), null, { timeout: 600_000, polling: 500 });
  await page.locator('[data-testid="teach-view"]').waitFor({ timeout: 120_000 });
}

/** Time since navigation start until every class card shows its count and the counts add up. */
async function firstViewMs(page: Page, classes: number, samples: number): Promise<number> {
  const handle = await page.waitForFunction(
    ([k, n]) => {
      const counts = Array.from(document.querySelectorAll('[data-testid="class-count"]'));
      const sum = counts.reduce((s, e) => s + Number(e.textContent), 0);
      return counts.length === k && sum === n ? performance.now() : 0;
    },
    [classes, samples] as const,
    { timeout: 300_000, polling: 20 },
  );
  return (await handle.jsonValue()) as number;
}

/** Datasets the real photos come from, each class folder one class of the project. */
const REAL_DATASETS = ['clothing-small', 'flower_photos', 'sign-language-digits'];

/**
 * `n` real photos as class folders of their own: the same number from every class folder of
 * REAL_DATASETS (the first files by name; 2,000 = 80 from each of 25 classes), hard-linked (or
 * copied) into a temporary folder `real/<dataset>-<class>/` that the importer reads like a picked
 * folder (no photo passes through the page's JS heap as a string).
 */
function stageRealPhotos(n: number): { dir: string; files: number; classes: number } {
  const folders = REAL_DATASETS.flatMap((d) => {
    const dir = path.join(sharedRoot, 'datasets', d);
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((c) => ({ name: `${d}-${c}`, dir: path.join(dir, c), files: fs.readdirSync(path.join(dir, c)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort() }));
  });
  const available = folders.reduce((a, f) => a + f.files.length, 0);
  if (n > available) throw new Error(`--real ${n}: the datasets hold ${available} photos.`);
  let perClass = Math.ceil(n / folders.length);
  while (folders.reduce((a, f) => a + Math.min(perClass, f.files.length), 0) < n) perClass++;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glimpse-real-'));
  const dir = path.join(root, 'real');
  let left = n;
  let classes = 0;
  for (const f of folders) {
    const take = f.files.slice(0, Math.min(perClass, left));
    if (take.length === 0) break;
    fs.mkdirSync(path.join(dir, f.name), { recursive: true });
    for (const file of take) {
      const to = path.join(dir, f.name, file);
      try {
        fs.linkSync(path.join(f.dir, file), to);
      } catch {
        fs.copyFileSync(path.join(f.dir, file), to);
      }
    }
    left -= take.length;
    classes++;
  }
  return { dir, files: n, classes };
}

/** Imports the staged folder into the open project through the folder picker and the real importer. */
async function importRealPhotos(page: Page, staged: { dir: string; files: number }): Promise<{ ms: number; done: number; failed: number }> {
  const t0 = Date.now();
  await page.locator('[data-testid="folder-drop-input"]').first().setInputFiles(staged.dir);
  const status = page.locator('[data-testid="import-status"]');
  await page.waitForFunction(
    (total) => {
      const el = document.querySelector('[data-testid="import-status"]');
      return el?.getAttribute('data-running') === 'false' && Number(el.getAttribute('data-total')) === total;
    },
    staged.files,
    { timeout: 3_600_000, polling: 250 },
  );
  return { ms: Date.now() - t0, done: Number(await status.getAttribute('data-done')), failed: Number(await status.getAttribute('data-failed')) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(repoRoot, process.env.GLIMPSE_OUT_DIR ?? 'dist', 'index.html'))) throw new Error('No production build: run `npx vite build` first.');
  const port = Number(args.port);
  const base = `http://127.0.0.1:${port}/`;
  const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: repoRoot, stdio: 'ignore', detached: true });
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryGb: Math.round(os.totalmem() / 2 ** 30), load1: os.loadavg()[0] },
    extractor: args.extractor,
    samples: SAMPLES,
    classes: CLASSES,
  };
  try {
    await waitForServer(base, 60_000);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--enable-precise-memory-info'],
    });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.route(/tfhub\.dev|kaggle\.com|storage\.googleapis\.com/, (route) => route.abort('internetdisconnected'));
      const url = `${base}?bench=1&extractor=${args.extractor}`;
      await openApp(page, url);

      const probe = await HeapProbe.attach(page);
      const peaks: Record<string, { page: HeapFigure | null; worker: HeapFigure | null; wasmHeapMb: number }> = {};
      const measured = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
        probe.start();
        try {
          return await run();
        } finally {
          const p = await probe.stop();
          const wasm = await wasmHeapMb(page);
          peaks[step] = { page: p.page, worker: p.worker, wasmHeapMb: wasm };
          console.log(`  peak heap (JS + ArrayBuffers): page ${p.page?.totalMb ?? '?'} MB, worker ${p.worker?.totalMb ?? '?'} MB + WASM memory ${wasm} MB`);
        }
      };

      const staged = REAL > 0 ? stageRealPhotos(REAL) : null;
      const realClasses = staged?.classes ?? 0;
      if (SAMPLES - REAL < CLASSES - realClasses || CLASSES - realClasses < 1) throw new Error(`--samples ${SAMPLES} --classes ${CLASSES} leave no room for synthetic classes beside ${REAL} real photos in ${realClasses} classes.`);
      console.log(`writing ${SAMPLES - REAL} synthetic samples in ${CLASSES - realClasses} classes…`);
      const seeded = await measured('import', async () => {
        const synthetic = await scale(page, 'seedProject', SAMPLES - REAL, CLASSES - realClasses);
        if (!staged) return { ...synthetic, realMs: 0 };
        // The real photos go into the same project, in class folders of their own.
        console.log(`  ${Math.round(synthetic.ms)} ms; importing ${REAL} real photos (${realClasses} classes) through the importer…`);
        const real = await importRealPhotos(page, staged);
        result.real = { images: REAL, classes: realClasses, datasets: REAL_DATASETS, ms: real.ms, msPerImage: Math.round(real.ms / REAL), done: real.done, failed: real.failed };
        console.log(`  ${real.done} saved, ${real.failed} failed in ${real.ms} ms (${Math.round(real.ms / REAL)} ms/image)`);
        if (real.done !== REAL) throw new Error(`Only ${real.done} of ${REAL} real photos were imported.`);
        return { ...synthetic, ms: synthetic.ms + real.ms, realMs: real.ms };
      });
      if (staged) fs.rmSync(path.dirname(staged.dir), { recursive: true, force: true });
      result.importMs = Math.round(seeded.ms);
      result.importMsPerSample = +(seeded.ms / SAMPLES).toFixed(2);
      await firstViewMs(page, CLASSES, SAMPLES); // the live counts caught up
      result.heapAfterImportMb = await scale(page, 'heapMb');
      console.log(`  ${result.importMs} ms (${result.importMsPerSample} ms/sample), heap ${Number(result.heapAfterImportMb).toFixed(0)} MB`);

      const read = await scale(page, 'readRows', seeded.projectId);
      result.readRowsMs = Math.round(read.ms);
      console.log(`reading the ${read.rows} training rows from IndexedDB alone: ${result.readRowsMs} ms`);
      console.log('training…');
      const trained = await measured('train', () => scale(page, 'train', seeded.projectId));
      if (trained.phase !== 'done') throw new Error(`training ended in ${trained.phase}: ${trained.error}`);
      result.trainMs = Math.round(trained.ms);
      result.trainRows = trained.rows;
      // The fit in the worker; the rest of trainMs is reading the rows from IndexedDB and sending them.
      result.trainFitMs = Math.round(trained.fitMs);
      result.trainReadMs = Math.round(trained.readMs);
      result.trainEpochs = trained.epochs;
      result.validationAccuracy = trained.validationAccuracy;
      result.heapAfterTrainMb = await scale(page, 'heapMb');
      console.log(`  ${result.trainMs} ms (reading + staging the rows ${String(result.trainReadMs)} ms; the fit in the worker, which starts once its warm-start rows are staged, ${String(result.trainFitMs)} ms over ${String(result.trainEpochs)} iterations) on ${trained.rows} of ${trained.of} samples (validation accuracy ${String(trained.validationAccuracy)}), heap ${Number(result.heapAfterTrainMb).toFixed(0)} MB`);

      console.log('review queue (every sample scored)…');
      const reviewed = await measured('review', () => scale(page, 'review', seeded.projectId));
      if (reviewed.status !== 'ready') throw new Error(`review ended in ${reviewed.status}: ${reviewed.error}`);
      result.reviewMs = Math.round(reviewed.ms);
      console.log(`  ${result.reviewMs} ms, ${reviewed.items} samples in the queue`);

      console.log('map (PCA, then UMAP)…');
      const mapped = await measured('map', () => scale(page, 'map', seeded.projectId, true));
      if (mapped.status !== 'ready') throw new Error(`map ended in ${mapped.status}: ${mapped.error}`);
      result.mapMs = Math.round(mapped.ms);
      result.mapPoints = mapped.points;
      console.log(`  ${result.mapMs} ms, ${mapped.points} points (${mapped.method})`);

      console.log('reloading…');
      await page.reload({ waitUntil: 'commit' });
      probe.start();
      result.firstViewMs = Math.round(await firstViewMs(page, CLASSES, SAMPLES));
      result.heapAtFirstViewMb = await page.evaluate(() => {
        const m = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
        return m ? m.usedJSHeapSize / 2 ** 20 : null;
      });
      result.thumbnailsShownAtFirstView = await page.locator('[data-testid="sample"]').count();
      await page.waitForFunction(() => (window as unknown as { __glimpseBench?: { ready(): boolean } }).__glimpseBench?.ready(), null, { timeout: 600_000, polling: 500 });
      await page.waitForTimeout(2000);
      result.heapSettledMb = await scale(page, 'heapMb');
      // Thumbnails load lazily after the counts, and only for the grids near the viewport.
      result.thumbnailsShownSettled = await page.locator('[data-testid="sample"]').count();
      {
        const p = await probe.stop();
        peaks.reload = { page: p.page, worker: p.worker, wasmHeapMb: await wasmHeapMb(page) };
      }
      const all = Object.values(peaks);
      result.pagePeakMb = Math.max(...all.map((p) => p.page?.totalMb ?? 0));
      result.workerHeapMb = +Math.max(...all.map((p) => (p.worker?.totalMb ?? 0) + p.wasmHeapMb)).toFixed(1);
      result.peaks = peaks;
      console.log(`  first view (class list with counts) ${result.firstViewMs} ms after navigation start; heap ${Number(result.heapAtFirstViewMb).toFixed(0)} MB, ${Number(result.heapSettledMb).toFixed(0)} MB once the model is loaded; ${result.thumbnailsShownAtFirstView} thumbnails rendered at first view, ${result.thumbnailsShownSettled} once settled`);

      console.log(`  peak over import, train, review, map, reload: page ${String(result.pagePeakMb)} MB, worker ${String(result.workerHeapMb)} MB (page: JS heap + ArrayBuffers; worker: JS heap + ArrayBuffers + WASM memory)`);

    } finally {
      await browser.close();
    }
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
  console.log(JSON.stringify(result, null, 2));
  fs.mkdirSync(path.join(repoRoot, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, 'bench', 'scale.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote bench/scale.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
