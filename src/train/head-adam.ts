// Adam on the dense stack with hand-written gradients: the mlp head (dropout makes its loss
// stochastic, so a line-search method does not fit) and any mini-batch run. Each optimiser step
// is one tf.tidy that returns the new weights and Adam moments; stats are summed on the backend
// and read once per epoch.

import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import { mulberry32 } from '../shared/rng';
import {
  batchStats,
  forward,
  makeReport,
  paramList,
  uploadRows,
  weightGradient,
  type DataTensors,
  type Params,
  type Progress,
} from './head-data';
import type { HeadSettings } from './head-types';
import { glorotUniform, nextMacrotask, permutation, throwIfCancelled } from './head-util';

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-7;

type Batch = Omit<DataTensors, 'wSum' | 'host'>;

export interface AdamRun {
  train: DataTensors;
  val: DataTensors | undefined;
  sizes: number[];
  settings: HeadSettings;
  progress: Progress<Params>;
  signal: AbortSignal | undefined;
  yieldEvery: number;
}

function zerosLike(p: Params): Params {
  return {
    kernels: p.kernels.map((t) => tf.zerosLike(t)),
    biases: p.biases.map((t) => tf.zerosLike(t)),
  };
}

export function cloneParams(p: Params): Params {
  return { kernels: p.kernels.map((t) => t.clone()), biases: p.biases.map((t) => t.clone()) };
}

/**
 * Seeded Glorot-uniform kernels and zero biases; softmax regression starts from zero instead
 * (convex, so random weights would only add noise that Adam's small steps take long to undo).
 */
function initParams(sizes: number[], seed: number): Params {
  const kernels: tf.Tensor2D[] = [];
  const biases: tf.Tensor1D[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    const kernel =
      sizes.length === 2
        ? new Float32Array(fanIn * fanOut)
        : glorotUniform(fanIn, fanOut, (seed * 1000003 + l) >>> 0);
    kernels.push(tf.tensor2d(kernel, [fanIn, fanOut]));
    biases.push(tf.zeros([fanOut]));
  }
  return { kernels, biases };
}

/** One forward/backward pass and Adam update (step t, 1-based). */
/**
 * Scalars made once per run: a scalar created inside every op call cost about as much as the op
 * itself on WASM for the 2048 x 128 mlp kernel.
 */
interface Constants {
  beta1: tf.Scalar;
  oneMinusBeta1: tf.Scalar;
  beta2: tf.Scalar;
  oneMinusBeta2: tf.Scalar;
  epsilon: tf.Scalar;
  l2: tf.Scalar;
}

function makeConstants(s: HeadSettings): Constants {
  return {
    beta1: tf.scalar(BETA1),
    oneMinusBeta1: tf.scalar(1 - BETA1),
    beta2: tf.scalar(BETA2),
    oneMinusBeta2: tf.scalar(1 - BETA2),
    epsilon: tf.scalar(ADAM_EPSILON),
    l2: tf.scalar(s.l2),
  };
}

