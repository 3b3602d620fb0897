// The review queue: which samples the model finds hardest. Pure: from embeddings, labels and the
// head's class probabilities for every sample, it ranks
// - misclassified samples (the head's top class is not the label),
// - unsure ones (the top score is below a threshold),
// - likely mislabelled ones: nearer (cosine, leave-one-out) to another class's centre than to
//   their own class's centre.
// Score = (1 - probability of the sample's own label) + 1 if misclassified + 0.5 if nearer another
// centre, so a confidently wrong sample that also sits among another class comes first.

export type ReviewReason = 'misclassified' | 'unsure' | 'near-other-class';

export interface ReviewInput {
  ids: readonly string[];
  /** Class index per row. */
  labels: ArrayLike<number>;
  /** Packed embeddings, n x dim. */
  x: Float32Array;
  dim: number;
  numClasses: number;
  /** Head probabilities, n x numClasses. */
  probs: Float32Array;
}

export interface ReviewItem {
  id: string;
  row: number;
  label: number;
  pred: number;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability of the sample's own label. */
  labelProb: number;
  /** The other class whose centre is nearest (-1 with a single class). */
  nearestOther: number;
  reasons: ReviewReason[];
  score: number;
}

function normalisedRows(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j]! * inv;
  }
  return out;
}

/**
 * Sums of the unit-length rows per class, accumulated a page at a time (pages added in row order
 * give the sums of the whole set, bit for bit): the first of the review's two passes.
 */
export class CentreSums {
  readonly sums: Float64Array;
  readonly counts: Int32Array;
  private norms: Float64Array | null = null;

  constructor(
    readonly dim: number,
    readonly numClasses: number,
  ) {
    this.sums = new Float64Array(numClasses * dim);
    this.counts = new Int32Array(numClasses);
  }

  add(x: Float32Array, labels: ArrayLike<number>): void {
    const n = labels.length;
    const d = this.dim;
    const u = normalisedRows(x, n, d);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      this.counts[c]!++;
      for (let j = 0; j < d; j++) this.sums[c * d + j]! += u[i * d + j]!;
    }
    this.norms = null;
  }

  /** |sum of class c|^2, summed in the same order as the distance of a row outside the class. */
  norm2(c: number): number {
    if (!this.norms) {
      const d = this.dim;
      this.norms = new Float64Array(this.numClasses);
      for (let k = 0; k < this.numClasses; k++) {
        let norm = 0;
        for (let j = 0; j < d; j++) norm += this.sums[k * d + j]! * this.sums[k * d + j]!;
        this.norms[k] = norm;
      }
    }
    return this.norms[c]!;
  }

  /**
   * Cosine distance from each row of a page to every class centre (its own class's centre leaves
   * the row out); Infinity where a class has no other row.
   */
  distances(x: Float32Array, labels: ArrayLike<number>): Float32Array {
    const { dim, numClasses } = this;
    const n = labels.length;
    const u = normalisedRows(x, n, dim);
    const out = new Float32Array(n * numClasses).fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      const own = labels[i]!;
      const ui = i * dim;
      for (let c = 0; c < numClasses; c++) {
        const k = this.counts[c]! - (c === own ? 1 : 0);
        if (k <= 0) continue;
        let norm = 0;
        let dot = 0;
        const sc = c * dim;
        if (c === own) {
          for (let j = 0; j < dim; j++) {
            const v = this.sums[sc + j]! - u[ui + j]!;
            norm += v * v;
            dot += v * u[ui + j]!;
          }
        } else {
          // The centre is the class's sum itself: its norm is computed once per class.
          norm = this.norm2(c);
          for (let j = 0; j < dim; j++) dot += this.sums[sc + j]! * u[ui + j]!;
        }
        if (norm === 0) continue;
        out[i * numClasses + c] = 1 - dot / Math.sqrt(norm);
      }
    }
    return out;
  }
}

/** Cosine distance from each row to every class centre; its own class's centre leaves it out. */
export function centreDistances(
  x: Float32Array,
  labels: ArrayLike<number>,
  dim: number,
  numClasses: number,
): Float32Array {
  const sums = new CentreSums(dim, numClasses);
  sums.add(x, labels);
  return sums.distances(x, labels);
}

/**
 * One page of rows ranked against centres summed over the whole set (second pass): the items of
 * the page with their reasons and scores; `rowOffset` is the page's first row in the whole set.
 */
