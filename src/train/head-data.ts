// Tensors shared by the head's optimisers: the standardised data kept on the backend for a whole
// run, the dense-stack forward pass, per-batch loss/accuracy sums, and the epoch bookkeeping
// (history, best epoch, early stopping).
//
// Weight gradients never use matMul's transposeA/transposeB flags: on the WASM backend they were
// ~60x slower than transposing explicitly (see weightGradient).

import * as tf from '@tensorflow/tfjs';
import { forEachRow, type EpochReport, type RowSet } from './head-types';

/** One data set, standardised, on the backend for the whole run. */
export interface DataTensors {
  x: tf.Tensor2D;
  /** One-hot labels, [n, k]. */
  y: tf.Tensor2D;
  labels: tf.Tensor1D;
  /** Per-row loss weight, [n, 1] (class weight of the row's label). */
  w: tf.Tensor2D;
  n: number;
  /** Sum of the row weights: loss = sum(w * CE) / wSum. */
  wSum: number;
  /** Standardised rows and row weights in JS memory, for assembling mini-batches. */
  host: HostRows | undefined;
}

export interface HostRows {
  x: Float32Array;
  y: Int32Array;
  w: Float32Array;
  d: number;
  numClasses: number;
}

/**
 * Standardise the rows ((x - mean) * invStd in float32 arithmetic, as the backend's sub and mul
 * would do it) and upload them with the labels and row weights. The standardised rows are written
 * straight into the tensor's memory where the backend allows it (filledTensor2d), so training
 * allocates no JS copy of the data; with `keepHostRows` they are also kept in JS memory (mini-
 * batches are assembled from them).
 */
export function uploadData(
  data: RowSet,
  numClasses: number,
  mean: Float32Array,
  invStd: Float32Array,
  classWeights: Float32Array,
  keepHostRows: boolean,
): DataTensors {
  const { n, d } = data;
  const rowWeights = new Float32Array(n);
  let wSum = 0;
  for (let i = 0; i < n; i++) {
    // A class missing from the train set has weight 0 there; count its rows normally elsewhere.
    const w = classWeights[data.y[i] as number] || 1;
    rowWeights[i] = w;
    wSum += w;
  }
  const fill = (out: Float32Array) => standardiseRows(data, mean, invStd, out);
  if (keepHostRows) {
    const host = { x: new Float32Array(n * d), y: data.y, w: rowWeights, d, numClasses };
    fill(host.x);
    return { ...uploadRows(host, null), wSum, host };
  }
  const x = filledTensor2d(n, d, fill);
  return { ...labelTensors(data.y, rowWeights, numClasses), x, n, wSum, host: undefined };
}

/**
 * out (n x d) = (row - mean) * invStd. Math.fround after the subtraction makes each step a float32
 * operation (a float64 result rounded once to float32 is the float32 result for +, - and *), so
 * the values match what tf.sub and tf.mul of float32 tensors give, bit for bit.
 */
function standardiseRows(data: RowSet, mean: Float32Array, invStd: Float32Array, out: Float32Array): void {
  const d = data.d;
  forEachRow(data, (x, o, scale, i) => {
    const to = i * d;
    if (scale === null) {
      for (let j = 0; j < d; j++)
        out[to + j] = Math.fround((x[o + j] as number) - (mean[j] as number)) * (invStd[j] as number);
    } else {
      for (let j = 0; j < d; j++)
        out[to + j] = Math.fround(Math.fround((x[o + j] as number) * scale) - (mean[j] as number)) * (invStd[j] as number);
    }
  });
}

/** The parts of the WASM backend that let a kernel write its output in place. */
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * A [rows, cols] float32 tensor whose values `fill` writes. On WASM, `fill` writes into the
 * tensor's own memory on the WASM heap, as the backend's kernels do with their outputs (makeOutput
 * + typedArrayFromHeap), instead of into a fresh JS array that tf.tensor2d would copy: the heap is
 * already paged in once a model has run, and a fresh array of megabytes costs its page faults
 * (~20 us per 4 KiB on the 2-core development VM). Nothing may touch the backend during `fill`
 * (a growing heap would detach the view). Elsewhere: a JS array and tf.tensor2d.
 */
export function filledTensor2d(rows: number, cols: number, fill: (out: Float32Array) => void): tf.Tensor2D {
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.makeOutput === 'function' && typeof backend.typedArrayFromHeap === 'function') {
    const info = backend.makeOutput([rows, cols], 'float32');
    try {
      fill(backend.typedArrayFromHeap(info));
    } catch (err) {
      tf.backend().disposeData(info.dataId);
      throw err;
    }
    return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
  }
  const values = new Float32Array(rows * cols);
  fill(values);
  return tf.tensor2d(values, [rows, cols]);
}

function labelTensors(y: Int32Array, w: Float32Array, numClasses: number) {
  return tf.tidy(() => {
    const labels = tf.tensor1d(y, 'int32');
    return {
      y: tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D,
      labels,
      w: tf.tensor2d(w, [y.length, 1]),
    };
  });
}

/**
 * Upload rows (all, or the listed ones) of host data. Mini-batches are assembled in JS because
 * tf.gather and tf.slice of rows were far slower on WASM (~7 ms for 100 x 2048) than copying the
 * rows and uploading them (well under 1 ms).
 */
