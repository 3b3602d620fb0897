// npm run bench: embedding speed per extractor on WASM in Node (library path) and in headless
// Chromium (the app's own worker pipeline), head training time, and tensor growth.
// Prints a table and writes bench/results.json. Needs a production build (npm run build) for the
// browser part; pass --node-only to skip it. --finetune: only the fine-tuning time per step and
// per epoch on WASM (scripts/lib/finetune-bench.ts), written to bench/finetune.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { DEFAULT_EXTRACTOR_ID } from '../src/embed/specs';
import { defaultHeadSettings, trainHead } from '../src/train/head';
import { availableExtractors, decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, sharedRoot } from './lib/node-env';
import { finetuneBench } from './lib/finetune-bench';
import { waitForServer } from './lib/server';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '16' },
    'node-only': { type: 'boolean', default: false },
    'browser-only': { type: 'boolean', default: false },
    port: { type: 'string', default: '4391' },
    pipeline: { type: 'string', default: '200' },
    cycles: { type: 'string', default: '500' },
    // Comma-separated extractor ids (default: every offline extractor available here).
    extractors: { type: 'string' },
    // Other backends timed at batch 1 with ResNet-50 (software GPUs here: slow, so few images).
    backends: { type: 'string', default: 'webgl,webgpu,cpu' },
    // Embedding workers on WASM (?lanes=N; default: the app's own choice from the cores).
    lanes: { type: 'string' },
    // Only our pipeline (for before/after comparisons of the app's own code).
    'skip-baseline': { type: 'boolean', default: false },
    // Skip the profile (network-only ms/image at several batches, the floor).
    'skip-profile': { type: 'boolean', default: false },
    // Only the fine-tuning time on WASM in Node (the default extractor's, or --extractors').
    finetune: { type: 'boolean', default: false },
    'finetune-steps': { type: 'string', default: '4' },
  },
});
const N = Number(args.images);

function benchImages(n: number): string[] {
  const dir = path.join(sharedRoot, 'datasets', 'flower_photos');
  const out: string[] = [];
  for (const cls of fs.readdirSync(dir).filter((c) => !c.includes('.')).sort()) {
    for (const f of fs.readdirSync(path.join(dir, cls)).sort().slice(0, Math.ceil(n / 5))) out.push(path.join(dir, cls, f));
  }
  return out.slice(0, n);
}

interface Row {
  where: string;
  extractor: string;
  backend: string;
  batch: number;
  msPerImage: number;
}

