// `npm run eval -- --finetune` (scripts/eval.ts): the second stage on the head's own
// train/validation split, test accuracy after. The app's modules do the work (src/train/finetune.ts
// with FINE_TUNE_RECIPE); this file only feeds them the eval's files and reports.
//
// Experiments (the app always uses FINE_TUNE_RECIPE):
//   --ft-json '<json>'   overrides of the recipe (any FineTuneOptions field)
//   --ft-from <layer>    unfreeze from another layer than the spec's fineTuneFrom (e.g. mixed_7_tower_conv)
//   --ft-grid '<json array>' | <file.json>   after the recipe, each entry (overrides of the recipe) runs
//                        again from the same starting weights on the same activations; each reports
//                        its best validation epoch and test accuracy (with and without flip averaging).
import fs from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import type { Extractor } from '../../src/embed/extractor';
import type { fitHead } from '../../src/train/fit';
import { predictHead } from '../../src/train/head';
import { argmaxRows, computeMetrics } from '../../src/train/metrics';
import { imagesToBatch } from '../../src/embed/preprocess';
import { registerWasmConvGrad } from '../../src/embed/wasm-grad';
import {
  FINE_TUNE_RECIPE,
  bottomActivations,
  embedActivations,
  fineTune,
  readTopWeights,
  releaseSplit,
  splitForFineTune,
  transformActivation,
  tunedHead,
  writeTopWeights,
  type ActivationSet,
  type FineTuneOptions,
  type FineTuneResult,
  type FineTuneSplit,
} from '../../src/train/finetune';
import { decodeImageFile, withSyncReads } from './node-env';
import type { LabelledFile } from './dataset-files';

export interface FineTuneArgs {
  batch: number;
  /** JSON overrides of FINE_TUNE_RECIPE (--ft-json, plus --ft-lr / --ft-epochs). */
  overrides: FineTuneOptions;
  from?: string;
  /** --ft-grid: inline JSON array or a file holding one. */
  grid?: string;
  log: (m: string) => void;
  warn: (m: string) => void;
}

type Row = { file: LabelledFile; label: number };

/** Frozen-part activations of each file, in order. */
async function activationsOf(split: FineTuneSplit, ex: Extractor, rows: Row[], batch: number): Promise<ActivationSet> {
  const size = split.activationShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(rows.length * size);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const px = await Promise.all(chunk.map((r) => decodeImageFile(r.file.file)));
    const input = imagesToBatch(px, ex.spec.inputSize, ex.spec.preprocessing);
    x.set(await bottomActivations(split, input), i * size);
    input.dispose();
    chunk.forEach((r, k) => (y[i + k] = r.label));
  }
  return { x, y, n: rows.length };
}

/** Peak resident memory and peak TF.js tensor bytes (GPU or WASM heap), sampled during a run. */
class Peak {
  rssMiB = 0;
  tensorMiB = 0;
  sample(): void {
    this.rssMiB = Math.max(this.rssMiB, Math.round(process.memoryUsage().rss / 2 ** 20));
    this.tensorMiB = Math.max(this.tensorMiB, Math.round(tf.memory().numBytes / 2 ** 20));
  }
}

async function gridEntries(grid: string | undefined): Promise<FineTuneOptions[]> {
  if (!grid) return [];
  const text = grid.trim().startsWith('[') ? grid : await fs.readFile(grid, 'utf8');
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error('--ft-grid must be a JSON array of recipe overrides');
  return list as FineTuneOptions[];
}

