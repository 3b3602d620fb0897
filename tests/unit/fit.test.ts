// fitHead trains on the split's rows where they lie (per-row unit-length factors, standardised
// values written straight into the backend's tensors): its heads must be exactly the heads
// trainHead gives on packed copies of the same rows, on both backends, and it leaks nothing.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { stratifiedSplit } from '../../src/dataset/split';
import { fitHead, warmHeadTraining } from '../../src/train/fit';
import { filledTensor2d } from '../../src/train/head-data';
import { defaultHeadSettings, trainHead, type HeadData, type HeadSettings, type TrainedHead } from '../../src/train/head';
import { mulberry32 } from '../../src/shared/rng';

const n = 90;
const dim = 48;
const k = 3;
const next = mulberry32(11);
const ids = Array.from({ length: n }, (_, i) => `s${i}`);
const labels = Int32Array.from({ length: n }, (_, i) => i % k);
// Class-dependent means, rows of very different lengths (the unit-length scaling matters).
const x = Float32Array.from({ length: n * dim }, (_, v) => {
  const row = Math.floor(v / dim);
  return (1 + (row % 7)) * ((v % dim) % k === row % k ? 1 : 0.2) * (0.5 + next());
});

function pack(rows: readonly number[]): HeadData {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return { x: out, y: Int32Array.from(rows, (r) => labels[r]!), n: rows.length, d: dim };
}

function sameWeights(a: TrainedHead, b: TrainedHead): void {
  expect(a.inputNorm).toBe(b.inputNorm);
  expect(Buffer.from(a.mean.buffer).equals(Buffer.from(b.mean.buffer))).toBe(true);
  expect(Buffer.from(a.invStd.buffer).equals(Buffer.from(b.invStd.buffer))).toBe(true);
  a.layers.forEach((layer, l) => {
    expect(Buffer.from(layer.kernel.buffer).equals(Buffer.from(b.layers[l]!.kernel.buffer))).toBe(true);
    expect(Buffer.from(layer.bias.buffer).equals(Buffer.from(b.layers[l]!.bias.buffer))).toBe(true);
  });
}

describe.each(['cpu', 'wasm'] as const)('fitHead on the %s backend', (backend) => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([true, false])('gives trainHead\'s heads on packed copies of its rows (normalizeRows %s)', async (normalizeRows) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const settings: HeadSettings = { ...defaultHeadSettings(), normalizeRows };
    const before = tf.memory().numTensors;
    const fit = await fitHead({ ids, labels, x, dim }, k, settings);
    const selected = await fitHead({ ids, labels, x, dim }, k, settings, { refit: false });
    expect(tf.memory().numTensors).toBe(before);
    const { train, validation } = stratifiedSplit(
      ids.map((id, row) => ({ id, classId: String(labels[row]), row })),
      settings.validationShare,
    );
    expect(Array.from(fit.validationRows)).toEqual(validation.map((v) => v.row));
    const byHand = await trainHead(pack(train.map((t) => t.row)), k, settings, { validation: pack(validation.map((v) => v.row)) });
    sameWeights(selected.head, byHand);
    expect(selected.head.history).toEqual(byHand.history);
    const refit = await trainHead(pack(ids.map((_, i) => i)), k, { ...settings, epochs: byHand.bestEpoch, earlyStoppingPatience: 0 });
    sameWeights(fit.head, refit);
    expect(fit.head.bestEpoch).toBe(byHand.bestEpoch);
    expect(fit.head.inputNorm).toBe(normalizeRows ? 'l2' : undefined);
  });

  it('rejects rows outside the arrays and non-finite values with invalid-input', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const before = tf.memory().numTensors;
    await expect(fitHead({ ids, labels, x: x.subarray(0, (n - 1) * dim), dim }, k, defaultHeadSettings())).rejects.toMatchObject({ code: 'invalid-input' });
    const nan = x.slice();
    nan[5 * dim + 3] = NaN;
    await expect(fitHead({ ids, labels, x: nan, dim }, k, defaultHeadSettings())).rejects.toMatchObject({ code: 'invalid-input' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('filledTensor2d holds what fill wrote and is an ordinary tensor', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const before = tf.memory().numTensors;
    const t = filledTensor2d(3, 4, (out) => out.forEach((_, i) => (out[i] = i * 0.5)));
    expect(t.shape).toEqual([3, 4]);
    const plusOne = tf.add(t, 1);
    expect(Array.from(plusOne.dataSync())).toEqual(Array.from({ length: 12 }, (_, i) => i * 0.5 + 1));
    tf.dispose([t, plusOne]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('warmHeadTraining runs and leaks nothing', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const before = tf.memory().numTensors;
    await warmHeadTraining(64);
    expect(tf.memory().numTensors).toBe(before);
  });
});