async function nodeBench(rows: Row[], extra: Record<string, unknown>): Promise<void> {
  const backend = await initNodeBackend('wasm');
  const images = await Promise.all(benchImages(N).map((f) => decodeImageFile(f)));
  for (const spec of await selectedExtractors()) {
    const ex = await loadNodeExtractor(spec.id);
    await ex.warmup(1);
    for (const batch of [1, 8]) {
      await ex.embed(images.slice(0, batch));
      const t0 = performance.now();
      for (let i = 0; i < images.length; i += batch) await ex.embed(images.slice(i, i + batch));
      rows.push({ where: 'node', extractor: spec.id, backend, batch, msPerImage: (performance.now() - t0) / images.length });
      console.log(`node ${spec.id} batch ${batch}: ${rows.at(-1)!.msPerImage.toFixed(0)} ms/image`);
    }
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await ex.embed([images[i % images.length]!], { topK: ex.hasClassifier ? 5 : 0 });
    extra[`tensor_growth_node_${spec.id}`] = tf.memory().numTensors - before;
    ex.dispose();
  }
  // Head training on 1,000 cached (synthetic) 2048-d embeddings, 10 classes, default settings.
  for (const [n, k] of [[1000, 10], [5000, 26]] as const) {
    const d = 2048;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const centres = Array.from({ length: k }, () => Float32Array.from({ length: d }, rnd));
    for (let i = 0; i < n; i++) {
      y[i] = i % k;
      for (let j = 0; j < d; j++) x[i * d + j] = centres[i % k]![j]! * 0.5 + rnd();
    }
    const t0 = performance.now();
    const head = await trainHead({ x, y, n, d }, k, defaultHeadSettings());
    extra[`node_head_train_ms_${n}_${k}`] = Math.round(performance.now() - t0);
    console.log(`node head training ${n} x ${d}, ${k} classes: ${extra[`node_head_train_ms_${n}_${k}`]} ms (${head.history.length} epochs)`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...a: any[]) => any;

/** Calls window.__glimpseBench[name](...args) in the page. */
async function call<T>(page: import('playwright-core').Page, name: string, ...fnArgs: unknown[]): Promise<T> {
  return page.evaluate(([n, a]) => ((window as unknown as { __glimpseBench: Record<string, AnyFn> }).__glimpseBench[n as string]!)(...(a as unknown[])), [name, fnArgs] as const) as Promise<T>;
}

async function selectedExtractors(): Promise<Awaited<ReturnType<typeof availableExtractors>>> {
  const all = await availableExtractors();
  if (!args.extractors) return all;
  const want = args.extractors.split(',');
  return all.filter((s) => want.includes(s.id));
}

/** Dropped JPEG files -> decoded, embedded and stored by the app's importer, as a user's drop. */
async function pipelineRun(page: import('playwright-core').Page, files: string[]): Promise<{ imagesPerS: number; longestTaskMs: number }> {
  await page.evaluate(() => {
    const w = window as unknown as { __lt: number[]; __ltObs?: PerformanceObserver };
    w.__lt = [];
    w.__ltObs?.disconnect();
    w.__ltObs = new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__lt.push(e.duration)));
    w.__ltObs.observe({ type: 'longtask' });
  });
  const before = await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="class-count"]')).reduce((s, e) => s + Number(e.textContent), 0));
  const drop = files.map((f) => ({ name: path.basename(f), type: 'image/jpeg', base64: fs.readFileSync(f).toString('base64'), rel: `bench/${path.basename(path.dirname(f))}/${path.basename(f)}` }));
  await page.evaluate((list) => {
    (window as unknown as { __staged: File[] }).__staged = list.map((f) => {
      const bin = atob(f.base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const file = new File([bytes], f.name, { type: f.type });
      Object.defineProperty(file, 'webkitRelativePath', { value: f.rel });
      return file;
    });
    (window as unknown as { __lt: number[] }).__lt.length = 0;
  }, drop);
  const p0 = Date.now();
  await page.locator('[data-testid="folder-drop"]').first().evaluate((el) => {
    const dt = new DataTransfer();
    for (const f of (window as unknown as { __staged: File[] }).__staged) dt.items.add(f);
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  });
  await page.waitForFunction((n) => Array.from(document.querySelectorAll('[data-testid="class-count"]')).reduce((s, e) => s + Number(e.textContent), 0) >= n, before + files.length, { timeout: 1_800_000, polling: 500 });
  const seconds = (Date.now() - p0) / 1000;
  const longestTaskMs = Math.max(0, ...(await page.evaluate(() => (window as unknown as { __lt: number[] }).__lt)));
  return { imagesPerS: +(files.length / seconds).toFixed(3), longestTaskMs };
}

