// The training read of large projects: loadTrainingSet() (embeddings.ts) a page at a time, rows
// from packs first (packs.ts), the others with plain IndexedDB gets; corrupt rows quarantined at
// the end. Kept apart from the repository so that each file reads in one sitting.

import type { Table } from 'dexie';
import type { GlimpseDB } from './db';
import { readPacked } from './packs';
import { planTrainingSet, type TrainingPlan } from './training-plan';
import { getRaw, ro, rw } from './tx';
import type { EmbeddingRow, ProjectRow, ClassRow } from './types';
import { allFinite, toFloat32 } from './validate';

/**
 * One page of streamTrainingSet(). Pages of rows found in packs come first (newest pack first),
 * then the other rows in the order loadTrainingSet() packs them (unless some were asked for
 * first: then in the order read). `at` says where each row belongs.
 */
export interface TrainingPage {
  ids: string[];
  classIds: string[];
  dim: number;
  /** ids.length * dim values (a fresh array the receiver may transfer). */
  x: Float32Array;
  /** at[i]: the position of row i among the rows the plan announced (onPlan). */
  at: Int32Array;
}

/** streamTrainingSet()'s summary, once every page is out. */
export interface TrainingStream {
  /** Rows sent in pages, in order. */
  ids: string[];
  classIds: string[];
  dim: number;
  missing: string[];
  quarantined: number;
}

/** Rows read (and sent) per page by streamTrainingSet: 2,048 x 1,280 floats = 10 MiB. */
export const TRAINING_PAGE_ROWS = 2048;

/** Options of streamTrainingSet(). */
export type StreamOptions = {
  expectedDim: number;
  pageRows?: number;
  /**
   * Called once before the first page with the rows the pages can hold, in training order
   * (a row found unreadable when read is left out of the pages and of the summary).
   */
  onPlan?: (
    rows: number,
    ids: readonly string[],
    classIds: readonly string[],
  ) => void | Promise<void>;
  /**
   * Positions among the planned rows (ascending) to read before the others, e.g. the rows a
   * fit needs first (train/fit-plan.ts), or null: all in order.
   */
  first?: (ids: readonly string[], classIds: readonly string[]) => readonly number[] | null;
  /**
   * Positions among the planned rows (1) that are not read: the receiver has them already
   * (the worker's held rows). Asked for after onPlan; they count as read.
   */
  skip?: () => Uint8Array | null;
  /**
   * Picks the rows to read among the candidates (sample ids with an embedding for the key, in
   * training order, with their classes): indices ascending, or null for all. The others are
   * neither read nor checked (dataset/subsample.ts: very large projects).
   */
  select?: (ids: readonly string[], classIds: readonly string[]) => number[] | null;
};

/** What streamTrainingSet() needs from the embedding repository. */
export interface StreamDeps {
  /** Tables of the read and of the quarantine transaction. */
  allTables: Table[];
  classesAndSamples(projectId: string): Promise<{
    project: ProjectRow;
    classes: ClassRow[];
    samples: { id: string; classId: string }[];
  }>;
  /** Moves the planned rows to quarantine (inside an rw transaction over allTables). */
  quarantine(projectId: string, p: TrainingPlan): Promise<void>;
}

/**
 * loadTrainingSet() a page at a time, for projects too large to hold twice: the plan is made
 * from index keys only (no vectors), then the vectors are read `pageRows` at a time, checked
 * as loadTrainingSet checks them and handed to `onPage` (awaited, so at most one page is held
 * here). Pages concatenated are loadTrainingSet()'s ids, classIds and x, bit for bit; corrupt
 * rows are quarantined at the end (left out and counted either way). A sample deleted while
 * the pages are read is left out.
 */