export function reviewPage(
  input: ReviewInput,
  sums: CentreSums,
  opts: { unsureBelow?: number; rowOffset?: number } = {},
): ReviewItem[] {
  const { ids, labels, x, numClasses, probs } = input;
  const n = ids.length;
  const unsureBelow = opts.unsureBelow ?? 0.5;
  const rowOffset = opts.rowOffset ?? 0;
  const dist = sums.distances(x, labels);
  const items: ReviewItem[] = [];
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    const row = probs.subarray(i * numClasses, (i + 1) * numClasses);
    let pred = 0;
    for (let c = 1; c < numClasses; c++) if (row[c]! > row[pred]!) pred = c;
    let nearestOther = -1;
    for (let c = 0; c < numClasses; c++) {
      if (c === label) continue;
      if (nearestOther < 0 || dist[i * numClasses + c]! < dist[i * numClasses + nearestOther]!)
        nearestOther = c;
    }
    const reasons: ReviewReason[] = [];
    if (pred !== label) reasons.push('misclassified');
    if (row[pred]! < unsureBelow) reasons.push('unsure');
    const ownDist = dist[i * numClasses + label]!;
    if (
      nearestOther >= 0 &&
      Number.isFinite(ownDist) &&
      dist[i * numClasses + nearestOther]! < ownDist
    )
      reasons.push('near-other-class');
    if (reasons.length === 0) continue;
    const labelProb = row[label]!;
    const score =
      1 - labelProb + (pred !== label ? 1 : 0) + (reasons.includes('near-other-class') ? 0.5 : 0);
    items.push({
      id: ids[i]!,
      row: rowOffset + i,
      label,
      pred,
      confidence: row[pred]!,
      labelProb,
      nearestOther,
      reasons,
      score,
    });
  }
  return items;
}

/** Hardest first (ties by id), at most `limit`: merges pages' items, keeping only the best. */
export function topItems(items: ReviewItem[], limit?: number): ReviewItem[] {
  items.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return limit !== undefined ? items.slice(0, limit) : items;
}

export function rankForReview(
  input: ReviewInput,
  opts: { unsureBelow?: number; limit?: number } = {},
): ReviewItem[] {
  const sums = new CentreSums(input.dim, input.numClasses);
  sums.add(input.x, input.labels);
  return topItems(reviewPage(input, sums, opts), opts.limit);
}

/**
 * The whole review queue of a set whose rows are packed on demand (`pack`: the rows of these ids,
 * in order) and scored by `predict` (probabilities, n x numClasses): the centres are summed over
 * every row, then each page is ranked against them (two passes over rows that are already in
 * memory, the worker's held rows, so nothing is read twice from storage). `pause` is awaited
 * between pages (the worker answers other requests meanwhile).
 */
export async function reviewRows(opts: {
  ids: readonly string[];
  labels: Int32Array;
  dim: number;
  numClasses: number;
  pack: (ids: readonly string[]) => Float32Array;
  predict: (x: Float32Array, n: number) => Float32Array;
  unsureBelow: number;
  limit: number;
  pageRows?: number;
  pause?: () => Promise<void>;
}): Promise<ReviewItem[]> {
  const { ids, labels, dim, numClasses } = opts;
  const pageRows = opts.pageRows ?? 512;
  const n = ids.length;
  const sums = new CentreSums(dim, numClasses);
  const probs = new Float32Array(n * numClasses);
  for (let s = 0; s < n; s += pageRows) {
    const part = ids.slice(s, s + pageRows);
    const x = opts.pack(part);
    sums.add(x, labels.subarray(s, s + part.length));
    probs.set(opts.predict(x, part.length), s * numClasses);
    await opts.pause?.();
  }
  let items: ReviewItem[] = [];
  for (let s = 0; s < n; s += pageRows) {
    const part = ids.slice(s, s + pageRows);
    const ranked = reviewPage(
      {
        ids: part,
        labels: labels.subarray(s, s + part.length),
        x: opts.pack(part),
        dim,
        numClasses,
        probs: probs.subarray(s * numClasses, (s + part.length) * numClasses),
      },
      sums,
      { unsureBelow: opts.unsureBelow, rowOffset: s },
    );
    items = topItems([...items, ...ranked], opts.limit);
    await opts.pause?.();
  }
  return items;
}
