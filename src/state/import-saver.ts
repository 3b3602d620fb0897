// Saving embedded images: results from the worker are gathered for a moment and written several
// samples to a transaction (each sample with its thumbnail and embedding, all of it or none), so
// the live queries of the open view re-run once per batch rather than once per image. A sample
// counts as saved only once its transaction has committed. Writes run one at a time, in order.
import type { EmbedItemResult } from '../worker/protocol';
import { GlimpseError, serializeError } from '../shared/errors';
import { release, type Hashed } from './import-dedupe';
import { countFailed, countSaved } from './import-state';
import type { NewSample } from '../store/repo';
import { repo, type SampleSource } from './repo';
import { useSession } from './session';

/** Samples written per transaction at most. */
export const SAVE_BATCH = 16;
/** How long the first result of a batch waits for more before it is written. */
export const SAVE_WAIT_MS = 500;

export interface SaveJob extends Hashed {
  projectId: string;
  file: File;
  source: SampleSource;
  name: string;
}

interface Extractor {
  id: string;
  key: string;
}

/** A new project takes the extractor of its first embeddings (projects start with a guess). */
const checkedProjects = new Set<string>();
async function syncProjectExtractor(projectId: string, ex: Extractor): Promise<void> {
  const memo = `${projectId} ${ex.key}`;
  if (checkedProjects.has(memo)) return;
  const r = repo();
  const project = await r.projects.get(projectId);
  if (project && project.extractorKey !== ex.key) {
    const counts = await r.samples.countsByClass(projectId);
    if (Object.values(counts).every((n) => n === 0))
      await r.projects.setExtractor(projectId, ex.id, ex.key);
  }
  checkedProjects.add(memo);
}

/** A full disk, or another tab upgraded the database: the rest would fail the same way. */
function stopsTheQueue(err: unknown): boolean {
  return serializeError(err).code === 'quota-exceeded' || !!useSession.getState().reloadRequired;
}

type Entry = { job: SaveJob; sample: NewSample };

export class SampleSaver {
  private buffer: Entry[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** The error that should stop the queue (full disk, newer schema), once one happened. */
  storageError: unknown = null;

  constructor(private readonly extractor: Extractor) {}

  /** Queues one embedded image for saving; a bad result fails that file alone. */
  add(job: SaveJob, item: EmbedItemResult): void {
    if (!item.embedding || !item.thumbnail || !item.width || !item.height) {
      release(job);
      countFailed(
        job.name,
        new GlimpseError('internal', 'The worker returned an incomplete result.'),
      );
      return;
    }
    this.buffer.push({
      job,
      sample: {
        projectId: job.projectId,
        classId: job.classId,
        source: job.source,
        name: job.name,
        type: job.file.type || 'application/octet-stream',
        blob: job.file,
        thumb: item.thumbnail,
        width: item.width,
        height: item.height,
        embedding: { extractorKey: this.extractor.key, vector: item.embedding },
        ...(job.sha256 ? { sha256: job.sha256 } : {}),
      },
    });
    if (this.buffer.length >= SAVE_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), SAVE_WAIT_MS);
  }

  /** Writes what is buffered and waits for every write so far. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(() => this.write(batch));
  }

  private async write(batch: Entry[]): Promise<void> {
    if (this.storageError) {
      for (const e of batch) this.fail(e, this.storageError);
      return;
    }
    try {
      for (const p of new Set(batch.map((e) => e.job.projectId)))
        await syncProjectExtractor(p, this.extractor);
      await repo().samples.addSamples(batch.map((e) => e.sample));
      countSaved(batch.length);
    } catch (err) {
      if (stopsTheQueue(err)) {
        this.storageError ??= err;
        for (const e of batch) this.fail(e, err);
      } else if (batch.length > 1) {
        // One bad sample (say its class was deleted meanwhile) must not take the others along.
        for (const e of batch) await this.write([e]);
      } else this.fail(batch[0]!, err);
    }
  }

  private fail(e: Entry, err: unknown): void {
    release(e.job);
    countFailed(e.job.name, err);
  }
}
