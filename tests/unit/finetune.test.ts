// Fine-tuning on a small residual network shaped like ResNet's last stage: only the layers from
// `fineTuneFrom` on change (the frozen ones stay byte-identical), validation loss does not get
// worse, and no tensor is left behind.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bottomActivations,
  embedActivations,
  fineTune,
  readTopWeights,
  splitForFineTune,
  tunedHead,
  writeTopWeights,
  type ActivationSet,
} from '../../src/train/finetune';
import { predictHead } from '../../src/train/head';
import { initNodeBackend } from '../../scripts/lib/node-env';
import { trainHead, defaultHeadSettings } from '../../src/train/head';
import { mulberry32 } from '../../src/shared/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function net(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const c1 = tf.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      name: 'c1',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(input) as tf.SymbolicTensor;
  const bn1 = tf.layers.batchNormalization({ name: 'bn1' }).apply(c1) as tf.SymbolicTensor;
  // The unfrozen top: a residual block whose main branch starts at 'top_a' and whose shortcut
  // ('top_short') reads the same tensor.
  const a = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'top_a', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(bn1) as tf.SymbolicTensor;
  const bn2 = tf.layers.batchNormalization({ name: 'top_bn' }).apply(a) as tf.SymbolicTensor;
  const short = tf.layers
    .conv2d({ filters: 4, kernelSize: 1, name: 'top_short', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })
    .apply(bn1) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'top_add' }).apply([bn2, short]) as tf.SymbolicTensor;
  const pool = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(sum) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: pool });
}

function weightsOf(model: tf.LayersModel, names: string[]): Buffer[] {
  return names.flatMap((n) =>
    model
      .getLayer(n)
      .getWeights()
      .map((w) => Buffer.from(w.dataSync().buffer.slice(0))),
  );
}

describe('fine-tuning the top of a layers model', () => {
  it('changes only the unfrozen layers, keeps the best validation epoch, and leaks no tensors', async () => {
    const model = net();
    const r = mulberry32(3);
    const n = 48;
    const images = tf.tidy(() =>
      tf.tensor4d(
        Float32Array.from(
          { length: n * 108 },
          (_, k) => r() + (Math.floor(k / 108) % 2) * (k % 3 === 0 ? 0.8 : 0),
        ),
        [n, 6, 6, 3],
      ),
    );
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const before = tf.memory().numTensors;
    const frozen = weightsOf(model, ['c1', 'bn1']);
    const top = weightsOf(model, ['top_a', 'top_bn', 'top_short']);

    const split = splitForFineTune(model, 'top_a', 'pool');
    expect(split.activationShape).toEqual([6, 6, 4]);
    expect(split.topLayers.map((l) => l.name).sort()).toEqual([
      'pool',
      'top_a',
      'top_add',
      'top_bn',
      'top_short',
    ]);
    const acts = await bottomActivations(split, images);
    const trainRows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 0);
    const valRows = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 === 0);
    const pick = (rows: number[]): ActivationSet => {
      const size = 6 * 6 * 4;
      const x = new Float32Array(rows.length * size);
      rows.forEach((row, i) => x.set(acts.subarray(row * size, (row + 1) * size), i * size));
      return { x, y: Int32Array.from(rows, (row) => labels[row]!), n: rows.length };
    };
    const trainSet = pick(trainRows);
    const valSet = pick(valRows);
    // The head first, on the frozen embeddings.
    const emb = await embedActivations(split, trainSet);
    const head = await trainHead(
      { x: emb, y: trainSet.y, n: trainSet.n, d: 4 },
      2,
      defaultHeadSettings(),
    );
    const res = await fineTune(split, head, trainSet, valSet, {
      learningRate: 1e-2,
      epochs: 4,
      batchSize: 8,
      patience: 2,
    });
    expect(res.history.length).toBeGreaterThan(0);
    const first = res.history[0]!;
    expect(res.bestEpoch).toBeGreaterThan(0);
    expect(res.history[res.bestEpoch - 1]!.valLoss!).toBeLessThanOrEqual(first.valLoss!);

    expect(weightsOf(model, ['c1', 'bn1'])).toEqual(frozen);
    const after = weightsOf(model, ['top_a', 'top_bn', 'top_short']);
    expect(after.some((w, i) => !w.equals(top[i]!))).toBe(true);
    // BN moving statistics (not trainable) are untouched: inference mode throughout.
    const bn = model.getLayer('top_bn').getWeights();
    expect(Buffer.from(bn[2]!.dataSync().buffer).equals(top[2 + 2]!)).toBe(true);
    tf.dispose(images);
    expect(tf.memory().numTensors).toBe(before - 1);
  }, 120_000);

  it('on WASM (our conv gradient kernels): trains, the shipped weights come back byte-identical, the tuned ones re-apply, no leaks', async () => {
    await initNodeBackend('wasm');
    try {
      const model = net();
      const all = ['c1', 'bn1', 'top_a', 'top_bn', 'top_short'];
      const original = weightsOf(model, all);
      const r = mulberry32(5);
      const n = 32;
      const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
      const images = tf.tensor4d(
        Float32Array.from({ length: n * 108 }, (_, k) => r() + labels[Math.floor(k / 108)]! * (k % 3 === 0 ? 0.8 : 0)),
        [n, 6, 6, 3],
      );
      const before = tf.memory().numTensors;
      const split = splitForFineTune(model, 'top_a', 'pool');
      const acts = await bottomActivations(split, images);
      const set: ActivationSet = { x: acts, y: labels, n };
      const emb = await embedActivations(split, set);
      const head = await trainHead({ x: emb, y: labels, n, d: 4 }, 2, defaultHeadSettings());
      const base = await readTopWeights(split);
      const res = await fineTune(split, head, set, null, { learningRate: 1e-2, epochs: 2, batchSize: 8 });
      expect(res.history).toHaveLength(2);
      expect(res.history.every((h) => Number.isFinite(h.loss))).toBe(true);
      const tuned = await readTopWeights(split);
      expect(tuned.map((w) => w.name)).toEqual(base.map((w) => w.name));
      expect(tuned.some((w, i) => !Buffer.from(w.data.buffer).equals(Buffer.from(base[i]!.data.buffer)))).toBe(true);
      // What the worker does after training: the shipped weights go back, exactly.
      writeTopWeights(split, base);
      expect(weightsOf(model, all)).toEqual(original);
      // ... and the fine-tuned model, re-applied, predicts as it did at the end of training.
      writeTopWeights(split, tuned);
      const probs = predictHead(tunedHead(res, head), await embedActivations(split, set), n);
      expect(probs).toHaveLength(n * 2);
      writeTopWeights(split, base);
      expect(weightsOf(model, all)).toEqual(original);
      expect(() => writeTopWeights(split, tuned.slice(1))).toThrow(/do not fit/);
      // A second copy of the same model (its variables get unique names) takes them by saved name.
      const kept = tf.memory().numTensors;
      const again = net();
      const split2 = splitForFineTune(again, 'top_a', 'pool');
      writeTopWeights(split2, tuned);
      expect((await readTopWeights(split2)).map((w) => Buffer.from(w.data.buffer))).toEqual(tuned.map((w) => Buffer.from(w.data.buffer)));
      const copyTensors = tf.memory().numTensors - kept; // the copy's own weights, kept
      tf.dispose(images);
      expect(tf.memory().numTensors).toBe(before - 1 + copyTensors);
    } finally {
      await tf.setBackend('cpu');
    }
  }, 120_000);
});
