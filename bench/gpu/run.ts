// Times Glimpse's TF.js extractor (the app's own loadExtractor + specs + preprocessing) in Node on
// a real GPU through WebGPU (Dawn's Node bindings), at several batch sizes, and writes JSON.
//
//   node .cache/bench-gpu/glimpse-gpu-bench.mjs --backend webgpu --models public/models --batches 1,8,32
//   (bundle: node bench/gpu/build.mjs; or unbundled: npx tsx bench/gpu/run.ts ...)
//
// Two timings per batch size:
//   forward  embedTensor(x) on a preprocessed [n,299,299,3] tensor already on the device, then
//            await data() of the [n,2048] embeddings (what PyTorch's reference also does).
//   app      extractor.embed(images) from n RGBA 640x480 pixel buffers: upload, centre crop,
//            bilinear resize, value mapping, forward, download, finiteness check; the app's path
//            minus JPEG decoding.
// Flags: --backend webgpu|cpu, --models DIR (holds <extractor-id>/model.json), --extractor ID,
// --batches 1,8,32, --warmup N, --min-iters N, --min-ms MS, --no-app, --expect-adapter REGEX, --json FILE,
// --write-reference FILE (embedding of a fixed synthetic image), --check-reference FILE.
import { dawnStatus } from './dawn-setup'; // first: sets navigator.gpu before the backend loads
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { loadExtractor, type Extractor } from '../../src/embed/extractor';
import { findExtractor } from '../../src/embed/specs';
import type { ByteFetcher } from '../../src/embed/loader';
import type { PixelImage } from '../../src/embed/preprocess';
import { LEVERS, applyLever, precompile } from './levers';
import { retiledDispatches } from './conv-tiles';
import { checkPreprocess, profilePreprocess } from './check-preprocess';
import { checkTiles } from './check-tiles';
import { checkIgemm } from './check-igemm';
import { igemmDispatches } from '../../src/embed/conv-webgpu';
import { getUploadMode, setUploadMode, type UploadMode } from '../../src/embed/preprocess-webgpu';

interface Args {
  backend: string;
  models: string;
  extractor: string;
  batches: number[];
  warmup: number;
  minIters: number;
  minMs: number;
  app: boolean;
  /** Fail unless the WebGPU adapter's info matches this (case-insensitive regex), e.g. "nvidia". */
  expectAdapter?: string;
  json?: string;
  writeReference?: string;
  checkReference?: string;
  /** Time the forward pass under each of levers.ts's flag sets too. */
  levers: boolean;
  /** --levers=a,b: only these levers (by name); --levers: all. */
  leverNames?: string[] | undefined;
  /** Compile every pipeline ahead (WEBGPU_ENGINE_COMPILE_ONLY) before each batch's first call. */
  precompile: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
    return n;
  };
  const args: Args = {
    backend: get('backend') ?? 'webgpu',
    models: path.resolve(get('models') ?? 'public/models'),
    extractor: get('extractor') ?? 'inception-v3-2015-mixed8',
    batches: (get('batches') ?? '1,8,32').split(',').filter(Boolean).map(Number),
    warmup: num('warmup', 3),
    minIters: num('min-iters', 10),
    minMs: num('min-ms', 2000),
    app: !argv.includes('--no-app'),
    levers: argv.some((v) => v === '--levers' || v.startsWith('--levers=')),
    leverNames: argv
      .find((v) => v.startsWith('--levers='))
      ?.slice(9)
      .split(',')
      .filter(Boolean),
    precompile: argv.includes('--precompile'),
  };
  if (args.batches.some((b) => !Number.isInteger(b) || b < 1))
    throw new Error('--batches: positive integers');
  const expect = get('expect-adapter');
  if (expect) args.expectAdapter = expect;
  const json = get('json');
  const writeRef = get('write-reference');
  const checkRef = get('check-reference');
  if (json) args.json = path.resolve(json);
  if (writeRef) args.writeReference = path.resolve(writeRef);
  if (checkRef) args.checkReference = path.resolve(checkRef);
  return args;
}

