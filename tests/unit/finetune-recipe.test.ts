// The app's fine-tuning recipe (train/finetune-recipe.ts: label smoothing, the head at its own
// learning rate, warm-up + cosine, flips and shifts of the cached activations) on a small real
// subset: photos of three flower classes through the bundled Inception-v3's frozen part, then
// mixed_8 + head trained on WASM. Validation loss goes down epoch after epoch, the result beats the head alone,
// and the run repeats exactly for its seed. Behaviour only: no timings.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, sharedRoot } from '../../scripts/lib/node-env';
import type { Extractor } from '../../src/embed/extractor';
import { imagesToBatch } from '../../src/embed/preprocess';
import { FINE_TUNE_RECIPE } from '../../src/train/finetune-recipe';
import { bottomActivations, embedActivations, fineTune, readTopWeights, releaseSplit, splitForFineTune, writeTopWeights, type ActivationSet, type FineTuneSplit } from '../../src/train/finetune';
import { defaultHeadSettings, trainHead } from '../../src/train/head';

const FLOWERS = path.join(sharedRoot, 'datasets', 'flower_photos');
const CLASSES = ['daisy', 'roses', 'tulips'];
const TRAIN_PER_CLASS = 6;
const VAL_PER_CLASS = 4;

let ex: Extractor;
let split: FineTuneSplit;
let train: ActivationSet;
let val: ActivationSet;

async function activations(files: { file: string; label: number }[]): Promise<ActivationSet> {
  const parts: Float32Array[] = [];
  for (let i = 0; i < files.length; i += 4) {
    const chunk = files.slice(i, i + 4);
    const batch = imagesToBatch(await Promise.all(chunk.map((f) => decodeImageFile(f.file))), ex.spec.inputSize, ex.spec.preprocessing);
    parts.push(await bottomActivations(split, batch));
    batch.dispose();
  }
  const x = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    x.set(p, o);
    o += p.length;
  }
  return { x, y: Int32Array.from(files, (f) => f.label), n: files.length };
}

beforeAll(async () => {
  await initNodeBackend('wasm');
  ex = await loadNodeExtractor('inception-v3-2015-mixed8');
  split = splitForFineTune(ex.layersModel!, ex.spec.fineTuneFrom!, ex.spec.embeddingOutput);
  const files = CLASSES.map((c, label) =>
    fs.readdirSync(path.join(FLOWERS, c)).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, TRAIN_PER_CLASS + VAL_PER_CLASS).map((f) => ({ file: path.join(FLOWERS, c, f), label })),
  );
  train = await activations(files.flatMap((f) => f.slice(0, TRAIN_PER_CLASS)));
  val = await activations(files.flatMap((f) => f.slice(TRAIN_PER_CLASS)));
}, 300_000);

afterAll(() => {
  releaseSplit(split);
  ex.dispose();
});

it('the recipe lowers validation loss epoch after epoch on real photos, keeps an epoch, and repeats exactly', async () => {
  const base = await readTopWeights(split);
  // A head fitted briefly, as on a new project's first photos: fine-tuning has something to fix.
  const emb = await embedActivations(split, train);
  const head = await trainHead({ x: emb, y: train.y, n: train.n, d: ex.spec.embeddingDim }, CLASSES.length, { ...defaultHeadSettings(), epochs: 1 });
  const opts = { ...FINE_TUNE_RECIPE, epochs: 3, patience: 3, batchSize: 6 };
  const tensors = tf.memory().numTensors;
  const res = await fineTune(split, head, train, val, opts);
  const losses = [res.initial!.valLoss, ...res.history.map((h) => h.valLoss!)];
  expect(res.history).toHaveLength(3);
  for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
  // The epoch kept beats the head alone on validation (so the app would keep it).
  expect(res.beatsHead).toBe(true);
  expect(res.history[res.bestEpoch - 1]!.valLoss!).toBeLessThan(res.initial!.valLoss);
  const tuned = await readTopWeights(split);
  expect(tuned.some((w, i) => !Buffer.from(w.data.buffer).equals(Buffer.from(base[i]!.data.buffer)))).toBe(true);
  // Same seed, same start: the same numbers.
  writeTopWeights(split, base);
  const again = await fineTune(split, head, train, val, opts);
  expect(again.history.map((h) => h.valLoss)).toEqual(res.history.map((h) => h.valLoss));
  writeTopWeights(split, base);
  expect(tf.memory().numTensors).toBe(tensors);
}, 600_000);
