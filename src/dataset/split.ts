// Train/validation split that is stratified by class and stable per sample, as the classic
// retrain.py does with file names: a hash of the sample id alone decides its side, so adding
// samples never reshuffles the ones already there and validation numbers stay comparable.

import { GlimpseError } from '../shared/errors';
import { stableUnitHash } from './hash';

export interface SplitItem {
  id: string;
  classId: string;
}

/**
 * Splits `items` into train and validation sets, both in input order.
 *
 * An item goes to validation iff stableUnitHash(salt + id) < validationShare, with two per-class
 * fallbacks so that every class with >= 2 items is in both sets: if none of its items landed in
 * validation (and the share is > 0), the one with the smallest hash moves there; if all of them
 * did, the one with the largest hash moves back to train. A class with a single item stays in
 * train. Only these fallbacks can move an existing item when new items arrive, and only in small
 * classes.
 */
export function stratifiedSplit<T extends SplitItem>(
  items: readonly T[],
  validationShare: number,
  salt = '',
): { train: T[]; validation: T[] } {
  if (!(validationShare >= 0 && validationShare <= 1)) {
    throw new GlimpseError(
      'invalid-input',
      `The validation share must be between 0 and 1 (got ${validationShare}).`,
    );
  }

  const hashes = items.map((item) => stableUnitHash(salt + item.id));
  const inValidation = hashes.map((h) => h < validationShare);

  // Item indices per class, in input order (so ties go to the earliest item).
  const byClass = new Map<string, number[]>();
  items.forEach((item, i) => {
    const list = byClass.get(item.classId);
    if (list === undefined) byClass.set(item.classId, [i]);
    else list.push(i);
  });

  for (const indices of byClass.values()) {
    const first = indices[0];
    if (first === undefined) continue;
    if (indices.length === 1) {
      // One example cannot be both learned from and checked against: learn from it.
      inValidation[first] = false;
      continue;
    }
    const validCount = indices.reduce((n, i) => n + (inValidation[i] ? 1 : 0), 0);
    if (validCount === 0 && validationShare > 0) {
      inValidation[pick(indices, hashes, (a, b) => a < b)] = true;
    } else if (validCount === indices.length) {
      inValidation[pick(indices, hashes, (a, b) => a > b)] = false;
    }
  }

  const train: T[] = [];
  const validation: T[] = [];
  items.forEach((item, i) => (inValidation[i] ? validation : train).push(item));
  return { train, validation };
}

/** The index whose hash wins `better` against all others; the earliest on ties. */
function pick(
  indices: readonly number[],
  hashes: readonly number[],
  better: (a: number, b: number) => boolean,
): number {
  let best = indices[0] as number;
  for (const i of indices) {
    if (better(hashes[i] as number, hashes[best] as number)) best = i;
  }
  return best;
}
