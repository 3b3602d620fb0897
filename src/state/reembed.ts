// Background re-embedding (issue 4, item 5): after the user switches extractor, the open
// project's samples that have no embedding for the new extractor key are embedded again from
// their original images, in the worker, a few at a time, with done/total progress that the UI
// shows in a live region and can cancel. It is driven by what is missing in the database
// (embeddings.coverage), so a reload or a project switch simply picks up where it stopped.
// Training waits for it (whenDone), so a head is never trained on a mix of extractor keys.
// It holds the project's import lock (tab-locks.ts) like an import does, so two tabs never
// re-embed (or re-embed and import into) the same project at once; the waiting tab says why.
import { create } from 'zustand';
import { GlimpseError, serializeError } from '../shared/errors';
import { embedSamples } from './embed-samples';
import { useEngine } from './engine';
import { repo } from './repo';
import { useSession } from './session';
import { withProjectLock } from './tab-locks';

export interface ReembedState {
  /**
   * idle: nothing to do (or not checked yet); waiting: another tab (or an import in this one)
   * holds the project's import lock; cancelled: stopped by the user (resumable).
   */
  status: 'idle' | 'waiting' | 'running' | 'done' | 'cancelled' | 'error';
  /** While waiting: the lock is held by an import of this tab (true) or by another tab. */
  waitingOnThisTab: boolean;
  projectId: string | null;
  extractorKey: string | null;
  extractorName: string | null;
  /** Samples of the project that have an embedding for extractorKey. */
  done: number;
  /** Samples of the project. */
  total: number;
  /** Samples that cannot be re-embedded: their original image was dropped to free space. */
  noOriginal: number;
  /** Samples the worker could not embed this time. */
  failed: number;
  error: string | null;
  /** switch: the user chose another extractor; update: the same extractor with other weights (an app update). */
  reason: 'switch' | 'update';
}

const IDLE: ReembedState = {
  status: 'idle',
  projectId: null,
  extractorKey: null,
  extractorName: null,
  done: 0,
  total: 0,
  noOriginal: 0,
  failed: 0,
  error: null,
  reason: 'switch',
  waitingOnThisTab: false,
};

export const useReembed = create<ReembedState>(() => ({ ...IDLE }));

interface Target {
  projectId: string;
  extractorKey: string;
  extractorName: string;
}

const sameTarget = (a: Target | null, b: Target | null) =>
  !!a && !!b && a.projectId === b.projectId && a.extractorKey === b.extractorKey;

interface Job {
  target: Target;
  controller: AbortController;
  promise: Promise<void>;
}

let job: Job | null = null;
/** The target the user cancelled: not restarted by the watcher until it changes. */
let pausedTarget: Target | null = null;
/** Samples found unembeddable for a target in this session, so a run does not loop on them. */
const skipped = new Map<string, { noOriginal: Set<string>; failed: Set<string> }>();
const skipKey = (t: Target) => `${t.projectId} ${t.extractorKey}`;

/** What should be embedded now: the open project for the running extractor, if both are ready. */
function currentTarget(): Target | null {
  const engine = useEngine.getState();
  const session = useSession.getState();
  if (engine.status !== 'ready' || !engine.extractor) return null;
  if (!session.loaded || !session.currentProjectId || session.reloadRequired) return null;
  return {
    projectId: session.currentProjectId,
    extractorKey: engine.extractor.key,
    extractorName: engine.extractor.name,
  };
}

/** runJob holding the project's import lock; says so while another holder keeps it. */
async function runJob(target: Target, signal: AbortSignal): Promise<void> {
  // Nothing missing (the usual case on opening a project): no lock, no "waiting".
  const cov = await repo().embeddings.coverage(target.projectId, target.extractorKey);
  const skip = skipped.get(skipKey(target));
  if (!cov.missing.some((id) => !skip?.noOriginal.has(id) && !skip?.failed.has(id))) return;
  let waited = false;
  await withProjectLock(target.projectId, 'import', () => runLocked(target, signal, waited), {
    signal,
    onWait: (here) => {
      waited = true;
      useReembed.setState({ ...IDLE, ...target, status: 'waiting', waitingOnThisTab: here });
    },
  });
}

