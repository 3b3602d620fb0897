import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultHeadSettings,
  headToLayersModel,
  predictHead,
  trainHead,
  trainTeachableMachineHead,
  type HeadData,
  type HeadSettings,
  type TrainedHead,
} from '../../src/train/head';
import { GlimpseError } from '../../src/shared/errors';
import { l2NormalizeRows } from '../../src/train/head-util';
import { mulberry32 } from '../../src/shared/rng';

function gaussian(next: () => number): number {
  const u = next() || 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/** k Gaussian blobs in d dimensions: centres ~ N(0, spread^2), unit noise; classes round-robin. */
function blobs(n: number, d: number, k: number, seed: number, spread = 1): HeadData {
  const centres = mulberry32(1234);
  const centre = Array.from({ length: k }, () =>
    Float32Array.from({ length: d }, () => spread * gaussian(centres)),
  );
  const next = mulberry32(seed);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    for (let j = 0; j < d; j++)
      x[i * d + j] = ((centre[c] as Float32Array)[j] as number) + gaussian(next);
  }
  return { x, y, n, d };
}

function argmaxRows(probs: Float32Array, k: number): Int32Array {
  const out = new Int32Array(probs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++)
      if ((probs[i * k + j] as number) > (probs[i * k + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

function accuracy(head: TrainedHead, data: HeadData): number {
  const pred = argmaxRows(predictHead(head, data.x, data.n), head.numClasses);
  return pred.filter((p, i) => p === data.y[i]).length / data.n;
}

function meanLoss(head: TrainedHead, data: HeadData): number {
  const probs = predictHead(head, data.x, data.n);
  let sum = 0;
  for (let i = 0; i < data.n; i++)
    sum -= Math.log(probs[i * head.numClasses + (data.y[i] as number)] as number);
  return sum / data.n;
}

const settings = (kind: 'softmax' | 'mlp', over: Partial<HeadSettings> = {}): HeadSettings => ({
  ...defaultHeadSettings(kind),
  ...over,
});

const train3 = blobs(150, 64, 3, 1, 0.5);
const val3 = blobs(90, 64, 3, 2, 0.5);

describe('trainHead on the cpu backend', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it.each(['softmax', 'mlp'] as const)('learns 3 Gaussian blobs (%s)', async (kind) => {
    const head = await trainHead(train3, 3, settings(kind), { validation: val3 });
    expect(accuracy(head, val3)).toBeGreaterThan(0.95);
    expect(head.layers).toHaveLength(kind === 'softmax' ? 1 : 2);
    expect(head.layers[0]?.inDim).toBe(64);
    expect(head.layers.at(-1)?.outDim).toBe(3);
    expect(head.history.length).toBeGreaterThan(0);
    expect(head.history.every((r) => r.valLoss !== undefined && r.valAccuracy !== undefined)).toBe(
      true,
    );
  });

  it('class weighting raises minority recall on a 90/10 problem', async () => {
    // Hand-made 1-D overlap: 90 majority rows spread over [-2, 1], 10 minority rows over [0, 2];
    // the second feature is a fixed pattern that carries no label information.
    const rows: [number, number, number][] = [];
    for (let i = 0; i < 90; i++) rows.push([-2 + (3 * i) / 89, Math.sin(i), 0]);
    for (let i = 0; i < 10; i++) rows.push([(2 * i) / 9, Math.sin(100 + i), 1]);
    const data: HeadData = {
      x: Float32Array.from(rows.flatMap((r) => [r[0], r[1]])),
      y: Int32Array.from(rows.map((r) => r[2])),
      n: 100,
      d: 2,
    };
    const minority: HeadData = {
      x: Float32Array.from({ length: 42 }, (_, i) =>
        i % 2 === 0 ? (2 * (i / 2)) / 20 : Math.cos(i),
      ),
      y: new Int32Array(21).fill(1),
      n: 21,
      d: 2,
    };
    const recall = async (classWeighting: boolean) =>
      accuracy(await trainHead(data, 2, settings('softmax', { classWeighting })), minority);
    const withWeights = await recall(true);
    const without = await recall(false);
    expect(withWeights).toBeGreaterThan(without);
    expect(withWeights).toBeGreaterThan(0.6);
  });

  it.each(['softmax', 'mlp'] as const)('is deterministic for a fixed seed (%s)', async (kind) => {
    const s = settings(kind, { epochs: kind === 'mlp' ? 5 : 20, seed: 7 });
    const a = await trainHead(train3, 3, s, { validation: val3 });
    const b = await trainHead(train3, 3, s, { validation: val3 });
    expect(b.layers.map((l) => Array.from(l.kernel))).toEqual(
      a.layers.map((l) => Array.from(l.kernel)),
    );
    expect(b.layers.map((l) => Array.from(l.bias))).toEqual(
      a.layers.map((l) => Array.from(l.bias)),
    );
    expect(b.history).toEqual(a.history);
  });

  it('softmax with mini-batches (Adam) is deterministic and learns', async () => {
    const s = settings('softmax', { batchSize: 32, epochs: 30, seed: 3 });
    const a = await trainHead(train3, 3, s);
    const b = await trainHead(train3, 3, s);
    expect(Array.from(b.layers[0]?.kernel ?? [])).toEqual(Array.from(a.layers[0]?.kernel ?? []));
    expect(accuracy(a, val3)).toBeGreaterThan(0.95);
  });

  it('leaks no tensors across 3 train/predict cycles', async () => {
    const before = tf.memory().numTensors;
    for (let cycle = 0; cycle < 3; cycle++) {
      for (const kind of ['softmax', 'mlp'] as const) {
        const head = await trainHead(
          train3,
          3,
          settings(kind, { epochs: 5, batchSize: cycle === 2 ? 50 : 0 }),
          { validation: val3 },
        );
        predictHead(head, val3.x, val3.n);
        expect(tf.memory().numTensors).toBe(before);
      }
    }
  });

  it.each(['softmax', 'mlp'] as const)(
    'early stopping keeps the best epoch on a problem that overfits (%s)',
    async (kind) => {
      // 20 rows of 200 noisy features with overlapping classes and no weight decay: the train loss
      // keeps falling while the validation loss turns up.
      const train = blobs(20, 200, 2, 5, 0.15);
      const val = blobs(200, 200, 2, 6, 0.15);
      const epochs = 300;
      const head = await trainHead(
        train,
        2,
        settings(kind, { l2: 0, dropout: 0, epochs, earlyStoppingPatience: 10 }),
        { validation: val },
      );
      expect(head.bestEpoch).toBeLessThan(head.history.length);
      expect(head.history.length).toBeLessThan(epochs);
      expect(head.history.length - head.bestEpoch).toBe(10);
      const best = head.history[head.bestEpoch - 1];
      expect(Math.min(...head.history.map((r) => r.valLoss as number))).toBe(best?.valLoss);
      // The returned weights are the best epoch's, not the last one's.
      expect(meanLoss(head, val)).toBeCloseTo(best?.valLoss as number, 4);
    },
  );

  it('runs every epoch without validation', async () => {
    const head = await trainHead(train3, 3, settings('mlp', { epochs: 12 }));
    expect(head.history).toHaveLength(12);
    expect(head.bestEpoch).toBe(12);
  });

  it.each(['softmax', 'mlp'] as const)(
    'headToLayersModel matches predictHead within 1e-5 (%s)',
    async (kind) => {
      const head = await trainHead(train3, 3, settings(kind, { epochs: kind === 'mlp' ? 10 : 30 }));
      const before = tf.memory().numTensors;
      const model = headToLayersModel(head);
      const input = tf.tensor2d(val3.x, [val3.n, val3.d]);
      const output = model.predict(input) as tf.Tensor;
      const fromModel = output.dataSync();
      tf.dispose([input, output]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const fromHead = predictHead(head, val3.x, val3.n);
      let maxDiff = 0;
      fromHead.forEach(
        (p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - (fromModel[i] as number)))),
      );
      expect(maxDiff).toBeLessThan(1e-5);
    },
  );

  it.each(['softmax', 'mlp'] as const)(
    'cancels through an AbortSignal and leaks nothing (%s)',
    async (kind) => {
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const run = trainHead(train3, 3, settings(kind, { epochs: 100, earlyStoppingPatience: 0 }), {
        validation: val3,
        onEpoch: (r) => {
          if (r.epoch === 3) controller.abort();
        },
        signal: controller.signal,
      });
      await expect(run).rejects.toMatchObject({ name: 'GlimpseError', code: 'cancelled' });
      expect(tf.memory().numTensors).toBe(before);
      const early = trainHead(train3, 3, settings(kind), { signal: AbortSignal.abort() });
      await expect(early).rejects.toBeInstanceOf(GlimpseError);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('rejects bad input with invalid-input', async () => {
    await expect(trainHead({ ...train3, n: 149 }, 3, settings('softmax'))).rejects.toMatchObject({
      code: 'invalid-input',
    });
    await expect(trainHead(train3, 2, settings('softmax'))).rejects.toMatchObject({
      code: 'invalid-input',
    });
    await expect(trainHead(train3, 3, settings('softmax', { epochs: 0 }))).rejects.toMatchObject({
      code: 'invalid-input',
    });
    const nan = { ...train3, x: train3.x.slice() };
    nan.x[5] = NaN;
    await expect(trainHead(nan, 3, settings('softmax'))).rejects.toMatchObject({
      code: 'invalid-input',
    });
  });

  it('normalises rows to unit length: l2NormalizeRows by hand, and predictions ignore the scale', async () => {
    // Rows (3, 4) and (0, 0): lengths 5 and 0; the zero row stays zero (no NaN).
    expect(Array.from(l2NormalizeRows(Float32Array.from([3, 4, 0, 0]), 2))).toEqual(Array.from(Float32Array.from([0.6, 0.8, 0, 0])));
    const head = await trainHead(train3, 3, settings('softmax'));
    expect(head.inputNorm).toBe('l2');
    expect(head.settings.normalizeRows).toBe(true);
    const scaled = Float32Array.from(val3.x, (v) => v * 7.5);
    const a = predictHead(head, val3.x, val3.n);
    const b = predictHead(head, scaled, val3.n);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-5);
    // Off: the head sees the raw rows, and says so.
    const raw = await trainHead(train3, 3, { ...settings('softmax'), normalizeRows: false });
    expect(raw.inputNorm).toBeUndefined();
    // The exported layers model starts with the same normalisation and predicts the same.
    const model = headToLayersModel(head);
    const viaModel = tf.tidy(() => (model.predict(tf.tensor2d(scaled, [val3.n, val3.x.length / val3.n])) as tf.Tensor).dataSync());
    model.dispose();
    let diff2 = 0;
    for (let i = 0; i < a.length; i++) diff2 = Math.max(diff2, Math.abs(a[i]! - viaModel[i]!));
    expect(diff2).toBeLessThan(1e-5);
  });

  it('trainTeachableMachineHead learns the blobs and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const head = await trainTeachableMachineHead(train3, 3, { validation: val3, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(head.layers.map((l) => [l.inDim, l.outDim])).toEqual([
      [64, 100],
      [100, 3],
    ]);
    expect(Array.from(head.invStd).every((v) => v === 1)).toBe(true);
    expect(head.inputNorm).toBeUndefined(); // the baseline takes raw embeddings
    expect(head.history).toHaveLength(50);
    expect(accuracy(head, val3)).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});

describe('trainHead on the wasm backend', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(['softmax', 'mlp'] as const)(
    'learns the blobs, leaks nothing and matches its exported model (%s)',
    async (kind) => {
      const before = tf.memory().numTensors;
      const head = await trainHead(train3, 3, settings(kind, { epochs: 15 }), { validation: val3 });
      expect(tf.memory().numTensors).toBe(before);
      expect(accuracy(head, val3)).toBeGreaterThan(0.95);
      const model = headToLayersModel(head);
      const input = tf.tensor2d(val3.x, [val3.n, val3.d]);
      const output = model.predict(input) as tf.Tensor;
      const fromModel = output.dataSync();
      tf.dispose([input, output]);
      model.dispose();
      const fromHead = predictHead(head, val3.x, val3.n);
      fromHead.forEach((p, i) => expect(Math.abs(p - (fromModel[i] as number))).toBeLessThan(1e-5));
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
