// The L-BFGS objective of a large training set, a page of rows at a time (issue 21: 50,000
// samples). tensorObjective (head-lbfgs.ts) standardises the whole set into one backend tensor and
// keeps it for the run: 50,000 x 1,280 floats are 256 MB on top of the worker's own copy of the
// rows, and the WASM heap never gives memory back. Here nothing but one page is ever on the
// backend: each evaluation copies PAGE_ROWS raw rows at a time from where they lie (the worker's
// staged rows) straight into a backend tensor, and the standardisation is folded into the weights
// instead of being applied to the rows:
//
//   x' = (s x - mean) * invStd  (s: the row's unit-length factor, 1 without normalizeRows)
//   x' W + b = s (x W~) + b~,   W~ = invStd (.) W (row j scaled),  b~ = b - (mean * invStd) W
//   dL/dW = invStd (.) (X^T (s G) - mean (x) sum_rows G),  dL/db = sum_rows G
//
// with G = (softmax - onehot) * w / wSum. The sums over pages are taken in float64. The result is
// the same function as tensorObjective's up to float32 rounding (tests/unit/head-paged.test.ts
// states how close), so the head a large set trains does not depend on whether its rows came from
// memory or a page at a time from IndexedDB: both take this path above PAGED_MIN_VALUES.
import * as tf from '@tensorflow/tfjs';
import { batchStats, filledTensor2d, weightGradient, type Progress } from './head-data';
import { runLbfgs, type LbfgsObjective, type LbfgsRun } from './head-lbfgs';
import type { RowSet } from './head-types';

export { PAGED_MIN_VALUES, WARM_START_ROWS } from './fit-plan';
/** Rows per page: 4,096 x 1,280 floats = 20 MiB on the backend at a time. */
export const PAGE_ROWS = 4096;

/** Where each row of a RowSet lies, for copying a page of them. */
interface RowIndex {
  part: Uint8Array;
  offset: Float64Array;
  scale: Float32Array;
}

function indexRows(set: RowSet): RowIndex {
  const n = set.n;
  const out: RowIndex = { part: new Uint8Array(n), offset: new Float64Array(n), scale: new Float32Array(n) };
  let i = 0;
  set.parts.forEach((p, pi) => {
    const count = p.rows ? p.rows.length : Math.floor(p.x.length / set.d);
    for (let r = 0; r < count; r++, i++) {
      const row = p.rows ? (p.rows[r] as number) : r;
      out.part[i] = pi;
      out.offset[i] = row * set.d;
      out.scale[i] = p.scale ? (p.scale[row] as number) : 1;
    }
  });
  return out;
}

/** The per-page tensors that stay for the run (labels, one-hot, weights, row factors): ~(k + 3) floats a row. */
interface Page {
  start: number;
  rows: number;
  labels: tf.Tensor1D;
  y: tf.Tensor2D;
  /** Row loss weight (class weight), [rows, 1]: batchStats sums w * CE with it. */
  w: tf.Tensor2D;
  /** Class weight / wSum, [rows, 1]: the gradient's row factor. */
  gScale: tf.Tensor2D;
  s: tf.Tensor2D;
}

interface PagedSet {
  set: RowSet;
  index: RowIndex;
  pages: Page[];
  n: number;
  wSum: number;
}

function pagedSet(set: RowSet, classWeights: Float32Array, numClasses: number, pageRows: number, gradWSum: number | null): PagedSet {
  const index = indexRows(set);
  const w = new Float32Array(set.n);
  let wSum = 0;
  for (let i = 0; i < set.n; i++) {
    const v = classWeights[set.y[i] as number] || 1; // as uploadData: a class absent from train weighs 1
    w[i] = v;
    wSum += v;
  }
  const pages: Page[] = [];
  for (let start = 0; start < set.n; start += pageRows) {
    const rows = Math.min(pageRows, set.n - start);
    const end = start + rows;
    pages.push(
      tf.tidy(() => {
        const labels = tf.tensor1d(set.y.subarray(start, end), 'int32');
        const pw = tf.tensor2d(w.subarray(start, end), [rows, 1]);
        return {
          start,
          rows,
          labels,
          y: tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D,
          w: pw,
          gScale: tf.div(pw, gradWSum ?? wSum) as tf.Tensor2D,
          s: tf.tensor2d(index.scale.subarray(start, end), [rows, 1]),
        };
      }),
    );
  }
  return { set, index, pages, n: set.n, wSum };
}

