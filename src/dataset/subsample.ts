// The rows a very large project trains its head on (issue 21). Up to MAX_TRAINING_ROWS rows every
// row is used (nothing changes for the projects every accuracy number was measured on); above it,
// a class-balanced subsample of exactly MAX_TRAINING_ROWS rows: classes smaller than the common
// quota keep every row, the others keep the quota's worth of rows with the smallest stable hash of
// their id (so the same rows are picked on every run and adding samples moves few of them). The
// app reads only the picked rows from IndexedDB and the worker holds only them: its memory and the
// training time stay bounded whatever the project's size. The head's class weighting already
// balances the classes, so a balanced subsample does not change what the loss weighs.
import { GlimpseError } from '../shared/errors';
import { stableUnitHash } from './hash';

/**
 * Rows above which the head trains on a subsample: 100,000 x 1,280 floats = 488 MiB staged in the
 * worker. Below it every row is used: sets above 12,000 rows are fitted a page at a time
 * (train/head-paged.ts), so the worker holds the rows once and the backend one page of them.
 */
export const MAX_TRAINING_ROWS = 100_000;

/**
 * Indices (ascending) of the rows to train on, or null when all `classIds.length` rows are used
 * (at most maxRows of them). Every class keeps at least one row.
 */
export function trainingSubsample(
  ids: readonly string[],
  classIds: readonly string[],
  maxRows: number = MAX_TRAINING_ROWS,
): number[] | null {
  if (ids.length !== classIds.length) {
    throw new GlimpseError('internal', `Subsample of ${ids.length} ids with ${classIds.length} classes.`);
  }
  if (!(Number.isInteger(maxRows) && maxRows >= 1)) {
    throw new GlimpseError('invalid-input', `The training row limit must be a positive integer (got ${maxRows}).`);
  }
  if (ids.length <= maxRows) return null;
  const byClass = new Map<string, number[]>();
  classIds.forEach((c, i) => {
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  });
  const quota = waterLevel(
    [...byClass.values()].map((l) => l.length),
    Math.max(maxRows, byClass.size),
  );
  const keep: number[] = [];
  for (const rows of byClass.values()) {
    const q = quota(rows.length);
    if (q >= rows.length) {
      keep.push(...rows);
      continue;
    }
    const hashed = rows.map((r) => ({ r, h: stableUnitHash(`subsample:${ids[r]!}`) }));
    hashed.sort((a, b) => a.h - b.h || a.r - b.r);
    for (let i = 0; i < q; i++) keep.push(hashed[i]!.r);
  }
  return keep.sort((a, b) => a - b);
}

/**
 * How many rows each class keeps so that they add up to exactly `total`: min(count, level), with
 * the rows the integer level leaves over given one each to the largest classes (ties: the first).
 */
function waterLevel(counts: readonly number[], total: number): (count: number) => number {
  const sorted = [...counts].sort((a, b) => a - b);
  let left = total;
  let level = 0;
  let i = 0;
  for (; i < sorted.length; i++) {
    const fair = Math.floor(left / (sorted.length - i));
    if (sorted[i]! > fair) {
      level = fair;
      break;
    }
    left -= sorted[i]!;
  }
  if (i === sorted.length) return (c) => c; // everything fits (not reached: caller checks)
  // Classes above the level, in input order, get one extra row each while rows are left over.
  let extra = left - level * (sorted.length - i);
  return (c) => {
    if (c <= level) return c;
    if (extra > 0) {
      extra -= 1;
      return level + 1;
    }
    return level;
  };
}
