// Full-batch L-BFGS for the softmax head (multinomial logistic regression with L2).
//
// Why not Adam here: embeddings are strongly correlated (a few directions such as lighting and
// background carry most of the variance), so the problem is ill-conditioned and first-order steps
// crawl once the train loss is near zero (n < d: separable). On synthetic 1000 x 2048 x 10 data
// full-batch Adam needed ~500 steps (~2 s on WASM) to reach the test accuracy L-BFGS reaches in
// 10-30 iterations, each ~1.5x an Adam step. The loss is convex and deterministic, so a line
// search is safe, and no learning rate needs tuning.
//
// The iterate lives in JS (float64, [kernel row-major d x k, bias k], ~20k numbers); each
// evaluation uploads it, runs forward + hand-written backward on the backend and reads back one
// tensor: the gradient, train stats and (when given) validation stats. The first evaluation is at
// zero, where every logit is 0, so it skips the forward products. The line search almost always
// takes the first step, so nearly every evaluation is an accepted iterate (whose validation stats
// the epoch report needs anyway): 1 + iterations evaluations per run, typically.

import * as tf from '@tensorflow/tfjs';
import {
  batchStats,
  forward,
  makeReport,
  weightGradient,
  type DataTensors,
  type Progress,
} from './head-data';
import type { HeadSettings } from './head-types';
import { nextMacrotask, throwIfCancelled } from './head-util';

/**
 * The loss the iteration minimises. evaluate(params, atZero) returns, for params = [kernel d x k
 * row-major, bias k] (float32), [data term's gradient (d*k + k values), train loss sum (row
 * weights applied), train correct, (validation loss sum, validation correct)]. Two ways to get
 * there: tensorObjective (the whole set standardised on the backend, below) and pagedObjective
 * (head-paged.ts: large sets, raw rows a chunk at a time).
 */
export interface LbfgsObjective {
  evaluate(params: Float32Array, atZero: boolean): Promise<Float32Array>;
  train: { n: number; wSum: number };
  val: { n: number; wSum: number } | undefined;
  dispose(): void;
}

/** The objective over data already standardised on the backend (uploadData). */
export function tensorObjective(train: DataTensors, val: DataTensors | undefined, d: number, k: number): LbfgsObjective {
  const dk = d * k;
  const gradScale = tf.div(train.w, train.wSum) as tf.Tensor2D;
  return {
    train,
    val,
    evaluate: async (upload, atZero) => {
      const out = tf.tidy(() => {
        const kernel = tf.tensor2d(upload.subarray(0, dk), [d, k]);
        const bias = tf.tensor1d(upload.subarray(dk));
        const params = { kernels: [kernel], biases: [bias] };
        const logProbsOf = (x: tf.Tensor2D): tf.Tensor2D =>
          atZero
            ? tf.logSoftmax(tf.zeros([x.shape[0], k]) as tf.Tensor2D)
            : forward(params, x, 0, null).logProbs;
        const logProbs = logProbsOf(train.x);
        const g = tf.mul(tf.sub(tf.exp(logProbs), train.y), gradScale) as tf.Tensor2D;
        const dW = weightGradient(train.x, g);
        const parts = [tf.reshape(dW, [-1]), tf.sum(g, 0), batchStats(logProbs, train)];
        if (val) parts.push(batchStats(logProbsOf(val.x), val));
        return tf.concat(parts);
      });
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    },
    dispose: () => gradScale.dispose(),
  };
}

const MEMORY = 10;
const MAX_LINE_SEARCH = 12;
const ARMIJO_C1 = 1e-4;
/** Stop when an iteration lowers the objective by less than this share of it. */
const REL_DECREASE_TOL = 1e-4;
/** ... or when no gradient component exceeds this. */
const GRAD_TOL = 1e-5;

export interface LbfgsRun {
  objective: LbfgsObjective;
  d: number;
  numClasses: number;
  settings: HeadSettings;
  progress: Progress<Float64Array>;
  signal: AbortSignal | undefined;
  yieldEvery: number;
  /** Scratch vectors: the run takes those of its size from here and leaves all of its own here. */
  vectors: Float64Array[];
  /** Start here instead of at zero (a warm start: [kernel d x k row-major, bias k]). */
  init?: Float64Array;
  /** Epoch numbers of this run's reports start after this (a run continuing another's history). */
  epochOffset?: number;
}

interface Point {
  theta: Float64Array;
  f: number;
  grad: Float64Array;
  /** Largest |gradient component|. */
  gradMax: number;
  /** [train loss sum, train correct, (val loss sum, val correct)]. */
  stats: Float32Array;
}

