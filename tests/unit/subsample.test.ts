// dataset/subsample.ts: which rows a very large project trains on.
import { describe, expect, it } from 'vitest';
import { trainingSubsample } from '../../src/dataset/subsample';

function project(counts: number[]) {
  const ids: string[] = [];
  const classIds: string[] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      ids.push(`c${c}-s${i}`);
      classIds.push(`c${c}`);
    }
  });
  return { ids, classIds };
}

function perClass(classIds: readonly string[], picked: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of picked) out[classIds[i]!] = (out[classIds[i]!] ?? 0) + 1;
  return out;
}

describe('trainingSubsample', () => {
  it('uses every row up to the limit', () => {
    const p = project([10, 20, 30]);
    expect(trainingSubsample(p.ids, p.classIds, 60)).toBeNull();
    expect(trainingSubsample(p.ids, p.classIds, 1000)).toBeNull();
  });

  it('above it, picks exactly the limit, small classes whole and large ones equal', () => {
    const p = project([5, 100, 40, 300]);
    const picked = trainingSubsample(p.ids, p.classIds, 100)!;
    expect(picked.length).toBe(100);
    expect([...picked].sort((a, b) => a - b)).toEqual(picked);
    expect(new Set(picked).size).toBe(100);
    // 5 whole, then (100 - 5) / 3 = 31.67: 31 each and the 2 rows left over to the first large classes.
    expect(perClass(p.classIds, picked)).toEqual({ c0: 5, c1: 32, c2: 32, c3: 31 });
  });

  it('picks the same rows every time and mostly the same after samples are added', () => {
    const p = project([200, 200]);
    const a = trainingSubsample(p.ids, p.classIds, 100)!;
    expect(trainingSubsample(p.ids, p.classIds, 100)).toEqual(a);
    const q = project([210, 200]);
    const b = new Set(trainingSubsample(q.ids, q.classIds, 100)!.map((i) => q.ids[i]));
    const kept = a.filter((i) => b.has(p.ids[i]!)).length;
    expect(kept).toBeGreaterThanOrEqual(90);
  });

  it('keeps one row of every class even when there are more classes than the limit', () => {
    const p = project([3, 3, 3, 3, 3]);
    const picked = trainingSubsample(p.ids, p.classIds, 4)!;
    expect(perClass(p.classIds, picked)).toEqual({ c0: 1, c1: 1, c2: 1, c3: 1, c4: 1 });
  });

  it('refuses a bad limit', () => {
    const p = project([3, 3]);
    expect(() => trainingSubsample(p.ids, p.classIds, 0)).toThrow(/positive integer/);
    expect(() => trainingSubsample(p.ids, p.classIds.slice(1), 4)).toThrow();
  });
});
