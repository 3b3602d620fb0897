// Embedding repository: the `embeddings` rows (one Float32Array per sample, tagged with the
// extractor key that made it) and the `quarantine` rows that failed validation. loadTrainingSet()
// reads a project's embeddings packed for training and moves corrupt rows aside: a bad row is
// counted and kept for inspection, never a crash and never silently trained on.

import { Dexie } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { mapStorageError } from './errors';
import { packRows, readPacked } from './packs';
import { planTrainingSet, type TrainingPlan } from './training-plan';
import { getRaw, ro, rw, touch } from './tx';
import type { EmbeddingRow, QuarantineRow, SampleRow } from './types';
import { allFinite, checkIds, checkVector, toFloat32 } from './validate';

export interface TrainingSet {
  /** Sample ids, grouped by class in the project's class order. */
  ids: string[];
  /** classIds[i] is the class of ids[i]. */
  classIds: string[];
  dim: number;
  /** ids.length * dim values; row i is x.subarray(i * dim, (i + 1) * dim). */
  x: Float32Array;
  /** Samples (in valid classes) without a valid embedding for this extractor: embed them. */
  missing: string[];
  /** Corrupt rows moved to the quarantine table by this call (a sample counts once, with its embedding). */
  quarantined: number;
}

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

export interface LoadOptions {
  /** The extractor's output size; without it the most common stored length is used. */
  expectedDim?: number;
}

