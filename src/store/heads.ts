// Head repository: trained classifier heads (serialized weights + labels + metrics), newest last.
// Heads are history: deleting or renaming a class leaves old heads untouched, and each head keeps
// the class names it was trained with so it can still label its outputs.

import { Dexie } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { requireProject, ro, rw, stamp, touch } from './tx';
import { restoreHeadRow, type HeadMetrics, type StoredHead } from './restore';
import type { HeadRow } from './types';
import type { TrainedHead } from '../shared/head-format';
import { newId } from './validate';

export type NewHead = Pick<HeadRow, 'extractorKey' | 'labels' | 'classNames'> & { head: TrainedHead; metrics: Partial<HeadMetrics> | null };

function checkHead(head: NewHead): void {
  const ok =
    typeof head.extractorKey === 'string' &&
    head.extractorKey.length > 0 &&
    Array.isArray(head.labels) &&
    Array.isArray(head.classNames) &&
    head.labels.length === head.classNames.length &&
    head.labels.every((l) => typeof l === 'string') &&
    head.classNames.every((n) => typeof n === 'string');
  if (!ok) {
    throw new GlimpseError(
      'invalid-input',
      'Cannot save this model: its labels do not match its classes.',
    );
  }
}

export function headsRepo(db: GlimpseDB) {
  function newestFirst(projectId: string) {
    return db.heads
      .where('[projectId+createdAt]')
      .between([projectId, Dexie.minKey], [projectId, Dexie.maxKey])
      .reverse();
  }

  return {
    async save(projectId: string, head: NewHead): Promise<StoredHead> {
      checkHead(head);
      return rw(db, [db.projects, db.heads], async () => {
        await requireProject(db, projectId);
        const row: HeadRow = {
          id: newId(),
          projectId,
          createdAt: stamp(),
          extractorKey: head.extractorKey,
          labels: [...head.labels],
          classNames: [...head.classNames],
          head: head.head,
          metrics: head.metrics,
        };
        await db.heads.add(row);
        await touch(db, projectId);
        return restoreHeadRow(row);
      });
    },

    /** The most recently trained head of the project, if any. */
    async latest(projectId: string): Promise<StoredHead | undefined> {
      const row = await ro(db, [db.heads], () => newestFirst(projectId).first());
      return row && restoreHeadRow(row);
    },

    /** The most recently trained head of the project for one extractor (heads are kept per extractor). */
    async latestFor(projectId: string, extractorKey: string): Promise<StoredHead | undefined> {
      const row = await ro(db, [db.heads], () =>
        newestFirst(projectId)
          .filter((h) => h.extractorKey === extractorKey)
          .first(),
      );
      return row && restoreHeadRow(row);
    },

    /** All heads of the project, newest first. */
    async list(projectId: string): Promise<StoredHead[]> {
      const rows = await ro(db, [db.heads], () => newestFirst(projectId).toArray());
      return rows.map(restoreHeadRow);
    },

    async delete(headId: string): Promise<void> {
      await rw(db, [db.heads], () => db.heads.delete(headId));
    },
  };
}

export type HeadsRepo = ReturnType<typeof headsRepo>;
