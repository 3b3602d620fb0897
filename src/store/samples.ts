// Sample repository: the `samples` rows (original image, thumbnail, size) together with their
// `embeddings` rows. A sample and its embedding are written in one transaction, so a crash or a
// full disk never leaves a sample without the embedding it was saved with (or the reverse).

import { Dexie } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { packRows } from './packs';
import { requireProject, ro, rw, stamp, touch } from './tx';
import type { ClassRow, EmbeddingRow, SampleRow, SampleSource } from './types';
import { checkIds, checkVector, newId } from './validate';

/** A sample to add: the row's fields (see SampleRow), with the id, time and size optional. */
export interface NewSample extends Pick<
  SampleRow,
  | 'projectId'
  | 'classId'
  | 'source'
  | 'name'
  | 'type'
  | 'blob'
  | 'thumb'
  | 'width'
  | 'height'
  | 'sha256'
> {
  /** Defaults to blob.size. */
  sizeBytes?: number;
  /** Kept when given (imports); a new uuid otherwise. */
  id?: string;
  createdAt?: number;
  embedding?: { extractorKey: string; vector: Float32Array | number[] };
}

const SHA256 = /^[0-9a-f]{64}$/;

/** What delete() removed: pass it to restore() to put it back. */
export interface DeletedSamples {
  kind: 'samples';
  samples: SampleRow[];
  embeddings: EmbeddingRow[];
}

const SOURCES = new Set<SampleSource>(['file', 'webcam', 'paste', 'import']);

function isBlob(v: unknown): v is Blob {
  return typeof Blob !== 'undefined' && v instanceof Blob;
}

