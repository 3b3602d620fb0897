// Evaluation metrics for a trained head: accuracy, per-class recall and the confusion matrix the
// insight view draws, plus argmax / top-k helpers for turning scores into predictions. Pure
// arithmetic on plain arrays, so it runs anywhere and tests without TF.js.

import { GlimpseError } from '../shared/errors';
import type { Metrics } from '../shared/head-format';

export type { Metrics } from '../shared/head-format';

/** Counts of (true, predicted) pairs: rows are true classes, columns predicted classes. */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses: number,
): number[][] {
  checkLengths(yTrue, yPred);
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new GlimpseError('invalid-input', `Invalid number of classes: ${numClasses}.`);
  }
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = classAt(yTrue, i, numClasses, 'true');
    const p = classAt(yPred, i, numClasses, 'predicted');
    const row = matrix[t] as number[];
    row[p] = (row[p] as number) + 1;
  }
  return matrix;
}

/** Share of positions where yTrue and yPred agree; 0 for empty input. */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  if (yTrue.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

/** Recall per class from a confusion matrix: diagonal / row sum, null for an empty row. */
export function perClassAccuracy(matrix: number[][]): (number | null)[] {
  return matrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : (row[c] ?? 0) / total;
  });
}

/**
 * Index of the largest score in each row of a row-major [rows x numClasses] buffer. Ties go to the
 * lower index; NaN never wins (a row of NaN gives 0).
 */
export function argmaxRows(probs: Float32Array, numClasses: number): Int32Array {
  if (!Number.isInteger(numClasses) || numClasses <= 0 || probs.length % numClasses !== 0) {
    throw new GlimpseError(
      'invalid-input',
      `${probs.length} scores do not split into rows of ${numClasses} classes.`,
    );
  }
  const rows = probs.length / numClasses;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * numClasses;
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const s = probs[base + c] as number;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/** The k highest scores, highest first; ties by lower index, NaN last. k is clamped to 0..n. */
export function topK(scores: ArrayLike<number>, k: number): { index: number; score: number }[] {
  const n = scores.length;
  const count = Math.max(0, Math.min(n, Math.floor(k)));
  if (count === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => compareScores(scores[a] as number, scores[b] as number) || a - b);
  return order.slice(0, count).map((index) => ({ index, score: scores[index] as number }));
}

export function computeMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses: number,
): Metrics {
  const confusion = confusionMatrix(yTrue, yPred, numClasses);
  const n = yTrue.length;
  const correct = confusion.reduce((sum, row, c) => sum + (row[c] ?? 0), 0);
  return {
    accuracy: n === 0 ? 0 : correct / n,
    perClass: perClassAccuracy(confusion),
    confusion,
    n,
  };
}

function checkLengths(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): void {
  if (yTrue.length !== yPred.length) {
    throw new GlimpseError(
      'invalid-input',
      `${yTrue.length} true labels but ${yPred.length} predictions.`,
    );
  }
}

function classAt(labels: ArrayLike<number>, i: number, numClasses: number, what: string): number {
  const c = labels[i] as number;
  if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
    throw new GlimpseError(
      'invalid-input',
      `The ${what} class ${c} at position ${i} is outside 0..${numClasses - 1}.`,
    );
  }
  return c;
}

/** Descending order with NaN after everything else (even -Infinity); 0 on a tie. */
function compareScores(a: number, b: number): number {
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return Number(aNaN) - Number(bNaN);
  return a === b ? 0 : a > b ? -1 : 1;
}
