// Input checks shared by the repositories. Nothing is stored here: names, colours, ids and vectors
// are checked before any transaction starts, so a bad argument never half-writes anything.

import { GlimpseError } from '../shared/errors';

export const NAME_MAX_CHARS = 100;

/**
 * Trims `raw` and checks it has 1..100 characters (code points, so an emoji counts once). Any
 * characters are allowed, HTML included: names are always rendered as text.
 */
export function normalizeName(raw: unknown, what: string): string {
  if (typeof raw !== 'string') {
    throw new GlimpseError('invalid-input', `The ${what} name must be text.`);
  }
  const name = raw.trim();
  const length = [...name].length;
  if (length === 0) throw new GlimpseError('invalid-input', `The ${what} name cannot be empty.`);
  if (length > NAME_MAX_CHARS) {
    throw new GlimpseError(
      'invalid-input',
      `The ${what} name is too long (${length} characters; at most ${NAME_MAX_CHARS}).`,
    );
  }
  return name;
}

/** Distinct, readable on light and dark backgrounds; class N gets PALETTE[N % length]. */
export const PALETTE: readonly string[] = Object.freeze([
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
]);

export function paletteColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#4e79a7';
}

/** Accepts '#rrggbb' in any case and returns it in lower case. */
export function normalizeColor(raw: unknown): string {
  if (typeof raw !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(raw)) {
    throw new GlimpseError('invalid-input', `Colours must look like #1a2b3c (got ${String(raw)}).`);
  }
  return raw.toLowerCase();
}

export function newId(): string {
  return crypto.randomUUID();
}

/**
 * The stored vector as a Float32Array (views share the stored buffer; nothing is copied), or null
 * when it is not a readable vector at all.
 */
export function toFloat32(vector: unknown): Float32Array | null {
  if (vector instanceof Float32Array) return vector;
  if (vector instanceof ArrayBuffer) {
    return vector.byteLength % 4 === 0 ? new Float32Array(vector) : null;
  }
  if (Array.isArray(vector) && vector.every((v) => typeof v === 'number')) {
    return Float32Array.from(vector as number[]);
  }
  return null;
}

/** True when every entry is a finite number (no NaN, no +-Infinity). */
export function allFinite(v: Float32Array): boolean {
  // x - x is 0 for a finite x and NaN for NaN or +-Infinity, and NaN survives the sum: one check
  // at the end instead of one per value (this runs on every vector a training reads).
  let acc = 0;
  for (let i = 0; i < v.length; i++) acc += v[i]! - v[i]!;
  return acc === 0;
}

/** Checks an embedding before it is written; returns the Float32Array to store. */
export function checkVector(vector: unknown, sampleId: string): Float32Array {
  const v = toFloat32(vector);
  if (!v || v.length === 0) {
    throw new GlimpseError(
      'invalid-input',
      `The embedding of sample ${sampleId} is empty or unreadable.`,
    );
  }
  if (!allFinite(v)) {
    throw new GlimpseError(
      'invalid-input',
      `The embedding of sample ${sampleId} contains NaN or Infinity.`,
    );
  }
  // A compact copy: structured clone stores a view's whole buffer (a subarray of a batch would
  // store the batch), and the caller may reuse or transfer its array afterwards.
  return v.slice();
}

export function checkIds(ids: readonly unknown[], what: string): string[] {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.length === 0)) {
    throw new GlimpseError('invalid-input', `Expected a list of ${what} ids.`);
  }
  return [...new Set(ids as string[])];
}
