import { describe, expect, it } from 'vitest';
import { decide, suggestThreshold, thresholdStats } from '../../src/train/threshold';

describe('"not sure" threshold', () => {
  it('names the top class only when its score reaches the threshold', () => {
    expect(decide([0.2, 0.7, 0.1], 0.6)).toEqual({ index: 1, score: 0.7, sure: true });
    expect(decide([0.2, 0.7, 0.1], 0.7)).toMatchObject({ index: 1, sure: true });
    expect(decide([0.4, 0.35, 0.25], 0.5)).toEqual({ index: 0, score: 0.4, sure: false });
    expect(decide([0.4, 0.35, 0.25], 0)).toMatchObject({ sure: true });
    expect(decide([], 0)).toMatchObject({ sure: false });
  });

  it('suggests the lowest cut-off whose kept predictions reach the target precision', () => {
    // Sorted by confidence: right, right, right, WRONG, right, WRONG, WRONG
    const conf = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5];
    const correct = [true, true, true, false, true, false, false];
    // Keeping >= 0.9: 3/3 right; >= 0.8: 3/4; >= 0.7: 4/5 = 0.8.
    expect(suggestThreshold(conf, correct, 0.95)).toEqual({
      threshold: 0.9,
      precision: 1,
      coverage: 3 / 7,
    });
    expect(suggestThreshold(conf, correct, 0.8)).toEqual({
      threshold: 0.7,
      precision: 0.8,
      coverage: 5 / 7,
    });
    // All right: keep everything.
    expect(suggestThreshold([0.9, 0.6], [true, true])).toEqual({
      threshold: 0.6,
      precision: 1,
      coverage: 1,
    });
    // Nothing reaches the target: the best precision (ties: more coverage).
    expect(suggestThreshold([0.9, 0.8, 0.7], [false, true, false], 0.95)).toEqual({
      threshold: 0.8,
      precision: 0.5,
      coverage: 2 / 3,
    });
    expect(suggestThreshold([], [])).toBeNull();
  });

  it('never cuts between equal scores', () => {
    expect(suggestThreshold([0.9, 0.8, 0.8], [true, true, false], 0.95)).toEqual({
      threshold: 0.9,
      precision: 1,
      coverage: 1 / 3,
    });
  });

  it('reports what a threshold keeps', () => {
    expect(thresholdStats([0.9, 0.8, 0.3], [true, false, true], 0.5)).toEqual({
      kept: 2,
      precision: 0.5,
      n: 3,
    });
    expect(thresholdStats([0.3], [true], 0.5)).toEqual({ kept: 0, precision: 1, n: 1 });
  });
});
