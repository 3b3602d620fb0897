// Writes a whole project at once (a project archive's import): every row in one transaction, so
// an import lands whole or not at all. The rows come validated and re-keyed by export/project-store.ts;
// this only stores them, as new rows (existing data is never changed).
import type { GlimpseDB } from './db';
import { rw } from './tx';
import type { ClassRow, EmbeddingRow, HeadRow, ProjectRow, SampleRow } from './types';

export interface WholeProject {
  project: ProjectRow;
  classes: ClassRow[];
  samples: SampleRow[];
  embeddings: EmbeddingRow[];
  head: HeadRow | null;
}

export function projectImportRepo(db: GlimpseDB) {
  return {
    /**
     * `name(taken)` picks the project's name from the names already stored, inside the write
     * transaction, so two imports at once cannot pick the same "Name (2)". Returns the name used.
     */
    async addWhole(rows: WholeProject, name?: (taken: string[]) => string): Promise<string> {
      return rw(db, [db.projects, db.classes, db.samples, db.embeddings, db.heads], async () => {
        const project = name ? { ...rows.project, name: name((await db.projects.toArray()).map((p) => p.name)) } : rows.project;
        await db.projects.add(project);
        await db.classes.bulkAdd(rows.classes);
        await db.samples.bulkAdd(rows.samples);
        if (rows.embeddings.length > 0) await db.embeddings.bulkAdd(rows.embeddings);
        if (rows.head) await db.heads.add(rows.head);
        return project.name;
      });
    },
  };
}
