// Rows of a training set arriving a page at a time (the app reads embeddings from IndexedDB in
// chunks and posts each one to the worker): placed into one packed array of the announced rows,
// so the window never holds the whole set and the worker holds it once. Pages may come in any
// order (each says where its rows go) and the fit may start before the last one: whenRows()
// resolves once the rows it names are in. view() hands the packed rows over exactly as a caller
// holding them in memory would have passed them.
import { GlimpseError } from '../shared/errors';

interface Waiter {
  rows: readonly number[] | null;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class RowStage {
  private x: Float32Array;
  private ids: string[];
  private placed: Uint8Array;
  private n = 0;
  /** Where a page without positions goes: after the last such page. */
  private cursor = 0;
  private waiters: Waiter[] = [];
  private closed: unknown = null;

  /** `ids`: the rows in training order, or a count when the ids come with the pages in order. */
  constructor(
    ids: readonly string[] | number,
    readonly dim: number,
  ) {
    const capacity = typeof ids === 'number' ? ids : ids.length;
    if (!(Number.isInteger(capacity) && capacity >= 0 && Number.isInteger(dim) && dim > 0)) {
      throw new GlimpseError('invalid-input', `Invalid staged set: ${capacity} rows of ${dim} values.`);
    }
    this.ids = typeof ids === 'number' ? new Array<string>(capacity).fill('') : [...ids];
    this.idsGiven = typeof ids !== 'number';
    this.x = new Float32Array(capacity * dim);
    this.placed = new Uint8Array(capacity);
  }

  /** Whether the ids were announced (pages go where they say) or come in order with the pages. */
  private idsGiven: boolean;

  get capacity(): number {
    return this.placed.length;
  }

  /** Rows placed so far. */
  get rows(): number {
    return this.n;
  }

  /**
   * Places a page: x holds ids.length rows of dim values; at[i] is where row i goes (without
   * `at`, right after the previous page without it). Returns the rows placed so far.
   */
  append(ids: readonly string[], x: Float32Array, at?: ArrayLike<number>): number {
    const m = ids.length;
    if (x.length !== m * this.dim) {
      throw new GlimpseError('invalid-input', `A page of ${m} rows came with ${x.length} values (dim ${this.dim}).`);
    }
    if (at && at.length !== m) throw new GlimpseError('invalid-input', `A page of ${m} rows came with ${at.length} positions.`);
    for (let i = 0; i < m; i++) {
      const p = at ? (at[i] as number) : this.cursor + i;
      if (!(Number.isInteger(p) && p >= 0 && p < this.capacity)) {
        throw new GlimpseError('invalid-input', `More rows than announced (${p + 1} > ${this.capacity}).`);
      }
      if (this.idsGiven && this.ids[p] !== ids[i]) throw new GlimpseError('internal', `A staged row is out of place (${ids[i]} at ${p}).`);
    }
    for (let i = 0; i < m; i++) {
      const p = at ? (at[i] as number) : this.cursor + i;
      this.x.set(x.subarray(i * this.dim, (i + 1) * this.dim), p * this.dim);
      this.ids[p] = ids[i]!;
      if (!this.placed[p]) {
        this.placed[p] = 1;
        this.n++;
      }
    }
    if (!at) this.cursor += m;
    this.wake();
    return this.n;
  }

  /**
   * Places every announced row that `source` has (a row's values, or null), e.g. rows the worker
   * still holds from the last training; returns which positions it placed (1) or not (0).
   */
  fill(source: (id: string) => Float32Array | null): Uint8Array {
    const have = new Uint8Array(this.capacity);
    if (!this.idsGiven) return have;
    this.ids.forEach((id, p) => {
      const v = source(id);
      if (!v || v.length !== this.dim) return;
      this.x.set(v, p * this.dim);
      have[p] = 1;
      if (!this.placed[p]) {
        this.placed[p] = 1;
        this.n++;
      }
    });
    this.wake();
    return have;
  }

  /** The ids and the packed rows once every announced row is placed (for keeping), else null. */
  complete(): { ids: readonly string[]; x: Float32Array } | null {
    if (this.n !== this.capacity) return null;
    return { ids: this.ids, x: this.x.subarray(0, this.capacity * this.dim) };
  }

  private ready(rows: readonly number[] | null): boolean {
    // Pages in order come before the train request that names them: whatever came is the set.
    if (!this.idsGiven) return true;
    if (rows === null) return this.n === this.capacity;
    return rows.every((r) => this.placed[r] === 1);
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!this.ready(w.rows)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once these rows (null: all) are placed; rejects if the stage is closed first. */
  whenRows(rows: readonly number[] | null): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.ready(rows)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ rows, resolve, reject }));
  }

  /** No more rows will come: whoever waits for rows gets `reason`. */
  close(reason: unknown): void {
    this.closed = reason;
    for (const w of this.waiters) w.reject(reason);
    this.waiters = [];
  }

  /**
   * Keeps only these rows (all placed), in this order: the set the page ended up with when some
   * announced rows turned out unreadable or were deleted meanwhile.
   */
  retain(ids: readonly string[]): number {
    const where = new Map<string, number>();
    this.ids.forEach((id, p) => {
      if (this.placed[p]) where.set(id, p);
    });
    const d = this.dim;
    const x = new Float32Array(ids.length * d);
    ids.forEach((id, i) => {
      const p = where.get(id);
      if (p === undefined) throw new GlimpseError('internal', `The staged rows lack ${id}: train again.`);
      x.set(this.x.subarray(p * d, (p + 1) * d), i * d);
    });
    this.close(new GlimpseError('internal', 'The staged rows changed: train again.'));
    this.closed = null;
    this.x = x;
    this.ids = [...ids];
    this.placed = new Uint8Array(ids.length).fill(1);
    this.n = this.cursor = ids.length;
    this.idsGiven = true;
    return this.n;
  }

  /**
   * The packed rows (a view, no copy), checked against the ids the trainer was given: a mismatch
   * means pages were lost or came from another request. With announced ids these are all of them
   * (rows not placed yet are zeros until whenRows() says otherwise); otherwise the rows that came.
   */
  view(expectIds: readonly string[]): Float32Array {
    const n = this.idsGiven ? this.capacity : this.n;
    let same = expectIds.length === n;
    for (let i = 0; same && i < n; i++) same = expectIds[i] === this.ids[i];
    if (!same) throw new GlimpseError('internal', 'The staged rows do not match the training request: train again.');
    return this.x.subarray(0, n * this.dim);
  }
}
