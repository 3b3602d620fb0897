// Per-kernel profile of fine-tuning steps (top + head, forward + backward + Adam) on WASM in Node:
// CPU time per kernel and per inner kernel of src/embed/wasm-grad.ts, per step. Random activations
// and head; REAL=1: real flower photos' activations and a head fitted on them, with the recipe.
//   [REAL=1] npx tsx scripts/ft-profile.ts [extractor] [batch] [steps]
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadNodeExtractor } from './lib/node-env';
import { FINE_TUNE_RECIPE, bottomActivations, embedActivations, fineTune, splitForFineTune, type ActivationSet } from '../src/train/finetune';
import { defaultHeadSettings, type TrainedHead } from '../src/train/head';
import { fitHead } from '../src/train/fit';
import { imagesToBatch } from '../src/embed/preprocess';
import { listImageFolder } from './lib/dataset-files';
import { decodeImageFile, sharedRoot } from './lib/node-env';
import path from 'node:path';
import { innerTimings } from '../src/embed/wasm-grad';

const [extractorId = 'inception-v3-2015-mixed8', batchArg = '16', stepsArg = '3'] = process.argv.slice(2);
const B = Number(batchArg);
await initNodeBackend('wasm');
const ex = await loadNodeExtractor(extractorId);
const split = splitForFineTune(ex.layersModel!, ex.spec.fineTuneFrom!, ex.spec.embeddingOutput);
const shape = split.activationShape;
const size = shape.reduce((a, b) => a * b, 1);
console.log(extractorId, 'activation', shape, 'top layers', split.topLayers.length);
for (const l of split.topLayers) console.log('  ', l.getClassName(), l.name, JSON.stringify(l.outputShape));
let s = 1;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
const n = B * Number(stepsArg);
const set: ActivationSet = { x: Float32Array.from({ length: n * size }, () => Math.max(0, rnd() * 2 - 0.5)), y: Int32Array.from({ length: n }, (_, i) => i % 5), n };
const dim = ex.spec.embeddingDim;
let head: TrainedHead = { kind: 'softmax', inputDim: dim, numClasses: 5, mean: new Float32Array(dim), invStd: new Float32Array(dim).fill(1),
  layers: [{ kernel: Float32Array.from({ length: dim * 5 }, () => (rnd() - 0.5) * 0.01), bias: new Float32Array(5), inDim: dim, outDim: 5 }],
  settings: {} as never, history: [], bestEpoch: 1 };
if (process.env.REAL) {
  // Real photos and a head fitted on them (what the app fine-tunes from): gradients are small.
  const listed = await listImageFolder(path.join(sharedRoot, 'datasets', 'flower_photos'), console.warn);
  const per = Math.ceil(n / 5);
  const byClass = new Map<string, typeof listed.files>();
  for (const f of listed.files) { const c = byClass.get(f.className) ?? []; if (c.length < per) c.push(f); byClass.set(f.className, c); }
  const files = [...byClass.values()].flat().slice(0, n);
  for (let i = 0; i < n; i += 4) {
    const px = await Promise.all(files.slice(i, i + 4).map((f) => decodeImageFile(f.file)));
    const input = imagesToBatch(px, ex.spec.inputSize, ex.spec.preprocessing);
    set.x.set(await bottomActivations(split, input), i * size);
    input.dispose();
  }
  files.forEach((f, i) => { set.y[i] = listed.classes.indexOf(f.className); });
  const emb = await embedActivations(split, set);
  head = (await fitHead({ ids: files.map((f) => f.id), labels: set.y, x: emb, dim }, listed.classes.length, defaultHeadSettings('softmax'))).head;
  console.log('real activations of', n, 'photos; head fitted');
}
const recipe = process.env.REAL ? { ...FINE_TUNE_RECIPE, epochs: 1, warmupEpochs: 0 } : {};
const one: ActivationSet = { x: set.x.subarray(0, B * size), y: set.y.subarray(0, B), n: B };
await fineTune(split, head, one, null, { ...recipe, epochs: 1, batchSize: B }); // warm-up
// Kernel times as this process's CPU time (WASM runs on one thread in Node): comparable across
// runs on a machine shared with other jobs, where wall time is not.
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
(tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> }).time = async (f) => { const t = cpuMs(); f(); return { kernelMs: cpuMs() - t }; };
Object.assign(innerTimings, { clock: cpuMs, ms: new Map<string, number>() });
const prof = await tf.profile(async () => { await fineTune(split, head, set, null, { ...recipe, epochs: 1, batchSize: B }); });
const by = new Map<string, { ms: number; count: number }>();
let total = 0;
for (const k of prof.kernels) {
  const t = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  total += t;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = by.get(key) ?? { ms: 0, count: 0 };
  e.ms += t; e.count++;
  by.set(key, e);
}
const steps = Number(stepsArg);
console.log(`kernel CPU time per step ${(total / steps).toFixed(0)} ms (batch ${B}), peak bytes ${(prof.peakBytes / 2 ** 20).toFixed(0)} MiB`);
for (const [k, v] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(`${(v.ms / steps).toFixed(1).padStart(8)} ms ${String(v.count / steps).padStart(4)}x ${k}`);
for (const [k, v] of [...innerTimings.ms!].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`   inner ${(v / steps).toFixed(1).padStart(7)} ms ${k}`);
Object.assign(innerTimings, { clock: null, ms: null });
const t0 = performance.now();
const c0 = cpuMs();
await fineTune(split, head, set, null, { ...recipe, epochs: 1, batchSize: B });
console.log(`wall per step ${((performance.now() - t0) / steps).toFixed(0)} ms, CPU per step ${((cpuMs() - c0) / steps).toFixed(0)} ms; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
