// The import queue: files (dropped, picked, pasted, or webcam frames) wait here as File handles
// (their bytes stay on disk) and go to the embedding worker CHUNK at a time. Memory stays bounded
// however many are queued: at most three chunks' bytes are held at once (two in the worker, and
// the next one read and hashed meanwhile, so the worker never waits for the disk), and they are
// transferred to the worker. A bad file records its own error and the rest go on; a full disk or
// a cancel stops the queue, and what was saved stays saved. Cancel answers at once: the chunks in
// the worker are abandoned (their late results are not saved), results already on their way to
// the disk finish.
import type { ImageInput } from '../worker/protocol';
import { GlimpseError, serializeError } from '../shared/errors';
import { embedBridge, fileToInput, useEngine } from './engine';
import { contentHash, releaseAll, release, withoutDuplicates } from './import-dedupe';
import { SampleSaver, type SaveJob } from './import-saver';
import {
  countDuplicate,
  countFailed,
  initialImport,
  publishCounts,
  rateClockRunning,
  setRateClock,
  useImport,
  type ImportState,
} from './import-state';
import { withProjectLock } from './tab-locks';

/** Files read and sent to the worker per call. */
export const CHUNK = 16;
/**
 * Calls in the worker at once: with two, the worker starts the next chunk while the last batches
 * of the current one finish, so no embedding worker (lanes.ts) waits at a chunk's end.
 */
const IN_FLIGHT = 2;
/** Larger originals are refused before reading (the worker's guard checks pixel counts). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export type Job = SaveJob;

const queue: Job[] = [];
/** Index of the next job to run (the array is compacted now and then, not shifted per chunk). */
let head = 0;
let controller: AbortController | null = null;
let nextItemId = 1;

function pending(): number {
  return queue.length - head;
}

/** Whether the next queued job is one of `projectId`'s. */
function pendingFor(projectId: string): boolean {
  return head < queue.length && queue[head]!.projectId === projectId;
}

/** Up to CHUNK queued jobs, all of `projectId` (the queue runs one project at a time). */
function takeChunk(projectId: string): Job[] {
  let end = head;
  while (end < queue.length && end - head < CHUNK && queue[end]!.projectId === projectId) end++;
  const chunk = queue.slice(head, end);
  head += chunk.length;
  if (head > 4096) {
    queue.splice(0, head);
    head = 0;
  }
  return chunk;
}

function takeAll(): Job[] {
  const rest = queue.slice(head);
  queue.length = 0;
  head = 0;
  return rest;
}

export function enqueue(jobs: Job[], skipped = 0): void {
  if (jobs.length === 0 && skipped === 0) return;
  for (const job of jobs) queue.push(job);
  const s = useImport.getState();
  if (s.running) {
    useImport.setState({ total: s.total + jobs.length, skipped: s.skipped + skipped });
    return;
  }
  if (jobs.length === 0) {
    useImport.setState({ ...initialImport, skipped, outcome: 'finished' });
    return;
  }
  useImport.setState({ ...initialImport, running: true, total: jobs.length, skipped });
  void run();
}

/** Stops the queue: the chunk in the worker is abandoned, queued files are dropped. */
export function cancelImport(): void {
  controller?.abort();
}

/** Clears the finished run's summary and error list. */
export function clearImportSummary(): void {
  if (!useImport.getState().running) useImport.setState({ ...initialImport });
}

function cancelled(): GlimpseError {
  return new GlimpseError('cancelled', 'Cancelled.');
}