export interface Timing {
  iters: number;
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  msPerImage: number;
  imagesPerSec: number;
}

export interface BatchResult {
  batch: number;
  firstCallMs: number;
  /** With --precompile: the time of the compile-only pass that preceded the first call. */
  precompileMs?: number;
  forward: Timing;
  app?: Timing;
}

function summarise(samples: number[], batch: number): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return {
    iters: samples.length,
    medianMs: median,
    meanMs: mean,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    msPerImage: median / batch,
    imagesPerSec: (batch * 1000) / median,
  };
}

/** Runs fn `warmup` times untimed, then at least minIters times and for at least minMs. */
async function measure(fn: () => Promise<void>, a: Args): Promise<number[]> {
  for (let i = 0; i < a.warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < a.minIters || performance.now() - start < a.minMs) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    if (samples.length >= 1000) break;
  }
  return samples;
}

/** Deterministic pseudo-random bytes (xorshift32), so every run sees the same pixels. */
function syntheticImage(width: number, height: number, seed: number): PixelImage {
  const data = new Uint8Array(width * height * 4);
  let s = seed >>> 0 || 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      const i = (y * width + x) * 4;
      // Smooth gradients plus a little noise: closer to a photo than white noise.
      data[i] = ((x * 255) / width) * 0.8 + (s & 0x1f);
      data[i + 1] = ((y * 255) / height) * 0.8 + ((s >>> 8) & 0x1f);
      data[i + 2] = ((x + y) * 127) / (width + height) + ((s >>> 16) & 0x3f);
      data[i + 3] = 255;
    }
  }
  return { width, height, channels: 4, data };
}

const fileFetcher: ByteFetcher = async (p) => {
  const buf = await fs.readFile(p);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
};

interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
}

async function describeAdapter(): Promise<AdapterSummary | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    features: [...adapter.features].map(String).sort(),
  };
}

interface Reference {
  extractor: string;
  backend: string;
  image: string;
  embedding: number[];
}

const REF_IMAGE = { width: 640, height: 480, seed: 12345 };

async function referenceEmbedding(ex: Extractor): Promise<Float32Array> {
  const img = syntheticImage(REF_IMAGE.width, REF_IMAGE.height, REF_IMAGE.seed);
  const { embeddings } = await ex.embed([img]);
  return embeddings[0]!;
}

function compare(
  a: Float32Array,
  b: number[],
): { cosine: number; maxAbsDiff: number; maxAbsRef: number } {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
    maxDiff = Math.max(maxDiff, Math.abs(x - y));
    maxRef = Math.max(maxRef, Math.abs(y));
  }
  return { cosine: dot / Math.sqrt(na * nb), maxAbsDiff: maxDiff, maxAbsRef: maxRef };
}