function isDimension(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Checks one input and builds its rows; throws before any transaction starts. */
function buildRows(input: NewSample): { sample: SampleRow; embedding: EmbeddingRow | null } {
  const bad = (why: string): never => {
    throw new GlimpseError('invalid-input', `Cannot save this sample: ${why}.`, input.name);
  };
  if (typeof input.projectId !== 'string' || typeof input.classId !== 'string') bad('no class');
  if (!SOURCES.has(input.source)) bad(`unknown source ${String(input.source)}`);
  if (!isBlob(input.thumb)) bad('the thumbnail is missing');
  if (input.blob !== null && !isBlob(input.blob)) bad('the image is not a file');
  if (!isDimension(input.width) || !isDimension(input.height)) bad('the image size is unknown');
  if (input.sha256 !== undefined && !SHA256.test(input.sha256))
    bad('the content hash is malformed');
  const id = input.id ?? newId();
  const sample: SampleRow = {
    id,
    projectId: input.projectId,
    classId: input.classId,
    createdAt: input.createdAt ?? stamp(),
    source: input.source,
    name: typeof input.name === 'string' ? input.name : '',
    type: typeof input.type === 'string' ? input.type : '',
    blob: input.blob,
    thumb: input.thumb,
    width: input.width,
    height: input.height,
    sizeBytes: input.sizeBytes ?? input.blob?.size ?? 0,
  };
  if (input.sha256 !== undefined) sample.sha256 = input.sha256;
  let embedding: EmbeddingRow | null = null;
  if (input.embedding) {
    const { extractorKey, vector } = input.embedding;
    if (typeof extractorKey !== 'string' || !extractorKey)
      bad('the embedding has no extractor key');
    const v = checkVector(vector, id);
    embedding = {
      sampleId: id,
      projectId: input.projectId,
      extractorKey,
      dim: v.length,
      vector: v,
    };
  }
  return { sample, embedding };
}

export function samplesRepo(db: GlimpseDB) {
  /** Writes checked rows; all classes must exist in the sample's project. Inside an rw tx. */
  async function putAll(
    rows: { sample: SampleRow; embedding: EmbeddingRow | null }[],
  ): Promise<void> {
    const projectIds = [...new Set(rows.map((r) => r.sample.projectId))];
    for (const p of projectIds) await requireProject(db, p);
    const classIds = [...new Set(rows.map((r) => r.sample.classId))];
    const classes = await db.classes.bulkGet(classIds);
    const byId = new Map(classes.filter((c): c is ClassRow => !!c).map((c) => [c.id, c]));
    for (const { sample } of rows) {
      if (byId.get(sample.classId)?.projectId !== sample.projectId) {
        throw new GlimpseError('invalid-input', 'This class no longer exists.', sample.classId);
      }
    }
    await db.samples.bulkAdd(rows.map((r) => r.sample));
    const embeddings = rows.map((r) => r.embedding).filter((e): e is EmbeddingRow => e !== null);
    if (embeddings.length > 0) {
      await db.embeddings.bulkPut(embeddings);
      await packRows(db, embeddings);
    }
    for (const p of projectIds) await touch(db, p);
  }

  const tables = [db.projects, db.classes, db.samples, db.embeddings, db.packs];

  return {
    /** Sample + thumbnail + embedding in one transaction: all of it is saved, or none. */
    async addSample(input: NewSample): Promise<SampleRow> {
      const rows = buildRows(input);
      await rw(db, tables, () => putAll([rows]));
      return rows.sample;
    },

    /** A batch in one transaction: every sample of the batch is saved, or none. */
    async addSamples(inputs: NewSample[]): Promise<SampleRow[]> {
      const rows = inputs.map(buildRows);
      if (rows.length === 0) return [];
      await rw(db, tables, () => putAll(rows));
      return rows.map((r) => r.sample);
    },

    get(sampleId: string): Promise<SampleRow | undefined> {
      return ro(db, [db.samples], () => db.samples.get(sampleId));
    },

    /** The class's samples, oldest first. */
    listByClass(projectId: string, classId: string): Promise<SampleRow[]> {
      return ro(db, [db.samples], async () => {
        const rows = await db.samples
          .where('[projectId+classId]')
          .equals([projectId, classId])
          .toArray();
        return rows.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      });
    },

    /**
     * The first `limit` samples of the class in listByClass order (oldest first, ties by id), read
     * through the [classId+createdAt] index (schema v4): only those rows are loaded, so a sample
     * grid of a 5,000-sample class costs a page of rows, not the class. `offset` skips that many
     * first (the grid's later pages; the cursor steps over index keys, not rows).
     */
    pageByClass(classId: string, limit: number, offset = 0): Promise<SampleRow[]> {
      return ro(db, [db.samples], () =>
        db.samples
          .where('[classId+createdAt]')
          .between([classId, Dexie.minKey], [classId, Dexie.maxKey])
          .offset(Math.max(0, Math.floor(offset)))
          .limit(Math.max(0, Math.floor(limit)))
          .toArray(),
      );
    },

    /**
     * Which of `hashes` (hex SHA-256 of originals) are already saved in the class. Reads only the
     * [classId+sha256] index keys, never the rows. Rows without a hash (schema v1) never match.
     */
    savedHashes(classId: string, hashes: readonly string[]): Promise<Set<string>> {
      const wanted = [...new Set(hashes)].filter((h) => SHA256.test(h));
      if (typeof classId !== 'string' || wanted.length === 0) return Promise.resolve(new Set());
      return ro(db, [db.samples], async () => {
        const keys = await db.samples
          .where('[classId+sha256]')
          .anyOf(wanted.map((h) => [classId, h]))
          .keys();
        return new Set(keys.map((k) => (Array.isArray(k) ? String(k[1]) : '')));
      });
    },

    /** Number of samples per class id (every class of the project appears, 0 included). */
    countsByClass(projectId: string): Promise<Record<string, number>> {
      return ro(db, [db.classes, db.samples], async () => {
        const classIds = await db.classes.where('projectId').equals(projectId).primaryKeys();
        // All counts requested at once (IndexedDB pipelines them in the transaction) rather than
        // one round trip after another: the class list of a large project shows sooner.
        const n = await Promise.all(
          classIds.map((classId) =>
            db.samples.where('[projectId+classId]').equals([projectId, classId]).count(),
          ),
        );
        return Object.fromEntries(classIds.map((classId, i) => [classId, n[i]!]));
      });
    },

    /** Moves samples to another class of the same project; returns how many moved. */
    async move(sampleIds: string[], toClassId: string): Promise<number> {
      const ids = checkIds(sampleIds, 'sample');
      return rw(db, tables, async () => {
        const cls = await db.classes.get(toClassId);
        if (!cls)
          throw new GlimpseError('invalid-input', 'This class no longer exists.', toClassId);
        const samples = (await db.samples.bulkGet(ids)).filter((s): s is SampleRow => !!s);
        if (samples.some((s) => s.projectId !== cls.projectId)) {
          throw new GlimpseError('invalid-input', 'Samples can only move within their project.');
        }
        const moving = samples.filter((s) => s.classId !== toClassId);
        await db.samples.bulkPut(moving.map((s) => ({ ...s, classId: toClassId })));
        if (moving.length > 0) await touch(db, cls.projectId);
        return moving.length;
      });
    },

    /** Deletes samples and their embeddings in one transaction; returns them for undo. */
    async delete(sampleIds: string[]): Promise<DeletedSamples> {
      const ids = checkIds(sampleIds, 'sample');
      return rw(db, tables, async () => {
        const samples = (await db.samples.bulkGet(ids)).filter((s): s is SampleRow => !!s);
        const found = samples.map((s) => s.id);
        const embeddings = (await db.embeddings.bulkGet(found)).filter(
          (e): e is EmbeddingRow => !!e,
        );
        await db.embeddings.bulkDelete(found);
        await db.samples.bulkDelete(found);
        for (const p of new Set(samples.map((s) => s.projectId))) await touch(db, p);
        return { kind: 'samples', samples, embeddings };
      });
    },

    /** Puts deleted samples back (one transaction). Fails, writing nothing, if a class is gone. */
    async restore(deleted: DeletedSamples): Promise<void> {
      await rw(db, tables, async () => {
        const classes = await db.classes.bulkGet([
          ...new Set(deleted.samples.map((s) => s.classId)),
        ]);
        const byId = new Map(classes.filter((c): c is ClassRow => !!c).map((c) => [c.id, c]));
        for (const s of deleted.samples) {
          if (byId.get(s.classId)?.projectId !== s.projectId) {
            throw new GlimpseError('invalid-input', 'The class of these samples no longer exists.');
          }
        }
        await db.samples.bulkPut(deleted.samples);
        await db.embeddings.bulkPut(deleted.embeddings);
        for (const p of new Set(deleted.samples.map((s) => s.projectId))) await touch(db, p);
      });
    },

    /**
     * Frees space by dropping the original images of a project (blob = null). Thumbnails and
     * embeddings stay, so the project still trains and displays; only re-embedding with another
     * extractor or exporting originals is lost. The way out of a full disk.
     */
    async dropOriginals(projectId: string): Promise<{ samples: number; bytesFreed: number }> {
      return rw(db, [db.projects, db.samples], async () => {
        await requireProject(db, projectId);
        let bytesFreed = 0;
        let samples = 0;
        await db.samples
          .where('projectId')
          .equals(projectId)
          .modify((s: SampleRow) => {
            if (s.blob === null) return false; // already dropped: leave the row alone
            bytesFreed += s.blob.size;
            samples += 1;
            s.blob = null;
            return true;
          });
        if (samples > 0) await touch(db, projectId);
        return { samples, bytesFreed };
      });
    },
  };
}

export type SamplesRepo = ReturnType<typeof samplesRepo>;
