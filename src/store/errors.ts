// Storage failures turned into errors people can act on. Nothing is stored here: this file maps
// what IndexedDB / Dexie throw (quota, schema from another tab, closed database, missing API) to
// GlimpseError, and every repository write goes through withStorageErrors().
//
// Shapes seen in the wild:
// - quota: a DOMException named 'QuotaExceededError' (Chromium, Safari, fake-indexeddb), Firefox's
//   'NS_ERROR_DOM_QUOTA_REACHED', or -- most often, since the transaction aborts -- a Dexie
//   AbortError whose `inner` is one of those. Bulk writes add BulkError / ModifyError `failures`.
// - another tab upgraded the schema: 'VersionError' (possibly as OpenFailedError.inner), or
//   'DatabaseClosedError' after our versionchange handler closed this connection.

import { GlimpseError } from '../shared/errors';

const QUOTA_NAMES = new Set(['QuotaExceededError', 'NS_ERROR_DOM_QUOTA_REACHED']);
/** Legacy DOMException codes: QUOTA_EXCEEDED_ERR (22) and Firefox's 1014. */
const QUOTA_CODES = new Set([22, 1014]);

export const QUOTA_MESSAGE =
  'Storage is full, so the last change was not saved. Nothing saved earlier was lost. ' +
  'To make room, export the project, delete some samples, or drop the original images ' +
  '(thumbnails and training data are kept).';

export const RELOAD_MESSAGE =
  'Glimpse was updated in another tab. Reload this page to continue; your saved work is safe.';

const NO_STORAGE_MESSAGE =
  'This browser does not let Glimpse store data (private browsing may block it). ' +
  'Your work cannot be saved in this window.';

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  inner?: unknown;
  failures?: unknown;
}

function asErrorLike(err: unknown): ErrorLike | null {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : null;
}

/** The error and everything wrapped inside it (Dexie's `inner`, bulk `failures`), breadth-first. */
function causes(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0 && out.length < 64) {
    const next = queue.shift();
    const e = asErrorLike(next);
    if (!e || seen.has(e)) continue;
    seen.add(e);
    out.push(e);
    if (e.inner !== undefined) queue.push(e.inner);
    if (Array.isArray(e.failures)) queue.push(...(e.failures as unknown[]).slice(0, 16));
  }
  return out;
}

function isQuota(e: ErrorLike): boolean {
  return (
    (typeof e.name === 'string' && QUOTA_NAMES.has(e.name)) ||
    (e.name !== 'AbortError' && typeof e.code === 'number' && QUOTA_CODES.has(e.code))
  );
}

function describe(err: unknown): string {
  const e = asErrorLike(err);
  if (!e) return String(err);
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : '';
  return message ? `${name}: ${message}` : name;
}

/** True when `err` (or anything it wraps) says the storage quota is exhausted. */
export function isQuotaError(err: unknown): boolean {
  if (err instanceof GlimpseError) return err.code === 'quota-exceeded';
  return causes(err).some(isQuota);
}

/** Maps anything a storage call threw to a GlimpseError. GlimpseErrors pass through unchanged. */
export function mapStorageError(err: unknown): GlimpseError {
  if (err instanceof GlimpseError) return err;
  const all = causes(err);
  const detail = describe(err);
  if (all.some(isQuota)) return new GlimpseError('quota-exceeded', QUOTA_MESSAGE, detail);
  const names = new Set(all.map((e) => e.name).filter((n): n is string => typeof n === 'string'));
  if (names.has('VersionError') || names.has('DatabaseClosedError')) {
    return new GlimpseError('internal', RELOAD_MESSAGE, detail);
  }
  if (names.has('MissingAPIError')) {
    return new GlimpseError('internal', NO_STORAGE_MESSAGE, detail);
  }
  return new GlimpseError('internal', `Could not read or save data: ${detail}`, detail);
}

/** Runs a storage call and rethrows any failure as a GlimpseError (see mapStorageError). */
export async function withStorageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapStorageError(err);
  }
}
