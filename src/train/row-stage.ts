// Rows of a training set arriving a page at a time (the app reads embeddings from IndexedDB in
// chunks and posts each one to the worker): appended into one packed array of the announced size,
// so the window never holds the whole set and the worker holds it once. view() hands the packed
// rows over exactly as a caller holding them in memory would have passed them.
import { GlimpseError } from '../shared/errors';

export class RowStage {
  private x: Float32Array;
  private ids: string[] = [];
  private n = 0;

  constructor(
    readonly capacity: number,
    readonly dim: number,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 0 && Number.isInteger(dim) && dim > 0)) {
      throw new GlimpseError('invalid-input', `Invalid staged set: ${capacity} rows of ${dim} values.`);
    }
    this.x = new Float32Array(capacity * dim);
  }

  get rows(): number {
    return this.n;
  }

  /** Appends a page: x holds ids.length rows of dim values. */
  append(ids: readonly string[], x: Float32Array): number {
    const m = ids.length;
    if (x.length !== m * this.dim) {
      throw new GlimpseError('invalid-input', `A page of ${m} rows came with ${x.length} values (dim ${this.dim}).`);
    }
    if (this.n + m > this.capacity) {
      throw new GlimpseError('invalid-input', `More rows than announced (${this.n + m} > ${this.capacity}).`);
    }
    this.x.set(x, this.n * this.dim);
    for (let i = 0; i < m; i++) this.ids.push(ids[i]!);
    this.n += m;
    return this.n;
  }

  /**
   * The packed rows (a view of the first `rows` rows, no copy), checked against the ids the
   * trainer was given: a mismatch means pages were lost or came from another request.
   */
  view(expectIds: readonly string[]): Float32Array {
    let same = expectIds.length === this.n;
    for (let i = 0; same && i < this.n; i++) same = expectIds[i] === this.ids[i];
    if (!same) throw new GlimpseError('internal', 'The staged rows do not match the training request: train again.');
    return this.x.subarray(0, this.n * this.dim);
  }
}