/** A page's raw rows (not scaled, not standardised) in a backend tensor, copied row by row. */
function pageRowsTensor(p: PagedSet, page: Page): tf.Tensor2D {
  const d = p.set.d;
  const parts = p.set.parts;
  return filledTensor2d(page.rows, d, (out) => {
    for (let i = 0; i < page.rows; i++) {
      const r = page.start + i;
      const x = (parts[p.index.part[r] as number] as RowSet['parts'][number]).x;
      const o = p.index.offset[r] as number;
      out.set(x.subarray(o, o + d), i * d);
    }
  });
}

/** Log-probabilities of a page under folded weights (zeros when atZero). */
function logProbs(x: tf.Tensor2D, page: Page, kernel: tf.Tensor2D, bias: tf.Tensor1D, k: number, atZero: boolean): tf.Tensor2D {
  return atZero
    ? tf.logSoftmax(tf.zeros([page.rows, k]) as tf.Tensor2D)
    : tf.logSoftmax(tf.add(tf.mul(tf.matMul(x, kernel), page.s), bias) as tf.Tensor2D);
}

/**
 * Adds the sums of these pages under the folded weights to acc: X^T (s G) (d*k values), sum_rows G
 * (k), then the weighted loss and the correct count, in float64.
 */
async function addPageSums(p: PagedSet, pages: readonly Page[], kernel: tf.Tensor2D, bias: tf.Tensor1D, k: number, atZero: boolean, acc: Float64Array): Promise<void> {
  const dk = p.set.d * k;
  for (const page of pages) {
    const x = pageRowsTensor(p, page);
    const out = tf.tidy(() => {
      const lp = logProbs(x, page, kernel, bias, k, atZero);
      const g = tf.mul(tf.sub(tf.exp(lp), page.y), page.gScale) as tf.Tensor2D;
      const xg = weightGradient(x, tf.mul(g, page.s) as tf.Tensor2D);
      return tf.concat([tf.reshape(xg, [-1]), tf.sum(g, 0), batchStats(lp, page)]);
    });
    x.dispose();
    const v = (await out.data()) as Float32Array;
    out.dispose();
    for (let i = 0; i < dk + k + 2; i++) acc[i] = (acc[i] as number) + (v[i] as number);
  }
}

/** What a page helper needs to evaluate its rows: raw rows (n x d), their factors, labels and the weights. */
export interface PageHelperPart {
  x: Float32Array;
  /** Unit-length factor per row, or null. */
  scale: Float64Array | null;
  labels: Int32Array;
  classWeights: Float32Array;
  /** The class-weight sum over every training row (the gradient's divisor). */
  wSum: number;
  d: number;
  k: number;
  pageRows: number;
}

/**
 * Another thread evaluating the last pages of a large fit's training rows (worker/page-helper.ts:
 * a second worker on the second core), so that a pass over 50,000 rows costs about half.
 */
export interface PageHelper {
  start(part: PageHelperPart): Promise<void>;
  /** addPageSums over its rows under these folded weights: d*k + k + 2 values. */
  evaluate(kernel: Float32Array, bias: Float32Array, atZero: boolean): Promise<Float64Array>;
  stop(): void;
}

