// npm run bench: embedding speed per extractor on WASM in Node (library path) and in headless
// Chromium (the app's own worker pipeline), head training time, and tensor growth.
// Prints a table and writes bench/results.json. Needs a production build (npm run build) for the
// browser part; pass --node-only to skip it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { defaultHeadSettings, trainHead } from '../src/train/head';
import { availableExtractors, decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, sharedRoot } from './lib/node-env';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '16' },
    'node-only': { type: 'boolean', default: false },
    'browser-only': { type: 'boolean', default: false },
    port: { type: 'string', default: '4391' },
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
  for (const spec of await availableExtractors()) {
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
    extra[`head_train_ms_${n}_${k}`] = Math.round(performance.now() - t0);
    console.log(`node head training ${n} x ${d}, ${k} classes: ${extra[`head_train_ms_${n}_${k}`]} ms (${head.history.length} epochs)`);
  }
}

async function waitForServer(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`server at ${url} did not start`);
}

async function browserBench(rows: Row[], extra: Record<string, unknown>): Promise<void> {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'index.html'))) throw new Error('No build: run `npm run build` first (or pass --node-only).');
  const port = Number(args.port);
  const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: repoRoot, stdio: 'ignore', detached: true });
  const base = `http://127.0.0.1:${port}/`;
  try {
    await waitForServer(base, 60_000);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
    });
    extra.browser = `Chromium ${browser.version()}`;
    const files = benchImages(N);
    for (const spec of await availableExtractors()) {
      const page = await browser.newPage();
      await page.route(/tfhub\.dev|kaggle\.com|storage\.googleapis\.com/, (r) => r.abort('internetdisconnected'));
      await page.route('**/bench-images/**', (r) => r.fulfill({ path: files[Number(r.request().url().split('/').pop())]!, contentType: 'image/jpeg' }));
      await page.goto(`${base}?bench=1&extractor=${spec.id}`);
      await page.waitForFunction(() => (window as unknown as { __glimpseBench?: { ready(): boolean } }).__glimpseBench?.ready(), null, { timeout: 180_000 });
      const info = await page.evaluate(() => (window as unknown as { __glimpseBench: { info(): { backend: string; threads: string } } }).__glimpseBench.info());
      extra[`browser_threads`] = info.threads;
      const urls = files.map((_, i) => `${base}bench-images/${i}`);
      for (const chunk of [1, 8]) {
        await page.evaluate(([u, c]) => (window as unknown as { __glimpseBench: { embedUrls(u: string[], c: number): Promise<unknown> } }).__glimpseBench.embedUrls(u.slice(0, c), c), [urls, chunk] as const);
        const r = await page.evaluate(([u, c]) => (window as unknown as { __glimpseBench: { embedUrls(u: string[], c: number): Promise<{ ms: number; done: number }> } }).__glimpseBench.embedUrls(u, c), [urls, chunk] as const);
        rows.push({ where: 'chromium', extractor: spec.id, backend: info.backend, batch: chunk, msPerImage: r.ms / r.done });
        console.log(`chromium ${spec.id} ${info.backend} (${info.threads}) chunk ${chunk}: ${(r.ms / r.done).toFixed(0)} ms/image (decode + embed)`);
      }
      await page.close();
    }
    await browser.close();
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
}

async function main(): Promise<void> {
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
    embed_ms_per_image: Object.fromEntries(rows.filter((r) => r.where === 'chromium' && r.batch === 8).map((r) => [r.extractor, +r.msPerImage.toFixed(1)])),
    ...extra,
  };
  fs.mkdirSync(path.join(repoRoot, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, 'bench', 'results.json'), JSON.stringify(result, null, 2));
  console.log('\n| where | extractor | backend | batch | ms/image |\n|---|---|---|---:|---:|');
  for (const r of rows) console.log(`| ${r.where} | ${r.extractor} | ${r.backend} | ${r.batch} | ${r.msPerImage.toFixed(0)} |`);
  console.log('\nwrote bench/results.json');
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
