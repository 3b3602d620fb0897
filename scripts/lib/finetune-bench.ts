// `npm run bench -- --finetune`: time of fine-tuning steps (batch 16, the recipe's, top + head,
// forward + backward + Adam) of an extractor's unfrozen top on WASM in Node, on real flower photos
// (their frozen-part activations, and a head fitted on them, as the app starts from); per epoch
// of 600 photos extrapolated from the steps. Also this process's CPU time per step (WASM runs on
// one thread in Node: comparable on a machine shared with other jobs, where wall time is not),
// the peak resident memory and the load average.
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { imagesToBatch } from '../../src/embed/preprocess';
import { fitHead } from '../../src/train/fit';
import { FINE_TUNE_RECIPE, bottomActivations, embedActivations, fineTune, splitForFineTune, type ActivationSet } from '../../src/train/finetune';
import { defaultHeadSettings } from '../../src/train/head';
import { listImageFolder } from './dataset-files';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, sharedRoot } from './node-env';

export interface FineTuneBench {
  extractor: string;
  backend: string;
  batch: number;
  steps: number;
  msPerStep: number;
  cpuMsPerStep: number;
  /** Training steps of one epoch over 600 photos, at msPerStep (validation not included). */
  sPerEpoch600: number;
  peakRssMiB: number;
  load: number[];
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function finetuneBench(extractorId: string, steps: number): Promise<FineTuneBench> {
  const backend = await initNodeBackend('wasm');
  const ex = await loadNodeExtractor(extractorId);
  const split = splitForFineTune(ex.layersModel!, ex.spec.fineTuneFrom!, ex.spec.embeddingOutput);
  const batch = FINE_TUNE_RECIPE.batchSize;
  const n = batch * (steps + 1);
  const size = split.activationShape.reduce((a, b) => a * b, 1);
  const listed = await listImageFolder(path.join(sharedRoot, 'datasets', 'flower_photos'), console.warn);
  const perClass = Math.ceil(n / listed.classes.length);
  const files = listed.classes.flatMap((c) => listed.files.filter((f) => f.className === c).slice(0, perClass)).slice(0, n);
  const set: ActivationSet = { x: new Float32Array(n * size), y: Int32Array.from(files, (f) => listed.classes.indexOf(f.className)), n };
  for (let i = 0; i < n; i += 4) {
    const px = await Promise.all(files.slice(i, i + 4).map((f) => decodeImageFile(f.file)));
    const input = imagesToBatch(px, ex.spec.inputSize, ex.spec.preprocessing);
    set.x.set(await bottomActivations(split, input), i * size);
    input.dispose();
  }
  const emb = await embedActivations(split, set);
  const { head } = await fitHead({ ids: files.map((f) => f.id), labels: set.y, x: emb, dim: ex.spec.embeddingDim }, listed.classes.length, defaultHeadSettings('softmax'));
  const recipe = { ...FINE_TUNE_RECIPE, epochs: 1, warmupEpochs: 0 };
  // The first step (kernel set-up, first allocations) is not timed.
  const first: ActivationSet = { x: set.x.subarray(0, batch * size), y: set.y.subarray(0, batch), n: batch };
  await fineTune(split, head, first, null, recipe);
  const rest: ActivationSet = { x: set.x.subarray(batch * size), y: set.y.subarray(batch), n: n - batch };
  const t0 = performance.now();
  const c0 = cpuMs();
  await fineTune(split, head, rest, null, recipe);
  const msPerStep = (performance.now() - t0) / steps;
  const cpuMsPerStep = (cpuMs() - c0) / steps;
  ex.dispose();
  tf.disposeVariables();
  return {
    extractor: extractorId,
    backend,
    batch,
    steps,
    msPerStep,
    cpuMsPerStep,
    sPerEpoch600: (Math.ceil(600 / batch) * msPerStep) / 1000,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    load: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