function newPoint(vector: () => Float64Array): Point {
  return { theta: vector(), f: 0, grad: vector(), gradMax: 0, stats: new Float32Array(0) };
}

// Vector kernels of the two-loop recursion, each one pass over its vectors. A fused pass does the
// update of one step and the dot product the next step needs, in the same element order as doing
// them one after the other, so the results are the same to the last bit; there are half as many
// passes over ~20k-long vectors as with separate axpy and dot.

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** q = g; returns w . q. */
function copyDot(g: Float64Array, q: Float64Array, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < q.length; i++) {
    const v = g[i] as number;
    q[i] = v;
    s += (w[i] as number) * v;
  }
  return s;
}

/** q = (q + a * x) * scale; returns w . q. */
function axpyDot(a: number, x: Float64Array, q: Float64Array, scale: number, w: Float64Array): number {
  let s = 0;
  if (scale === 1) {
    for (let i = 0; i < q.length; i++) {
      const v = (q[i] as number) + a * (x[i] as number);
      q[i] = v;
      s += (w[i] as number) * v;
    }
  } else {
    for (let i = 0; i < q.length; i++) {
      const v = ((q[i] as number) + a * (x[i] as number)) * scale;
      q[i] = v;
      s += (w[i] as number) * v;
    }
  }
  return s;
}

/** q = g * scale; returns g . q. */
function scaleDot(g: Float64Array, scale: number, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < q.length; i++) {
    const v = (g[i] as number) * scale;
    q[i] = v;
    s += (g[i] as number) * v;
  }
  return s;
}

/** out = x + a * d */
function step(x: Float64Array, a: number, d: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (x[i] as number) + a * (d[i] as number);
}

/** sOut = next.theta - cur.theta, yOut = next.grad - cur.grad; returns [s . y, y . y]. */
function pair(next: Point, cur: Point, sOut: Float64Array, yOut: Float64Array): [number, number] {
  let sy = 0;
  let yy = 0;
  for (let i = 0; i < sOut.length; i++) {
    const sv = (next.theta[i] as number) - (cur.theta[i] as number);
    const yv = (next.grad[i] as number) - (cur.grad[i] as number);
    sOut[i] = sv;
    yOut[i] = yv;
    sy += sv * yv;
    yy += yv * yv;
  }
  return [sy, yy];
}

/**
 * The backend's gradient of the data term (values[0..size)) plus the L2 term on the kernel
 * (theta[0..dk)), into p.grad (and p.gradMax); returns the penalty's sum of squares.
 */
function addPenalty(values: Float32Array, p: Point, dk: number, l2: number): number {
  const { theta, grad } = p;
  let penalty = 0;
  let gradMax = 0;
  for (let i = 0; i < dk; i++) {
    const w = theta[i] as number;
    const g = (values[i] as number) + l2 * w;
    grad[i] = g;
    gradMax = Math.max(gradMax, Math.abs(g));
    penalty += w * w;
  }
  for (let i = dk; i < grad.length; i++) {
    const g = values[i] as number;
    grad[i] = g;
    gradMax = Math.max(gradMax, Math.abs(g));
  }
  p.gradMax = gradMax;
  return penalty;
}

/**
 * Minimise from zero. Every vector of the size of the parameters (the two points of the line
 * search, the direction, the correction pairs) is taken once per run, from run.vectors when one of
 * the right size is there, and put back there at the end, so fitHead's refit reuses the vectors of
 * its validation run: on a worker that has not trained yet, fresh memory costs more than the
 * arithmetic on it.
 */
