// Types, defaults and input checks for the classifier head trained on cached embeddings.
//
// Why these defaults (chosen on synthetic embedding-like data, 2048-d, 10 classes, 20..100 samples
// per class; see scripts/head-timing.ts and tests/unit/head.test.ts):
// - softmax regression on standardised features is the default: with a few hundred samples of a
//   2048-d embedding it generalises at least as well as Teachable Machine's 100-unit MLP and it is
//   convex, so full-batch Adam converges quickly and repeatably.
// - full batch + Adam lr 0.01: standardised features make one learning rate fit every extractor;
//   ~60-100 full-batch steps reach a flat validation loss. The budget is 120 steps; early stopping
//   (patience 15 on validation loss) usually ends sooner and restores the best step.
// - l2 1e-3 on the mean loss (kernel only) keeps the weights finite on separable data (n < d is
//   the normal case) without hurting accuracy.
// - mlp: 128 ReLU units, dropout 0.25, same optimiser, lr 3e-3 and a 200-step budget.

import { GlimpseError } from '../shared/errors';

export type HeadKind = 'softmax' | 'mlp';

export interface HeadSettings {
  kind: HeadKind;
  /** Maximum epochs; with full batch an epoch is one optimiser step. */
  epochs: number;
  /** Rows per optimiser step; 0 = full batch. */
  batchSize: number;
  learningRate: number;
  /** mlp only. */
  hiddenUnits: number;
  /** mlp only: share of hidden units dropped at train time. */
  dropout: number;
  /** Weight decay on kernels: adds l2/2 * ||W||^2 to the mean loss. */
  l2: number;
  /** Used by callers to split off validation data. */
  validationShare: number;
  /** Epochs without a validation-loss improvement before stopping; 0 = off. */
  earlyStoppingPatience: number;
  /** Balanced class weights in the loss (each class contributes the same total weight). */
  classWeighting: boolean;
  seed: number;
}

export const DEFAULT_HEAD_SETTINGS: HeadSettings = Object.freeze({
  kind: 'softmax',
  epochs: 120,
  batchSize: 0,
  learningRate: 0.01,
  hiddenUnits: 128,
  dropout: 0.25,
  l2: 1e-3,
  validationShare: 0.2,
  earlyStoppingPatience: 15,
  classWeighting: true,
  seed: 1,
}) as HeadSettings;

/** Defaults tuned for each kind (the mlp wants a smaller step and a longer budget). */
export function defaultHeadSettings(kind: HeadKind = 'softmax'): HeadSettings {
  if (kind === 'softmax') return { ...DEFAULT_HEAD_SETTINGS };
  return { ...DEFAULT_HEAD_SETTINGS, kind: 'mlp', epochs: 200, learningRate: 3e-3 };
}

export interface HeadData {
  x: Float32Array;
  y: Int32Array;
  n: number;
  d: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface DenseWeights {
  /** Row-major [inDim, outDim]. */
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  outDim: number;
}

export interface TrainedHead {
  kind: HeadKind;
  inputDim: number;
  numClasses: number;
  /** Feature standardisation computed on the train set: x' = (x - mean) * invStd. */
  mean: Float32Array;
  invStd: Float32Array;
  /** 1 layer (softmax) or 2 (mlp: ReLU hidden, then softmax). */
  layers: DenseWeights[];
  settings: HeadSettings;
  history: EpochReport[];
  /** 1-based epoch whose weights were kept. */
  bestEpoch: number;
}

export interface TrainHeadOptions {
  validation?: HeadData;
  onEpoch?: (r: EpochReport) => void;
  signal?: AbortSignal;
  /** Yield to the event loop every this many epochs (default 1). */
  yieldEvery?: number;
}

function invalid(message: string): GlimpseError {
  return new GlimpseError('invalid-input', message);
}

export function checkSettings(s: HeadSettings): void {
  if (s.kind !== 'softmax' && s.kind !== 'mlp') throw invalid(`Unknown head kind: ${String(s.kind)}.`);
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw invalid(`Epochs must be a positive whole number, got ${s.epochs}.`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 0) throw invalid(`Batch size must be 0 (full batch) or a positive whole number, got ${s.batchSize}.`);
  if (!(s.learningRate > 0) || !Number.isFinite(s.learningRate)) throw invalid(`Learning rate must be positive, got ${s.learningRate}.`);
  if (s.kind === 'mlp' && (!Number.isInteger(s.hiddenUnits) || s.hiddenUnits < 1)) throw invalid(`Hidden units must be a positive whole number, got ${s.hiddenUnits}.`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw invalid(`Dropout must be in [0, 1), got ${s.dropout}.`);
  if (!(s.l2 >= 0) || !Number.isFinite(s.l2)) throw invalid(`L2 must be zero or positive, got ${s.l2}.`);
  if (!Number.isInteger(s.earlyStoppingPatience) || s.earlyStoppingPatience < 0) throw invalid(`Early-stopping patience must be a whole number >= 0, got ${s.earlyStoppingPatience}.`);
  if (!Number.isFinite(s.seed)) throw invalid(`Seed must be a number, got ${s.seed}.`);
}

/** Shapes, labels in range and finite features; `what` names the set in messages. */
export function checkData(data: HeadData, numClasses: number, what: string, d?: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw invalid(`A head needs at least 2 classes, got ${numClasses}.`);
  if (!Number.isInteger(data.n) || data.n < 1) throw invalid(`The ${what} set is empty.`);
  if (!Number.isInteger(data.d) || data.d < 1) throw invalid(`Invalid embedding size ${data.d} in the ${what} set.`);
  if (d !== undefined && data.d !== d) throw invalid(`The ${what} set has embedding size ${data.d}, expected ${d}.`);
  if (data.x.length !== data.n * data.d) throw invalid(`The ${what} set has ${data.x.length} values, expected ${data.n} x ${data.d}.`);
  if (data.y.length !== data.n) throw invalid(`The ${what} set has ${data.y.length} labels for ${data.n} rows.`);
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i] as number;
    if (label < 0 || label >= numClasses) throw invalid(`Label ${label} in the ${what} set is outside 0..${numClasses - 1}.`);
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i] as number)) throw invalid(`The ${what} set has a non-finite value in row ${Math.floor(i / data.d)}.`);
  }
}