/** Settles like `p`, or rejects as cancelled as soon as the signal aborts. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(cancelled());
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function waitForModel(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const settle = (fn: () => void) => {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      useImport.setState({ waitingForModel: false });
      fn();
    };
    const onAbort = () => settle(() => reject(cancelled()));
    const check = (status: string) => {
      if (status === 'ready') settle(resolve);
      else if (status === 'error') {
        settle(() =>
          reject(
            new GlimpseError(
              'model-invalid',
              'The model could not be loaded, so nothing was embedded.',
            ),
          ),
        );
      }
    };
    unsubscribe = useEngine.subscribe((s) => check(s.status));
    signal.addEventListener('abort', onAbort, { once: true });
    if (useEngine.getState().status !== 'ready') useImport.setState({ waitingForModel: true });
    check(useEngine.getState().status);
  });
}

/** What one run shares between its per-project stretches (and its final clean-up). */
interface RunState {
  /** The chunk read ahead (its jobs are off the queue): on a stop they count with the queue's. */
  ahead: { jobs: Job[]; prepared: Promise<Prepared> } | null;
  /** Chunks in the worker; each saves and counts its own files, whatever happens to the others. */
  inFlight: Set<Promise<void>>;
  firstError: unknown;
}

async function run(): Promise<void> {
  controller = new AbortController();
  const { signal } = controller;
  setRateClock(null);
  let outcome: ImportState['outcome'] = 'finished';
  let stopReason: string | null = null;
  let stopCode: string | null = null;
  const st: RunState = { ahead: null, inFlight: new Set(), firstError: null };
  try {
    // One project at a time, holding its import lock (tab-locks.ts): two tabs never import into
    // the same project at once (each de-duplicates only against what is saved). A tab that has
    // to wait says so (waitingForTab) and goes on when the other tab's import ends.
    while (pending() > 0 && st.firstError === null) {
      if (signal.aborted) throw cancelled();
      const projectId = queue[head]!.projectId;
      await withProjectLock(projectId, 'import', () => runProject(projectId, signal, st), {
        signal,
        onWait: (here) => {
          if (!here) useImport.setState({ waitingForTab: true });
        },
      });
    }
    if (st.firstError !== null) throw st.firstError;
  } catch (err) {
    const e = serializeError(err);
    if (e.code === 'cancelled' || signal.aborted) outcome = 'cancelled';
    else {
      outcome = 'stopped';
      stopReason = e.message;
      stopCode = e.code;
    }
  } finally {
    // Saves of results already on their way finish first (as they did before a cancel answered).
    await Promise.all(st.inFlight);
    // Whatever did not run is dropped (cancel) or failed with the reason (model, disk).
    // Of the chunk read ahead, files that failed to read or were duplicates are counted already.
    const { ahead } = st;
    const readFirst = ahead ? await ahead.prepared.catch(() => null) : null;
    const aheadLeft = readFirst ? readFirst.images.map((i) => readFirst.byId.get(i.id)!) : (ahead?.jobs ?? []);
    const left = [...aheadLeft, ...takeAll()];
    if (outcome === 'stopped') {
      const why = new GlimpseError('internal', stopReason ?? 'Stopped.');
      for (const job of left) countFailed(job.name, why);
    } else if (left.length > 0) useImport.setState((s) => ({ total: s.total - left.length }));
    controller = null;
    releaseAll();
    publishCounts();
    setRateClock(null);
    useImport.setState({
      running: false,
      waitingForModel: false,
      waitingForTab: false,
      outcome,
      stopReason,
      stopCode,
      etaS: null,
    });
  }
}

/** Runs the queued jobs of one project (holding its import lock) until the next job is another's. */
async function runProject(projectId: string, signal: AbortSignal, st: RunState): Promise<void> {
  useImport.setState({ waitingForTab: false });
  // Files queued while the last chunks finish (webcam frames, another drop) go round again.
  while ((st.ahead || pendingFor(projectId) || st.inFlight.size > 0) && st.firstError === null) {
    if (!st.ahead && !pendingFor(projectId)) {
      await Promise.race(st.inFlight);
      continue;
    }
    if (signal.aborted) throw cancelled();
    await waitForModel(signal);
    if (!rateClockRunning()) setRateClock(performance.now());
    const current = st.ahead ?? readAhead(takeChunk(projectId), signal);
    st.ahead = pendingFor(projectId) ? readAhead(takeChunk(projectId), signal) : null;
    const prepared = await current.prepared;
    const chunk: Promise<void> = embedPrepared(prepared, signal)
      .catch((err: unknown) => {
        st.firstError ??= err;
      })
      .finally(() => st.inFlight.delete(chunk));
    st.inFlight.add(chunk);
    if (st.inFlight.size >= IN_FLIGHT) await Promise.race(st.inFlight);
  }
  // Every save of this project ends before its lock is let go.
  await Promise.all(st.inFlight);
}

