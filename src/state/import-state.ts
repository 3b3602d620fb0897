// What the import queue shows: counts, rate, time left, the failed files, how the run ended.
// Files finish one by one (on a re-drop hundreds a second are skipped as already saved), but the
// store, and with it React, hears about the counts at most every PUBLISH_MS: a 2,000-file import
// must not re-render the panel 2,000 times. Nothing here touches the database or the worker.
import { create } from 'zustand';
import { serializeError } from '../shared/errors';

/** At most this many failed files are listed by name (all of them are counted). */
export const MAX_LISTED_ERRORS = 500;
/** Counts reach the store at most this often while the queue runs. */
export const PUBLISH_MS = 200;

export interface ImportError {
  name: string;
  message: string;
  /** Stable error code (GlimpseError.code), for tests and styling. */
  code?: string;
}

export interface ImportState {
  running: boolean;
  /** Waiting for the model to finish loading before the first image is embedded. */
  waitingForModel: boolean;
  /** Waiting for another tab's import into the same project to end (tab-locks.ts). */
  waitingForTab: boolean;
  total: number;
  done: number;
  failed: number;
  /** Files skipped because the same image is already saved in (or queued for) their class. */
  duplicates: number;
  /** Images per second since embedding started in this run. */
  rate: number | null;
  /** Estimated seconds left. */
  etaS: number | null;
  errors: ImportError[];
  /** How the last run ended: null while running or before any run. */
  outcome: 'finished' | 'cancelled' | 'stopped' | null;
  /** Why the queue stopped early (model failed, storage full). */
  stopReason: string | null;
  /** The error code behind stopReason ('quota-exceeded' when the disk is full). */
  stopCode: string | null;
  /** Files inside dropped folders that were skipped because they are not images. */
  skipped: number;
}

export const initialImport: ImportState = {
  running: false,
  waitingForModel: false,
  waitingForTab: false,
  total: 0,
  done: 0,
  failed: 0,
  duplicates: 0,
  rate: null,
  etaS: null,
  errors: [],
  outcome: null,
  stopReason: null,
  stopCode: null,
  skipped: 0,
};

export const useImport = create<ImportState>(() => ({ ...initialImport }));

// ---- the tally: per-file counts, published in batches -------------------------------------------

const pending = { done: 0, failed: 0, duplicates: 0, errors: [] as ImportError[] };
let timer: ReturnType<typeof setTimeout> | null = null;
let clockStartedAt: number | null = null;

function schedule(): void {
  timer ??= setTimeout(publishCounts, PUBLISH_MS);
}

export function countSaved(n = 1): void {
  pending.done += n;
  schedule();
}

export function countDuplicate(n = 1): void {
  pending.duplicates += n;
  schedule();
}

export function countFailed(name: string, err: unknown): void {
  const { message, code } = serializeError(err);
  pending.failed++;
  if (pending.errors.length < MAX_LISTED_ERRORS) pending.errors.push({ name, message, code });
  schedule();
}

/** Starts the images/s clock (when the first image goes to the worker); null stops it. */
export function setRateClock(startedAt: number | null): void {
  clockStartedAt = startedAt;
}

export function rateClockRunning(): boolean {
  return clockStartedAt !== null;
}

/** Puts the counts gathered since the last call into the store (one update). */
export function publishCounts(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (pending.done + pending.failed + pending.duplicates === 0) return;
  const s = useImport.getState();
  const done = s.done + pending.done;
  const failed = s.failed + pending.failed;
  const duplicates = s.duplicates + pending.duplicates;
  const room = MAX_LISTED_ERRORS - s.errors.length;
  const errors =
    pending.errors.length > 0 && room > 0
      ? [...s.errors, ...pending.errors.slice(0, room)]
      : s.errors;
  pending.done = pending.failed = pending.duplicates = 0;
  pending.errors = [];
  let rate = s.rate;
  let etaS = s.etaS;
  const seconds = clockStartedAt === null ? 0 : (performance.now() - clockStartedAt) / 1000;
  const processed = done + failed + duplicates;
  if (seconds > 0 && processed > 0) {
    rate = processed / seconds;
    etaS = Math.max(0, s.total - processed) / rate;
  }
  useImport.setState({ done, failed, duplicates, errors, rate, etaS });
}