function step(
  p: Params,
  m: Params,
  v: Params,
  t: number,
  batch: Batch,
  batchWSum: number,
  s: HeadSettings,
  c: Constants,
  dropoutSeed: number,
) {
  return tf.tidy(() => {
    const { logProbs, acts, gradMasks } = forward(
      p,
      batch.x,
      s.kind === 'mlp' ? s.dropout : 0,
      dropoutSeed,
    );
    const stats = batchStats(logProbs, batch);
    // d(weighted mean cross-entropy)/d(logits) = w * (softmax - onehot) / sum(w).
    let g = tf.mul(tf.sub(tf.exp(logProbs), batch.y), tf.div(batch.w, batchWSum)) as tf.Tensor2D;
    const gradK: tf.Tensor2D[] = [];
    const gradB: tf.Tensor1D[] = [];
    for (let l = p.kernels.length - 1; l >= 0; l--) {
      const kernel = p.kernels[l] as tf.Tensor2D;
      const dW = weightGradient(acts[l] as tf.Tensor2D, g);
      gradK[l] = (s.l2 > 0 ? tf.add(dW, tf.mul(kernel, c.l2)) : dW) as tf.Tensor2D;
      gradB[l] = tf.sum(g, 0);
      if (l > 0) g = tf.mul(tf.matMul(g, tf.transpose(kernel)), gradMasks[l - 1] as tf.Tensor2D);
    }
    const lrT = tf.scalar((s.learningRate * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t));
    const update = <T extends tf.Tensor>(param: T, grad: T, m1: T, v1: T): [T, T, T] => {
      const m2 = tf.add(tf.mul(m1, c.beta1), tf.mul(grad, c.oneMinusBeta1)) as T;
      const v2 = tf.add(tf.mul(v1, c.beta2), tf.mul(tf.square(grad), c.oneMinusBeta2)) as T;
      const next = tf.sub(param, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), c.epsilon)), lrT)) as T;
      return [next, m2, v2];
    };
    const kernels = p.kernels.map((k, l) =>
      update(k, gradK[l] as tf.Tensor2D, m.kernels[l] as tf.Tensor2D, v.kernels[l] as tf.Tensor2D),
    );
    const biases = p.biases.map((b, l) =>
      update(b, gradB[l] as tf.Tensor1D, m.biases[l] as tf.Tensor1D, v.biases[l] as tf.Tensor1D),
    );
    return {
      p: { kernels: kernels.map((u) => u[0]), biases: biases.map((u) => u[0]) },
      m: { kernels: kernels.map((u) => u[1]), biases: biases.map((u) => u[1]) },
      v: { kernels: kernels.map((u) => u[2]), biases: biases.map((u) => u[2]) },
      stats,
    };
  });
}

/** Runs the epochs and returns the weights to keep (the caller owns and disposes them). */
export async function runAdam(run: AdamRun): Promise<Params> {
  const { train, val, settings: s, progress } = run;
  const fullBatch = s.batchSize === 0 || s.batchSize >= train.n;
  const batchSize = fullBatch ? train.n : s.batchSize;
  const shuffle = mulberry32((s.seed ^ 0x5bd1e995) >>> 0);
  let p = initParams(run.sizes, s.seed);
  let m = zerosLike(p);
  let v = zerosLike(p);
  const constants = makeConstants(s);
  try {
    let t = 0;
    for (let epoch = 1; epoch <= s.epochs; epoch++) {
      throwIfCancelled(run.signal);
      const order = fullBatch ? null : permutation(train.n, shuffle);
      let stats: tf.Tensor1D | undefined;
      for (let start = 0; start < train.n; start += batchSize) {
        t++;
        let batch: Batch = train;
        let batchWSum = train.wSum;
        if (order) {
          if (!train.host)
            throw new GlimpseError('internal', 'Mini-batches need the rows in memory.');
          batch = uploadRows(train.host, order.subarray(start, start + batchSize));
          batchWSum = (batch.n * train.wSum) / train.n; // the batch's expected share of the weight
        }
        const out = step(
          p,
          m,
          v,
          t,
          batch,
          batchWSum,
          s,
          constants,
          (s.seed * 7919 + t * 104729) >>> 0,
        );
        if (batch !== train) tf.dispose([batch.x, batch.y, batch.labels, batch.w]);
        tf.dispose([...paramList(p), ...paramList(m), ...paramList(v)]);
        ({ p, m, v } = out);
        const sum: tf.Tensor1D = stats ? tf.add(stats, out.stats) : out.stats;
        if (stats) tf.dispose([stats, out.stats]);
        stats = sum;
      }
      const all = stats as tf.Tensor1D;
      const withVal = val
        ? tf.tidy(() => tf.concat([all, batchStats(forward(p, val.x, 0, null).logProbs, val)]))
        : all;
      const values = await withVal.data();
      tf.dispose([all, withVal]);
      const params = p;
      if (progress.record(makeReport(epoch, values, train, val), () => cloneParams(params))) break;
      if (epoch % run.yieldEvery === 0 && epoch < s.epochs) await nextMacrotask();
    }
    throwIfCancelled(run.signal);
    if (progress.best === undefined) return p;
    tf.dispose(paramList(p));
    return cloneParams(progress.best);
  } catch (err) {
    tf.dispose(paramList(p));
    throw err;
  } finally {
    tf.dispose([...paramList(m), ...paramList(v), ...Object.values(constants)]);
  }
}
