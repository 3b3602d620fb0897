// Types, defaults and input checks for the classifier head trained on cached embeddings.
//
// How the defaults were chosen (synthetic embedding-like data: ReLU of class prototype + shared
// low-rank nuisance + noise, d = 1280/2048, 3-10 classes, 10-100 rows per class, a held-out test
// set; scripts/head-timing.ts has the generator):
// - softmax is the default. Trained to its L2-regularised optimum it beat the Teachable-Machine
//   head (dense 100 ReLU) on every synthetic problem tried, e.g. 0.87 vs 0.72 test accuracy on
//   1000 x 2048 x 10 (and ~0.2 s vs ~40 s on WASM), and it beat our own mlp too.
// - full batch + L-BFGS (head-lbfgs.ts): converges in ~10-30 iterations; full-batch Adam needed
//   ~500 steps to reach the same test accuracy (lr 0.01; larger rates oscillated, smaller crawled).
//   learningRate is therefore only used by Adam runs (mlp, or softmax with batchSize > 0).
// - l2 1e-2 on the mean loss (kernels only). On synthetic data 1e-3 looked safer, but on real
//   embeddings (npm run eval, flower_photos 80/20 holdout, after the refit in fit.ts) 1e-2 tied
//   or beat it: ResNet-50 0.870 vs 0.870, Inception-v3 2015 mixed_8 0.870 vs 0.870, nsfwjs
//   Inception-v3 0.704 vs 0.685 (its poorer features want the stronger prior).
// - epochs 100 is a cap: L-BFGS stops itself when an iteration gains < 0.01 % of the loss.
// - early stopping off by default (patience 0): L-BFGS runs until it stops gaining, the epoch with
//   the best validation loss is restored and fit.ts refits on every sample with that budget.
//   Patience 10 stopped too early on real embeddings (validation loss turns up while accuracy
//   still rises): clothing-small with ResNet-50 scored 0.830 with it and 0.859 without; flowers
//   were unchanged (npm run eval, 80/20 holdout).
// - rows scaled to unit length (L2) before the standardisation (normalizeRows, on by default). The
//   head then sees only the direction of an embedding, not how strongly the network fired overall
//   (which follows exposure and clutter more than the class). npm run eval, 80/20 holdout, same
//   settings otherwise: ResNet-50 flowers 0.870 -> 0.889, clothing 0.840 -> 0.850; nsfwjs flowers
//   0.704 -> 0.722; Inception-v3 2015 mixed_8 flowers 0.870 -> 0.870, clothing 0.903 -> 0.898.
//   Without it the Teachable-Machine head beat the default on ResNet-50 (0.880 / 0.850).
// - mlp (never better than softmax on these problems; kept as an option): Adam lr 1e-3, 50
//   epochs, dropout 0.25, 128 units. Batch 32 scored like Teachable Machine's batch 16 within
//   noise at half the steps; full batch, lr 3e-4 and lr 3e-3 were worse. Its inputs are scaled
//   but not centred (see head-util.ts standardisation).

import { GlimpseError } from '../shared/errors';
import { DEFAULT_HEAD_SETTINGS, type EpochReport, type HeadKind, type HeadSettings } from '../shared/head-format';

// The head's stored shape and its checks live in shared/ (store/ validates rows into them).
export { checkSettings, DEFAULT_HEAD_SETTINGS } from '../shared/head-format';
export type { DenseWeights, EpochReport, HeadKind, HeadSettings, TrainedHead } from '../shared/head-format';


/** Defaults for each kind: the mlp trains with Adam on mini-batches of 32 for up to 50 epochs. */
export function defaultHeadSettings(kind: HeadKind = 'softmax'): HeadSettings {
  if (kind === 'softmax') return { ...DEFAULT_HEAD_SETTINGS };
  return { ...DEFAULT_HEAD_SETTINGS, kind: 'mlp', epochs: 50, batchSize: 32 };
}

export interface HeadData {
  x: Float32Array;
  y: Int32Array;
  n: number;
  d: number;
}

/**
 * Training rows read where they lie instead of being copied (fitHead picks the split's rows out
 * of the caller's arrays): the rows of `parts` in order, row i labelled y[i]. A part takes rows
 * `rows` (all when null) of its packed array x (d wide); with `scale` (indexed by row of x) each
 * value is multiplied by its row's factor and rounded to float32, as l2NormalizeRows does.
 */
