// The rows the worker keeps after a training (worker/resident.ts), the stage placing them before
// any page comes (RowStage.fill), and the review ranking held rows in two passes (reviewRows)
// exactly as the one-page ranking does.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/shared/rng';
import { rankForReview, reviewRows } from '../../src/train/review';
import { RowStage } from '../../src/train/row-stage';
import { dropResident, keepResident, MAX_RESIDENT_VALUES, residentFor, residentOrNew, ResidentRows } from '../../src/worker/resident';

describe('held rows', () => {
  it('are kept for one project, key and size, grow by new ids only, and pack in any order', () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    keepResident('p', 'k', 2, ['a', 'b'], x);
    expect(residentFor('p', 'k', 3)).toBeNull();
    expect(residentFor('q', 'k', 2)).toBeNull();
    const held = residentFor('p', 'k', 2)!;
    expect(held.rows).toBe(2);
    expect(Array.from(held.held(['b', 'c', 'a']))).toEqual([1, 0, 1]);
    expect(held.add(['c', 'a'], Float32Array.from([5, 6, 9, 9]))).toBe(true);
    expect(held.rows).toBe(3);
    expect(Array.from(held.pack(['c', 'a', 'b']))).toEqual([5, 6, 1, 2, 3, 4]); // 'a' kept its row
    expect(() => held.pack(['z'])).toThrow(/does not hold/);
    // Another project's rows replace them.
    const other = residentOrNew('q', 'k', 2);
    expect(other.rows).toBe(0);
    expect(residentFor('p', 'k', 2)).toBeNull();
    dropResident();
    expect(residentFor('q', 'k', 2)).toBeNull();
  });

  it('refuse rows past the limit without taking any', () => {
    const d = 1280;
    const r = new ResidentRows('p', 'k', d);
    const n = Math.floor(MAX_RESIDENT_VALUES / d);
    expect(r.add(['x'], new Float32Array(d))).toBe(true);
    const ids = Array.from({ length: n }, (_, i) => `r${i}`);
    expect(r.add(ids, new Float32Array(n * d))).toBe(false);
    expect(r.rows).toBe(1);
    keepResident('p', 'k', d, ids.concat('y'), new Float32Array((n + 1) * d));
    expect(residentFor('p', 'k', d)).toBeNull();
  });

  it('fill a stage before any page: only the rest must come, and the full stage can be kept', async () => {
    keepResident('p', 'k', 2, ['b', 'c'], Float32Array.from([3, 4, 5, 6]));
    const held = residentFor('p', 'k', 2)!;
    const stage = new RowStage(['a', 'b', 'c'], 2);
    const have = stage.fill((id) => (held.rowOf(id) < 0 ? null : held.row(held.rowOf(id))));
    expect(Array.from(have)).toEqual([0, 1, 1]);
    expect(stage.rows).toBe(2);
    expect(stage.complete()).toBeNull();
    await stage.whenRows([1, 2]);
    stage.append(['a'], Float32Array.from([1, 2]), [0]);
    const done = stage.complete()!;
    expect(done.ids).toEqual(['a', 'b', 'c']);
    expect(Array.from(done.x)).toEqual([1, 2, 3, 4, 5, 6]);
    dropResident();
  });
});

describe('reviewRows', () => {
  it('ranks held rows in pages exactly as rankForReview ranks them at once', async () => {
    const n = 300;
    const dim = 8;
    const k = 4;
    const next = mulberry32(3);
    const ids = Array.from({ length: n }, (_, i) => `s${String(i).padStart(3, '0')}`);
    const labels = Int32Array.from({ length: n }, (_, i) => i % k);
    const x = Float32Array.from({ length: n * dim }, (_, j) => (Math.floor(j / dim) % k === j % k ? 1 : 0) + next());
    const probs = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += probs[i * k + c] = next() + (c === labels[i] ? 0.8 : 0);
      for (let c = 0; c < k; c++) probs[i * k + c]! /= sum;
    }
    const rowOf = new Map(ids.map((id, i) => [id, i]));
    const pack = (part: readonly string[]) => {
      const out = new Float32Array(part.length * dim);
      part.forEach((id, i) => out.set(x.subarray(rowOf.get(id)! * dim, (rowOf.get(id)! + 1) * dim), i * dim));
      return out;
    };
    // The fake head: each row's probabilities, found by its values.
    const byFirst = new Map(ids.map((_, i) => [x[i * dim]!, i]));
    const predict = (px: Float32Array, m: number) => {
      const out = new Float32Array(m * k);
      for (let i = 0; i < m; i++) out.set(probs.subarray(byFirst.get(px[i * dim]!)! * k, (byFirst.get(px[i * dim]!)! + 1) * k), i * k);
      return out;
    };
    let pauses = 0;
    const paged = await reviewRows({ ids, labels, dim, numClasses: k, pack, predict, unsureBelow: 0.5, limit: 40, pageRows: 64, pause: async () => void pauses++ });
    const whole = rankForReview({ ids, labels, x, dim, numClasses: k, probs }, { unsureBelow: 0.5, limit: 40 });
    expect(paged.length).toBe(40);
    expect(paged.map((p) => [p.id, p.score, p.reasons, p.nearestOther])).toEqual(whole.map((p) => [p.id, p.score, p.reasons, p.nearestOther]));
    expect(pauses).toBe(2 * Math.ceil(n / 64));
  });
});