/** The helper's side: its rows as pages, evaluated under folded weights as addPageSums does. */
export function pageHelperObjective(part: PageHelperPart): { evaluate(kernel: Float32Array, bias: Float32Array, atZero: boolean): Promise<Float64Array>; dispose(): void } {
  const { d, k } = part;
  const n = part.labels.length;
  const set: RowSet = { parts: [{ x: part.x, rows: null, scale: part.scale }], y: part.labels, n, d };
  const p = pagedSet(set, part.classWeights, k, part.pageRows, part.wSum);
  return {
    evaluate: async (kernel, bias, atZero) => {
      const acc = new Float64Array(d * k + k + 2);
      const kt = tf.tensor2d(kernel, [d, k]);
      const bt = tf.tensor1d(bias);
      try {
        await addPageSums(p, p.pages, kt, bt, k, atZero, acc);
      } finally {
        kt.dispose();
        bt.dispose();
      }
      return acc;
    },
    dispose: () => disposeSet(p),
  };
}

/** The rows of pages from `first` on, packed for a helper (raw values, their factors and labels). */
function helperPart(p: PagedSet, first: number, classWeights: Float32Array, k: number, pageRows: number): PageHelperPart {
  const d = p.set.d;
  const from = p.pages[first]!.start;
  const n = p.n - from;
  const x = new Float32Array(n * d);
  const scale = new Float64Array(n);
  let hasScale = false;
  for (let i = 0; i < n; i++) {
    const r = from + i;
    const part = p.set.parts[p.index.part[r] as number]!;
    const o = p.index.offset[r] as number;
    x.set(part.x.subarray(o, o + d), i * d);
    scale[i] = p.index.scale[r] as number;
    if (part.scale) hasScale = true;
  }
  return { x, scale: hasScale ? scale : null, labels: p.set.y.slice(from, p.n), classWeights, wSum: p.wSum, d, k, pageRows };
}

/**
 * The training rows of a paged objective as pages, and a helper that was handed the later half of
 * them (started: it builds its pages on its own thread). Independent of the standardisation, so a
 * large fit makes it while its warm start still runs. dispose() frees the pages unless an
 * objective took them (it frees them then).
 */
export interface PagedTrain {
  tr: PagedSet;
  split: number;
  helper: PageHelper | null;
  started: Promise<void> | null;
  dispose(): void;
}

export function pagedTrain(
  train: RowSet,
  classWeights: Float32Array,
  numClasses: number,
  helper?: PageHelper,
  pageRows = PAGE_ROWS,
): PagedTrain {
  const tr = pagedSet(train, classWeights, numClasses, pageRows, null);
  const split = Math.ceil(tr.pages.length / 2);
  const remote = helper && tr.pages.length >= 2 ? helper : null;
  let started: Promise<void> | null = null;
  try {
    started = remote ? remote.start(helperPart(tr, split, classWeights, numClasses, pageRows)) : null;
  } catch (err) {
    disposeSet(tr);
    throw err;
  }
  started?.catch(() => undefined); // awaited at the first evaluation, which falls back on failure
  let owned = false;
  return {
    tr,
    split,
    helper: remote,
    started,
    dispose: () => {
      if (!owned) disposeSet(tr);
      owned = true;
    },
  };
}

/**
 * The objective of `train` (and the stats of `validation`), standardised by mean/invStd, with
 * class weights as uploadData gives them, evaluated PAGE_ROWS rows at a time. With a `helper`, the
 * second half of the training pages is evaluated there at the same time as the first half here
 * (if the helper fails, here again, for good). `prepared` (pagedTrain of the same rows, weights
 * and helper) is used instead of making the pages and starting the helper here; the objective
 * then owns it.
 */