async function runLocked(target: Target, signal: AbortSignal, waited: boolean): Promise<void> {
  const r = repo();
  let skip = skipped.get(skipKey(target));
  if (!skip) {
    skip = { noOriginal: new Set(), failed: new Set() };
    skipped.set(skipKey(target), skip);
  }
  // The worker's model must still be the one of this key when a chunk's vectors come back.
  const stillValid = () => {
    const e = useEngine.getState();
    return !signal.aborted && e.status === 'ready' && e.extractor?.key === target.extractorKey;
  };
  let announced = false;
  let reason: ReembedState['reason'] = 'switch';
  // Vectors this project already had for this extractor (before a switch away) come back first.
  await r.embeddings.restoreStashed(target.projectId, target.extractorKey);
  for (;;) {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    const cov = await r.embeddings.coverage(target.projectId, target.extractorKey);
    const todo = cov.missing.filter((id) => !skip.noOriginal.has(id) && !skip.failed.has(id));
    const counts = { noOriginal: skip.noOriginal.size, failed: skip.failed.size };
    if (todo.length === 0) {
      // After a wait the other tab may have done it all: say so rather than keep "waiting".
      if (announced || waited)
        useReembed.setState({ status: 'done', done: cov.withKey, total: cov.total, ...counts });
      return;
    }
    if (!announced) {
      announced = true;
      // The project now follows the running extractor (exports take this key's embeddings).
      const project = await r.projects.get(target.projectId);
      const running = useEngine.getState().extractor;
      // Same extractor id, another key: the weights changed under it (extractorKey names them).
      if (project && project.extractorKey !== target.extractorKey && project.extractorKey.split('@')[0] === target.extractorKey.split('@')[0]) reason = 'update';
      if (project && running && project.extractorKey !== target.extractorKey && stillValid()) {
        await r.projects.setExtractor(target.projectId, running.id, target.extractorKey);
      }
    }
    const base = cov.withKey;
    useReembed.setState({
      ...target,
      status: 'running',
      waitingOnThisTab: false,
      reason,
      done: base,
      total: cov.total,
      ...counts,
      error: null,
    });
    const res = await embedSamples(todo, {
      kind: 'embed',
      storeKey: target.extractorKey,
      signal,
      stillValid,
      onProgress: (p) => useReembed.setState({ done: Math.min(cov.total, base + p.saved) }),
    });
    for (const id of res.noOriginal) skip.noOriginal.add(id);
    for (const id of res.failed) skip.failed.add(id);
  }
}

/**
 * Starts (or joins) re-embedding of `target`; resolves when every embeddable sample has an
 * embedding for its key. `retry` also retries samples that failed earlier in this session.
 */
function ensure(target: Target, retry = false): Promise<void> {
  if (job && sameTarget(job.target, target)) return job.promise;
  job?.controller.abort();
  if (retry) skipped.delete(skipKey(target));
  if (sameTarget(pausedTarget, target)) pausedTarget = null;
  const controller = new AbortController();
  const promise = runJob(target, controller.signal)
    .catch((err: unknown) => {
      const e = serializeError(err);
      if (e.code === 'cancelled') {
        const st = useReembed.getState().status;
        const busy = st === 'running' || st === 'waiting';
        if (busy && sameTarget(pausedTarget, target)) {
          useReembed.setState({ status: 'cancelled' });
        } else if (busy) {
          useReembed.setState({ ...IDLE });
        }
      } else {
        useReembed.setState({ status: 'error', error: e.message });
      }
      throw err;
    })
    .finally(() => {
      if (job?.promise === promise) job = null;
    });
  // The watcher does not wait on it; whoever does (training) sees the error itself.
  promise.catch(() => undefined);
  job = { target, controller, promise };
  return promise;
}

/** Re-checks the open project against the running extractor (after any change to either). */
function check(): void {
  const target = currentTarget();
  if (job && !sameTarget(job.target, target)) {
    // The extractor or the project changed: vectors from this job are no longer wanted.
    job.controller.abort();
    job = null;
  }
  if (!target) return;
  const shown = useReembed.getState();
  if (
    shown.projectId &&
    (shown.projectId !== target.projectId || shown.extractorKey !== target.extractorKey)
  ) {
    useReembed.setState({ ...IDLE });
  }
  if (sameTarget(pausedTarget, target) || (job && sameTarget(job.target, target))) return;
  void ensure(target).catch(() => undefined);
}

let watching = false;
let lastSeen = '';

/**
 * Starts the watcher once (App calls it): every time the running extractor or the open project
 * changes, the project is checked and what is missing is embedded in the background.
 */
export function watchReembedding(): void {
  if (watching) return;
  watching = true;
  const onChange = () => {
    const t = currentTarget();
    const e = useEngine.getState();
    const seen = `${e.status} ${t?.projectId ?? ''} ${t?.extractorKey ?? ''}`;
    if (seen === lastSeen) return;
    lastSeen = seen;
    check();
  };
  useEngine.subscribe(onChange);
  useSession.subscribe(onChange);
  onChange();
}

/** Stops the running re-embedding; it stays stopped until resumed, trained, or reloaded. */
export function cancelReembed(): void {
  if (!job) return;
  pausedTarget = job.target;
  job.controller.abort();
}

/** Resumes a cancelled re-embedding (retrying samples that failed before). */
export function resumeReembed(): void {
  const target = currentTarget();
  if (target) void ensure(target, true).catch(() => undefined);
}

/**
 * Resolves once the project's samples all have embeddings for `extractorKey` (apart from those
 * without an original image or that cannot be decoded), re-embedding them if needed. Training
 * calls it so that it never trains on a mix of keys. `signal` stops waiting, not the work.
 */
export async function whenReembedded(
  projectId: string,
  extractorKey: string,
  signal: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const running = useEngine.getState();
  if (running.status !== 'ready' || running.extractor?.key !== extractorKey) {
    throw new GlimpseError('internal', 'The model changed meanwhile; train again in a moment.');
  }
  const target: Target = { projectId, extractorKey, extractorName: running.extractor.name };
  const promise = ensure(target, true);
  const report = () => {
    const s = useReembed.getState();
    const mine = s.projectId === target.projectId && s.extractorKey === target.extractorKey;
    if (s.status === 'running' && mine) onProgress?.(s.done, s.total);
  };
  report();
  const unsubscribe = useReembed.subscribe(report);
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new GlimpseError('cancelled', 'Cancelled.'));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  } finally {
    unsubscribe();
  }
}
