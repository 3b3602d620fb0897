// The embedding map's projections, pure so Vitest runs them: PCA to 2-D at once (see pcaScores), then
// UMAP (umap-js) with a seeded generator, run on a PCA reduction to at most 16 dimensions (the
// usual practice: the neighbour search is far cheaper there and the picture is the same).
// Coordinates come back scaled into [0, 1] x [0, 1], row-major n x 2.
import { PCA } from 'ml-pca';
import { UMAP } from 'umap-js';
import { mulberry32 } from '../shared/rng';

function rows(x: Float32Array | Float64Array, n: number, dim: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
}

/** Scales each axis into [0, 1] (a constant axis maps to 0.5). */
export function normalise2d(points: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(n * 2);
  for (let a = 0; a < 2; a++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = points[i * 2 + a]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let i = 0; i < n; i++) out[i * 2 + a] = span > 0 ? (points[i * 2 + a]! - lo) / span : 0.5;
  }
  return out;
}

/** Orthonormalises the l columns of the column-major d x l block in place (modified Gram-Schmidt). */
function orthonormalise(v: Float64Array, d: number, l: number): void {
  for (let a = 0; a < l; a++) {
    const ca = v.subarray(a * d, (a + 1) * d);
    for (let b = 0; b < a; b++) {
      const cb = v.subarray(b * d, (b + 1) * d);
      let dot = 0;
      for (let j = 0; j < d; j++) dot += ca[j]! * cb[j]!;
      for (let j = 0; j < d; j++) ca[j]! -= dot * cb[j]!;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += ca[j]! * ca[j]!;
    const inv = norm > 1e-24 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < d; j++) ca[j]! *= inv;
  }
}

/**
 * First `k` principal-component scores, n x k (k capped by n - 1 and dim). Randomised subspace
 * iteration (seeded) finds the top (k + 8)-dimensional principal subspace with a few passes over
 * the data, O(n * dim * k); ml-pca then does the exact PCA inside it. (ml-pca on the raw n x 2048
 * matrix took over a minute for 300 points here: its SVD/NIPALS work on the full width.)
 */
export function pcaScores(
  x: Float32Array,
  n: number,
  dim: number,
  k: number,
  seed = 1,
): { scores: Float32Array; k: number } {
  const kk = Math.max(1, Math.min(k, dim, n - 1));
  if (n < 2) return { scores: new Float32Array(n * kk), k: kk };
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  const l = Math.min(kk + 8, dim, n);
  const rand = mulberry32(seed);
  const v = new Float64Array(dim * l).map(() => rand() - 0.5);
  orthonormalise(v, dim, l);
  const s = new Float64Array(n * l);
  const project = () => {
    // s = (X - mean) V
    for (let i = 0; i < n; i++) {
      const row = x.subarray(i * dim, (i + 1) * dim);
      for (let a = 0; a < l; a++) {
        const col = v.subarray(a * dim, (a + 1) * dim);
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += (row[j]! - mean[j]!) * col[j]!;
        s[i * l + a] = dot;
      }
    }
  };
  for (let it = 0; it < 4; it++) {
    project();
    // V = (X - mean)^T s, then orthonormalise.
    v.fill(0);
    for (let i = 0; i < n; i++) {
      const row = x.subarray(i * dim, (i + 1) * dim);
      for (let a = 0; a < l; a++) {
        const w = s[i * l + a]!;
        if (w === 0) continue;
        const col = v.subarray(a * dim, (a + 1) * dim);
        for (let j = 0; j < dim; j++) col[j]! += w * (row[j]! - mean[j]!);
      }
    }
    orthonormalise(v, dim, l);
  }
  project();
  const small = Array.from({ length: n }, (_, i) => Array.from(s.subarray(i * l, (i + 1) * l)));
  const pca = new PCA(small, { center: true, scale: false });
  const m = pca.predict(small, { nComponents: kk });
  const scores = new Float32Array(n * kk);
  for (let i = 0; i < n; i++) for (let j = 0; j < kk; j++) scores[i * kk + j] = m.get(i, j) || 0;
  return { scores, k: kk };
}

/** 2-D PCA map, scaled into [0, 1]. */
export function pcaMap(x: Float32Array, n: number, dim: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  if (n < 3)
    return normalise2d(
      new Float32Array(n * 2).map((_, i) => (i % 2 === 0 ? Math.floor(i / 2) : 0)),
      n,
    );
  const { scores, k } = pcaScores(x, n, dim, 2);
  const xy = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    xy[i * 2] = scores[i * k]!;
    xy[i * 2 + 1] = k > 1 ? scores[i * k + 1]! : 0;
  }
  return normalise2d(xy, n);
}

export interface UmapOptions {
  seed?: number;
  nNeighbors?: number;
  minDist?: number;
  /** PCA dimensions fed to UMAP. */
  pcaDims?: number;
  /** Called every 20 epochs, after yielding to the event loop (so a cancel can arrive); true stops. */
  onEpoch?: (epoch: number, total: number) => boolean | void;
}

/** 2-D UMAP map with a fixed seed (same input, same seed: same picture), scaled into [0, 1]. */
export async function umapMap(
  x: Float32Array,
  n: number,
  dim: number,
  opts: UmapOptions = {},
): Promise<Float32Array> {
  // UMAP needs a handful of neighbours; tiny sets fall back to PCA.
  if (n < 6) return pcaMap(x, n, dim);
  const { scores, k } = pcaScores(x, n, dim, opts.pcaDims ?? 16);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.nNeighbors ?? 15, n - 1),
    minDist: opts.minDist ?? 0.1,
    random: mulberry32(opts.seed ?? 1),
  });
  const total = umap.initializeFit(rows(scores, n, k));
  for (let e = 0; e < total; e++) {
    umap.step();
    if (opts.onEpoch && e % 20 === 0) {
      await new Promise((r) => setTimeout(r, 0));
      if (opts.onEpoch(e, total) === true) break;
    }
  }
  const emb = umap.getEmbedding();
  const xy = new Float32Array(n * 2);
  emb.forEach((p, i) => {
    xy[i * 2] = p[0] ?? 0;
    xy[i * 2 + 1] = p[1] ?? 0;
  });
  return normalise2d(xy, n);
}
