// head-paged.ts (issue 21): the L-BFGS objective of a large set evaluated a page of raw rows at a
// time, with the standardisation folded into the weights, against the objective over the whole
// standardised set (tensorObjective). Same function up to float32 rounding: the gradient, the loss
// and the counts are compared at real points, and whole fits are compared by their predictions.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { balancedClassWeights } from '../../src/dataset/classWeights';
import { mulberry32 } from '../../src/shared/rng';
import { disposeData, uploadData } from '../../src/train/head-data';
import { tensorObjective } from '../../src/train/head-lbfgs';
import { pagedObjective, pageHelperObjective, restandardise, type PageHelper } from '../../src/train/head-paged';
import { trainHeadOnRows } from '../../src/train/head-train';
import { predictHead } from '../../src/train/head-predict';
import { defaultHeadSettings } from '../../src/train/head-types';
import { rowScales, standardisation } from '../../src/train/head-util';
import type { RowSet } from '../../src/train/head-types';

afterAll(async () => {
  await tf.setBackend('cpu');
});

const d = 48;
const k = 5;

/** ReLU-like rows with class prototypes, unequal classes, and a second part (like augmentation rows). */
function data(n: number, seed: number) {
  const next = mulberry32(seed);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 7 < 3 ? 0 : (i % 7) % k; // class 0 over-represented
    y[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = Math.max(0, (j % k === c ? 0.8 : 0) + 0.6 * (next() - 0.3) + 0.3 * Math.sin(i + j));
  }
  return { x, y };
}

function rowSet(x: Float32Array, y: Int32Array, rows: number[] | null, normalize: boolean): RowSet {
  const ys = rows ? Int32Array.from(rows, (r) => y[r]!) : y;
  return { parts: [{ x, rows, scale: normalize ? rowScales(x, d) : null }], y: ys, n: ys.length, d };
}