export function pagedObjective(
  train: RowSet,
  validation: RowSet | undefined,
  mean: Float32Array,
  invStd: Float32Array,
  classWeights: Float32Array,
  numClasses: number,
  pageRows = PAGE_ROWS,
  helper?: PageHelper,
  prepared?: PagedTrain,
): LbfgsObjective {
  const d = train.d;
  const k = numClasses;
  const dk = d * k;
  const own = prepared ?? null;
  const tr = own ? own.tr : pagedSet(train, classWeights, k, pageRows, null);
  let va: PagedSet | undefined;
  try {
    va = validation ? pagedSet(validation, classWeights, k, pageRows, 1) : undefined;
  } catch (err) {
    if (own) own.dispose();
    else disposeSet(tr);
    throw err;
  }
  const folded = new Float32Array(dk);
  const foldedBias = new Float32Array(k);
  const bias64 = new Float64Array(k);
  const acc = new Float64Array(dk + k + 2);
  const valAcc = new Float64Array(2);
  // The helper takes the pages from `split` on (the later half), once, at the first evaluation
  // (or already has them: prepared).
  const split = own ? own.split : Math.ceil(tr.pages.length / 2);
  let remote: PageHelper | null = own ? own.helper : helper && tr.pages.length >= 2 ? helper : null;
  let started: Promise<void> | null = own ? own.started : null;
  const giveUp = () => {
    remote?.stop();
    remote = null;
  };

  return {
    train: tr,
    val: va,
    evaluate: async (params, atZero) => {
      // W~ and b~ (float64 sums, rounded once).
      bias64.fill(0);
      for (let j = 0; j < d; j++) {
        const is = invStd[j] as number;
        const ms = (mean[j] as number) * is;
        for (let c = 0; c < k; c++) {
          const w = params[j * k + c] as number;
          folded[j * k + c] = is * w;
          bias64[c] = (bias64[c] as number) + ms * w;
        }
      }
      for (let c = 0; c < k; c++) foldedBias[c] = (params[dk + c] as number) - (bias64[c] as number);
      acc.fill(0);
      valAcc.fill(0);
      const helperNow = remote;
      let theirs: Promise<Float64Array> | null = null;
      if (helperNow) {
        started ??= helperNow.start(helperPart(tr, split, classWeights, k, pageRows));
        theirs = started.then(() => helperNow.evaluate(folded, foldedBias, atZero));
        theirs.catch(() => undefined); // awaited below
      }
      const kernel = tf.tensor2d(folded, [d, k]);
      const bias = tf.tensor1d(foldedBias);
      try {
        await addPageSums(tr, theirs ? tr.pages.slice(0, split) : tr.pages, kernel, bias, k, atZero, acc);
        if (theirs) {
          let sums: Float64Array | null = null;
          try {
            sums = await theirs;
          } catch {
            giveUp();
          }
          if (sums && sums.length === acc.length) for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (sums[i] as number);
          else await addPageSums(tr, tr.pages.slice(split), kernel, bias, k, atZero, acc);
        }
        for (const page of va?.pages ?? []) {
          const x = pageRowsTensor(va!, page);
          const out = tf.tidy(() => batchStats(logProbs(x, page, kernel, bias, k, atZero), page));
          x.dispose();
          const v = (await out.data()) as Float32Array;
          out.dispose();
          valAcc[0] = (valAcc[0] as number) + (v[0] as number);
          valAcc[1] = (valAcc[1] as number) + (v[1] as number);
        }
      } finally {
        kernel.dispose();
        bias.dispose();
      }
      const values = new Float32Array(dk + k + (va ? 4 : 2));
      for (let j = 0; j < d; j++) {
        const is = invStd[j] as number;
        const m = mean[j] as number;
        for (let c = 0; c < k; c++) values[j * k + c] = is * ((acc[j * k + c] as number) - m * (acc[dk + c] as number));
      }
      for (let c = 0; c < k; c++) values[dk + c] = acc[dk + c] as number;
      values[dk + k] = acc[dk + k] as number;
      values[dk + k + 1] = acc[dk + k + 1] as number;
      if (va) values.set(valAcc, dk + k + 2);
      return values;
    },
    dispose: () => {
      if (own) own.dispose();
      else disposeSet(tr);
      if (va) disposeSet(va);
    },
  };
}

