// Project repository: the `projects` rows, and the whole-project operations that touch every
// table at once (duplicate, delete), each in one transaction.

import type { GlimpseDB } from './db';
import { requireProject, ro, rw, stamp } from './tx';
import type { ClassRow, EmbeddingRow, ProjectRow, SampleRow } from './types';
import { NAME_MAX_CHARS, newId, normalizeName } from './validate';
import { GlimpseError } from '../shared/errors';

function checkExtractor(extractorId: unknown, extractorKey: unknown): void {
  if (
    typeof extractorId !== 'string' ||
    !extractorId ||
    typeof extractorKey !== 'string' ||
    !extractorKey
  ) {
    throw new GlimpseError('invalid-input', 'A project needs an extractor id and key.');
  }
}

function copyName(name: string): string {
  const suffix = ' (copy)';
  const chars = [...name];
  const room = NAME_MAX_CHARS - suffix.length;
  return (chars.length > room ? chars.slice(0, room).join('').trimEnd() : name) + suffix;
}

export function projectsRepo(db: GlimpseDB) {
  return {
    async create(
      name: string,
      extractorId: string,
      extractorKey: string,
      settings: Record<string, unknown> = {},
    ): Promise<ProjectRow> {
      const clean = normalizeName(name, 'project');
      checkExtractor(extractorId, extractorKey);
      const at = stamp();
      const row: ProjectRow = {
        id: newId(),
        name: clean,
        createdAt: at,
        updatedAt: at,
        extractorId,
        extractorKey,
        classOrder: [],
        settings: { ...settings },
      };
      await rw(db, [db.projects], () => db.projects.add(row));
      return row;
    },

    get(projectId: string): Promise<ProjectRow | undefined> {
      return ro(db, [db.projects], () => db.projects.get(projectId));
    },

    /** All projects, most recently changed first. */
    list(): Promise<ProjectRow[]> {
      return ro(db, [db.projects], () => db.projects.orderBy('updatedAt').reverse().toArray());
    },

    async rename(projectId: string, name: string): Promise<void> {
      const clean = normalizeName(name, 'project');
      await rw(db, [db.projects], async () => {
        await requireProject(db, projectId);
        await db.projects.update(projectId, { name: clean, updatedAt: stamp() });
      });
    },

    /** Replaces the project's opaque settings (head settings, augmentation, ...). */
    async setSettings(projectId: string, settings: Record<string, unknown>): Promise<void> {
      await rw(db, [db.projects], async () => {
        await requireProject(db, projectId);
        await db.projects.update(projectId, { settings: { ...settings }, updatedAt: stamp() });
      });
    },

    /**
     * Switches the project to another extractor. Embeddings of the old key stay until they are
     * replaced; loadTrainingSet() lists samples without an embedding for the new key as missing.
     */
    async setExtractor(
      projectId: string,
      extractorId: string,
      extractorKey: string,
    ): Promise<void> {
      checkExtractor(extractorId, extractorKey);
      await rw(db, [db.projects], async () => {
        await requireProject(db, projectId);
        await db.projects.update(projectId, { extractorId, extractorKey, updatedAt: stamp() });
      });
    },

    /**
     * Copies the project with its classes, samples (originals and thumbnails) and embeddings, all
     * under new ids, in one transaction. Trained heads are NOT copied: their labels and opaque
     * metrics refer to the old class ids, and retraining from the copied embeddings takes seconds.
     * Quarantined rows stay with the original.
     */
    async duplicate(projectId: string, name?: string): Promise<ProjectRow> {
      const cleanName = name === undefined ? undefined : normalizeName(name, 'project');
      return rw(db, [db.projects, db.classes, db.samples, db.embeddings], async () => {
        const src = await requireProject(db, projectId);
        const [classes, samples, embeddings] = await Promise.all([
          db.classes.where('projectId').equals(projectId).toArray(),
          db.samples.where('projectId').equals(projectId).toArray(),
          db.embeddings.where('projectId').equals(projectId).toArray(),
        ]);
        const at = stamp();
        const id = newId();
        const classIds = new Map(classes.map((c) => [c.id, newId()]));
        const sampleIds = new Map(samples.map((s) => [s.id, newId()]));

        const newClasses: ClassRow[] = classes.map((c) => ({
          ...c,
          id: classIds.get(c.id) as string,
          projectId: id,
        }));
        const newSamples: SampleRow[] = samples
          .filter((s) => classIds.has(s.classId))
          .map((s) => ({
            ...s,
            id: sampleIds.get(s.id) as string,
            projectId: id,
            classId: classIds.get(s.classId) as string,
          }));
        const copied = new Set(newSamples.map((s) => s.id));
        const newEmbeddings: EmbeddingRow[] = embeddings
          .map((e) => ({ ...e, sampleId: sampleIds.get(e.sampleId) ?? '', projectId: id }))
          .filter((e) => copied.has(e.sampleId));
        const project: ProjectRow = {
          ...src,
          id,
          name: cleanName ?? copyName(src.name),
          createdAt: at,
          updatedAt: at,
          classOrder: src.classOrder
            .map((c) => classIds.get(c))
            .filter((c): c is string => c !== undefined),
          settings: structuredClone(src.settings),
        };

        await db.projects.add(project);
        await db.classes.bulkAdd(newClasses);
        await db.samples.bulkAdd(newSamples);
        await db.embeddings.bulkAdd(newEmbeddings);
        return project;
      });
    },

    /** Deletes the project and every row that belongs to it, in one transaction. */
    async delete(projectId: string): Promise<void> {
      await rw(
        db,
        [db.projects, db.classes, db.samples, db.embeddings, db.stash, db.packs, db.heads, db.quarantine, db.augments, db.tuned],
        async () => {
          await db.stash.where('projectId').equals(projectId).delete();
          await db.packs.where('projectId').equals(projectId).delete();
          await db.tuned.where('projectId').equals(projectId).delete();
          await db.augments.where('projectId').equals(projectId).delete();
          await db.classes.where('projectId').equals(projectId).delete();
          await db.samples.where('projectId').equals(projectId).delete();
          await db.embeddings.where('projectId').equals(projectId).delete();
          await db.heads.where('projectId').equals(projectId).delete();
          await db.quarantine.where('projectId').equals(projectId).delete();
          await db.projects.delete(projectId);
        },
      );
    },
  };
}

export type ProjectsRepo = ReturnType<typeof projectsRepo>;