export async function streamTrainingSet(
  db: GlimpseDB,
  deps: StreamDeps,
  projectId: string,
  extractorKey: string,
  opts: StreamOptions,
  onPage: (page: TrainingPage) => void | Promise<void>,
): Promise<TrainingStream> {
  const { allTables, classesAndSamples, quarantine } = deps;
  const dim = opts.expectedDim;
  const pageRows = Math.max(1, Math.floor(opts.pageRows ?? TRAINING_PAGE_ROWS));
  // The plan of an empty embedding list: every sample of a valid class, in training order, as
  // "missing"; samples of deleted classes and orphan embeddings as bad rows.
  const { keyPlan, keyed, classOf } = await ro(db, allTables, async () => {
    const { project, classes, samples } = await classesAndSamples(projectId);
    const keyedIds = await db.embeddings
      .where('[projectId+extractorKey]')
      .equals([projectId, extractorKey])
      .primaryKeys();
    // Every embedding of the project, for orphans of any key: when there are no more of them
    // than of this key, they are the keyed ones (one row per sample), and not read again.
    const allCount = await db.embeddings.where('projectId').equals(projectId).count();
    const allEmbeddingIds =
      allCount === keyedIds.length
        ? keyedIds
        : await db.embeddings.where('projectId').equals(projectId).primaryKeys();
    return {
      keyPlan: planTrainingSet({
        classOrder: project.classOrder,
        classes,
        samples,
        embeddings: [],
        allEmbeddingIds,
        expectedDim: dim,
      }),
      keyed: new Set(keyedIds),
      classOf: new Map(samples.map((x) => [x.id, x.classId])),
    };
  });
  const bad = new Set(keyPlan.badSamples.map((b) => b.id));
  let candidates = keyPlan.result.missing.filter((id) => keyed.has(id) && !bad.has(id));
  const picked =
    opts.select?.(
      candidates,
      candidates.map((id) => classOf.get(id)!),
    ) ?? null;
  if (picked) candidates = picked.map((i) => candidates[i]!);
  const missing = keyPlan.result.missing.filter((id) => !keyed.has(id));
  const out: TrainingStream = { ids: [], classIds: [], dim, missing, quarantined: 0 };
  const badEmbeddings = [...keyPlan.badEmbeddings];
  const candidateClasses = candidates.map((id) => classOf.get(id)!);
  await opts.onPlan?.(candidates.length, candidates, candidateClasses);
  const skip = opts.skip?.() ?? new Uint8Array(candidates.length);
  const firstRows = opts.first?.(candidates, candidateClasses) ?? [];
  const ok = Uint8Array.from(skip, (v) => (v ? 1 : 0)); // rows the receiver has count as read
  // Rows with a copy in a pack come from the packs first (store/packs.ts: a value per ~256 rows
  // instead of one per row), in pages of their own.
  const unread = new Map<string, number>();
  candidates.forEach((id, r) => {
    if (!ok[r]) unread.set(id, r);
  });
  const deadPacks = await readPacked(
    db,
    {
      projectId,
      extractorKey,
      dim,
      wanted: unread,
      positions: candidates.length,
      live: keyed,
      batchRows: pageRows,
    },
    async (chunks) => {
      // A page per pack: a pack read whole is handed on as it came, without a copy.
      for (const { at, x } of chunks) {
        const page: TrainingPage = { ids: [], classIds: [], dim, x, at };
        for (const r of at) {
          page.ids.push(candidates[r]!);
          page.classIds.push(candidateClasses[r]!);
          ok[r] = 1;
        }
        await onPage(page);
      }
    },
  );
  // The order the other rows are read in (positions among the candidates): the first ones, then the rest.
  const order: number[] = [];
  const queued = new Uint8Array(candidates.length);
  for (const r of firstRows) {
    if (ok[r] || queued[r]) continue;
    queued[r] = 1;
    order.push(r);
  }
  for (let r = 0; r < candidates.length; r++) if (!ok[r] && !queued[r]) order.push(r);
  // The next page is read while the receiver takes this one (the worker copies it in).
  const read = (start: number) => {
    const at = order.slice(start, start + pageRows);
    const wanted = Array.from(at, (r) => candidates[r]!);
    return getRaw<EmbeddingRow>(db, 'embeddings', wanted).then((rows) => ({
      wanted,
      rows,
      at,
    }));
  };
  let next = order.length > 0 ? read(0) : null;
  try {
    for (let start = 0; start < order.length; start += pageRows) {
      const { wanted, rows, at } = await next!;
      next = start + pageRows < order.length ? read(start + pageRows) : null;
      const page: TrainingPage = {
        ids: [],
        classIds: [],
        dim,
        x: new Float32Array(0),
        at: new Int32Array(0),
      };
      const x = new Float32Array(rows.length * dim);
      const placed: number[] = [];
      rows.forEach((row, i) => {
        const id = wanted[i]!;
        if (!row || row.extractorKey !== extractorKey) return; // changed meanwhile
        const v = toFloat32(row.vector);
        let reason: string | null = null;
        if (!v) reason = 'the vector is unreadable';
        else if (v.length !== row.dim || v.length === 0)
          reason = `the vector has ${v.length} values but is marked as ${String(row.dim)}`;
        else if (v.length !== dim) reason = `the vector has ${v.length} values, expected ${dim}`;
        else if (!allFinite(v)) reason = 'the vector contains NaN or Infinity';
        if (reason !== null || !v) {
          badEmbeddings.push({ id, reason: reason ?? 'the vector is unreadable' });
          return;
        }
        page.ids.push(id);
        page.classIds.push(classOf.get(id)!);
        x.set(v, placed.length * dim);
        placed.push(at[i]!);
        ok[at[i]!] = 1;
      });
      page.x = placed.length === rows.length ? x : x.slice(0, placed.length * dim);
      page.at = Int32Array.from(placed);
      if (page.ids.length === 0) continue;
      await onPage(page);
    }
  } finally {
    // A receiver that threw leaves a read in flight: its result is not wanted.
    void next?.catch(() => undefined);
  }
  candidates.forEach((id, r) => {
    if (!ok[r]) return;
    out.ids.push(id);
    out.classIds.push(candidateClasses[r]!);
  });
  if (deadPacks.length > 0) {
    // Packs nothing can use any more (samples gone or re-keyed, or damaged): a cache entry only.
    await rw(db, [db.packs], () => db.packs.bulkDelete(deadPacks)).catch(() => undefined);
  }
  const toQuarantine: TrainingPlan = { ...keyPlan, badEmbeddings };
  out.quarantined = keyPlan.badSamples.length + badEmbeddings.length;
  if (out.quarantined > 0) {
    // As loadTrainingSet: if moving them fails, they are still left out and retried next time.
    await rw(db, allTables, () => quarantine(projectId, toQuarantine)).catch(() => undefined);
  }
  return out;
}
