// Small helpers for head training: feature standardisation, seeded initialisation, cooperative
// yielding and cancellation. Plain arithmetic on typed arrays; no tensors live here.

import { GlimpseError } from '../shared/errors';
import { mulberry32 } from '../shared/rng';
import { checkFinite, forEachRow, type RowSet } from './head-types';

/** Smallest length a row is divided by: an all-zero embedding stays zero instead of NaN. */
export const MIN_ROW_NORM = 1e-12;

/** A copy of x (n x d, row-major) with every row scaled to unit L2 length (float64 sums). */
export function l2NormalizeRows(x: Float32Array, d: number): Float32Array {
  const scale = rowScales(x, d);
  const out = new Float32Array(x.length);
  for (let i = 0; i < scale.length; i++) {
    const s = scale[i] as number;
    for (let j = i * d; j < (i + 1) * d; j++) out[j] = (x[j] as number) * s;
  }
  return out;
}

/** Per row of x (n x d): the factor that gives it unit L2 length, 1 / max(||row||, 1e-12). */
export function rowScales(x: Float32Array, d: number): Float64Array {
  const n = Math.floor(x.length / d);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rowScale(x, i, d);
  return out;
}

/** rowScales' factor of row i alone. */
export function rowScale(x: Float32Array, i: number, d: number): number {
  let sq = 0;
  for (let j = i * d; j < (i + 1) * d; j++) {
    const v = x[j] as number;
    sq += v * v;
  }
  return 1 / Math.max(Math.sqrt(sq), MIN_ROW_NORM);
}

/**
 * Feature scaling computed on the train rows (after their row scale, if any), accumulated in
 * float64: x' = (x - mean) * invStd with invStd = 1 / sqrt(var + average var).
 *
 * The variance is shrunk toward the average over features: with a few dozen rows the per-feature
 * variances are noisy, and a feature that barely fires in the train set (common after ReLU) must
 * not be blown up when it fires at predict time. On synthetic embedding-like data this beat both
 * plain per-feature standardisation and a single global scale for the softmax head.
 *
 * `center: false` keeps mean = 0 (scaling only): the mlp head overfits few-shot data badly when its
 * non-negative inputs are centred (every hidden ReLU then switches on about half the rows).
 */
export function standardisation(
  data: RowSet,
  center = true,
): { mean: Float32Array; invStd: Float32Array } {
  const { n, d } = data;
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  forEachRow(data, (x, o, scale) => {
    if (scale === null) {
      for (let j = 0; j < d; j++) {
        const v = x[o + j] as number;
        sum[j] = (sum[j] as number) + v;
        sumSq[j] = (sumSq[j] as number) + v * v;
      }
    } else {
      for (let j = 0; j < d; j++) {
        const v = Math.fround((x[o + j] as number) * scale);
        sum[j] = (sum[j] as number) + v;
        sumSq[j] = (sumSq[j] as number) + v * v;
      }
    }
  });
  // A NaN or infinity anywhere makes its column's sums non-finite: one pass checks and sums.
  if (!sum.every(Number.isFinite) || !sumSq.every(Number.isFinite)) checkFinite(data, 'training');
  const mean = new Float32Array(d);
  const variance = new Float64Array(d);
  let varianceSum = 0;
  for (let j = 0; j < d; j++) {
    const m = (sum[j] as number) / n;
    const v = Math.max(0, (sumSq[j] as number) / n - m * m);
    if (center) mean[j] = m;
    variance[j] = v;
    varianceSum += v;
  }
  const shrink = Math.max(varianceSum / d, 1e-12);
  const invStd = new Float32Array(d);
  for (let j = 0; j < d; j++) invStd[j] = 1 / Math.sqrt((variance[j] as number) + shrink);
  return { mean, invStd };
}

/** Glorot-uniform [fanIn, fanOut] kernel from a seeded generator. */
export function glorotUniform(fanIn: number, fanOut: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (2 * next() - 1) * limit;
  return out;
}

/** Seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, next: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const tmp = out[i] as number;
    out[i] = out[j] as number;
    out[j] = tmp;
  }
  return out;
}

type Scheduler = (cb: () => void) => unknown;
/** The browser MessageChannel shape (Node's typings describe worker_threads ports instead). */
interface BrowserPort {
  onmessage: (() => void) | null;
  postMessage(message: null): void;
  close(): void;
}
type BrowserChannel = new () => { port1: BrowserPort; port2: BrowserPort };

/**
 * Resolve on the next macrotask so queued messages (progress out, cancel in) get through.
 * setTimeout(0) is clamped to 4 ms once nested in browsers, which would cost more than a
 * full-batch step, so prefer setImmediate (Node) or a MessageChannel round trip (window, worker).
 */
export function nextMacrotask(): Promise<void> {
  const setImmediateFn = (globalThis as { setImmediate?: Scheduler }).setImmediate;
  if (typeof setImmediateFn === 'function')
    return new Promise((resolve) => void setImmediateFn(resolve));
  const Channel = (globalThis as unknown as { MessageChannel?: BrowserChannel }).MessageChannel;
  if (typeof Channel === 'function') {
    return new Promise((resolve) => {
      const channel = new Channel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new GlimpseError('cancelled', 'Training was cancelled.');
}
