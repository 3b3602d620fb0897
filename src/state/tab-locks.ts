// Two tabs, one project: training and importing take a Web Lock per project and task
// (`glimpse-project-<id>-train`, `glimpse-project-<id>-import`), shared by every tab of the origin,
// so two tabs never train the same project at once (the second would save a head over the first's)
// or import into it at once (each tab de-duplicates only against what is already saved, so the same
// folder dropped in two tabs would be saved twice). A tab that has to wait is told so at once
// (`onWait`), so the UI can say why, and it goes on by itself when the lock frees; aborting the
// signal gives up the wait. Without Web Locks (Node tests, very old browsers) the task just runs:
// one tab then has nothing to coordinate with. Nothing here touches React, storage or the worker.
import { GlimpseError } from '../shared/errors';

/** 'classes': making the classes of a dropped folder (short; never held while importing). */
export type ProjectTask = 'train' | 'import' | 'classes';

/** The part of the Web Locks API used here (navigator.locks has it; tests pass a fake). */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: { name: string } | null) => Promise<T>,
  ): Promise<T>;
}

export interface LockOptions {
  /** Aborting it while waiting gives up the wait (rejects as cancelled); the task never starts. */
  signal?: AbortSignal;
  /**
   * Called once, before waiting, when the lock is taken. `here` is true when this tab holds it
   * (e.g. the previous training still winding down after a restart), false for another tab.
   */
  onWait?: (here: boolean) => void;
  /** The lock manager; defaults to navigator.locks (null: none, the task just runs). */
  locks?: LockManagerLike | null;
}

export function lockName(projectId: string, task: ProjectTask): string {
  return `glimpse-project-${projectId}-${task}`;
}

/** Names of the locks this tab holds now (to tell "another tab" from "this tab" when waiting). */
const heldHere = new Map<string, number>();

function browserLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: unknown } }).navigator;
  return (nav?.locks as LockManagerLike | undefined) ?? null;
}

function cancelled(): GlimpseError {
  return new GlimpseError('cancelled', 'Cancelled.');
}

async function holding<T>(name: string, fn: () => Promise<T>): Promise<T> {
  heldHere.set(name, (heldHere.get(name) ?? 0) + 1);
  try {
    return await fn();
  } finally {
    const n = (heldHere.get(name) ?? 1) - 1;
    if (n > 0) heldHere.set(name, n);
    else heldHere.delete(name);
  }
}

/**
 * Runs `fn` holding the lock `name` (exclusive across the origin's tabs); waits for it when
 * another holder has it, calling `onWait` first. Resolves or rejects as `fn` does.
 */
export async function withLock<T>(
  name: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const locks = opts.locks === undefined ? browserLocks() : opts.locks;
  const { signal } = opts;
  if (signal?.aborted) throw cancelled();
  if (!locks) return fn();
  // Try without waiting first: only a lock that is really taken makes the caller say "waiting".
  const first = await locks.request(name, { ifAvailable: true }, async (lock) =>
    lock ? { value: await holding(name, fn) } : null,
  );
  if (first) return first.value;
  opts.onWait?.(heldHere.has(name));
  if (signal?.aborted) throw cancelled();
  try {
    return await locks.request(name, signal ? { signal } : {}, () => holding(name, fn));
  } catch (err) {
    // The lock manager rejects an aborted wait with an AbortError DOMException.
    if (signal?.aborted) throw cancelled();
    throw err;
  }
}

/** Runs `fn` holding the project's lock for `task` (see withLock). */
export function withProjectLock<T>(
  projectId: string,
  task: ProjectTask,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  return withLock(lockName(projectId, task), fn, opts);
}