export interface RowSet {
  parts: RowPart[];
  y: Int32Array;
  n: number;
  d: number;
}

export interface RowPart {
  x: Float32Array;
  rows: ArrayLike<number> | null;
  scale: Float64Array | null;
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

/** A packed data set as a RowSet of one part, its rows multiplied by `scale` when given. */
export function rowsOf(data: HeadData, scale: Float64Array | null = null): RowSet {
  return { parts: [{ x: data.x, rows: null, scale }], y: data.y, n: data.n, d: data.d };
}

/**
 * Calls visit(x, offset, scale, i) for each row i of the set: its values are x[offset + j] for
 * j < d, each multiplied by `scale` (then rounded to float32) unless scale is null.
 */
export function forEachRow(
  set: RowSet,
  visit: (x: Float32Array, offset: number, scale: number | null, i: number) => void,
): void {
  let i = 0;
  for (const part of set.parts) {
    const count = part.rows ? part.rows.length : Math.floor(part.x.length / set.d);
    for (let r = 0; r < count; r++) {
      const row = part.rows ? (part.rows[r] as number) : r;
      visit(part.x, row * set.d, part.scale ? (part.scale[row] as number) : null, i++);
    }
  }
}

/**
 * Shapes, labels in range and (unless `checkValues` is false, for a caller that checks while it
 * reads the values anyway) finite features; `what` names the set in messages.
 */
export function checkData(
  data: HeadData,
  numClasses: number,
  what: string,
  d?: number,
  checkValues = true,
): void {
  checkSizes(numClasses, data, what, d);
  if (data.x.length !== data.n * data.d)
    throw invalid(`The ${what} set has ${data.x.length} values, expected ${data.n} x ${data.d}.`);
  checkRows(rowsOf(data), numClasses, what, d, checkValues);
}

function checkSizes(numClasses: number, set: { n: number; d: number }, what: string, d?: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw invalid(`A head needs at least 2 classes, got ${numClasses}.`);
  if (!Number.isInteger(set.n) || set.n < 1) throw invalid(`The ${what} set is empty.`);
  if (!Number.isInteger(set.d) || set.d < 1)
    throw invalid(`Invalid embedding size ${set.d} in the ${what} set.`);
  if (d !== undefined && set.d !== d)
    throw invalid(`The ${what} set has embedding size ${set.d}, expected ${d}.`);
}

/** checkData for a RowSet: every listed row lies inside its array. */
export function checkRows(
  set: RowSet,
  numClasses: number,
  what: string,
  d?: number,
  checkValues = true,
): void {
  checkSizes(numClasses, set, what, d);
  let rows = 0;
  for (const part of set.parts) {
    const available = Math.floor(part.x.length / set.d);
    const listed = part.rows ?? [];
    for (let r = 0; r < listed.length; r++) {
      const row = listed[r] as number;
      if (!Number.isInteger(row) || row < 0 || row >= available)
        throw invalid(`The ${what} set lists row ${row} of an array of ${available} rows.`);
    }
    rows += part.rows ? part.rows.length : available;
  }
  if (rows !== set.n) throw invalid(`The ${what} set has ${rows} rows, expected ${set.n}.`);
  if (set.y.length !== set.n)
    throw invalid(`The ${what} set has ${set.y.length} labels for ${set.n} rows.`);
  for (let i = 0; i < set.n; i++) {
    const label = set.y[i] as number;
    if (label < 0 || label >= numClasses)
      throw invalid(`Label ${label} in the ${what} set is outside 0..${numClasses - 1}.`);
  }
  if (checkValues) checkFinite(set, what);
}

/** Throws for the first row with a non-finite value (after its scale, if any). */
export function checkFinite(set: RowSet, what: string): void {
  forEachRow(set, (x, o, scale, i) => {
    for (let j = 0; j < set.d; j++) {
      const v = x[o + j] as number;
      if (!Number.isFinite(scale === null ? v : Math.fround(v * scale)))
        throw invalid(`The ${what} set has a non-finite value in row ${i}.`);
    }
  });
}
