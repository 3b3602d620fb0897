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

/** Cosine distance from each row to every class centre; its own class's centre leaves it out. */
export function centreDistances(
  x: Float32Array,
  labels: ArrayLike<number>,
  dim: number,
  numClasses: number,
): Float32Array {
  const n = labels.length;
  const u = normalisedRows(x, n, dim);
  const sums = new Float64Array(numClasses * dim);
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    counts[c]!++;
    for (let j = 0; j < dim; j++) sums[c * dim + j]! += u[i * dim + j]!;
  }
  const out = new Float32Array(n * numClasses).fill(Number.POSITIVE_INFINITY);
  const centre = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const own = labels[i]!;
    for (let c = 0; c < numClasses; c++) {
      const k = counts[c]! - (c === own ? 1 : 0);
      if (k <= 0) continue;
      let norm = 0;
      for (let j = 0; j < dim; j++) {
        const v = sums[c * dim + j]! - (c === own ? u[i * dim + j]! : 0);
        centre[j] = v;
        norm += v * v;
      }
      if (norm === 0) continue;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += centre[j]! * u[i * dim + j]!;
      out[i * numClasses + c] = 1 - dot / Math.sqrt(norm);
    }
  }
  return out;
}

export function rankForReview(
  input: ReviewInput,
  opts: { unsureBelow?: number; limit?: number } = {},
): ReviewItem[] {
  const { ids, labels, x, dim, numClasses, probs } = input;
  const n = ids.length;
  const unsureBelow = opts.unsureBelow ?? 0.5;
  const dist = centreDistances(x, labels, dim, numClasses);
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
      row: i,
      label,
      pred,
      confidence: row[pred]!,
      labelProb,
      nearestOther,
      reasons,
      score,
    });
  }
  items.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return opts.limit !== undefined ? items.slice(0, opts.limit) : items;
}
