import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/shared/rng';
import { CentreSums, centreDistances, rankForReview, reviewPage, topItems } from '../../src/train/review';

// Hand-made: two classes in 2-D. Class 0 points along +x, class 1 along +y.
// a0, a1, a2: clean class-0 samples; b0, b1: clean class-1 samples;
// "mislabelled": points along +y but labelled 0 (and the head agrees with the picture);
// "unsure": labelled 1, between the two, the head is torn.
const ids = ['a0', 'a1', 'a2', 'b0', 'b1', 'mislabelled', 'unsure'];
const labels = Int32Array.from([0, 0, 0, 1, 1, 0, 1]);
const x = Float32Array.from([1, 0, 1, 0.1, 0.9, 0, 0, 1, 0.1, 1, 0, 1, 0.3, 0.6]);
const probs = Float32Array.from([
  0.95, 0.05, 0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.15, 0.85, 0.2, 0.8, 0.45, 0.55,
]);

describe('review queue ranking', () => {
  it('puts the confidently wrong, mislabelled-looking sample first, then the unsure one, and skips clean ones', () => {
    const items = rankForReview(
      { ids, labels, x, dim: 2, numClasses: 2, probs },
      { unsureBelow: 0.6 },
    );
    expect(items.map((i) => i.id)).toEqual(['mislabelled', 'unsure']);
    const [m, u] = items;
    expect(m!.reasons).toEqual(['misclassified', 'near-other-class']);
    expect(m!.pred).toBe(1);
    expect(m!.nearestOther).toBe(1);
    expect(m!.labelProb).toBeCloseTo(0.2);
    expect(m!.score).toBeCloseTo(0.8 + 1 + 0.5);
    expect(u!.reasons).toEqual(['unsure']);
    expect(u!.score).toBeCloseTo(0.45);
  });

  it('uses leave-one-out class centres (a lone outlier does not define its own centre)', () => {
    const d = centreDistances(x, labels, 2, 2);
    // "mislabelled" (row 5) is far from the centre of the other class-0 samples and close to class 1's.
    expect(d[5 * 2 + 0]!).toBeGreaterThan(0.5);
    expect(d[5 * 2 + 1]!).toBeLessThan(0.1);
    // a0 sits on its own class centre's side.
    expect(d[0]!).toBeLessThan(d[1]!);
  });

  it('limits the list and is stable for ties', () => {
    const items = rankForReview(
      { ids, labels, x, dim: 2, numClasses: 2, probs },
      { unsureBelow: 1, limit: 3 },
    );
    expect(items).toHaveLength(3);
    expect(items[0]!.id).toBe('mislabelled');
    expect(
      rankForReview({ ids, labels, x, dim: 2, numClasses: 2, probs }, { unsureBelow: 1, limit: 3 }),
    ).toEqual(items);
  });

  it('ranks page by page (two passes, as the app reads a large project) exactly as all at once', () => {
    const next = mulberry32(3);
    const n = 200;
    const d = 16;
    const k = 5;
    const pIds = Array.from({ length: n }, (_, i) => `r${String(i).padStart(3, '0')}`);
    const pLabels = Int32Array.from({ length: n }, (_, i) => (i * 7) % k);
    const px = Float32Array.from({ length: n * d }, (_, v) => (Math.floor(v / d) % k === v % k ? 1 : 0) + next());
    const pProbs = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += pProbs[i * k + c] = next() + (c === pLabels[i] ? 0.6 : 0);
      for (let c = 0; c < k; c++) pProbs[i * k + c]! /= sum;
    }
    const whole = rankForReview({ ids: pIds, labels: pLabels, x: px, dim: d, numClasses: k, probs: pProbs }, { unsureBelow: 0.5, limit: 40 });
    expect(whole.length).toBe(40);
    const page = 33;
    const sums = new CentreSums(d, k);
    for (let s = 0; s < n; s += page) sums.add(px.subarray(s * d, Math.min(n, s + page) * d), pLabels.subarray(s, s + page));
    let kept: ReturnType<typeof rankForReview> = [];
    for (let s = 0; s < n; s += page) {
      const e = Math.min(n, s + page);
      const items = reviewPage(
        { ids: pIds.slice(s, e), labels: pLabels.subarray(s, e), x: px.subarray(s * d, e * d), dim: d, numClasses: k, probs: pProbs.subarray(s * k, e * k) },
        sums,
        { unsureBelow: 0.5, rowOffset: s },
      );
      kept = topItems([...kept, ...items], 40);
    }
    expect(kept).toEqual(whole);
    // The distances of a page against the whole set's centres are those computed on the whole set.
    const all = centreDistances(px, pLabels, d, k);
    expect(Array.from(sums.distances(px.subarray(66 * d, 99 * d), pLabels.subarray(66, 99)))).toEqual(Array.from(all.subarray(66 * k, 99 * k)));
  });
});
