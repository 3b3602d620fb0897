// Seeded RNG: determinism, range, and conformance with the reference mulberry32.
import { describe, expect, it } from 'vitest';
import { mulberry32, seededShuffle } from '../../src/shared/rng';

/** The widely copied reference implementation (Tommy Ettinger's mulberry32, JS form). */
function referenceMulberry32(a: number): () => number {
  return () => {
    let t = (a += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mulberry32', () => {
  it('matches the reference implementation', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef, 2 ** 31 - 1]) {
      const ours = mulberry32(seed);
      const ref = referenceMulberry32(seed);
      for (let i = 0; i < 1000; i++) expect(ours()).toBe(ref());
    }
  });

  it('is deterministic per seed and pinned', () => {
    const r = mulberry32(42);
    expect([r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
  });

  it('stays in [0, 1) with a mean near 0.5', () => {
    const r = mulberry32(123);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });
});

describe('seededShuffle', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);

  it('returns a permutation of a copy and leaves the input alone', () => {
    const input = Object.freeze(items.slice());
    const out = seededShuffle(input, 7);
    expect(out).not.toBe(input);
    expect(input).toEqual(items);
    expect(out.slice().sort((x, y) => x - y)).toEqual(items);
  });

  it('is deterministic per seed and pinned', () => {
    expect(seededShuffle(items, 7)).toEqual([6, 5, 8, 1, 2, 3, 4, 7, 9, 0]);
    expect(seededShuffle(items, 7)).toEqual(seededShuffle(items, 7));
    expect(seededShuffle(items, 8)).not.toEqual(seededShuffle(items, 7));
  });

  it('handles empty and single-item lists', () => {
    expect(seededShuffle([], 1)).toEqual([]);
    expect(seededShuffle(['a'], 1)).toEqual(['a']);
  });

  it('puts each item in each position about equally often', () => {
    // 3 items, 6 permutations: over 60000 seeds each should come up near 10000 times.
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 60_000; seed++) {
      const key = seededShuffle(['a', 'b', 'c'], seed).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });
});
