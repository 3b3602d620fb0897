// Class repository: the `classes` rows and the project's classOrder, kept in step (ClassRow.order
// is always the class's index in ProjectRow.classOrder). Deleting a class removes its samples and
// embeddings in the same transaction and hands them back, so the UI can offer "undo".

import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { requireProject, ro, rw, stamp, touch } from './tx';
import type { ClassRow, EmbeddingRow, SampleRow } from './types';
import { checkIds, newId, normalizeColor, normalizeName, paletteColor } from './validate';

/** Everything delete() removed: pass it to restoreDeleted() to put it back exactly. */
export interface DeletedClass {
  kind: 'class';
  cls: ClassRow;
  /** Position of the class in the project's classOrder when it was deleted. */
  index: number;
  samples: SampleRow[];
  embeddings: EmbeddingRow[];
}

/** Rewrites ClassRow.order so it matches the project's classOrder. Inside an rw transaction. */
async function syncOrder(db: GlimpseDB, projectId: string, classOrder: string[]): Promise<void> {
  await db.projects.update(projectId, { classOrder, updatedAt: stamp() });
  const rows = await db.classes.where('projectId').equals(projectId).toArray();
  const position = new Map(classOrder.map((id, i) => [id, i]));
  for (const row of rows) {
    const order = position.get(row.id) ?? classOrder.length;
    if (row.order !== order) await db.classes.update(row.id, { order });
  }
}

async function requireClass(db: GlimpseDB, classId: string): Promise<ClassRow> {
  const cls = await db.classes.get(classId);
  if (!cls) throw new GlimpseError('invalid-input', 'This class no longer exists.', classId);
  return cls;
}

export function classesRepo(db: GlimpseDB) {
  return {
    /** Adds a class at the end of the project's order; colour defaults to the next palette entry. */
    async add(projectId: string, name: string, color?: string): Promise<ClassRow> {
      const clean = normalizeName(name, 'class');
      const chosen = color === undefined ? undefined : normalizeColor(color);
      return rw(db, [db.projects, db.classes], async () => {
        const project = await requireProject(db, projectId);
        const row: ClassRow = {
          id: newId(),
          projectId,
          name: clean,
          color: chosen ?? paletteColor(project.classOrder.length),
          order: project.classOrder.length,
          createdAt: stamp(),
        };
        await db.classes.add(row);
        await syncOrder(db, projectId, [...project.classOrder, row.id]);
        return row;
      });
    },

    get(classId: string): Promise<ClassRow | undefined> {
      return ro(db, [db.classes], () => db.classes.get(classId));
    },

    /** The project's classes in display order. */
    list(projectId: string): Promise<ClassRow[]> {
      return ro(db, [db.classes], async () => {
        const rows = await db.classes.where('projectId').equals(projectId).toArray();
        return rows.sort((a, b) => a.order - b.order || a.createdAt - b.createdAt);
      });
    },

    async rename(classId: string, name: string): Promise<void> {
      const clean = normalizeName(name, 'class');
      await rw(db, [db.projects, db.classes], async () => {
        const cls = await requireClass(db, classId);
        await db.classes.update(classId, { name: clean });
        await touch(db, cls.projectId);
      });
    },

    async setColor(classId: string, color: string): Promise<void> {
      const clean = normalizeColor(color);
      await rw(db, [db.projects, db.classes], async () => {
        const cls = await requireClass(db, classId);
        await db.classes.update(classId, { color: clean });
        await touch(db, cls.projectId);
      });
    },

    /** `orderedIds` must be exactly the project's class ids, in the new order. */
    async reorder(projectId: string, orderedIds: string[]): Promise<void> {
      const ids = checkIds(orderedIds, 'class');
      await rw(db, [db.projects, db.classes], async () => {
        await requireProject(db, projectId);
        const existing = await db.classes.where('projectId').equals(projectId).primaryKeys();
        const known = new Set(existing);
        if (
          ids.length !== orderedIds.length ||
          ids.length !== known.size ||
          !ids.every((id) => known.has(id))
        ) {
          throw new GlimpseError(
            'invalid-input',
            'The class list changed while reordering. Please try again.',
          );
        }
        await syncOrder(db, projectId, ids);
      });
    },

    /** Deletes the class with its samples and embeddings in one transaction; returns them for undo. */
    async delete(classId: string): Promise<DeletedClass> {
      return rw(db, [db.projects, db.classes, db.samples, db.embeddings], async () => {
        const cls = await requireClass(db, classId);
        const project = await db.projects.get(cls.projectId);
        const samples = await db.samples.where('classId').equals(classId).toArray();
        const sampleIds = samples.map((s) => s.id);
        const embeddings = (await db.embeddings.bulkGet(sampleIds)).filter(
          (e): e is EmbeddingRow => e !== undefined,
        );
        await db.embeddings.bulkDelete(sampleIds);
        await db.samples.bulkDelete(sampleIds);
        await db.classes.delete(classId);
        const order = project?.classOrder ?? [];
        const index = order.indexOf(classId);
        if (project) {
          await syncOrder(
            db,
            project.id,
            order.filter((id) => id !== classId),
          );
        }
        return { kind: 'class', cls, index: index < 0 ? cls.order : index, samples, embeddings };
      });
    },

    /**
     * Puts a deleted class back with its samples and embeddings, at its old position, in one
     * transaction. Running it twice is harmless. Fails (writing nothing) if the project is gone.
     */
    async restoreDeleted(deleted: DeletedClass): Promise<void> {
      const { cls, samples, embeddings } = deleted;
      await rw(db, [db.projects, db.classes, db.samples, db.embeddings], async () => {
        const project = await requireProject(db, cls.projectId);
        await db.classes.put(cls);
        await db.samples.bulkPut(samples);
        await db.embeddings.bulkPut(embeddings);
        const order = project.classOrder.filter((id) => id !== cls.id);
        order.splice(Math.min(Math.max(deleted.index, 0), order.length), 0, cls.id);
        await syncOrder(db, cls.projectId, order);
      });
    },
  };
}

export type ClassesRepo = ReturnType<typeof classesRepo>;
