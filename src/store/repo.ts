// Entry point of the storage layer's repositories (nothing is stored by this file itself): one
// object per table group, each call one transaction, every failure a GlimpseError. The rows are
// described in types.ts, the schema in db.ts.

import { getDb, type GlimpseDB } from './db';
import { augmentsRepo } from './augments';
import { classesRepo } from './classes';
import { embeddingsRepo } from './embeddings';
import { headsRepo } from './heads';
import { projectsRepo } from './projects';
import { samplesRepo } from './samples';
import { settingsRepo } from './settings';
import { tunedRepo } from './tuned';
import { projectImportRepo } from './project-import';

/** The repositories over `db`; the database handle itself stays inside store/. */
export function createRepo(db: GlimpseDB = getDb()) {
  const samples = samplesRepo(db);
  return {
    projects: projectsRepo(db),
    classes: classesRepo(db),
    samples,
    embeddings: embeddingsRepo(db),
    heads: headsRepo(db),
    augments: augmentsRepo(db),
    settings: settingsRepo(db),
    tuned: tunedRepo(db),
    imports: projectImportRepo(db),
    /** Sets blob = null on all samples of the project (thumbnails and embeddings stay). */
    dropOriginals: samples.dropOriginals,
  };
}

export type Repo = ReturnType<typeof createRepo>;

export type { DeletedClass } from './classes';
export type { NewSample, DeletedSamples } from './samples';
export type { TrainingSet, LoadOptions } from './embeddings';
export type { NewHead } from './heads';
export type { AugmentSet } from './augments';
export type { NewTuned, StoredTuned } from './tuned';
export type { WholeProject } from './project-import';
export type * from './types';
export { SCHEMA_VERSION, DB_NAME, onVersionChange } from './db';
export type { VersionChangeEvent, VersionChangeKind } from './db';
export { mapStorageError, isQuotaError, withStorageErrors } from './errors';
