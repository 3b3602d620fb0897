// The head's training loop: a dense stack (softmax regression, or one ReLU hidden layer then
// softmax) trained with hand-written gradients and a hand-written Adam.
//
// Why not model.fit / tf.variableGrads: on the WASM backend the autodiff backward pass of matMul
// uses transposeA/transposeB, which is ~60x slower there than transposing explicitly. Here every
// weight gradient is transpose(matMul(transpose(G), A)): the two transposes touch only small
// [rows, outDim] / [inDim, outDim] matrices, and the big activation matrix is read in its stored
// layout. All data tensors stay on the backend for the whole run; each step is one tf.tidy; the
// only readback is one small stats tensor per epoch.

import * as tf from '@tensorflow/tfjs';
import { balancedClassWeights } from '../dataset/classWeights';
import { GlimpseError } from '../shared/errors';
import { mulberry32 } from '../shared/rng';
import {
  checkData,
  checkSettings,
  type EpochReport,
  type HeadData,
  type HeadSettings,
  type TrainedHead,
  type TrainHeadOptions,
} from './head-types';
import { glorotUniform, nextMacrotask, permutation, standardisation, throwIfCancelled } from './head-util';

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-7;

interface Params {
  kernels: tf.Tensor2D[];
  biases: tf.Tensor1D[];
}

/** Tensors for one data set, standardised and kept on the backend for the whole run. */
interface DataTensors {
  x: tf.Tensor2D;
  /** One-hot labels, [n, k]. */
  y: tf.Tensor2D;
  labels: tf.Tensor1D;
  /** Per-row loss weight, [n, 1]. */
  w: tf.Tensor2D;
  n: number;
  /** Sum of the row weights (normalises the reported loss). */
  wSum: number;
}

function uploadData(data: HeadData, numClasses: number, mean: Float32Array, invStd: Float32Array, classWeights: Float32Array): DataTensors {
  const rowWeights = new Float32Array(data.n);
  let wSum = 0;
  for (let i = 0; i < data.n; i++) {
    // A class that never occurs in the train set has weight 0 there; count it normally elsewhere.
    const w = classWeights[data.y[i] as number] || 1;
    rowWeights[i] = w;
    wSum += w;
  }
  const tensors = tf.tidy(() => {
    const raw = tf.tensor2d(data.x, [data.n, data.d]);
    const x = tf.mul(tf.sub(raw, tf.tensor1d(mean)), tf.tensor1d(invStd)) as tf.Tensor2D;
    const labels = tf.tensor1d(data.y, 'int32');
    const y = tf.oneHot(labels, numClasses).toFloat() as tf.Tensor2D;
    const w = tf.tensor2d(rowWeights, [data.n, 1]);
    return { x, y, labels, w };
  });
  return { ...tensors, n: data.n, wSum };
}

function disposeData(t: DataTensors | undefined): void {
  if (t) tf.dispose([t.x, t.y, t.labels, t.w]);
}

function paramList(p: Params): tf.Tensor[] {
  return [...p.kernels, ...p.biases];
}

function cloneParams(p: Params): Params {
  return { kernels: p.kernels.map((t) => t.clone()), biases: p.biases.map((t) => t.clone()) };
}

function zerosLike(p: Params): Params {
  return { kernels: p.kernels.map((t) => tf.zerosLike(t)), biases: p.biases.map((t) => tf.zerosLike(t)) };
}

/** Forward pass; returns log-probabilities and, for training, what the backward pass needs. */
function forward(p: Params, x: tf.Tensor2D, dropout: number, seed: number | null) {
  const acts: tf.Tensor2D[] = [x];
  const gradMasks: tf.Tensor2D[] = [];
  let a = x;
  const last = p.kernels.length - 1;
  for (let l = 0; l < last; l++) {
    const z = tf.add(tf.matMul(a, p.kernels[l] as tf.Tensor2D), p.biases[l] as tf.Tensor1D) as tf.Tensor2D;
    // ReLU gradient and inverted dropout folded into one mask.
    let mask = tf.step(z) as tf.Tensor2D;
    if (seed !== null && dropout > 0) {
      const keep = tf.greaterEqual(tf.randomUniform(z.shape, 0, 1, 'float32', seed + l), dropout);
      mask = tf.mul(mask, tf.mul(tf.cast(keep, 'float32'), 1 / (1 - dropout)));
    }
    a = tf.mul(z, mask);
    acts.push(a);
    gradMasks.push(mask);
  }
  const logits = tf.add(tf.matMul(a, p.kernels[last] as tf.Tensor2D), p.biases[last] as tf.Tensor1D) as tf.Tensor2D;
  return { logProbs: tf.logSoftmax(logits), acts, gradMasks };
}

