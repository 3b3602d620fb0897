// Metrics on a small 3-class example worked out by hand.
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  computeMetrics,
  confusionMatrix,
  perClassAccuracy,
  topK,
} from '../../src/train/metrics';

// 10 samples, classes 0 (cat), 1 (dog), 2 (fox):
//   true: 0 0 0 0 1 1 1 2 2 2
//   pred: 0 0 1 2 1 1 0 2 2 1
// Rows = true, cols = predicted:
//   cat: [2, 1, 1]   recall 2/4
//   dog: [1, 2, 0]   recall 2/3
//   fox: [0, 1, 2]   recall 2/3
// Correct = 2 + 2 + 2 = 6 of 10.
const yTrue = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const yPred = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];
const expected = [
  [2, 1, 1],
  [1, 2, 0],
  [0, 1, 2],
];

describe('confusionMatrix / accuracy / perClassAccuracy', () => {
  it('matches the hand-worked example', () => {
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual(expected);
    expect(accuracy(yTrue, yPred)).toBeCloseTo(0.6, 12);
    expect(perClassAccuracy(expected)).toEqual([0.5, 2 / 3, 2 / 3]);
  });

  it('accepts typed arrays', () => {
    expect(confusionMatrix(Int32Array.from(yTrue), Uint8Array.from(yPred), 3)).toEqual(expected);
  });

  it('gives null recall for a class with no true samples', () => {
    // Class 2 is predicted once but never true.
    const m = confusionMatrix([0, 1, 1], [0, 1, 2], 3);
    expect(m).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [0, 0, 0],
    ]);
    expect(perClassAccuracy(m)).toEqual([1, 0.5, null]);
  });

  it('rejects mismatched lengths and out-of-range labels', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/2 true labels but 1 predictions/);
    expect(() => accuracy([0, 1], [0])).toThrow();
    expect(() => confusionMatrix([0, 2], [0, 1], 2)).toThrow(/outside 0..1/);
    expect(() => confusionMatrix([0, 1], [0, -1], 2)).toThrow(/predicted/);
  });
});

describe('computeMetrics', () => {
  it('bundles the hand-worked numbers', () => {
    const m = computeMetrics(yTrue, yPred, 3);
    expect(m.n).toBe(10);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    expect(m.perClass).toEqual([0.5, 2 / 3, 2 / 3]);
    expect(m.confusion).toEqual(expected);
  });

  it('reports n = 0 and accuracy 0 for no samples', () => {
    expect(computeMetrics([], [], 2)).toEqual({
      accuracy: 0,
      perClass: [null, null],
      confusion: [
        [0, 0],
        [0, 0],
      ],
      n: 0,
    });
  });
});

describe('argmaxRows', () => {
  it('picks the largest score per row, the lower index on ties', () => {
    // prettier-ignore
    const probs = Float32Array.from([
      0.1, 0.7, 0.2, // -> 1
      0.5, 0.2, 0.3, // -> 0
      0.3, 0.3, 0.4, // -> 2
      0.4, 0.4, 0.2, // tie -> 0
      NaN, 0.1, 0.2, // NaN never wins -> 2
    ]);
    expect(Array.from(argmaxRows(probs, 3))).toEqual([1, 0, 2, 0, 2]);
  });

  it('reproduces yPred from one-hot-ish scores', () => {
    const probs = new Float32Array(yPred.length * 3);
    yPred.forEach((p, i) => (probs[i * 3 + p] = 0.9));
    expect(Array.from(argmaxRows(probs, 3))).toEqual(yPred);
  });

  it('rejects a buffer that does not split into rows', () => {
    expect(() => argmaxRows(new Float32Array(7), 3)).toThrow(/rows of 3/);
    expect(() => argmaxRows(new Float32Array(3), 0)).toThrow();
  });
});

describe('topK', () => {
  it('returns the k best scores in descending order, ties by lower index', () => {
    const scores = [0.1, 0.4, 0.2, 0.4, 0.05];
    expect(topK(scores, 3)).toEqual([
      { index: 1, score: 0.4 },
      { index: 3, score: 0.4 },
      { index: 2, score: 0.2 },
    ]);
  });

  it('clamps k and puts NaN last', () => {
    const scores = Float32Array.from([NaN, -Infinity, 1]);
    const all = topK(scores, 10);
    expect(all.map((x) => x.index)).toEqual([2, 1, 0]);
    expect(topK(scores, 0)).toEqual([]);
    expect(topK(scores, -2)).toEqual([]);
    expect(topK([], 3)).toEqual([]);
  });
});