const fmt = (v: number, d = 2): string => v.toFixed(d);

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  console.log(
    `[tfjs] node ${process.version}, TF.js ${tf.version.tfjs}; dawn.node: ${dawnStatus.loaded ? 'loaded' : 'not loaded'} (${dawnStatus.detail})`,
  );
  const adapter = a.backend === 'webgpu' ? await describeAdapter() : null;
  if (a.backend === 'webgpu') {
    if (!adapter)
      throw new Error(
        'WebGPU: no adapter (is a Vulkan driver reachable? VK_DRIVER_FILES, libvulkan.so.1)',
      );
    console.log(`[tfjs] WebGPU adapter: ${JSON.stringify(adapter)}`);
    if (a.expectAdapter && !new RegExp(a.expectAdapter, 'i').test(JSON.stringify(adapter))) {
      throw new Error(`WebGPU adapter does not match --expect-adapter ${a.expectAdapter}`);
    }
  }
  if (!(await tf.setBackend(a.backend)))
    throw new Error(`TF.js backend ${a.backend} did not start`);
  await tf.ready();
  console.log(`[tfjs] backend: ${tf.getBackend()}`);

  const up = process.argv.find((v) => v.startsWith('--upload='))?.slice(9);
  if (up) setUploadMode(up as UploadMode);
  const spec = findExtractor(a.extractor);
  const resolveUrl = (u: string): string =>
    path.join(a.models, u.split('?')[0]!.replace(/^(shared-)?models\//, ''));
  const t0 = performance.now();
  const ex = await loadExtractor(spec, { fetchBytes: fileFetcher, resolveUrl });
  console.log(`[tfjs] loaded ${ex.key} in ${fmt(performance.now() - t0, 0)} ms`);
  // --igemm=<lever>: that lever's conv policy (null: TF.js's shaders) for the whole run.
  const ig = process.argv.find((v) => v.startsWith('--igemm='))?.slice(8);
  if (ig) {
    const lever = LEVERS.find((l) => l.name === ig && 'igemm' in l);
    if (!lever) throw new Error(`--igemm=${ig}: no lever of that name sets the conv policy`);
    applyLever(lever);
    console.log(`[tfjs] the whole run with lever ${ig}: ${lever.what}`);
  }

  let preprocessMaxDiff: number | undefined;
  if (process.argv.includes('--check-tiles') && a.backend === 'webgpu') {
    const rows = await checkTiles();
    const worst = rows.reduce((m, r) => (r.maxDiff > m.maxDiff ? r : m));
    console.log(
      `[tfjs] conv tiles vs CPU, ${rows.length} cases (${[...new Set(rows.map((r) => r.tile))].join(', ')} x 6 shapes x batch 1, 4): ` +
        `worst max |diff| ${worst.maxDiff.toExponential(2)} (${worst.tile}, ${worst.shape}, batch ${worst.batch}, max |ref| ${worst.maxRef.toFixed(2)})`,
    );
  }
  if (process.argv.includes('--check-igemm') && a.backend === 'webgpu') {
    const env = process.env.GLIMPSE_CHECK_IGEMM; // "batches;shape,shape" (a quicker check, lavapipe)
    const rows = env
      ? await checkIgemm(env.split(';')[0]!.split(',').map(Number), env.split(';')[1]?.split(','))
      : await checkIgemm();
    const worst = rows.reduce((m, r) => (r.maxDiff > m.maxDiff ? r : m));
    console.log(
      `[tfjs] igemm conv vs CPU, ${rows.length} cases (${[...new Set(rows.map((r) => r.policy))].join(', ')} x ${new Set(rows.map((r) => r.shape)).size} shapes x batch 1, 2): ` +
        `worst max |diff| ${worst.maxDiff.toExponential(2)} (${worst.policy}, ${worst.shape}, batch ${worst.batch}, max |ref| ${worst.maxRef.toFixed(2)})`,
    );
  }
  if (process.argv.includes('--check-preprocess') && a.backend === 'webgpu') {
    preprocessMaxDiff = await checkPreprocess(spec.inputSize);
    console.log(
      `[tfjs] fused WebGPU preprocessing vs per-image ops: max |diff| ${preprocessMaxDiff.toExponential(2)}`,
    );
  }
  let check: (ReturnType<typeof compare> & { against: string }) | undefined;
  if (a.writeReference || a.checkReference) {
    const emb = await referenceEmbedding(ex);
    if (a.writeReference) {
      const ref: Reference = {
        extractor: ex.key,
        backend: tf.getBackend(),
        image: JSON.stringify(REF_IMAGE),
        embedding: Array.from(emb),
      };
      await fs.writeFile(a.writeReference, JSON.stringify(ref));
      console.log(`[tfjs] wrote reference embedding (${tf.getBackend()}) to ${a.writeReference}`);
    }
    if (a.checkReference) {
      const ref = JSON.parse(await fs.readFile(a.checkReference, 'utf8')) as Reference;
      if (ref.extractor !== ex.key)
        throw new Error(`reference is for ${ref.extractor}, not ${ex.key}`);
      check = { ...compare(emb, ref.embedding), against: ref.backend };
      console.log(
        `[tfjs] ${tf.getBackend()} vs ${ref.backend} reference: cosine ${check.cosine.toFixed(6)}, max |diff| ${check.maxAbsDiff.toExponential(2)} (max |ref| ${check.maxAbsRef.toFixed(3)})`,
      );
      if (!(check.cosine > 0.999))
        throw new Error(
          'embedding differs from the reference: the backend computes something else',
        );
    }
  }

  const results: BatchResult[] = [];
  const s = spec.inputSize;
  for (const n of a.batches) {
    const x = tf.randomUniform([n, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const forward = async (): Promise<void> => {
      const y = ex.embedTensor(x);
      await y.data();
      y.dispose();
    };
    const precompileMs =
      a.precompile && a.backend === 'webgpu'
        ? await precompile(() => ex.embedTensor(x))
        : undefined;
    const c0 = performance.now();
    await forward(); // first call at this shape: shader/pipeline compilation (unless precompiled)
    const firstCallMs = performance.now() - c0;
    const fwd = summarise(await measure(forward, a), n);
    x.dispose();
    const r: BatchResult = { batch: n, firstCallMs, forward: fwd };
    if (precompileMs !== undefined) r.precompileMs = precompileMs;
    if (a.app) {
      const images = Array.from({ length: n }, (_, i) => syntheticImage(640, 480, 1000 + i));
      r.app = summarise(await measure(async () => void (await ex.embed(images)), a), n);
    }
    results.push(r);
    console.log(
      `[tfjs] batch ${String(n).padStart(2)}: forward ${fmt(fwd.msPerImage)} ms/image, ${fmt(fwd.imagesPerSec, 1)} images/s (median ${fmt(fwd.medianMs)} ms/batch over ${fwd.iters})` +
        (r.app
          ? `; app path ${fmt(r.app.msPerImage)} ms/image, ${fmt(r.app.imagesPerSec, 1)} images/s`
          : '') +
        `; first call ${fmt(firstCallMs, 0)} ms`,
    );
  }
  const preprocessProfile: Record<string, number>[] = [];
  if (process.argv.includes('--profile-preprocess') && a.backend === 'webgpu') {
    for (const n of a.batches) {
      const images = Array.from({ length: n }, (_, i) => syntheticImage(640, 480, 1000 + i));
      const p = await profilePreprocess(images, s, spec.preprocessing, (ims) => ex.embed(ims));
      preprocessProfile.push(p);
      console.log(
        `[prep] ${Object.entries(p)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')}`,
      );
    }
  }
  const kernelProfile =
    process.argv.includes('--kernel-profile') && a.backend === 'webgpu'
      ? await profileKernels(ex, Math.max(...a.batches)).catch((e: unknown) => {
          console.log(`[kern] profile failed: ${String(e)}`);
          return undefined;
        })
      : undefined;
  const levers = a.levers
    ? await runLevers(
        ex,
        a,
        () => loadExtractor(spec, { fetchBytes: fileFetcher, resolveUrl, foldBatchNorms: false }),
        check !== undefined ? a.checkReference : undefined,
      )
    : undefined;
  const mem = tf.memory();
  ex.dispose();
  console.log(`[tfjs] tensors alive after the runs (model included): ${mem.numTensors}`);

  if (a.json) {
    const out = {
      tool: 'tfjs',
      node: process.version,
      tfjs: tf.version.tfjs,
      backend: a.backend,
      dawnFlags: dawnStatus.flags,
      adapter,
      extractor: ex.key,
      inputSize: s,
      appImage: '640x480 RGBA',
      check,
      preprocessMaxDiff,
      preprocessProfile,
      uploadMode: getUploadMode(),
      kernelProfile,
      results,
      levers,
    };
    await fs.writeFile(a.json, JSON.stringify(out, null, 2));
    console.log(`[tfjs] wrote ${a.json}`);
  }
}

interface KernelProfile {
  batch: number;
  /** Sum of the GPU time of every dispatch (timestamp queries), one forward pass. */
  gpuKernelMs: number;
  /** The same forward pass's wall time with per-kernel timing on (slower than a plain pass). */
  wallMs: number;
  /** Median wall time of a plain pass, for comparison. */
  plainMs: number;
  byKernel: { name: string; ms: number; count: number }[];
  /** The same time by WebGPU program (shader) name, from the profile's extra info. */
  byProgram: { name: string; ms: number; count: number }[];
  /** Every convolution of the pass: input and filter shapes, GPU ms, the shader(s) that ran it. */
  convs: { x: number[]; filter: number[]; ms: number; programs: string }[];
}

/**
 * Where one forward pass's GPU time goes, kernel by kernel (tf.profile with the backend's
 * timestamp queries): whether the GPU is busy the whole pass (then the shaders are the limit) or
 * idle between dispatches (then the JavaScript side is).
 */
async function profileKernels(ex: Extractor, n: number): Promise<KernelProfile | undefined> {
  const s = ex.spec.inputSize;
  const x = tf.randomUniform([n, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const pass = async (): Promise<void> => {
    const y = ex.embedTensor(x);
    await y.data();
    y.dispose();
  };
  const plain: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await pass();
    plain.push(performance.now() - t0);
  }
  await tf.profile(pass); // the timing queries' own first use
  const t0 = performance.now();
  const info = await tf.profile(pass);
  const wallMs = performance.now() - t0;
  x.dispose();
  const by = new Map<string, { ms: number; count: number }>();
  const byProg = new Map<string, { ms: number; count: number }>();
  const add = (m: typeof by, name: string, ms: number): void => {
    const e = m.get(name) ?? { ms: 0, count: 0 };
    e.ms += ms;
    e.count += 1;
    m.set(name, e);
  };
  let total = 0;
  const convs: KernelProfile['convs'] = [];
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
    if (!Number.isFinite(ms)) continue;
    total += ms;
    if (k.name === 'FusedConv2D' || k.name === 'Conv2D')
      convs.push({
        x: k.inputShapes[0] ?? [],
        filter: k.inputShapes[1] ?? [],
        ms,
        programs: String(k.extraInfo ?? ''),
      });
    add(by, k.name, ms);
    // extraInfo: "Conv2DMMProgram: 9.1, ReduceProgram: 0.4"
    for (const part of String(k.extraInfo ?? '').split(', ')) {
      const m = /^(\w+): ([\d.]+)$/.exec(part.trim());
      if (m) add(byProg, m[1]!, Number(m[2]));
    }
  }
  if (by.size === 0) return undefined;
  const sorted = (m: typeof by): { name: string; ms: number; count: number }[] =>
    [...m.entries()]
      .map(([name, e]) => ({ name, ms: e.ms, count: e.count }))
      .sort((p, q) => q.ms - p.ms);
  const byKernel = sorted(by);
  const byProgram = sorted(byProg);
  const r: KernelProfile = {
    batch: n,
    gpuKernelMs: total,
    wallMs,
    plainMs: plain.sort((p, q) => p - q)[3]!,
    byKernel,
    byProgram,
    convs,
  };
  for (const c of convs)
    console.log(
      `[conv] x ${c.x.join('x')} w ${c.filter.join('x')}: ${fmt(c.ms, 3)} ms (${c.programs})`,
    );
  console.log(
    `[kern] batch ${n}: GPU time of all kernels ${fmt(total)} ms, plain pass ${fmt(r.plainMs)} ms; ` +
      byKernel
        .slice(0, 8)
        .map((k) => `${k.name} ${fmt(k.ms)} (${k.count})`)
        .join(', ') +
      '; by shader: ' +
      byProgram
        .slice(0, 8)
        .map((k) => `${k.name} ${fmt(k.ms)} (${k.count})`)
        .join(', '),
  );
  return r;
}

interface LeverResult {
  name: string;
  what: string;
  flags: Record<string, number | boolean>;
  cosineVsReference?: number;
  forward: { batch: number; timing: Timing }[];
}

/** The forward pass under each lever in turn, each re-checked against the CPU reference. */
async function runLevers(
  ex: Extractor,
  a: Args,
  load: () => Promise<Extractor>,
  refFile?: string,
): Promise<LeverResult[]> {
  const ref = refFile ? (JSON.parse(await fs.readFile(refFile, 'utf8')) as Reference) : undefined;
  const s = ex.spec.inputSize;
  const out: LeverResult[] = [];
  const chosen = a.leverNames ? LEVERS.filter((l) => a.leverNames!.includes(l.name)) : LEVERS;
  for (const lever of chosen) {
    applyLever(lever);
    const retiled0 = retiledDispatches();
    const routed0 = igemmDispatches();
    const r: LeverResult = { name: lever.name, what: lever.what, flags: lever.flags, forward: [] };
    if (ref) r.cosineVsReference = compare(await referenceEmbedding(ex), ref.embedding).cosine;
    for (const n of a.batches) {
      const x = tf.randomUniform([n, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const t = summarise(
        await measure(async () => {
          const y = ex.embedTensor(x);
          await y.data();
          y.dispose();
        }, a),
        n,
      );
      x.dispose();
      r.forward.push({ batch: n, timing: t });
    }
    console.log(
      `[lever] ${lever.name.padEnd(14)} ${r.forward.map((f) => `b${f.batch} ${fmt(f.timing.msPerImage)}`).join('  ')} ms/image` +
        (r.cosineVsReference !== undefined
          ? `; cosine vs CPU ${r.cosineVsReference.toFixed(6)}`
          : '') +
        (lever.tile ? `; ${retiledDispatches() - retiled0} dispatches retiled` : '') +
        `; ${igemmDispatches() - routed0} convs through igemm`,
    );
    out.push(r);
  }
  applyLever(LEVERS[0]!);
  if (a.leverNames && !a.leverNames.includes('bn-unfolded')) return out;
  const unfolded = await unfoldedLever(ex, a, load, ref);
  if (unfolded) out.push(unfolded);
  return out;
}

/**
 * The network as shipped, batch norms as separate layers: the app folds them at load
 * (src/embed/fold-bn.ts) for layers models that have them (the full Inception-v3); this loads a
 * second copy with folding off. The default extractor's weights were folded by its converter.
 */
async function unfoldedLever(
  ex: Extractor,
  a: Args,
  load: () => Promise<Extractor>,
  ref?: Reference,
): Promise<LeverResult | undefined> {
  if (ex.foldedBatchNorms === 0) return undefined;
  const plain = await load();
  const s = ex.spec.inputSize;
  const r: LeverResult = {
    name: 'bn-unfolded',
    what: `batch norms as separate layers (the app folds ${ex.foldedBatchNorms} at load; this is the network without that)`,
    flags: {},
    forward: [],
  };
  if (ref) r.cosineVsReference = compare(await referenceEmbedding(plain), ref.embedding).cosine;
  for (const n of a.batches) {
    const x = tf.randomUniform([n, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const t = summarise(
      await measure(async () => {
        const y = plain.embedTensor(x);
        await y.data();
        y.dispose();
      }, a),
      n,
    );
    x.dispose();
    r.forward.push({ batch: n, timing: t });
  }
  console.log(
    `[lever] ${r.name.padEnd(14)} ${r.forward.map((q) => `b${q.batch} ${fmt(q.timing.msPerImage)}`).join('  ')} ms/image` +
      (r.cosineVsReference !== undefined
        ? `; cosine vs CPU ${r.cosineVsReference.toFixed(6)}`
        : '') +
      `; ${r.what}`,
  );
  plain.dispose();
  return r;
}

main().then(
  () => process.exit(0), // dawn.node can keep the event loop alive; leave explicitly
  (err: unknown) => {
    console.error('[tfjs] FAILED:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
