// Stratified, per-sample-stable split: the hash rule, the small-class fallbacks and stability.
import { describe, expect, it } from 'vitest';
import { stableUnitHash } from '../../src/dataset/hash';
import { stratifiedSplit, type SplitItem } from '../../src/dataset/split';

const make = (classId: string, from: number, to: number): SplitItem[] =>
  Array.from({ length: to - from }, (_, i) => ({ id: `${classId}/${from + i}.jpg`, classId }));

const ids = (items: readonly SplitItem[]): Set<string> => new Set(items.map((x) => x.id));

describe('stratifiedSplit', () => {
  it('follows the hash rule for large classes, keeping input order', () => {
    const items = [...make('cat', 0, 60), ...make('dog', 0, 60)];
    const { train, validation } = stratifiedSplit(items, 0.3);
    expect(validation).toEqual(items.filter((x) => stableUnitHash(x.id) < 0.3));
    expect(train).toEqual(items.filter((x) => stableUnitHash(x.id) >= 0.3));
  });

  it('never moves an existing item when new items are added to large classes', () => {
    const classes = ['a', 'b', 'c'];
    const before = classes.flatMap((c) => make(c, 0, 50));
    const after = [...classes.flatMap((c) => make(c, 50, 120)), ...before];
    const s1 = stratifiedSplit(before, 0.25);
    const s2 = stratifiedSplit(after, 0.25);
    // The rule alone decided every item here (no fallback fired), so this tests stability.
    for (const s of [s1, s2]) {
      expect(s.validation.every((x) => stableUnitHash(x.id) < 0.25)).toBe(true);
      expect(s.train.every((x) => stableUnitHash(x.id) >= 0.25)).toBe(true);
    }
    const v2 = ids(s2.validation);
    const t2 = ids(s2.train);
    for (const x of s1.validation) expect(v2.has(x.id)).toBe(true);
    for (const x of s1.train) expect(t2.has(x.id)).toBe(true);
  });

  it('puts every class with at least 2 items in both sets', () => {
    const items: SplitItem[] = [];
    for (let c = 0; c < 40; c++) items.push(...make(`class${c}`, 0, 2 + (c % 5)));
    for (const share of [0.01, 0.2, 0.5, 0.99, 1]) {
      const { train, validation } = stratifiedSplit(items, share);
      for (let c = 0; c < 40; c++) {
        expect(train.some((x) => x.classId === `class${c}`)).toBe(true);
        expect(validation.some((x) => x.classId === `class${c}`)).toBe(true);
      }
      expect(train.length + validation.length).toBe(items.length);
    }
  });

  it('moves the smallest hash to validation, and the largest back to train', () => {
    const items = make('tiny', 0, 3);
    const byHash = items.slice().sort((x, y) => stableUnitHash(x.id) - stableUnitHash(y.id));
    const low = stratifiedSplit(items, 1e-9);
    expect(low.validation).toEqual([byHash[0]]);
    const high = stratifiedSplit(items, 1);
    expect(high.train).toEqual([byHash[2]]);
  });

  it('keeps a class with a single item in train', () => {
    const items = [...make('solo', 0, 1), ...make('pair', 0, 2)];
    for (const share of [0.5, 1]) {
      const { train } = stratifiedSplit(items, share);
      expect(train.some((x) => x.classId === 'solo')).toBe(true);
    }
  });

  it('sends about validationShare of 1000 items to validation', () => {
    const items = Array.from({ length: 10 }, (_, c) => make(`c${c}`, 0, 100)).flat();
    for (const share of [0.1, 0.2, 0.5]) {
      const { validation } = stratifiedSplit(items, share);
      expect(Math.abs(validation.length / items.length - share)).toBeLessThanOrEqual(0.05);
    }
  });

  it('puts everything in train when the share is 0', () => {
    const items = [...make('a', 0, 5), ...make('b', 0, 2)];
    const { train, validation } = stratifiedSplit(items, 0);
    expect(train).toEqual(items);
    expect(validation).toEqual([]);
  });

  it('uses the salt to give a different but equally stable split', () => {
    const items = make('a', 0, 200);
    const plain = stratifiedSplit(items, 0.5);
    const salted = stratifiedSplit(items, 0.5, 'fold-2:');
    expect(ids(salted.validation)).not.toEqual(ids(plain.validation));
    expect(stratifiedSplit(items, 0.5, 'fold-2:')).toEqual(salted);
  });

  it('keeps the element type and handles an empty list', () => {
    const items = make('a', 0, 10).map((x, i) => ({ ...x, extra: i }));
    const { train } = stratifiedSplit(items, 0.3);
    expect(train[0]?.extra).toBeTypeOf('number');
    expect(stratifiedSplit([], 0.3)).toEqual({ train: [], validation: [] });
  });

  it('rejects a share outside [0, 1]', () => {
    for (const share of [-0.1, 1.5, Number.NaN]) {
      expect(() => stratifiedSplit(make('a', 0, 3), share)).toThrow(/validation share/);
    }
  });
});