/** [weighted loss sum, correct count] for a batch. */
function batchStats(logProbs: tf.Tensor2D, y: tf.Tensor2D, labels: tf.Tensor1D, w: tf.Tensor2D): tf.Tensor1D {
  const loss = tf.neg(tf.sum(tf.mul(tf.mul(y, logProbs), w)));
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logProbs, 1), labels), 'float32'));
  return tf.stack([loss, correct]) as tf.Tensor1D;
}

/** One forward/backward pass and Adam update; returns the new state and batch stats. */
function step(p: Params, m: Params, v: Params, t: number, batch: Omit<DataTensors, 'wSum'>, s: HeadSettings, dropSeed: number) {
  return tf.tidy(() => {
    const { logProbs, acts, gradMasks } = forward(p, batch.x, s.kind === 'mlp' ? s.dropout : 0, dropSeed);
    const stats = batchStats(logProbs, batch.y, batch.labels, batch.w);
    // d(mean weighted cross-entropy)/d(logits) = w * (softmax - onehot) / rows.
    let g = tf.mul(tf.sub(tf.exp(logProbs), batch.y), tf.div(batch.w, batch.n)) as tf.Tensor2D;
    const gradK: tf.Tensor2D[] = [];
    const gradB: tf.Tensor1D[] = [];
    for (let l = p.kernels.length - 1; l >= 0; l--) {
      const kernel = p.kernels[l] as tf.Tensor2D;
      const dW = tf.transpose(tf.matMul(tf.transpose(g), acts[l] as tf.Tensor2D));
      gradK[l] = (s.l2 > 0 ? tf.add(dW, tf.mul(kernel, s.l2)) : dW) as tf.Tensor2D;
      gradB[l] = tf.sum(g, 0);
      if (l > 0) g = tf.mul(tf.matMul(g, tf.transpose(kernel)), gradMasks[l - 1] as tf.Tensor2D);
    }
    const lrT = (s.learningRate * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
    const update = <T extends tf.Tensor>(param: T, grad: T, m1: T, v1: T): [T, T, T] => {
      const m2 = tf.add(tf.mul(m1, BETA1), tf.mul(grad, 1 - BETA1)) as T;
      const v2 = tf.add(tf.mul(v1, BETA2), tf.mul(tf.square(grad), 1 - BETA2)) as T;
      const next = tf.sub(param, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), ADAM_EPSILON)), lrT)) as T;
      return [next, m2, v2];
    };
    const kernels = p.kernels.map((k, l) => update(k, gradK[l] as tf.Tensor2D, m.kernels[l] as tf.Tensor2D, v.kernels[l] as tf.Tensor2D));
    const biases = p.biases.map((b, l) => update(b, gradB[l] as tf.Tensor1D, m.biases[l] as tf.Tensor1D, v.biases[l] as tf.Tensor1D));
    return {
      p: { kernels: kernels.map((u) => u[0]), biases: biases.map((u) => u[0]) },
      m: { kernels: kernels.map((u) => u[1]), biases: biases.map((u) => u[1]) },
      v: { kernels: kernels.map((u) => u[2]), biases: biases.map((u) => u[2]) },
      stats,
    };
  });
}

function evaluate(p: Params, data: DataTensors): tf.Tensor1D {
  return tf.tidy(() => batchStats(forward(p, data.x, 0, null).logProbs, data.y, data.labels, data.w));
}

function takeRows(data: DataTensors, idx: Int32Array): Omit<DataTensors, 'wSum'> {
  return tf.tidy(() => {
    const i = tf.tensor1d(idx, 'int32');
    return { x: tf.gather(data.x, i), y: tf.gather(data.y, i), labels: tf.gather(data.labels, i), w: tf.gather(data.w, i), n: idx.length };
  });
}

function initParams(sizes: number[], seed: number): Params {
  const kernels: tf.Tensor2D[] = [];
  const biases: tf.Tensor1D[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    kernels.push(tf.tensor2d(glorotUniform(fanIn, fanOut, (seed * 1000003 + l) >>> 0), [fanIn, fanOut]));
    biases.push(tf.zeros([fanOut]));
  }
  return { kernels, biases };
}

