// The one shape of "samples' embeddings with their labels" that the app hands to the worker
// (train, fine-tune, review scores) and that the training code fits on, and the one way rows of
// chosen classes are picked out of a project's stored embeddings.

/** Row i of x (dim values) is sample ids[i], of class labels[i] (0..numClasses-1). */
export interface LabelledSet {
  ids: string[];
  labels: Int32Array;
  x: Float32Array;
  dim: number;
  numClasses: number;
}

/** Embeddings as stored: row i is sample ids[i], of the class with id classIds[i]. */
export interface ClassedRows {
  ids: readonly string[];
  classIds: readonly string[];
  x: Float32Array;
  dim: number;
}

/**
 * The rows whose class is in `classOrder`, in their stored order, labelled by the class's position
 * in `classOrder` (a head's class order, so predictions keep their labels); other rows are left
 * out. `x` is a fresh array the caller may transfer; `classIds` are the kept rows' class ids.
 * With `reuse` (a caller that owns rows.x and drops it), x is rows.x itself when every row is kept:
 * a page of 2,048 rows is 10 MiB the page need not copy.
 */
export function selectClasses(
  rows: ClassedRows,
  classOrder: readonly string[],
  opts: { reuse?: boolean } = {},
): LabelledSet & { classIds: string[] } {
  const index = new Map(classOrder.map((c, i) => [c, i]));
  const keep: number[] = [];
  rows.classIds.forEach((c, r) => {
    if (index.has(c)) keep.push(r);
  });
  const { dim } = rows;
  let x: Float32Array;
  if (opts.reuse && keep.length === rows.ids.length && rows.x.length === keep.length * dim) x = rows.x;
  else {
    x = new Float32Array(keep.length * dim);
    keep.forEach((r, i) => x.set(rows.x.subarray(r * dim, (r + 1) * dim), i * dim));
  }
  return {
    ids: keep.map((r) => rows.ids[r]!),
    classIds: keep.map((r) => rows.classIds[r]!),
    labels: Int32Array.from(keep, (r) => index.get(rows.classIds[r]!)!),
    x,
    dim,
    numClasses: classOrder.length,
  };
}