export async function runFineTune(
  ex: Extractor,
  train: LabelledFile[],
  test: LabelledFile[],
  classes: string[],
  fit: Awaited<ReturnType<typeof fitHead>>,
  a: FineTuneArgs,
): Promise<Record<string, unknown>> {
  const from = a.from ?? ex.spec.fineTuneFrom;
  if (!ex.layersModel || !from) {
    const why = !ex.layersModel
      ? `${ex.spec.id} is a graph model: its layers and weights are frozen into the graph, so it cannot be fine-tuned.`
      : `${ex.spec.id} names no fineTuneFrom layer in its spec: nothing to unfreeze.`;
    console.log(`finetune: ${why}`);
    return { skipped: why };
  }
  const split = splitForFineTune(ex.layersModel, from, ex.spec.embeddingOutput);
  const label = (f: LabelledFile): Row => ({ file: f, label: classes.indexOf(f.className) });
  const isVal = new Set(fit.validationRows);
  const peak = new Peak();
  const t0 = performance.now();
  const trainActs = await activationsOf(split, ex, train.filter((_, i) => !isVal.has(i)).map(label), a.batch);
  const valActs = await activationsOf(split, ex, train.filter((_, i) => isVal.has(i)).map(label), a.batch);
  const testActs = await activationsOf(split, ex, test.map(label), a.batch);
  const actMs = performance.now() - t0;
  peak.sample();
  a.log(`finetune: activations of ${trainActs.n} + ${valActs.n} (+ ${testActs.n} test) images in ${Math.round(actMs)} ms, from ${from} (${split.activationShape.join('x')})`);
  // TF.js's WASM backend has no Conv2DBackpropFilter of its own: src/embed/wasm-grad.ts adds it
  // (registered by initNodeBackend). Only if that is missing does training move to the CPU backend.
  const backend = tf.getBackend();
  if (backend === 'wasm' && !tf.getKernel('Conv2DBackpropFilter', 'wasm') && !registerWasmConvGrad()) {
    await tf.setBackend('cpu');
    a.log('finetune: training on the cpu backend (no convolution gradients on wasm)');
  }
  const shipped = await readTopWeights(split);
  const c = classes.length;
  const flipped = flipSet(testActs, split.activationShape);
  const runOne = async (overrides: FineTuneOptions, tag: string): Promise<Record<string, unknown>> => {
    writeTopWeights(split, shipped);
    const epochMs: number[] = [];
    let last = performance.now();
    const t1 = last;
    const opts: FineTuneOptions = {
      ...FINE_TUNE_RECIPE,
      ...overrides,
      onEpoch: (r) => {
        const now = performance.now();
        epochMs.push(Math.round(now - last));
        last = now;
        peak.sample();
        a.log(`  ${tag} epoch ${r.epoch}: loss ${r.loss.toFixed(4)} val loss ${r.valLoss?.toFixed(4)} val acc ${r.valAccuracy?.toFixed(4)} (${epochMs.at(-1)} ms)`);
      },
    };
    let trainBackend = tf.getBackend();
    let res: FineTuneResult;
    try {
      res = await fineTune(split, fit.head, trainActs, valActs.n > 0 ? valActs : null, opts);
    } catch (err) {
      // The CPU backend is the fallback only: a gradient kernel that fails on WASM.
      if (tf.getBackend() !== 'wasm') throw err;
      a.warn(`finetune on wasm failed (${err instanceof Error ? err.message : String(err)}); retrying on the cpu backend`);
      await tf.setBackend('cpu');
      trainBackend = 'cpu';
      res = await fineTune(split, fit.head, trainActs, valActs.n > 0 ? valActs : null, opts);
    }
    const ftMs = performance.now() - t1;
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    // The app's own prediction path for the fine-tuned head (row normalisation included).
    const head = tunedHead(res, fit.head);
    const emb = await embedActivations(split, testActs);
    const embFlip = await embedActivations(split, flipped);
    const probs = await withSyncReads(() => predictHead(head, emb, testActs.n));
    const probsFlip = await withSyncReads(() => predictHead(head, embFlip, testActs.n));
    const accuracy = computeMetrics(testActs.y, argmaxRows(probs, c), c).accuracy;
    const accuracyFlip = computeMetrics(testActs.y, argmaxRows(probs.map((v, i) => (v + probsFlip[i]!) / 2), c), c).accuracy;
    peak.sample();
    const best = res.history[res.bestEpoch - 1];
    if (res.initial) a.log(`  ${tag} before epoch 1: val loss ${res.initial.valLoss.toFixed(4)} val acc ${res.initial.valAccuracy.toFixed(4)}`);
    const { onEpoch: _drop, signal: _s, ...recipe } = opts;
    return {
      accuracy,
      accuracyFlipAveraged: accuracyFlip,
      bestEpoch: res.bestEpoch,
      bestValAccuracy: best?.valAccuracy ?? null,
      bestValLoss: best?.valLoss ?? null,
      beatsHead: res.beatsHead,
      initial: res.initial,
      history: res.history,
      epochMs,
      trainMs: Math.round(ftMs),
      trainBackend,
      recipe,
    };
  };
  const main = await runOne(a.overrides, 'finetune');
  console.log(
    `finetune accuracy: ${(main.accuracy as number).toFixed(4)} (flip-averaged ${(main.accuracyFlipAveraged as number).toFixed(4)}; n_test=${testActs.n}, best epoch ${String(main.bestEpoch)}, ${main.beatsHead ? 'beats the head alone on validation: the app keeps it' : 'does not beat the head alone on validation: the app keeps the head alone'}, ${String(main.trainMs)} ms, epochs ${(main.epochMs as number[]).join('/')} ms)`,
  );
  const grid: Record<string, unknown>[] = [];
  for (const [i, g] of (await gridEntries(a.grid)).entries()) {
    const r = await runOne({ ...a.overrides, ...g }, `grid ${i}`);
    grid.push({ overrides: g, ...r });
    console.log(`grid ${i} ${JSON.stringify(g)}: best epoch ${String(r.bestEpoch)} val ${(r.bestValAccuracy as number | null)?.toFixed(4)} loss ${(r.bestValLoss as number | null)?.toFixed(4)} beats head ${String(r.beatsHead)} | test ${(r.accuracy as number).toFixed(4)} flip ${(r.accuracyFlipAveraged as number).toFixed(4)} | ${(r.epochMs as number[]).join('/')} ms`);
  }
  writeTopWeights(split, shipped);
  releaseSplit(split);
  return {
    ...main,
    fromLayer: from,
    nTrain: trainActs.n,
    nValidation: valActs.n,
    nTest: testActs.n,
    activationMs: Math.round(actMs),
    peakRssMiB: peak.rssMiB,
    peakTensorMiB: peak.tensorMiB,
    ...(grid.length > 0 ? { grid } : {}),
  };
}

/** Every activation of `set` flipped left-right (test-time flip averaging). */
function flipSet(set: ActivationSet, shape: readonly number[]): ActivationSet {
  const size = shape.reduce((p, q) => p * q, 1);
  const x = new Float32Array(set.x.length);
  for (let n = 0; n < set.n; n++)
    transformActivation(set.x.subarray(n * size, (n + 1) * size), x.subarray(n * size, (n + 1) * size), shape, { flip: true, dy: 0, dx: 0 });
  return { x, y: set.y, n: set.n };
}
