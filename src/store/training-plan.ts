// Pure validation behind loadTrainingSet(): decides, from rows already read, which embeddings go
// into the packed training matrix, which samples still need an embedding, and which rows are
// corrupt and must be quarantined (with a reason a person can read). Nothing is stored here.

import { GlimpseError } from '../shared/errors';
import type { ClassRow, EmbeddingRow } from './types';
import { allFinite, toFloat32 } from './validate';

export interface TrainingPlanInput {
  classOrder: readonly string[];
  classes: readonly ClassRow[];
  /** Every sample of the project: id and class id only. */
  samples: readonly { id: string; classId: string }[];
  /** The project's embeddings for the requested extractor key. */
  embeddings: readonly EmbeddingRow[];
  /** Sample ids of all the project's embeddings, any key (to find orphans). */
  allEmbeddingIds: readonly string[];
  expectedDim?: number | undefined;
}

export interface BadRow {
  id: string;
  reason: string;
}

export interface TrainingPlan {
  result: {
    ids: string[];
    classIds: string[];
    dim: number;
    x: Float32Array;
    missing: string[];
    quarantined: number;
  };
  /** Samples to quarantine (their embeddings, any key, go with them). */
  badSamples: BadRow[];
  /** Embeddings to quarantine whose sample stays. */
  badEmbeddings: BadRow[];
}

/** Class ids in training order: the project's classOrder, then any class it forgot. */
function orderedClasses(classOrder: readonly string[], classes: readonly ClassRow[]): string[] {
  const known = new Set(classes.map((c) => c.id));
  const ordered = classOrder.filter((id) => known.has(id));
  const listed = new Set(ordered);
  const rest = classes
    .filter((c) => !listed.has(c.id))
    .sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1))
    .map((c) => c.id);
  return [...new Set([...ordered, ...rest])];
}

/** The most common value (first seen wins a tie), or 0 for an empty list. */
function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  let best = 0;
  let bestCount = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

export function planTrainingSet(input: TrainingPlanInput): TrainingPlan {
  const { expectedDim } = input;
  if (expectedDim !== undefined && !(Number.isInteger(expectedDim) && expectedDim > 0)) {
    throw new GlimpseError('invalid-input', `Invalid embedding size: ${expectedDim}.`);
  }
  const classOrder = orderedClasses(input.classOrder, input.classes);

  const badSamples: BadRow[] = [];
  const byClass = new Map<string, string[]>(classOrder.map((id) => [id, []]));
  const allSamples = new Set<string>();
  for (const s of input.samples) {
    allSamples.add(s.id);
    const list = byClass.get(s.classId);
    if (list) list.push(s.id);
    else
      badSamples.push({ id: s.id, reason: `its class ${s.classId || '(none)'} no longer exists` });
  }
  const badSampleIds = new Set(badSamples.map((b) => b.id));

  const badEmbeddings: BadRow[] = [];
  for (const id of input.allEmbeddingIds) {
    if (!allSamples.has(id)) badEmbeddings.push({ id, reason: 'its sample no longer exists' });
  }

  // First pass: readable vectors whose length matches their own dim.
  const candidates = new Map<string, Float32Array>();
  for (const row of input.embeddings) {
    if (!allSamples.has(row.sampleId) || badSampleIds.has(row.sampleId)) continue;
    const v = toFloat32(row.vector);
    if (!v) {
      badEmbeddings.push({ id: row.sampleId, reason: 'the vector is unreadable' });
    } else if (v.length !== row.dim || v.length === 0) {
      badEmbeddings.push({
        id: row.sampleId,
        reason: `the vector has ${v.length} values but is marked as ${String(row.dim)}`,
      });
    } else {
      candidates.set(row.sampleId, v);
    }
  }

  const dim = expectedDim ?? mode([...candidates.values()].map((v) => v.length));
  const good = new Map<string, Float32Array>();
  for (const [id, v] of candidates) {
    if (v.length !== dim) {
      badEmbeddings.push({ id, reason: `the vector has ${v.length} values, expected ${dim}` });
    } else if (!allFinite(v)) {
      badEmbeddings.push({ id, reason: 'the vector contains NaN or Infinity' });
    } else {
      good.set(id, v);
    }
  }

  const ids: string[] = [];
  const classIds: string[] = [];
  const missing: string[] = [];
  for (const classId of classOrder) {
    for (const id of byClass.get(classId) ?? []) {
      if (good.has(id)) {
        ids.push(id);
        classIds.push(classId);
      } else {
        missing.push(id);
      }
    }
  }
  const x = new Float32Array(ids.length * dim);
  ids.forEach((id, i) => x.set(good.get(id) as Float32Array, i * dim));

  return {
    result: {
      ids,
      classIds,
      dim,
      x,
      missing,
      quarantined: badSamples.length + badEmbeddings.length,
    },
    badSamples,
    badEmbeddings,
  };
}