describe.each(['cpu', 'wasm'] as const)('paged objective (%s)', (backend) => {
  it.each([true, false])('equals the whole-set objective to float32 rounding (normalizeRows %s)', async (normalize) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const { x, y } = data(230, 3);
    const trainRows = Array.from({ length: 230 }, (_, i) => i).filter((i) => i % 5 !== 0);
    const valRows = Array.from({ length: 230 }, (_, i) => i).filter((i) => i % 5 === 0);
    const train = rowSet(x, y, trainRows, normalize);
    const val = rowSet(x, y, valRows, normalize);
    const { mean, invStd } = standardisation(train, true);
    const cw = balancedClassWeights(train.y, k);
    const before = tf.memory().numTensors;
    const trainT = uploadData(train, k, mean, invStd, cw, false);
    const valT = uploadData(val, k, mean, invStd, cw, false);
    const whole = tensorObjective(trainT, valT, d, k);
    const paged = pagedObjective(train, val, mean, invStd, cw, k, 17); // pages of 17 rows: 11 of train, 3 of validation
    expect(paged.train.n).toBe(whole.train.n);
    expect(paged.train.wSum).toBeCloseTo(whole.train.wSum, 9);
    const next = mulberry32(9);
    for (const [atZero, scale] of [[true, 0], [false, 0.05], [false, 0.5]] as const) {
      const params = Float32Array.from({ length: d * k + k }, () => (atZero ? 0 : scale * (next() - 0.5)));
      const a = await whole.evaluate(params, atZero);
      const b = await paged.evaluate(params, atZero);
      expect(b.length).toBe(a.length);
      let gradMax = 0;
      let diffMax = 0;
      for (let i = 0; i < d * k + k; i++) {
        gradMax = Math.max(gradMax, Math.abs(a[i]!));
        diffMax = Math.max(diffMax, Math.abs(a[i]! - b[i]!));
      }
      // Gradients agree to 1e-5 of their largest component; losses to 1e-6 relative; counts exactly.
      expect(diffMax).toBeLessThanOrEqual(1e-5 * gradMax);
      const s = d * k + k;
      expect(Math.abs(b[s]! - a[s]!)).toBeLessThanOrEqual(1e-6 * Math.abs(a[s]!));
      expect(b[s + 1]).toBe(a[s + 1]);
      expect(Math.abs(b[s + 2]! - a[s + 2]!)).toBeLessThanOrEqual(1e-6 * Math.abs(a[s + 2]!));
      expect(b[s + 3]).toBe(a[s + 3]);
    }
    whole.dispose();
    paged.dispose();
    disposeData(trainT);
    disposeData(valT);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with a page helper (the later pages evaluated elsewhere) gives the same values; a failing helper is dropped for good', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const { x, y } = data(230, 5);
    const train = rowSet(x, y, Array.from({ length: 200 }, (_, i) => i + 15), true);
    const val = rowSet(x, y, Array.from({ length: 15 }, (_, i) => i), true);
    const { mean, invStd } = standardisation(train, true);
    const cw = balancedClassWeights(train.y, k);
    const before = tf.memory().numTensors;
    let held: ReturnType<typeof pageHelperObjective> | null = null;
    let heldRows = 0;
    let calls = 0;
    let failAt = -1;
    let stopped = 0;
    const helper: PageHelper = {
      start: async (part) => {
        heldRows = part.labels.length;
        held = pageHelperObjective(part);
      },
      evaluate: async (kernel, bias, atZero) => {
        if (calls++ === failAt) throw new Error('the helper crashed');
        return held!.evaluate(kernel, bias, atZero);
      },
      stop: () => void stopped++,
    };
    const alone = pagedObjective(train, val, mean, invStd, cw, k, 17);
    const helped = pagedObjective(train, val, mean, invStd, cw, k, 17, helper);
    const next = mulberry32(4);
    const s = d * k + k;
    for (const [i, atZero] of [[0, true], [1, false], [2, false]] as const) {
      const params = Float32Array.from({ length: s }, () => (atZero ? 0 : 0.3 * (next() - 0.5)));
      if (i === 2) failAt = calls; // this evaluation's helper call fails: the pages are done here
      const a = await alone.evaluate(params, atZero);
      const b = await helped.evaluate(params, atZero);
      let gradMax = 0;
      let diffMax = 0;
      for (let j = 0; j < s; j++) {
        gradMax = Math.max(gradMax, Math.abs(a[j]!));
        diffMax = Math.max(diffMax, Math.abs(a[j]! - b[j]!));
      }
      expect(diffMax).toBeLessThanOrEqual(1e-6 * gradMax);
      for (const j of [s, s + 2]) expect(Math.abs(b[j]! - a[j]!)).toBeLessThanOrEqual(1e-6 * Math.abs(a[j]!));
      expect(b[s + 1]).toBe(a[s + 1]);
      expect(b[s + 3]).toBe(a[s + 3]);
    }
    // 12 pages of 17 rows: the helper held the last 6 (98 rows); it was stopped after failing.
    expect(heldRows).toBe(200 - 6 * 17);
    expect(calls).toBe(3);
    expect(stopped).toBe(1);
    const p = Float32Array.from({ length: s }, () => 0.1);
    await helped.evaluate(p, false);
    expect(calls).toBe(3); // not asked again
    alone.dispose();
    helped.dispose();
    held!.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a warm-started fit (every 4th row first, then all) reaches the optimum the cold fit reaches', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const { x, y } = data(400, 11);
    const test = data(200, 12);
    const train = rowSet(x, y, null, true);
    const settings = defaultHeadSettings();
    const before = tf.memory().numTensors;
    const cold = await trainHeadOnRows(train, k, settings, { pagedMinValues: 0 });
    const epochs: number[] = [];
    const warm = await trainHeadOnRows(train, k, settings, { pagedMinValues: 0, warmRows: 100, onEpoch: (r) => epochs.push(r.epoch) });
    expect(tf.memory().numTensors).toBe(before);
    // One history over both stages, numbered on; the all-rows stage started near the optimum.
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(warm.history.length).toBe(epochs.length);
    const last = warm.history.at(-1)!;
    const coldLast = cold.history.at(-1)!;
    expect(Math.abs(last.loss - coldLast.loss)).toBeLessThan(0.02 * coldLast.loss);
    const pa = predictHead(warm, test.x, 200);
    const pb = predictHead(cold, test.x, 200);
    let maxDiff = 0;
    for (let i = 0; i < pa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pa[i]! - pb[i]!));
    expect(maxDiff).toBeLessThan(0.02);
  });

  it('a whole fit through pages predicts what the whole-set fit predicts', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const { x, y } = data(400, 11);
    const test = data(200, 12);
    const train = rowSet(x, y, null, true);
    const settings = defaultHeadSettings();
    const whole = await trainHeadOnRows(train, k, settings);
    const paged = await trainHeadOnRows(train, k, settings, { pagedMinValues: 0 });
    expect(paged.history.length).toBeGreaterThan(3);
    // L-BFGS follows the same path: the same number of iterations, losses within 1e-4.
    expect(paged.history.length).toBe(whole.history.length);
    paged.history.forEach((h, i) => expect(Math.abs(h.loss - whole.history[i]!.loss)).toBeLessThanOrEqual(1e-4 * whole.history[i]!.loss));
    const pa = predictHead(paged, test.x, 200);
    const pb = predictHead(whole, test.x, 200);
    let maxDiff = 0;
    let sameTop = 0;
    for (let i = 0; i < 200; i++) {
      let ta = 0;
      let tb = 0;
      for (let c = 0; c < k; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(pa[i * k + c]! - pb[i * k + c]!));
        if (pa[i * k + c]! > pa[i * k + ta]!) ta = c;
        if (pb[i * k + c]! > pb[i * k + tb]!) tb = c;
      }
      if (ta === tb) sameTop++;
    }
    expect(sameTop).toBe(200);
    expect(maxDiff).toBeLessThan(1e-3);
  });
});

describe('restandardise', () => {
  it('rewrites softmax parameters for another standardisation without changing a logit', () => {
    const d = 5;
    const kk = 3;
    const next = mulberry32(31);
    const std = () => ({ mean: Float32Array.from({ length: d }, () => next() - 0.5), invStd: Float32Array.from({ length: d }, () => 0.5 + next()) });
    const from = std();
    const to = std();
    const theta = Float64Array.from({ length: d * kk + kk }, () => next() - 0.5);
    const out = restandardise(theta, from, to, kk);
    const logits = (t: Float64Array, s: typeof from, x: number[]) =>
      Array.from({ length: kk }, (_, c) => x.reduce((z, v, j) => z + (v - s.mean[j]!) * s.invStd[j]! * t[j * kk + c]!, t[d * kk + c]!));
    for (let trial = 0; trial < 5; trial++) {
      const x = Array.from({ length: d }, () => 3 * next());
      const a = logits(theta, from, x);
      const b = logits(out, to, x);
      a.forEach((v, c) => expect(Math.abs(v - b[c]!)).toBeLessThan(1e-9));
    }
    // The same standardisation: the same parameters.
    expect(Array.from(restandardise(theta, from, from, kk)).map((v, i) => Math.abs(v - theta[i]!) < 1e-12)).not.toContain(false);
  });
});
