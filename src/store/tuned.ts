// Fine-tuned model repository (schema v5, TunedRow): a project's fine-tuned top-layer weights and
// the head trained with them, tied to the head fine-tuning started from. One per project: saving
// replaces the project's earlier ones in the same transaction (each can be 60 MB).

import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { requireProject, ro, rw, stamp, touch } from './tx';
import { restoreTunedRow, type StoredTuned, type TunedMetrics } from './restore';
import type { TunedRow } from './types';
import type { TrainedHead } from '../shared/head-format';
import { newId } from './validate';

export type NewTuned = Omit<TunedRow, 'id' | 'projectId' | 'createdAt' | 'head' | 'metrics'> & { head: TrainedHead; metrics: TunedMetrics };

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

export type { StoredTuned };

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
      return row ? restoreTunedRow(row) : undefined;
    },

    /** Id, head and metrics of the project's fine-tuned model (no weights), if any. */
    async summary(projectId: string): Promise<Omit<StoredTuned, 'weights'> | undefined> {
      const rows = await ro(db, [db.tuned], () => db.tuned.where('projectId').equals(projectId).toArray());
      const row = rows.sort((a, b) => b.createdAt - a.createdAt)[0];
      if (!row) return undefined;
      const { weights: _weights, ...rest } = restoreTunedRow({ ...row, weights: [] });
      return rest;
    },

    async deleteForProject(projectId: string): Promise<void> {
      await rw(db, [db.tuned], () => db.tuned.where('projectId').equals(projectId).delete());
    },
  };
}

export type TunedRepo = ReturnType<typeof tunedRepo>;
