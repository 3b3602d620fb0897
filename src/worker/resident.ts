// The embeddings of the project the worker last trained on, kept in the worker after the fit:
// one packed array, keyed by sample id, for one project and one extractor key. Retraining reads
// from IndexedDB only the rows the worker does not hold yet, and the review scores and ranks the
// held rows where they lie (the page reads nothing twice and holds no vectors). Reading 50,000
// rows from IndexedDB costs ~10 s here; the held rows cost the worker 4 bytes a value.
//
// Why held rows cannot go stale: for one sample and one extractor key the stored vector never
// changes while it exists (embeddings are only added, deleted with their sample or quarantined,
// and restored as they were by undo or an extractor switch back); other weights make another
// key. Rows of samples deleted since are simply never asked for again.
import { GlimpseError } from '../shared/errors';

/** Rows held at most (60,000 x 1,280 floats = 293 MiB; a stage copies them once more). */
export const MAX_RESIDENT_VALUES = 60_000 * 1280;

export class ResidentRows {
  private index = new Map<string, number>();
  private x: Float32Array;
  private n = 0;

  constructor(
    readonly projectId: string,
    readonly extractorKey: string,
    readonly dim: number,
    capacity = 0,
  ) {
    this.x = new Float32Array(Math.max(0, capacity) * dim);
  }

  get rows(): number {
    return this.n;
  }

  /** Rows held as they are in x (no copy); ids must be distinct. */
  static adopt(projectId: string, extractorKey: string, dim: number, ids: readonly string[], x: Float32Array): ResidentRows {
    const r = new ResidentRows(projectId, extractorKey, dim, 0);
    r.x = x;
    ids.forEach((id, i) => r.index.set(id, i));
    if (r.index.size !== ids.length) throw new GlimpseError('internal', 'Held rows must have distinct ids.');
    r.n = ids.length;
    return r;
  }

  holds(projectId: string, extractorKey: string, dim: number): boolean {
    return this.projectId === projectId && this.extractorKey === extractorKey && this.dim === dim;
  }

  /** Makes room for this many more rows (up to the limit) in one allocation. */
  reserve(more: number): void {
    const want = Math.min(MAX_RESIDENT_VALUES, (this.n + Math.max(0, more)) * this.dim);
    if (want <= this.x.length) return;
    const grown = new Float32Array(want);
    grown.set(this.x.subarray(0, this.n * this.dim));
    this.x = grown;
  }

  /** The row of `id`, or -1. */
  rowOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  /** Row r's values (a view). */
  row(r: number): Float32Array {
    return this.x.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /**
   * Adds rows (ids.length x dim values in x); an id already held keeps its row. Returns false,
   * adding nothing, when the rows would pass MAX_RESIDENT_VALUES.
   */
  add(ids: readonly string[], x: Float32Array): boolean {
    const d = this.dim;
    if (x.length !== ids.length * d) {
      throw new GlimpseError('invalid-input', `${ids.length} rows came with ${x.length} values (dim ${d}).`);
    }
    const fresh: number[] = [];
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (!this.index.has(id) && !seen.has(id)) {
        seen.add(id);
        fresh.push(i);
      }
    });
    const need = (this.n + fresh.length) * d;
    if (need > MAX_RESIDENT_VALUES) return false;
    if (need > this.x.length) {
      const grown = new Float32Array(Math.min(MAX_RESIDENT_VALUES, Math.max(need, Math.ceil(this.x.length * 1.5))));
      grown.set(this.x.subarray(0, this.n * d));
      this.x = grown;
    }
    for (const i of fresh) {
      this.x.set(x.subarray(i * d, (i + 1) * d), this.n * d);
      this.index.set(ids[i]!, this.n);
      this.n++;
    }
    return true;
  }

  /** Packs the rows of `ids` (all held) into one array, in that order. */
  pack(ids: readonly string[]): Float32Array {
    const d = this.dim;
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => {
      const r = this.index.get(id);
      if (r === undefined) throw new GlimpseError('internal', `The worker does not hold ${id}.`);
      out.set(this.x.subarray(r * d, (r + 1) * d), i * d);
    });
    return out;
  }

  /** Which of `ids` are held (1) or not (0). */
  held(ids: readonly string[]): Uint8Array {
    return Uint8Array.from(ids, (id) => (this.index.has(id) ? 1 : 0));
  }
}

let current: ResidentRows | null = null;

/** The held rows if they are of this project, key and size, else null. */
export function residentFor(projectId: string, extractorKey: string, dim: number): ResidentRows | null {
  return current?.holds(projectId, extractorKey, dim) ? current : null;
}

/**
 * Holds these rows (ids.length x dim values in x, distinct ids) from now on, in place of any
 * others: x itself is kept (no copy), so its owner must not write to it any more.
 */
export function keepResident(projectId: string, extractorKey: string, dim: number, ids: readonly string[], x: Float32Array): void {
  current = null; // the old rows go first
  if (ids.length * dim > MAX_RESIDENT_VALUES || x.length !== ids.length * dim) return;
  current = ResidentRows.adopt(projectId, extractorKey, dim, ids, x);
}

/** The held rows of this project, key and size, created empty if others (or none) were held. */
export function residentOrNew(projectId: string, extractorKey: string, dim: number): ResidentRows {
  const r = residentFor(projectId, extractorKey, dim);
  if (r) return r;
  current = new ResidentRows(projectId, extractorKey, dim, 0);
  return current;
}

/** Lets go of the held rows (another project's training starts, or memory is wanted). */
export function dropResident(): void {
  current = null;
}