/** The default extractor's network time at batch 1 on each other backend, with its floor. */
async function otherBackends(browser: import('playwright-core').Browser, base: string, rows: Row[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const want of (args.backends ?? '').split(',').filter(Boolean)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${base}?bench=1&extractor=${DEFAULT_EXTRACTOR_ID}&backend=${want}`);
      await page.waitForFunction(() => (window as unknown as { __glimpseBench?: { ready(): boolean } }).__glimpseBench?.ready(), null, { timeout: 600_000 });
      const info = await call<{ backend: string; threads: string }>(page, 'info');
      if (info.backend !== want) {
        out[want] = { skipped: `asked for ${want}, got ${info.backend}` };
        continue;
      }
      const batches = [1];
      const prof = await call<{ macsPerImage: number | null; matmulMacsPerS: number; embedMsPerImage: Record<string, number> }>(page, 'profile', batches, 1);
      for (const [b, ms] of Object.entries(prof.embedMsPerImage)) rows.push({ where: `chromium (network only, ${info.threads})`, extractor: DEFAULT_EXTRACTOR_ID, backend: want, batch: Number(b), msPerImage: ms });
      out[want] = {
        detail: info.threads,
        embed_ms_per_image: prof.embedMsPerImage,
        matmul_gmacs_per_s: prof.matmulMacsPerS / 1e9,
        floor_ms_per_image: prof.macsPerImage ? (prof.macsPerImage / prof.matmulMacsPerS) * 1000 : null,
      };
      console.log(`backend ${want}: ${JSON.stringify(out[want])}`);
    } catch (err) {
      out[want] = { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
    } finally {
      await context.close();
    }
  }
  return out;
}

async function browserBench(rows: Row[], extra: Record<string, unknown>): Promise<void> {
  if (!fs.existsSync(path.join(repoRoot, process.env.GLIMPSE_OUT_DIR ?? 'dist', 'index.html'))) throw new Error('No build: run `npm run build` first (or pass --node-only).');
  const port = Number(args.port);
  const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: repoRoot, stdio: 'ignore', detached: true });
  const base = `http://127.0.0.1:${port}/`;
  const pipelineN = Number(args.pipeline);
  try {
    await waitForServer(base, 60_000);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
    });
    extra.browser = `Chromium ${browser.version()}`;
    const files = benchImages(Math.max(N, pipelineN));
    const perExtractor: Record<string, Record<string, unknown>> = {};
    for (const spec of await selectedExtractors()) {
      const out: Record<string, unknown> = {};
      perExtractor[spec.id] = out;
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.route(/tfhub\.dev|kaggle\.com|storage\.googleapis\.com/, (r) => r.abort('internetdisconnected'));
      await page.route('**/bench-images/**', (r) => r.fulfill({ path: files[Number(r.request().url().split('/').pop())]!, contentType: 'image/jpeg' }));
      const urls = files.map((_, i) => `${base}bench-images/${i}`);
      const ready = () => page.waitForFunction(() => (window as unknown as { __glimpseBench?: { ready(): boolean } }).__glimpseBench?.ready(), null, { timeout: 300_000 });
      // Cold: empty cache, model from the network (here: the local server). Warm: from Cache Storage.
      let t0 = Date.now();
      const lanesParam = args.lanes ? `&lanes=${args.lanes}` : '';
      await page.goto(`${base}?bench=1&extractor=${spec.id}${lanesParam}`);
      await ready();
      out.model_load_cold_ms = (await call<{ loadMs: number }>(page, 'info')).loadMs;
      out.page_to_ready_cold_ms = Date.now() - t0;
      t0 = Date.now();
      await page.reload();
      await ready();
      const info = await call<{ backend: string; threads: string; loadMs: number }>(page, 'info');
      out.model_load_warm_ms = info.loadMs;
      await call(page, 'embedUrls', urls.slice(0, 1), 1);
      out.time_to_first_prediction_ms = Date.now() - t0;
      // Helper lanes start with the first call of more than one batch and load in the background:
      // start them, and time nothing else until they are in.
      const plannedLanes = /(\d+) workers/.exec(info.threads)?.[1];
      if (plannedLanes) await call(page, 'embedUrls', urls.slice(0, 8), 8);
      for (let waited = 0; plannedLanes && waited < 120_000; waited += 500) {
        if ((await call<{ lanes: number }>(page, 'memory')).lanes >= Number(plannedLanes)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      out.lanes = (await call<{ lanes: number }>(page, 'memory')).lanes;
      out.backend = info.backend;
      extra.backend = info.backend;
      extra.browser_threads = info.threads;
      if (!args['skip-profile']) {
        type Profile = { macsPerImage: number | null; matmulMacsPerS: number; embedMsPerImage: Record<string, number>; allLanes: { lanes: number; batch: number; embedMsPerImage: number; matmulMacsPerS: number } | null };
        const prof = await call<Profile>(page, 'profile', [1, 2, 4, 8], 3);
        const best = Object.entries(prof.embedMsPerImage).sort((a, b) => a[1] - b[1])[0]!;
        // One worker's numbers (with helper lanes it has only its share of the cores) ...
        out.embed_ms_per_image_batch1 = prof.embedMsPerImage['1'];
        out.one_lane_embed_ms_per_image_best = best[1];
        out.best_batch = Number(best[0]);
        out.macs_per_image = prof.macsPerImage;
        out.one_lane_matmul_gmacs_per_s = prof.matmulMacsPerS / 1e9;
        // ... and all lanes at once: network time per image of the whole machine, floor from all cores.
        const all = prof.allLanes;
        out.embed_ms_per_image_best = all ? all.embedMsPerImage : best[1];
        out.matmul_gmacs_per_s = (all ? all.matmulMacsPerS : prof.matmulMacsPerS) / 1e9;
        out.floor_ms_per_image = prof.macsPerImage ? (prof.macsPerImage / (all ? all.matmulMacsPerS : prof.matmulMacsPerS)) * 1000 : null;
        for (const [b, ms] of Object.entries(prof.embedMsPerImage)) rows.push({ where: `chromium (network only, ${all ? 'one of the workers' : 'one worker'})`, extractor: spec.id, backend: info.backend, batch: Number(b), msPerImage: ms });
        if (all) rows.push({ where: `chromium (network only, all ${all.lanes} workers at once)`, extractor: spec.id, backend: info.backend, batch: all.batch, msPerImage: all.embedMsPerImage });
        const e2e = await call<{ ms: number; done: number }>(page, 'embedUrls', urls.slice(0, N), 8);
        rows.push({ where: 'chromium (decode+embed)', extractor: spec.id, backend: info.backend, batch: 8, msPerImage: e2e.ms / e2e.done });
      }
      console.log(`chromium ${spec.id}: ${JSON.stringify(out)}`);
      if (spec.id === DEFAULT_EXTRACTOR_ID) {
        // Training in the worker, and the longest main-thread task meanwhile.
        for (const [n, k] of [[1000, 10], [5000, 26]] as const) {
          const t = await call<{ ms: number; longestTaskMs: number }>(page, 'trainSynthetic', n, k, 2048);
          extra[`head_train_ms_${n}`] = extra[`head_train_ms_${n}`] ?? Math.round(t.ms);
          extra[`browser_head_train_ms_${n}_${k}`] = Math.round(t.ms);
          extra.max_main_thread_task_ms_training = Math.max(Number(extra.max_main_thread_task_ms_training ?? 0), t.longestTaskMs);
        }
        const cyc = await call<{ tensorsBefore: number; tensorsAfter: number; heapBeforeMb: number | null; heapAfterMb: number | null }>(page, 'cycles', urls[0], Number(args.cycles));
        extra.tensor_growth = cyc.tensorsAfter - cyc.tensorsBefore;
        extra.heap_growth_mb = cyc.heapAfterMb !== null && cyc.heapBeforeMb !== null ? +(cyc.heapAfterMb - cyc.heapBeforeMb).toFixed(2) : null;
        extra.cycles = Number(args.cycles);
      }
      if (pipelineN > 0) {
        const pipe = await pipelineRun(page, files.slice(0, pipelineN));
        out.pipeline_images_per_s = pipe.imagesPerS;
        out.max_main_thread_task_ms_embedding = pipe.longestTaskMs;
        extra.max_main_thread_task_ms_embedding = Math.max(Number(extra.max_main_thread_task_ms_embedding ?? 0), pipe.longestTaskMs);
      }
      if (pipelineN > 0 && !args['skip-baseline']) {
        // Baseline: TF.js on the main thread, one image at a time, fromPixels from an <img>. Its own
        // context: no service worker of the app, no worker still holding the WASM threads.
        const baseContext = await browser.newContext();
        const basePage = await baseContext.newPage();
        await basePage.route('**/bench-images/**', (r) => r.fulfill({ path: files[Number(r.request().url().split('/').pop())]!, contentType: 'image/jpeg' }));
        await basePage.goto(`${base}bench/baseline.html`);
        await basePage.waitForFunction(() => (window as unknown as { __baseline?: unknown }).__baseline, null, { timeout: 300_000 });
        const b = await basePage.evaluate((a) => (window as unknown as { __baseline: { run(x: unknown): Promise<{ ms: number; n: number; backend: string; threads: number }> } }).__baseline.run(a), {
          modelUrl: new URL(spec.modelUrl, base).toString(),
          embeddingLayer: spec.embeddingOutput,
          inputSize: spec.inputSize,
          preprocessing: spec.preprocessing,
          urls: urls.slice(0, pipelineN),
        });
        await baseContext.close();
        out.baseline_images_per_s = +(b.n / (b.ms / 1000)).toFixed(3);
        out.baseline_threads = b.threads;
        out.pipeline_vs_baseline = +(Number(out.pipeline_images_per_s) / Number(out.baseline_images_per_s)).toFixed(2);
        extra.baseline_backend = b.backend;
        if (spec.id === DEFAULT_EXTRACTOR_ID || extra.pipeline_images_per_s === undefined) {
          extra.pipeline_images_per_s = out.pipeline_images_per_s;
          extra.baseline_images_per_s = out.baseline_images_per_s;
        }
        console.log(`${spec.id}: pipeline ${out.pipeline_images_per_s} images/s vs baseline ${out.baseline_images_per_s} images/s (${out.pipeline_vs_baseline}x)`);
      }
      await context.close();
    }
    extra.per_extractor = perExtractor;
    extra.embed_ms_per_image = Object.fromEntries(Object.entries(perExtractor).map(([k, v]) => [k, v.embed_ms_per_image_best]));
    extra.floor_ms_per_image = Object.fromEntries(Object.entries(perExtractor).map(([k, v]) => [k, v.floor_ms_per_image]));
    extra.max_main_thread_task_ms = Math.max(Number(extra.max_main_thread_task_ms_embedding ?? 0), Number(extra.max_main_thread_task_ms_training ?? 0));
    extra.pipeline_images_per_s_by_extractor = Object.fromEntries(Object.entries(perExtractor).map(([k, v]) => [k, v.pipeline_images_per_s ?? null]));
    extra.baseline_images_per_s_by_extractor = Object.fromEntries(Object.entries(perExtractor).map(([k, v]) => [k, v.baseline_images_per_s ?? null]));
    extra.other_backends = await otherBackends(browser, base, rows);
    await browser.close();
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
}

async function finetuneOnly(): Promise<void> {
  const ids = args.extractors ? args.extractors.split(',') : [DEFAULT_EXTRACTOR_ID];
  const out = [];
  for (const id of ids) {
    const r = await finetuneBench(id, Number(args['finetune-steps']));
    out.push(r);
    console.log(
      `finetune ${r.extractor} ${r.backend}: ${r.msPerStep.toFixed(0)} ms/step (batch ${r.batch}, CPU ${r.cpuMsPerStep.toFixed(0)} ms), ` +
        `${r.sPerEpoch600.toFixed(0)} s per epoch of 600 photos (from ${r.steps} steps), peak RSS ${r.peakRssMiB} MiB, load ${r.load.join(' ')}`,
    );
  }
  fs.mkdirSync(path.join(repoRoot, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, 'bench', 'finetune.json'), JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, runs: out }, null, 2));
  console.log('wrote bench/finetune.json');
}