export async function trainHead(train: HeadData, numClasses: number, settings: HeadSettings, opts: TrainHeadOptions = {}): Promise<TrainedHead> {
  checkSettings(settings);
  checkData(train, numClasses, 'training');
  if (opts.validation) checkData(opts.validation, numClasses, 'validation', train.d);
  const s: HeadSettings = { ...settings };
  const yieldEvery = Math.max(1, Math.floor(opts.yieldEvery ?? 1));
  throwIfCancelled(opts.signal);

  const { mean, invStd } = standardisation(train.x, train.n, train.d);
  const classWeights = s.classWeighting ? balancedClassWeights(train.y, numClasses) : new Float32Array(numClasses).fill(1);
  const sizes = s.kind === 'mlp' ? [train.d, s.hiddenUnits, numClasses] : [train.d, numClasses];
  const fullBatch = s.batchSize === 0 || s.batchSize >= train.n;
  const shuffle = mulberry32((s.seed ^ 0x5bd1e995) >>> 0);

  let trainT: DataTensors | undefined;
  let valT: DataTensors | undefined;
  let p: Params | undefined;
  let m: Params | undefined;
  let v: Params | undefined;
  let best: Params | undefined;
  const history: EpochReport[] = [];
  let bestEpoch = 0;
  let bestLoss = Infinity;
  try {
    trainT = uploadData(train, numClasses, mean, invStd, classWeights);
    if (opts.validation) valT = uploadData(opts.validation, numClasses, mean, invStd, classWeights);
    p = initParams(sizes, s.seed);
    m = zerosLike(p);
    v = zerosLike(p);
    let t = 0;
    for (let epoch = 1; epoch <= s.epochs; epoch++) {
      throwIfCancelled(opts.signal);
      const order = fullBatch ? null : permutation(train.n, shuffle);
      const batchSize = fullBatch ? train.n : s.batchSize;
      let stats: tf.Tensor1D | undefined;
      for (let start = 0; start < train.n; start += batchSize) {
        t++;
        const batch: Omit<DataTensors, 'wSum'> = order ? takeRows(trainT, order.subarray(start, start + batchSize)) : trainT;
        const out = step(p, m, v, t, batch, s, (s.seed * 7919 + t * 104729) >>> 0);
        if (batch !== trainT) tf.dispose([batch.x, batch.y, batch.labels, batch.w]);
        tf.dispose([...paramList(p), ...paramList(m), ...paramList(v)]);
        ({ p, m, v } = out);
        if (stats) {
          const sum = tf.add(stats, out.stats) as tf.Tensor1D;
          tf.dispose([stats, out.stats]);
          stats = sum;
        } else stats = out.stats;
      }
      if (valT) {
        const valStats = evaluate(p, valT);
        const both = tf.concat([stats as tf.Tensor1D, valStats]);
        tf.dispose([stats as tf.Tensor1D, valStats]);
        stats = both;
      }
      const values = await (stats as tf.Tensor1D).data();
      (stats as tf.Tensor1D).dispose();
      const report: EpochReport = { epoch, loss: (values[0] as number) / trainT.wSum, accuracy: (values[1] as number) / train.n };
      if (valT) {
        report.valLoss = (values[2] as number) / valT.wSum;
        report.valAccuracy = (values[3] as number) / valT.n;
      }
      history.push(report);
      opts.onEpoch?.(report);
      if (!Number.isFinite(report.loss)) break; // diverged: keep the best weights seen so far
      const monitored = valT ? (report.valLoss as number) : report.loss;
      if (!valT || monitored < bestLoss) {
        bestLoss = Math.min(bestLoss, monitored);
        bestEpoch = epoch;
        if (valT) {
          if (best) tf.dispose(paramList(best));
          best = cloneParams(p);
        }
      }
      if (valT && s.earlyStoppingPatience > 0 && epoch - bestEpoch >= s.earlyStoppingPatience) break;
      if (epoch % yieldEvery === 0 && epoch < s.epochs) await nextMacrotask();
    }
    throwIfCancelled(opts.signal);
    const keep = best ?? p;
    if (bestEpoch === 0) throw new GlimpseError('internal', 'Training diverged. Try a smaller learning rate.');
    const layers = [];
    for (let l = 0; l < keep.kernels.length; l++) {
      layers.push({
        kernel: (await (keep.kernels[l] as tf.Tensor2D).data()).slice() as Float32Array,
        bias: (await (keep.biases[l] as tf.Tensor1D).data()).slice() as Float32Array,
        inDim: sizes[l] as number,
        outDim: sizes[l + 1] as number,
      });
    }
    return { kind: s.kind, inputDim: train.d, numClasses, mean, invStd, layers, settings: s, history, bestEpoch };
  } finally {
    disposeData(trainT);
    disposeData(valT);
    for (const set of [p, m, v, best]) if (set) tf.dispose(paramList(set));
  }
}