export function uploadRows(
  host: HostRows,
  rows: Int32Array | null,
): Omit<DataTensors, 'wSum' | 'host'> {
  const { d, numClasses } = host;
  let x = host.x;
  let y = host.y;
  let w = host.w;
  if (rows) {
    x = new Float32Array(rows.length * d);
    y = new Int32Array(rows.length);
    w = new Float32Array(rows.length);
    rows.forEach((r, i) => {
      x.set(host.x.subarray(r * d, (r + 1) * d), i * d);
      y[i] = host.y[r] as number;
      w[i] = host.w[r] as number;
    });
  }
  const n = y.length;
  return { ...labelTensors(y, w, numClasses), x: tf.tensor2d(x, [n, d]), n };
}

export function disposeData(t: DataTensors | undefined): void {
  if (t) tf.dispose([t.x, t.y, t.labels, t.w]);
}

export interface Params {
  kernels: tf.Tensor2D[];
  biases: tf.Tensor1D[];
}

export function paramList(p: Params): tf.Tensor[] {
  return [...p.kernels, ...p.biases];
}

/**
 * Forward pass of the dense stack (ReLU between layers). With a dropout seed, hidden units are
 * dropped (inverted dropout) and the ReLU gradient and dropout are folded into one mask per layer.
 */
export function forward(p: Params, x: tf.Tensor2D, dropout: number, dropoutSeed: number | null) {
  const acts: tf.Tensor2D[] = [x];
  const gradMasks: tf.Tensor2D[] = [];
  let a = x;
  const last = p.kernels.length - 1;
  for (let l = 0; l < last; l++) {
    const z = tf.add(
      tf.matMul(a, p.kernels[l] as tf.Tensor2D),
      p.biases[l] as tf.Tensor1D,
    ) as tf.Tensor2D;
    let mask = tf.step(z) as tf.Tensor2D;
    if (dropoutSeed !== null && dropout > 0) {
      const keep = tf.greaterEqual(
        tf.randomUniform(z.shape, 0, 1, 'float32', dropoutSeed + l),
        dropout,
      );
      mask = tf.mul(mask, tf.mul(tf.cast(keep, 'float32'), 1 / (1 - dropout)));
    }
    a = tf.mul(z, mask);
    acts.push(a);
    gradMasks.push(mask);
  }
  const logits = tf.add(
    tf.matMul(a, p.kernels[last] as tf.Tensor2D),
    p.biases[last] as tf.Tensor1D,
  ) as tf.Tensor2D;
  return { logProbs: tf.logSoftmax(logits), acts, gradMasks };
}

/**
 * dL/dW = A^T G for A [rows, in] and G [rows, out], with an explicit transpose of whichever side
 * moves fewer numbers: A (mini-batches), or G and the [in, out] result (full batch, rows >> out).
 */
export function weightGradient(a: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  const [rows, inDim] = a.shape;
  const outDim = g.shape[1];
  if (rows * inDim <= rows * outDim + inDim * outDim) return tf.matMul(tf.transpose(a), g);
  return tf.transpose(tf.matMul(tf.transpose(g), a));
}

/** [sum of w * cross-entropy, number correct] for a batch. */
export function batchStats(
  logProbs: tf.Tensor2D,
  data: Pick<DataTensors, 'y' | 'labels' | 'w'>,
): tf.Tensor1D {
  const loss = tf.neg(tf.sum(tf.mul(tf.mul(data.y, logProbs), data.w)));
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logProbs, 1), data.labels), 'float32'));
  return tf.stack([loss, correct]) as tf.Tensor1D;
}

/** Epoch history, best epoch and early stopping, shared by both optimisers. */
export class Progress<S> {
  readonly history: EpochReport[] = [];
  bestEpoch = 0;
  best: S | undefined;
  private bestLoss = Infinity;
  private patienceFrom = 0;

  constructor(
    private readonly hasValidation: boolean,
    private readonly patience: number,
    private readonly onEpoch: ((r: EpochReport) => void) | undefined,
    private readonly release: (s: S) => void,
  ) {}

  /** Record an epoch's report; `snapshot` is called when its weights are the best so far. Returns true to stop. */
  record(report: EpochReport, snapshot: () => S): boolean {
    this.history.push(report);
    this.onEpoch?.(report);
    if (!Number.isFinite(report.loss)) return true;
    if (!this.hasValidation) {
      this.bestEpoch = report.epoch; // the last epoch's weights are kept
      return false;
    }
    const monitored = report.valLoss as number;
    if (monitored < this.bestLoss) {
      this.bestLoss = monitored;
      this.bestEpoch = report.epoch;
      if (this.best !== undefined) this.release(this.best);
      this.best = snapshot();
    }
    return this.patience > 0 && report.epoch - Math.max(this.bestEpoch, this.patienceFrom) >= this.patience;
  }

  /** Patience counts again from `epoch` (a new stage of the same fit gets its own window). */
  restartPatience(epoch: number): void {
    this.patienceFrom = epoch;
  }

  dispose(): void {
    if (this.best !== undefined) this.release(this.best);
    this.best = undefined;
  }
}

export function makeReport(
  epoch: number,
  stats: ArrayLike<number>,
  train: Pick<DataTensors, 'n' | 'wSum'>,
  val: Pick<DataTensors, 'n' | 'wSum'> | undefined,
): EpochReport {
  const report: EpochReport = {
    epoch,
    loss: (stats[0] as number) / train.wSum,
    accuracy: (stats[1] as number) / train.n,
  };
  if (val) {
    report.valLoss = (stats[2] as number) / val.wSum;
    report.valAccuracy = (stats[3] as number) / val.n;
  }
  return report;
}