/** Reads (and hashes) one file; the bytes are held only until the worker takes them. */
async function readJob(job: Job): Promise<{ job: Job; input: ImageInput } | null> {
  try {
    if (job.file.size === 0) throw new GlimpseError('empty-file', 'The file is empty.');
    if (job.file.size > MAX_FILE_BYTES) {
      throw new GlimpseError(
        'image-too-large',
        `The file is too large (over ${MAX_FILE_BYTES >> 20} MB).`,
      );
    }
    const input = await fileToInput(job.file, `import-${nextItemId++}`);
    job.sha256 = await contentHash(input.bytes);
    return { job, input };
  } catch (err) {
    countFailed(job.name, err);
    return null;
  }
}

interface Prepared {
  images: ImageInput[];
  byId: Map<string, Job>;
}

/** Reads and hashes a chunk's files and drops the duplicates (they claim their content at once). */
function readAhead(chunk: Job[], signal: AbortSignal): { jobs: Job[]; prepared: Promise<Prepared> } {
  const prepared = (async () => {
    const read = (await Promise.all(chunk.map(readJob))).filter((r) => r !== null);
    const byId = new Map<string, Job>();
    const images: ImageInput[] = [];
    if (signal.aborted) {
      // Cancelled while reading: hand every read file back unclaimed, so the run's end takes
      // them off the total (they were neither saved, nor failed, nor duplicates).
      for (const { job, input } of read) {
        images.push(input);
        byId.set(input.id, job);
      }
      return { images, byId };
    }
    for (const { job, input } of await withoutDuplicates(read, countDuplicate)) {
      images.push(input);
      byId.set(input.id, job);
    }
    return { images, byId };
  })();
  return { jobs: chunk, prepared };
}

async function embedPrepared({ images, byId }: Prepared, signal: AbortSignal): Promise<void> {
  const extractor = useEngine.getState().extractor;
  if (!extractor) throw new GlimpseError('model-invalid', 'The model is not loaded.');
  if (signal.aborted) throw cancelled();
  if (images.length === 0) return;

  const saver = new SampleSaver(extractor);
  const reported = new Set<string>();
  const call = embedBridge().call(
    'embed',
    { images, thumbnails: true },
    {
      signal,
      transfer: images.map((i) => i.bytes),
      onProgress: (item) => {
        const job = byId.get(item.id);
        // After a cancel the worker may still finish its current images: those are not saved.
        if (!job || reported.has(item.id) || signal.aborted) return;
        reported.add(item.id);
        if (item.error) {
          release(job);
          countFailed(job.name, item.error);
        } else saver.add(job, item);
      },
    },
  );
  // A cancel does not wait for the worker; the call settles later and is ignored then.
  call.catch(() => undefined);
  try {
    await unlessAborted(call, signal);
  } catch (err) {
    await saver.close();
    if (signal.aborted || serializeError(err).code === 'cancelled') throw err;
    // The batch failed as a whole (e.g. the worker crashed): its unreported files fail with it.
    for (const [id, job] of byId) {
      if (reported.has(id)) continue;
      release(job);
      countFailed(job.name, err);
    }
    if (serializeError(err).code === 'worker-crashed') throw err;
    return;
  }
  await saver.close();
  if (saver.storageError) throw saver.storageError;
}
