// Balanced class weights, worked by hand.
import { describe, expect, it } from 'vitest';
import { balancedClassWeights } from '../../src/dataset/classWeights';

describe('balancedClassWeights', () => {
  it('weights n / (k_present * count) with 0 for absent classes', () => {
    // 8 labels over 4 classes; class 3 never occurs, so k_present = 3.
    // counts: [4, 3, 1, 0] -> 8/(3*4) = 2/3, 8/(3*3) = 8/9, 8/(3*1) = 8/3, 0.
    const w = balancedClassWeights([0, 0, 0, 0, 1, 1, 1, 2], 4);
    expect(w).toBeInstanceOf(Float32Array);
    expect(w[0]).toBeCloseTo(2 / 3, 6);
    expect(w[1]).toBeCloseTo(8 / 9, 6);
    expect(w[2]).toBeCloseTo(8 / 3, 6);
    expect(w[3]).toBe(0);
    // Each present class then carries the same total weight: n / k_present = 8/3.
    expect(4 * (w[0] as number)).toBeCloseTo(8 / 3, 5);
    expect(3 * (w[1] as number)).toBeCloseTo(8 / 3, 5);
  });

  it('gives 1 to every class of a balanced dataset', () => {
    expect(Array.from(balancedClassWeights(new Int32Array([2, 0, 1, 1, 0, 2]), 3))).toEqual([
      1, 1, 1,
    ]);
  });

  it('returns zeros for no labels', () => {
    expect(Array.from(balancedClassWeights([], 2))).toEqual([0, 0]);
  });

  it('rejects labels outside 0..numClasses-1', () => {
    expect(() => balancedClassWeights([0, 3], 3)).toThrow(/outside/);
    expect(() => balancedClassWeights([0, 1.5], 3)).toThrow(/outside/);
    expect(() => balancedClassWeights([-1], 3)).toThrow(/outside/);
  });
});
