// Fine-tuned model repository (schema v5, TunedRow): a project's fine-tuned top-layer weights and
// the head trained with them, tied to the head fine-tuning started from. One per project: saving
// replaces the project's earlier ones in the same transaction (each can be 60 MB).

import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { requireProject, ro, rw, stamp, touch } from './tx';
import type { TunedRow } from './types';
import { newId } from './validate';

export type NewTuned = Omit<TunedRow, 'id' | 'projectId' | 'createdAt'>;

function check(t: NewTuned): void {
  const ok =
    typeof t.headId === 'string' &&
    typeof t.extractorKey === 'string' &&
    typeof t.fromLayer === 'string' &&
    Array.isArray(t.labels) &&
    Array.isArray(t.classNames) &&
    t.labels.length === t.classNames.length &&
    Array.isArray(t.weights) &&
    t.weights.length > 0 &&
    t.weights.every(
      (w) =>
        typeof w.name === 'string' &&
        Array.isArray(w.shape) &&
        (w.data instanceof Float32Array ? w.data.length : w.data.byteLength / 4) ===
          w.shape.reduce((a, b) => a * b, 1),
    );
  if (!ok) throw new GlimpseError('invalid-input', 'Cannot save this fine-tuned model: its weights or labels are malformed.');
}

/** A fine-tuned model as read back: its weights are always Float32Arrays. */
export type StoredTuned = Omit<TunedRow, 'weights'> & { weights: { name: string; shape: number[]; data: Float32Array }[] };

/** Weights as read back: always Float32Array (rows may hold ArrayBuffers). */
function normalise(row: TunedRow): StoredTuned {
  return {
    ...row,
    weights: row.weights.map((w) => ({ ...w, data: w.data instanceof Float32Array ? w.data : new Float32Array(w.data) })),
  };
}

export function tunedRepo(db: GlimpseDB) {
  return {
    /** Saves the project's fine-tuned model, deleting its earlier ones. */
    async save(projectId: string, tuned: NewTuned): Promise<TunedRow> {
      check(tuned);
      return rw(db, [db.projects, db.heads, db.tuned], async () => {
        await requireProject(db, projectId);
        if (!(await db.heads.get(tuned.headId))) {
          throw new GlimpseError('invalid-input', 'The head this model was fine-tuned from no longer exists; train again.');
        }
        await db.tuned.where('projectId').equals(projectId).delete();
        const row: TunedRow = { ...tuned, id: newId(), projectId, createdAt: stamp() };
        await db.tuned.add(row);
        await touch(db, projectId);
        return row;
      });
    },

    /** The fine-tuned model made from this head, if any. */
    async forHead(headId: string): Promise<StoredTuned | undefined> {
      const row = await ro(db, [db.tuned], () => db.tuned.where('headId').equals(headId).first());
      return row ? normalise(row) : undefined;
    },

    /** Id, head and metrics of the project's fine-tuned model (no weights), if any. */
    async summary(projectId: string): Promise<Omit<TunedRow, 'weights'> | undefined> {
      const rows = await ro(db, [db.tuned], () => db.tuned.where('projectId').equals(projectId).toArray());
      const row = rows.sort((a, b) => b.createdAt - a.createdAt)[0];
      if (!row) return undefined;
      const { weights: _weights, ...rest } = row;
      return rest;
    },

    async deleteForProject(projectId: string): Promise<void> {
      await rw(db, [db.tuned], () => db.tuned.where('projectId').equals(projectId).delete());
    },
  };
}

export type TunedRepo = ReturnType<typeof tunedRepo>;
