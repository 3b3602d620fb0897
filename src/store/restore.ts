// Rows of the tables whose values are opaque to IndexedDB (heads, tuned) come back typed: one
// restore function per table turns what was stored, by this version or an older one, into checked
// values, so no reader casts. A value that cannot be used (a head of an older format, a malformed
// row) is reported as `problem` with the row's other fields intact, never thrown at the reader
// and never silently treated as valid.
import { GlimpseError } from '../shared/errors';
import { isFiniteNumber, restoreHead, restoreMetrics, restoreSettings, type HeadSettings, type Metrics, type TrainedHead } from '../shared/head-format';
import type { HeadRow, TunedRow } from './types';

/** One validation row of a head, so its confusion cells lead back to the sample after a reload. */
export interface ReviewedRow {
  sampleId: string;
  trueIndex: number;
  predIndex: number;
  confidence: number;
}

/** What training stores with a head. Rows saved before a field existed get its empty value. */
export interface HeadMetrics {
  validation: Metrics | null;
  trainMs: number;
  settings: HeadSettings | null;
  reviewed: ReviewedRow[];
  nTrain: number;
  nAugmented: number;
}

export interface FineTuneEpochRow {
  epoch: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
}

/** What fine-tuning stores with its model. */
export interface TunedMetrics {
  history: FineTuneEpochRow[];
  /** Epoch whose weights were kept; 0: the network as shipped. */
  bestEpoch: number;
  epochs: number;
  /** Validation accuracy of the head on the shipped network, and of the kept model. */
  before: number | null;
  after: number | null;
  nTrain: number;
  nValidation: number;
  trainMs: number;
  learningRate: number | null;
  /** The recipe's settings (train/finetune-recipe.ts) when it was made; absent in older rows. */
  recipe?: Record<string, unknown>;
}

/** A head row as read: head null (and problem set) when the stored value is not a usable head. */
export type StoredHead = Omit<HeadRow, 'head' | 'metrics'> & { head: TrainedHead | null; metrics: HeadMetrics; problem: string | null };

/** A fine-tuned model as read: weights always Float32Arrays; head null (problem set) if unusable. */
export type StoredTuned = Omit<TunedRow, 'weights' | 'head' | 'metrics'> & {
  weights: { name: string; shape: number[]; data: Float32Array }[];
  head: TrainedHead | null;
  metrics: TunedMetrics;
  problem: string | null;
};

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
const share = (v: unknown): number | null => (isFiniteNumber(v) && v >= 0 && v <= 1 ? v : null);
const messageOf = (err: unknown): string => (err instanceof GlimpseError ? err.message : String(err));

/** The head, or why it cannot be used (older rows held other formats, e.g. `{ kind, weights }`). */
function headOf(raw: unknown, numClasses: number): { head: TrainedHead | null; problem: string | null } {
  try {
    const head = restoreHead(raw);
    if (head.numClasses !== numClasses) return { head: null, problem: `The saved model has ${head.numClasses} outputs for ${numClasses} classes.` };
    return { head, problem: null };
  } catch (err) {
    return { head: null, problem: `The saved model cannot be read (${messageOf(err)}); train again.` };
  }
}

/** Stored head metrics; each field that is missing or malformed gets its empty value. */
export function restoreHeadMetrics(raw: unknown, numClasses: number): HeadMetrics {
  const m = record(raw) ?? {};
  let validation: Metrics | null = null;
  try {
    validation = m.validation === null || m.validation === undefined ? null : restoreMetrics(m.validation, numClasses);
  } catch {
    validation = null;
  }
  let settings: HeadSettings | null = null;
  try {
    settings = m.settings === undefined || m.settings === null ? null : restoreSettings(m.settings);
  } catch {
    settings = null;
  }
  const reviewed: ReviewedRow[] = [];
  if (Array.isArray(m.reviewed)) {
    for (const r of m.reviewed as unknown[]) {
      const o = record(r);
      const inRange = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < numClasses;
      if (o && typeof o.sampleId === 'string' && inRange(o.trueIndex) && inRange(o.predIndex) && share(o.confidence) !== null) {
        reviewed.push({ sampleId: o.sampleId, trueIndex: o.trueIndex as number, predIndex: o.predIndex as number, confidence: o.confidence as number });
      }
    }
  }
  return { validation, trainMs: isFiniteNumber(m.trainMs) && m.trainMs >= 0 ? m.trainMs : 0, settings, reviewed, nTrain: count(m.nTrain), nAugmented: count(m.nAugmented) };
}

/** A stored head row of any schema version. */
export function restoreHeadRow(row: HeadRow): StoredHead {
  const { head, problem } = headOf(row.head, row.labels.length);
  return { ...row, head, problem, metrics: restoreHeadMetrics(row.metrics, row.labels.length) };
}

export function restoreTunedMetrics(raw: unknown): TunedMetrics {
  const m = record(raw) ?? {};
  const history: FineTuneEpochRow[] = [];
  if (Array.isArray(m.history)) {
    for (const e of m.history as unknown[]) {
      const o = record(e);
      if (!o || !isFiniteNumber(o.epoch) || !isFiniteNumber(o.loss)) continue;
      const row: FineTuneEpochRow = { epoch: o.epoch, loss: o.loss };
      if (isFiniteNumber(o.valLoss)) row.valLoss = o.valLoss;
      if (share(o.valAccuracy) !== null) row.valAccuracy = o.valAccuracy as number;
      history.push(row);
    }
  }
  return {
    history,
    bestEpoch: count(m.bestEpoch),
    epochs: typeof m.epochs === 'number' ? count(m.epochs) : history.length,
    before: share(m.before),
    after: share(m.after),
    nTrain: count(m.nTrain),
    nValidation: count(m.nValidation),
    trainMs: isFiniteNumber(m.trainMs) && m.trainMs >= 0 ? m.trainMs : 0,
    learningRate: isFiniteNumber(m.learningRate) && m.learningRate > 0 ? m.learningRate : null,
    ...(isPlainRecipe(m.recipe) ? { recipe: m.recipe } : {}),
  };
}

/** A small object of numbers, strings and booleans, one level of nesting (the recipe's settings). */
function isPlainRecipe(v: unknown): v is Record<string, unknown> {
  const leaf = (x: unknown) => typeof x === 'string' || typeof x === 'boolean' || isFiniteNumber(x);
  const o = record(v);
  return !!o && Object.values(o).every((x) => leaf(x) || (record(x) !== null && Object.values(record(x)!).every(leaf)));
}

/** A stored fine-tuned model: weights as Float32Arrays (rows may hold ArrayBuffers), typed head and metrics. */
export function restoreTunedRow(row: TunedRow): StoredTuned {
  const { head, problem } = headOf(row.head, row.labels.length);
  return {
    ...row,
    weights: row.weights.map((w) => ({ ...w, data: w.data instanceof Float32Array ? w.data : new Float32Array(w.data) })),
    head,
    problem,
    metrics: restoreTunedMetrics(row.metrics),
  };
}
