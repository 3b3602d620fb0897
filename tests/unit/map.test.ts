import { describe, expect, it } from 'vitest';
import { pcaMap, pcaScores, umapMap } from '../../src/train/map';
import { mulberry32 } from '../../src/shared/rng';

function clusters(
  n: number,
  dim: number,
  k: number,
  seed: number,
): { x: Float32Array; labels: number[] } {
  const r = mulberry32(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: dim }, () => r() * 4));
  const x = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % k;
    labels.push(c);
    for (let j = 0; j < dim; j++) x[i * dim + j] = centres[c]![j]! + (r() - 0.5) * 0.3;
  }
  return { x, labels };
}

describe('embedding map', () => {
  it('PCA finds the direction of largest variance', () => {
    // Points on a line along (1, 1, 0, ...) with small noise in the other axes.
    const n = 50;
    const dim = 6;
    const r = mulberry32(3);
    const x = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const t = i / n - 0.5;
      for (let j = 0; j < dim; j++) x[i * dim + j] = (j < 2 ? t * 10 : 0) + (r() - 0.5) * 0.01;
    }
    const { scores, k } = pcaScores(x, n, dim, 2);
    expect(k).toBe(2);
    // First component ~ t * 10 * sqrt(2) (up to sign), second ~ noise.
    const first = Array.from({ length: n }, (_, i) => Math.abs(scores[i * 2]!));
    expect(Math.max(...first)).toBeCloseTo(5 * Math.SQRT2, 0);
    expect(
      Math.max(...Array.from({ length: n }, (_, i) => Math.abs(scores[i * 2 + 1]!))),
    ).toBeLessThan(0.05);
  });

  it('PCA map: one point per sample, scaled into [0, 1], clusters stay apart', () => {
    const { x, labels } = clusters(60, 24, 3, 1);
    const xy = pcaMap(x, 60, 24);
    expect(xy).toHaveLength(120);
    expect(Math.min(...xy)).toBe(0);
    expect(Math.max(...xy)).toBe(1);
    // Each point is nearer its own cluster's mean than any other.
    const means = [0, 1, 2].map((c) => {
      const rows = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
      return [0, 1].map((a) => rows.reduce((s, i) => s + xy[i * 2 + a]!, 0) / rows.length);
    });
    labels.forEach((l, i) => {
      const d = means.map((m) => (xy[i * 2]! - m[0]!) ** 2 + (xy[i * 2 + 1]! - m[1]!) ** 2);
      expect(d.indexOf(Math.min(...d))).toBe(l);
    });
    expect(pcaMap(x, 0, 24)).toHaveLength(0);
    expect(pcaMap(x, 2, 24)).toHaveLength(4);
  });

  it('UMAP with a fixed seed gives the same picture twice, and another with another seed', async () => {
    const { x } = clusters(40, 16, 2, 2);
    const a = await umapMap(x, 40, 16, { seed: 5 });
    const b = await umapMap(x, 40, 16, { seed: 5 });
    const c = await umapMap(x, 40, 16, { seed: 6 });
    expect(a).toHaveLength(80);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    for (const v of a) expect(v >= 0 && v <= 1).toBe(true);
  }, 60_000);
});