export async function runLbfgs(
  run: LbfgsRun,
): Promise<{ kernel: Float32Array; bias: Float32Array }> {
  const { d, numClasses: k, settings: s, progress } = run;
  const dk = d * k;
  const size = dk + k;
  const l2 = s.l2;
  const taken: Float64Array[] = [];
  const vector = (): Float64Array => {
    const i = run.vectors.findIndex((v) => v.length === size);
    const v = i >= 0 ? (run.vectors.splice(i, 1)[0] as Float64Array) : new Float64Array(size);
    taken.push(v);
    return v;
  };
  const upload = new Float32Array(size);
  const { train, val } = run.objective;

  /** Fills p.f, p.grad and p.stats at p.theta. `atZero`: theta is all zeros, so are the logits. */
  const evaluate = async (p: Point, atZero = false): Promise<void> => {
    upload.set(p.theta);
    const values = await run.objective.evaluate(upload, atZero);
    const penalty = addPenalty(values, p, dk, l2);
    p.stats = values.slice(size);
    p.f = (p.stats[0] as number) / train.wSum + 0.5 * l2 * penalty;
  };

  // Correction pairs, oldest first; rho = 1 / s.y and yy = y.y of each.
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rho: number[] = [];
  const yy: number[] = [];
  const alpha = new Float64Array(MEMORY);
  const q = vector();
  let spareS: Float64Array | undefined;
  let spareY: Float64Array | undefined;
  let best: Float64Array | undefined;
  const snapshot = (theta: Float64Array) => () => {
    best ??= vector();
    best.set(theta);
    return best;
  };
  let cur = newPoint(vector);
  if (run.init) cur.theta.set(run.init);
  else cur.theta.fill(0); // zero start: the loss is convex
  let trial = newPoint(vector);
  try {
    await evaluate(cur, !run.init);
    const offset = run.epochOffset ?? 0;
    for (let epoch = 1; epoch <= s.epochs; epoch++) {
      throwIfCancelled(run.signal);
      // Two-loop recursion, q = H * grad: newest pair to oldest (alpha), scale by gamma, oldest to
      // newest (beta); the last pass also gives the slope along -q.
      const m = sHist.length;
      let slope: number;
      if (m === 0) {
        slope = -scaleDot(cur.grad, 1 / Math.sqrt(dot(cur.grad, cur.grad)), q);
      } else {
        const gamma = 1 / ((rho[m - 1] as number) * (yy[m - 1] as number));
        let sq = copyDot(cur.grad, q, sHist[m - 1] as Float64Array); // s[i] . q
        for (let i = m - 1; i >= 0; i--) {
          alpha[i] = (rho[i] as number) * sq;
          // After the oldest pair: scale by gamma, then y[0] . q for the second loop.
          const w = (i > 0 ? sHist[i - 1] : yHist[0]) as Float64Array;
          sq = axpyDot(-(alpha[i] as number), yHist[i] as Float64Array, q, i > 0 ? 1 : gamma, w);
        }
        let yq = sq; // y[i] . q
        for (let i = 0; i < m; i++) {
          const beta = (rho[i] as number) * yq;
          const w = (i < m - 1 ? yHist[i + 1] : cur.grad) as Float64Array;
          yq = axpyDot((alpha[i] as number) - beta, sHist[i] as Float64Array, q, 1, w);
        }
        slope = -yq; // directional derivative along -q
      }
      if (!(slope < 0)) break;

      // Backtracking line search (Armijo) with safeguarded quadratic interpolation.
      let t = 1;
      let accepted = false;
      for (let tries = 0; tries < MAX_LINE_SEARCH; tries++) {
        step(cur.theta, -t, q, trial.theta);
        await evaluate(trial);
        if (trial.f <= cur.f + ARMIJO_C1 * t * slope) {
          accepted = true;
          break;
        }
        const fit = (-slope * t * t) / (2 * (trial.f - cur.f - slope * t));
        t = Number.isFinite(fit) ? Math.min(0.5 * t, Math.max(0.1 * t, fit)) : 0.5 * t;
      }
      if (!accepted) break; // no decrease possible: converged as far as float32 allows

      const sVec = (spareS ??= vector());
      const yVec = (spareY ??= vector());
      const [sy, yVecSq] = pair(trial, cur, sVec, yVec);
      if (sy > 1e-10 * yVecSq) {
        sHist.push(sVec);
        yHist.push(yVec);
        rho.push(1 / sy);
        yy.push(yVecSq);
        spareS = undefined;
        spareY = undefined;
        if (sHist.length > MEMORY) {
          spareS = sHist.shift();
          spareY = yHist.shift();
          rho.shift();
          yy.shift();
        }
      }
      const decrease = (cur.f - trial.f) / Math.max(Math.abs(cur.f), Math.abs(trial.f), 1e-12);
      [cur, trial] = [trial, cur];
      if (progress.record(makeReport(offset + epoch, cur.stats, train, val), snapshot(cur.theta))) break;
      if (decrease < REL_DECREASE_TOL || cur.gradMax < GRAD_TOL) break;
      if (epoch % run.yieldEvery === 0 && epoch < s.epochs) await nextMacrotask();
    }
    throwIfCancelled(run.signal);
    if (progress.history.length === 0) {
      // Already optimal at the start (e.g. constant features): report the starting point.
      progress.record(makeReport(offset + 1, cur.stats, train, val), snapshot(cur.theta));
    }
    const keep = progress.best ?? cur.theta;
    return {
      kernel: Float32Array.from(keep.subarray(0, dk)),
      bias: Float32Array.from(keep.subarray(dk)),
    };
  } finally {
    run.vectors.push(...taken);
  }
}
