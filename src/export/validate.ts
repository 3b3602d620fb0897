// Field checks for untrusted archive content: names (any characters, HTML included; they are only
// ever rendered as text), colours, plain JSON values and training metrics.
import { GlimpseError } from '../shared/errors';
import { normalizeColor, normalizeName } from '../store/validate';
import { isFiniteNumber, restoreMetrics, type HeadSettings, type Metrics } from '../shared/head-format';
import { archiveError } from './zip-read';

export interface HeadMetrics {
  validation: Metrics | null;
  trainMs: number;
  settings?: HeadSettings;
}

function rethrow(err: unknown, prefix: string): never {
  throw archiveError(`${prefix}: ${err instanceof GlimpseError ? err.message : String(err)}`);
}

export function checkName(v: unknown, what: 'class' | 'project'): string {
  try {
    return normalizeName(v, what);
  } catch (err) {
    rethrow(err, `A ${what} name in the archive is invalid`);
  }
}

export function checkColor(v: unknown): string {
  try {
    return normalizeColor(v);
  } catch (err) {
    rethrow(err, 'A class colour in the archive is invalid');
  }
}

/** True for a JSON object (not array) of plain JSON values, at most maxNodes values deep and wide. */
export function isPlainJson(v: unknown, maxNodes: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let nodes = 0;
  const walk = (x: unknown, depth: number): boolean => {
    if (++nodes > maxNodes || depth > 32) return false;
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return true;
    if (typeof x === 'number') return Number.isFinite(x);
    if (Array.isArray(x)) return x.every((y) => walk(y, depth + 1));
    if (typeof x === 'object') return Object.getPrototypeOf(x) === Object.prototype && Object.values(x).every((y) => walk(y, depth + 1));
    return false;
  };
  return walk(v, 0);
}

/** The metrics saved with a head: validation metrics sized for numClasses (or null). */
export function checkMetrics(v: unknown, numClasses: number): HeadMetrics | null {
  if (v === null || v === undefined) return null;
  const bad = () => archiveError('The head’s metrics are malformed.');
  if (typeof v !== 'object' || Array.isArray(v)) throw bad();
  const o = v as Record<string, unknown>;
  const trainMs = o.trainMs === undefined ? 0 : o.trainMs;
  if (!isFiniteNumber(trainMs)) throw bad();
  let validation: Metrics | null = null;
  if (o.validation !== null && o.validation !== undefined) {
    try {
      validation = restoreMetrics(o.validation, numClasses);
    } catch {
      throw bad();
    }
  }
  return { validation, trainMs };
}
