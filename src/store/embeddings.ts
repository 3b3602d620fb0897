// Embedding repository: the `embeddings` rows (one Float32Array per sample, tagged with the
// extractor key that made it) and the `quarantine` rows that failed validation. loadTrainingSet()
// reads a project's embeddings packed for training and moves corrupt rows aside: a bad row is
// counted and kept for inspection, never a crash and never silently trained on.

import { Dexie } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { mapStorageError } from './errors';
import { packRows } from './packs';
import { planTrainingSet, type TrainingPlan } from './training-plan';
import { streamTrainingSet, type StreamOptions, type TrainingPage, type TrainingStream } from './training-stream';
import { ro, rw, touch } from './tx';
import type { EmbeddingRow, QuarantineRow, SampleRow } from './types';
import { checkIds, checkVector, toFloat32 } from './validate';

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

export { TRAINING_PAGE_ROWS, type TrainingPage, type TrainingStream } from './training-stream';

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

    /** loadTrainingSet() a page at a time: see training-stream.ts. */
    streamTrainingSet(
      projectId: string,
      extractorKey: string,
      opts: StreamOptions,
      onPage: (page: TrainingPage) => void | Promise<void>,
    ): Promise<TrainingStream> {
      return streamTrainingSet(db, { allTables, classesAndSamples, quarantine }, projectId, extractorKey, opts, onPage);
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