export function embeddingsRepo(db: GlimpseDB) {
  const allTables = [db.projects, db.classes, db.samples, db.embeddings, db.quarantine];

  /** The project's classes and its samples' ids and classes, read by key only (no blobs). */
  async function classesAndSamples(projectId: string) {
    const project = await db.projects.get(projectId);
    if (!project)
      throw new GlimpseError('invalid-input', 'This project no longer exists.', projectId);
    const classes = await db.classes.where('projectId').equals(projectId).toArray();
    // Each class's sample ids in one getAllKeys request, in index order (class id, then sample
    // id): a cursor over 50,000 samples took ~1.5 s. Samples whose class is gone (found by the
    // count) are only reachable by walking the index, which the slow path then does.
    const sorted = classes.map((c) => c.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const perClass = await Promise.all(
      sorted.map((classId) =>
        db.samples.where('[projectId+classId]').equals([projectId, classId]).primaryKeys(),
      ),
    );
    const total = await db.samples.where('projectId').equals(projectId).count();
    let samples: { id: string; classId: string }[] = [];
    if (perClass.reduce((n, ids) => n + ids.length, 0) === total) {
      sorted.forEach((classId, i) => {
        for (const id of perClass[i]!) samples.push({ id: String(id), classId });
      });
    } else {
      samples = [];
      await db.samples
        .where('[projectId+classId]')
        .between([projectId, Dexie.minKey], [projectId, Dexie.maxKey])
        .eachKey((key, cursor) => {
          const classId = Array.isArray(key) ? key[1] : undefined;
          samples.push({
            id: String(cursor.primaryKey),
            classId: typeof classId === 'string' ? classId : '',
          });
        });
    }
    return { project, classes, samples };
  }

  /** Reads what the plan needs. Sample rows are read by key only (no blobs, no vectors). */
  async function plan(
    projectId: string,
    extractorKey: string,
    opts: LoadOptions,
  ): Promise<TrainingPlan> {
    const { project, classes, samples } = await classesAndSamples(projectId);
    const embeddings = await db.embeddings
      .where('[projectId+extractorKey]')
      .equals([projectId, extractorKey])
      .toArray();
    const allEmbeddingIds = await db.embeddings.where('projectId').equals(projectId).primaryKeys();
    return planTrainingSet({
      classOrder: project.classOrder,
      classes,
      samples,
      embeddings,
      allEmbeddingIds,
      expectedDim: opts.expectedDim,
    });
  }

  /** Moves the planned rows to quarantine. Inside an rw transaction over allTables. */
  async function quarantine(projectId: string, p: TrainingPlan): Promise<void> {
    const at = Date.now();
    const sampleRows = await db.samples.bulkGet(p.badSamples.map((b) => b.id));
    const embeddingIds = [...p.badEmbeddings.map((b) => b.id), ...p.badSamples.map((b) => b.id)];
    const embeddingRows = new Map(
      (await db.embeddings.bulkGet(embeddingIds))
        .filter((e): e is EmbeddingRow => !!e)
        .map((e) => [e.sampleId, e]),
    );
    const entries: QuarantineRow[] = [];
    p.badSamples.forEach((b, i) => {
      const row = sampleRows[i];
      if (row)
        entries.push({ table: 'samples', rowId: b.id, projectId, reason: b.reason, at, row });
      const emb = embeddingRows.get(b.id);
      if (emb) {
        entries.push({
          table: 'embeddings',
          rowId: b.id,
          projectId,
          reason: `its sample was quarantined: ${b.reason}`,
          at,
          row: emb,
        });
      }
    });
    for (const b of p.badEmbeddings) {
      const row = embeddingRows.get(b.id);
      if (row)
        entries.push({ table: 'embeddings', rowId: b.id, projectId, reason: b.reason, at, row });
    }
    await db.quarantine.bulkAdd(entries);
    await db.embeddings.bulkDelete(embeddingIds);
    await db.samples.bulkDelete(p.badSamples.map((b) => b.id));
    await touch(db, projectId);
  }

  /**
   * Keeps the vectors that `incoming` replaces when they belong to another extractor (a switch
   * and back must not run the network again). Inside an rw transaction over embeddings + stash.
   */
  async function stashReplaced(
    incoming: { sampleId: string; extractorKey: string }[],
  ): Promise<void> {
    const current = await db.embeddings.bulkGet(incoming.map((r) => r.sampleId));
    const replaced = current.filter(
      (e, i): e is EmbeddingRow => !!e && e.extractorKey !== incoming[i]!.extractorKey,
    );
    if (replaced.length > 0) await db.stash.bulkPut(replaced);
    await db.stash.bulkDelete(incoming.map((r): [string, string] => [r.sampleId, r.extractorKey]));
  }

  return {
    /**
     * Puts the project's stashed vectors of `extractorKey` back as its current embeddings (the
     * ones they replace are stashed in turn). Rows of samples deleted meanwhile are dropped.
     * Returns how many came back.
     */
    async restoreStashed(projectId: string, extractorKey: string): Promise<number> {
      return rw(db, [db.projects, db.samples, db.embeddings, db.stash], async () => {
        const rows = await db.stash
          .where('[projectId+extractorKey]')
          .equals([projectId, extractorKey])
          .toArray();
        if (rows.length === 0) return 0;
        const samples = await db.samples.bulkGet(rows.map((r) => r.sampleId));
        const alive = rows.filter((_, i) => samples[i]?.projectId === projectId);
        await stashReplaced(alive);
        await db.embeddings.bulkPut(alive);
        await db.stash.bulkDelete(rows.map((r): [string, string] => [r.sampleId, r.extractorKey]));
        if (alive.length > 0) await touch(db, projectId);
        return alive.length;
      });
    },

    /**
     * The project's training data for one extractor, packed. Corrupt rows (unreadable vector,
     * length other than dim, NaN/Infinity, sample of a deleted class, embedding without sample)
     * are moved to `quarantine` in the same transaction and counted, never thrown. If moving them
     * fails (e.g. the disk is full), they are still left out and counted, and stay in place.
     */
    async loadTrainingSet(
      projectId: string,
      extractorKey: string,
      opts: LoadOptions = {},
    ): Promise<TrainingSet> {
      try {
        return await rw(db, allTables, async () => {
          const p = await plan(projectId, extractorKey, opts);
          if (p.badSamples.length + p.badEmbeddings.length > 0) await quarantine(projectId, p);
          return p.result;
        });
      } catch (err) {
        if (mapStorageError(err).code === 'invalid-input') throw err;
        // Could not move the bad rows (or the write failed for another reason): still train on
        // the good ones from a read-only snapshot; the bad rows are retried next time.
        const p = await ro(db, allTables, () => plan(projectId, extractorKey, opts));
        return p.result;
      }
    },

    /**
     * loadTrainingSet() a page at a time, for projects too large to hold twice: the plan is made
     * from index keys only (no vectors), then the vectors are read `pageRows` at a time, checked
     * as loadTrainingSet checks them and handed to `onPage` (awaited, so at most one page is held
     * here). Pages concatenated are loadTrainingSet()'s ids, classIds and x, bit for bit; corrupt
     * rows are quarantined at the end (left out and counted either way). A sample deleted while
     * the pages are read is left out.
     */
    async streamTrainingSet(
      projectId: string,
      extractorKey: string,
      opts: {
        expectedDim: number;
        pageRows?: number;
        /**
         * Called once before the first page with the rows the pages can hold, in training order
         * (a row found unreadable when read is left out of the pages and of the summary).
         */
        onPlan?: (rows: number, ids: readonly string[], classIds: readonly string[]) => void | Promise<void>;
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
      },
      onPage: (page: TrainingPage) => void | Promise<void>,
    ): Promise<TrainingStream> {
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
        { projectId, extractorKey, dim, wanted: unread, positions: candidates.length, live: keyed, batchRows: pageRows },
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
          const page: TrainingPage = { ids: [], classIds: [], dim, x: new Float32Array(0), at: new Int32Array(0) };
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
            else if (v.length !== dim)
              reason = `the vector has ${v.length} values, expected ${dim}`;
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
        // Packs whose samples are all gone (or re-keyed): a cache entry nothing can use any more.
        await rw(db, [db.packs], () => db.packs.bulkDelete(deadPacks)).catch(() => undefined);
      }
      const toQuarantine: TrainingPlan = { ...keyPlan, badEmbeddings };
      out.quarantined = keyPlan.badSamples.length + badEmbeddings.length;
      if (out.quarantined > 0) {
        // As loadTrainingSet: if moving them fails, they are still left out and retried next time.
        await rw(db, allTables, () => quarantine(projectId, toQuarantine)).catch(() => undefined);
      }
      return out;
    },

    /** Writes (or replaces) embeddings of existing samples in one transaction, e.g. after re-embedding. */
    async putMany(
      rows: { sampleId: string; extractorKey: string; vector: Float32Array | number[] }[],
    ): Promise<number> {
      const checked = rows.map((r) => {
        if (typeof r.extractorKey !== 'string' || !r.extractorKey) {
          throw new GlimpseError('invalid-input', 'An embedding has no extractor key.', r.sampleId);
        }
        return { ...r, vector: checkVector(r.vector, r.sampleId) };
      });
      checkIds(
        checked.map((r) => r.sampleId),
        'sample',
      );
      return rw(db, [db.projects, db.samples, db.embeddings, db.stash, db.packs], async () => {
        const samples = await db.samples.bulkGet(checked.map((r) => r.sampleId));
        await stashReplaced(checked);
        const out: EmbeddingRow[] = [];
        checked.forEach((r, i) => {
          const s: SampleRow | undefined = samples[i];
          // A sample deleted meanwhile: its embedding is not wanted any more.
          if (!s) return;
          out.push({
            sampleId: s.id,
            projectId: s.projectId,
            extractorKey: r.extractorKey,
            dim: r.vector.length,
            vector: r.vector,
          });
        });
        await db.embeddings.bulkPut(out);
        await packRows(db, out);
        for (const p of new Set(out.map((e) => e.projectId))) await touch(db, p);
        return out.length;
      });
    },

    /**
     * Whether some sample of the project has no embedding for `extractorKey`, from two index
     * counts (no keys read): true when fewer embeddings have the key than there are samples.
     * An embedding whose sample is gone (only ever left behind the app's back; a training
     * quarantines it) can hide one missing sample here; coverage() tells exactly.
     */
    async lacksKey(projectId: string, extractorKey: string): Promise<boolean> {
      return ro(db, [db.samples, db.embeddings], async () => {
        const total = await db.samples.where('projectId').equals(projectId).count();
        const withKey = await db.embeddings
          .where('[projectId+extractorKey]')
          .equals([projectId, extractorKey])
          .count();
        return withKey < total;
      });
    },

    /** Sample ids of the project that have an embedding for `extractorKey` (valid or not). */
    idsWithKey(projectId: string, extractorKey: string): Promise<string[]> {
      return ro(db, [db.embeddings], () =>
        db.embeddings
          .where('[projectId+extractorKey]')
          .equals([projectId, extractorKey])
          .primaryKeys(),
      );
    },

    /**
     * Re-embedding status of a project for `extractorKey`, from index keys only (no rows, no
     * vectors): `missing` lists the project's samples without an embedding for that key, in
     * sample-id order; `total` is the number of samples.
     */
    coverage(
      projectId: string,
      extractorKey: string,
    ): Promise<{ total: number; withKey: number; missing: string[] }> {
      return ro(db, [db.samples, db.embeddings], async () => {
        const [sampleIds, keyed] = await Promise.all([
          db.samples.where('projectId').equals(projectId).primaryKeys(),
          db.embeddings
            .where('[projectId+extractorKey]')
            .equals([projectId, extractorKey])
            .primaryKeys(),
        ]);
        const have = new Set(keyed);
        const missing = sampleIds.filter((id) => !have.has(id));
        return { total: sampleIds.length, withKey: sampleIds.length - missing.length, missing };
      });
    },

    /** Quarantined rows of the project, oldest first. */
    /**
     * The project's stored vectors for one extractor, by sample id (for a project export): rows
     * that are unreadable or of another length than the first readable one are left out.
     */
    async vectorsOf(
      projectId: string,
      extractorKey: string,
    ): Promise<{ dim: number; vectors: Map<string, Float32Array> }> {
      const rows = await ro(db, [db.embeddings], () =>
        db.embeddings.where('[projectId+extractorKey]').equals([projectId, extractorKey]).toArray(),
      );
      const vectors = new Map<string, Float32Array>();
      let dim = 0;
      for (const r of rows) {
        const v = toFloat32(r.vector);
        if (!v || v.length === 0) continue;
        dim ||= v.length;
        if (v.length === dim) vectors.set(r.sampleId, v);
      }
      return { dim, vectors };
    },

    listQuarantine(projectId: string): Promise<QuarantineRow[]> {
      return ro(db, [db.quarantine], () =>
        db.quarantine.where('projectId').equals(projectId).sortBy('id'),
      );
    },
  };
}

export type EmbeddingsRepo = ReturnType<typeof embeddingsRepo>;