function disposeSet(p: PagedSet): void {
  for (const page of p.pages) tf.dispose([page.labels, page.y, page.w, page.gScale, page.s]);
}

/**
 * Iterations over every row after the warm start, at most. On the bench's 50,000 samples (2,000
 * real photos among them) the all-rows stage went on for ~20 iterations, each lowering the
 * validation loss a little: ~24 s of a 26 s fit. The cap keeps a large fit near 15 s here; the
 * head kept is still the iteration with the best validation loss.
 */
export const FULL_PASSES_AFTER_WARM_START = 8;

/** Every m-th row of a RowSet (m >= 2), labels with them. */
export function everyNth(set: RowSet, m: number): RowSet {
  const parts: RowSet['parts'] = [];
  const y: number[] = [];
  let i = 0;
  for (const p of set.parts) {
    const count = p.rows ? p.rows.length : Math.floor(p.x.length / set.d);
    const rows: number[] = [];
    for (let r = 0; r < count; r++, i++) {
      if (i % m !== 0) continue;
      rows.push(p.rows ? (p.rows[r] as number) : r);
      y.push(set.y[i] as number);
    }
    if (rows.length > 0) parts.push({ x: p.x, rows, scale: p.scale });
  }
  return { parts, y: Int32Array.from(y), n: y.length, d: set.d };
}

/**
 * The warm start of a paged fit: L-BFGS on `subset` (every m-th training row; its own
 * standardisation `mean`/`invStd`; validation as given, the training set's class weights, its
 * epochs reported through the same progress). Returns the subset's best parameters (by
 * validation loss when there is validation) and how many epochs it reported.
 */
export async function warmStart(
  subset: RowSet,
  validation: RowSet | undefined,
  mean: Float32Array,
  invStd: Float32Array,
  classWeights: Float32Array,
  numClasses: number,
  run: Omit<LbfgsRun, 'objective' | 'vectors'> & { progress: Progress<Float64Array> },
): Promise<{ theta: Float64Array; epochs: number }> {
  const objective = pagedObjective(subset, validation, mean, invStd, classWeights, numClasses);
  try {
    const { kernel, bias } = await runLbfgs({ ...run, objective, vectors: [] });
    const theta = new Float64Array(kernel.length + bias.length);
    theta.set(kernel);
    theta.set(bias, kernel.length);
    return { theta, epochs: run.progress.history.length };
  } finally {
    objective.dispose();
  }
}

/**
 * Softmax parameters theta (kernel d x k row-major, then bias k) that act on features standardised
 * with `from`, rewritten for features standardised with `to`: the same logits for every input.
 * With x' = (x - mean) * invStd:  W_to[j] = W_from[j] * invStd_from[j] / invStd_to[j],
 * b_to = b_from + sum_j (mean_to[j] - mean_from[j]) * invStd_from[j] * W_from[j].
 */
export function restandardise(
  theta: Float64Array,
  from: { mean: Float32Array; invStd: Float32Array },
  to: { mean: Float32Array; invStd: Float32Array },
  numClasses: number,
): Float64Array {
  const k = numClasses;
  const d = from.mean.length;
  const out = new Float64Array(theta.length);
  for (let j = 0; j < d; j++) {
    const a = from.invStd[j] as number;
    const ratio = a / (to.invStd[j] as number);
    const shift = ((to.mean[j] as number) - (from.mean[j] as number)) * a;
    for (let c = 0; c < k; c++) {
      const w = theta[j * k + c] as number;
      out[j * k + c] = w * ratio;
      out[d * k + c] = (out[d * k + c] as number) + shift * w;
    }
  }
  for (let c = 0; c < k; c++) out[d * k + c] = (out[d * k + c] as number) + (theta[d * k + c] as number);
  return out;
}