async function main(): Promise<void> {
  if (args.finetune) return finetuneOnly();
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {};
  if (!args['browser-only']) await nodeBench(rows, extra);
  if (!args['node-only']) await browserBench(rows, extra);
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    versions: { tfjs: pkg.dependencies['@tensorflow/tfjs'] },
    images: N,
    rows,
    ...extra,
  };
  fs.mkdirSync(path.join(repoRoot, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, 'bench', 'results.json'), JSON.stringify(result, null, 2));
  console.log('\n| where | extractor | backend | batch | ms/image |\n|---|---|---|---:|---:|');
  for (const r of rows) console.log(`| ${r.where} | ${r.extractor} | ${r.backend} | ${r.batch} | ${r.msPerImage.toFixed(0)} |`);
  const per = (extra.per_extractor ?? {}) as Record<string, Record<string, number | null | undefined>>;
  const f = (v: unknown, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
  if (Object.keys(per).length > 0) {
    console.log('\n| extractor (Chromium, ' + String(extra.backend) + ') | ms/image b1, one worker | ms/image, all workers (batch) | floor, all cores | × floor | pipeline img/s | baseline img/s | × baseline | cold load ms | warm load ms | first prediction ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [id, v] of Object.entries(per)) {
      const x = typeof v.embed_ms_per_image_best === 'number' && typeof v.floor_ms_per_image === 'number' ? v.embed_ms_per_image_best / v.floor_ms_per_image : null;
      console.log(`| ${id} | ${f(v.embed_ms_per_image_batch1)} | ${f(v.embed_ms_per_image_best)} (${f(v.best_batch)}) | ${f(v.floor_ms_per_image)} | ${f(x, 2)} | ${f(v.pipeline_images_per_s, 2)} | ${f(v.baseline_images_per_s, 2)} | ${f(v.pipeline_vs_baseline, 2)} | ${f(v.model_load_cold_ms)} | ${f(v.model_load_warm_ms)} | ${f(v.time_to_first_prediction_ms)} |`);
    }
  }
  const keys = ['head_train_ms_1000', 'head_train_ms_5000', 'node_head_train_ms_1000_10', 'node_head_train_ms_5000_26', 'max_main_thread_task_ms_embedding', 'max_main_thread_task_ms_training', 'tensor_growth', 'heap_growth_mb', 'cycles'];
  console.log('\n| measure | value |\n|---|---:|');
  for (const k of keys) if (extra[k] !== undefined) console.log(`| ${k} | ${String(extra[k])} |`);
  console.log('\nwrote bench/results.json');
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
