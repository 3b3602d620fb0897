// Which rows a fit reads and when, as plain arithmetic on ids and labels (no backend, no
// vectors): fitHead (fit.ts) and the app's training (state/training.ts) both use it, so the page
// can read from IndexedDB first exactly the rows the worker's fit needs first. A large fit
// (issue 21) starts from the optimum of every m-th training row (the warm start, head-paged.ts)
// validated on the validation rows; those rows are all it needs until the warm start ends, so
// the rest of the set can be read while the warm start runs.
import { stratifiedSplit } from '../dataset/split';
import type { HeadSettings } from './head-types';

/**
 * Above this many samples a fit is "large" (issue 21: projects of 50,000): its validation split
 * holds about MAX_VALIDATION_ROWS samples (a share of 2,500 of 50,000 by id hash, still 25 a class over 100
 * classes) and the head is not refitted on every row afterwards: the refit would add back only
 * that 5 % while doubling the training time. Up to it nothing changes (every accuracy number in the
 * README was measured there).
 */
export const LARGE_SET_ROWS = 12_000;
export const MAX_VALIDATION_ROWS = 2_500;

/**
 * Early-stopping patience of a large fit whose settings have none: without a refit the head kept
 * is the epoch with the best validation loss, so iterations long past it are only waiting (each
 * one a full pass over 50,000 rows, ~1 s here). On 47,500 synthetic rows (the bench hook
 * trainSynthetic) the validation loss bottomed out at iteration 6 of 22; with 2,000 real photos
 * among 50,000 rows it kept falling slowly until ~18.
 */
export const LARGE_SET_PATIENCE = 5;

/** Training rows x features above which fits evaluate a page at a time (12,000 x 1,280). */
export const PAGED_MIN_VALUES = 12_000 * 1280;

/**
 * Rows of the warm-start subset: a large fit first runs L-BFGS on every m-th training row (about
 * this many), then continues from that optimum on all rows. Each iteration over 50,000 rows costs
 * ~1.2 s here (two 4,096 x 1,280 x 100 products a page, one WASM thread: XNNPACK's threads do
 * not speed up TF.js's matMul), one over 8,000 a sixth of it, and from the subset's optimum the
 * full set needs far fewer iterations than from zero.
 */
export const WARM_START_ROWS = 8_000;

/** The validation share a fit of n samples uses: the setting, capped at MAX_VALIDATION_ROWS above LARGE_SET_ROWS. */
export function validationShareFor(n: number, share: number): number {
  return n > LARGE_SET_ROWS ? Math.min(share, MAX_VALIDATION_ROWS / n) : share;
}

/** The stride m of a warm start over nTrain rows (every m-th row), or 0 when there is none (m < 2). */
export function warmStride(nTrain: number, warmRows = WARM_START_ROWS): number {
  const m = Math.floor(nTrain / Math.max(1, warmRows));
  return m >= 2 ? m : 0;
}

/** Whether a head fit of n training rows runs L-BFGS (softmax, full batch) rather than Adam. */
export function usesLbfgs(s: Pick<HeadSettings, 'kind' | 'batchSize'>, n: number): boolean {
  return s.kind === 'softmax' && (s.batchSize === 0 || s.batchSize >= n);
}

/** fitHead's split of rows 0..n-1 (sample ids and labels): row indices, each side in input order. */
export function fitSplit(
  ids: readonly string[],
  labels: ArrayLike<number>,
  validationShare: number,
): { train: number[]; validation: number[] } {
  const items = ids.map((id, row) => ({ id, classId: String(labels[row]), row }));
  const { train, validation } = stratifiedSplit(items, validationShareFor(ids.length, validationShare));
  return { train: train.map((t) => t.row), validation: validation.map((v) => v.row) };
}

/**
 * The rows a default-recipe fit of these samples needs before its warm start (the validation rows
 * and every m-th training row), ascending, or null when the fit has no warm start and needs every
 * row at once. `augmentIds`: the samples of the fit's augmentation variants, one entry a variant
 * (the variants of training samples count among the training rows the stride is taken over).
 * Mirrors head-train.ts: a paged L-BFGS fit above PAGED_MIN_VALUES values with warmStride >= 2.
 */
export function rowsBeforeWarmStart(
  ids: readonly string[],
  labels: ArrayLike<number>,
  settings: Pick<HeadSettings, 'kind' | 'batchSize' | 'validationShare'>,
  opts: { dim: number; augmentIds?: readonly string[]; warmRows?: number; pagedMinValues?: number },
): number[] | null {
  const { train, validation } = fitSplit(ids, labels, settings.validationShare);
  const trainIds = new Set(train.map((r) => ids[r]!));
  const nTrain = train.length + (opts.augmentIds ?? []).filter((id) => trainIds.has(id)).length;
  if (!usesLbfgs(settings, nTrain)) return null;
  if ((nTrain + validation.length) * opts.dim <= (opts.pagedMinValues ?? PAGED_MIN_VALUES)) return null;
  const m = warmStride(nTrain, opts.warmRows);
  if (m === 0) return null;
  const rows = [...validation];
  for (let i = 0; i < train.length; i += m) rows.push(train[i]!);
  return rows.sort((a, b) => a - b);
}
