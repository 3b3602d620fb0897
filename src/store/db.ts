// The IndexedDB database "glimpse": projects, classes, samples (original image + thumbnail),
// embeddings (one Float32Array per sample, in their own table), trained heads, app settings,
// quarantined rows, augmentation-variant embeddings and fine-tuned models. This file owns the raw
// schema, its versions and their upgrades, and the two-tab rules; repositories (repo.ts) own
// transactions and validation.
//
// Versioning (DESIGN.md practice 7): every released schema stays in MIGRATIONS forever, with the
// upgrade that brings the previous version's rows to it, and a fixture of that version under
// tests/fixtures/db/ that store-schema.test.ts opens with the current code. To change the schema:
// append { version: N + 1, stores: {changed tables only}, upgrade(tx) { ... } } and add vN+1.json.

import { Dexie, type DexieOptions, type Table, type Transaction } from 'dexie';
import type {
  AugmentRow,
  ClassRow,
  EmbeddingRow,
  HeadRow,
  PackRow,
  ProjectRow,
  QuarantineRow,
  SampleRow,
  SettingRow,
  TunedRow,
} from './types';

export const DB_NAME = 'glimpse';

interface Migration {
  version: number;
  /** Dexie store specs; for later versions only the tables that change (null deletes a table). */
  stores: Record<string, string | null>;
  /** Rewrites existing rows into this version's shape. Runs inside the version-change transaction. */
  upgrade?: (tx: Transaction) => Promise<void> | void;
}

/** Schema v1. Frozen: released data was written with exactly this layout. */
export const SCHEMA_V1: Readonly<Record<string, string>> = Object.freeze({
  projects: 'id, updatedAt',
  classes: 'id, projectId',
  samples: 'id, projectId, classId, [projectId+classId]',
  embeddings: 'sampleId, projectId, [projectId+extractorKey]',
  heads: 'id, projectId, [projectId+createdAt]',
  settings: 'key',
  quarantine: '++id, table, projectId',
});

/**
 * Schema v2: samples carry `sha256` (hex SHA-256 of the original file) under a [classId+sha256]
 * index, so re-dropping a folder after a crash resumes the import instead of duplicating it.
 * Frozen like v1.
 */
export const SCHEMA_V2: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V1,
  samples: 'id, projectId, classId, [projectId+classId], [classId+sha256]',
});

/**
 * Schema v3: a new `augments` table (AugmentRow: augmentation-variant embeddings per sample, a
 * cache used for training only). Frozen like v1 and v2.
 */
export const SCHEMA_V3: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V2,
  augments: 'sampleId, projectId, [projectId+extractorKey]',
});

/**
 * Schema v4: samples get a [classId+createdAt] index, so a class's first samples (oldest first,
 * ties by id, as listByClass sorts) are read a page at a time instead of the whole class: the
 * first view of a 5,000-sample project reads 24 rows per visible class, not 5,000. Frozen.
 */
export const SCHEMA_V4: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V3,
  samples: `${SCHEMA_V3.samples as string}, [classId+createdAt]`,
});

/**
 * Schema v5: a new `tuned` table (TunedRow: a project's fine-tuned model, the top layers' weights
 * and the head trained with them). Frozen.
 */
export const SCHEMA_V5: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V4,
  tuned: 'id, projectId, headId',
});

/**
 * Schema v6: a new `stash` table (EmbeddingRow, keyed by [sampleId+extractorKey]): a sample's
 * embeddings for extractors other than the project's current one. Switching extractor moves the
 * replaced vector here instead of losing it, so switching back restores it without running the
 * network again. Frozen.
 */
export const SCHEMA_V6: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V5,
  stash: '[sampleId+extractorKey], projectId, [projectId+extractorKey]',
});

/**
 * Schema v7: a new `packs` table (PackRow: copies of embedding rows written together, packed into
 * one value as a read cache for training). Frozen.
 */
export const SCHEMA_V7: Readonly<Record<string, string>> = Object.freeze({
  ...SCHEMA_V6,
  packs: 'id, projectId, [projectId+extractorKey]',
});

const MIGRATIONS: readonly Migration[] = [
  { version: 1, stores: SCHEMA_V1 },
  {
    version: 2,
    stores: { samples: SCHEMA_V2.samples as string },
    // No row rewrite: v1 rows are valid v2 rows (`sha256` is optional) and a row without it is
    // simply left out of the new index. Its hash cannot be computed here: reading a Blob inside
    // the version-change transaction would let it commit half-way. Such a sample is just not
    // recognised as a duplicate by a later import.
  },
  {
    version: 3,
    stores: { augments: SCHEMA_V3.augments as string },
    // No row rewrite: the table is new and starts empty; variants are computed on first use.
  },
  {
    version: 4,
    stores: { samples: SCHEMA_V4.samples as string },
    // No row rewrite: every sample has createdAt since v1; IndexedDB builds the index itself.
  },
  {
    version: 5,
    stores: { tuned: SCHEMA_V5.tuned as string },
    // No row rewrite: the table is new and starts empty; fine-tuning fills it.
  },
  {
    version: 6,
    stores: { stash: SCHEMA_V6.stash as string },
    // No row rewrite: the table is new and starts empty; switching extractor fills it.
  },
  {
    version: 7,
    stores: { packs: SCHEMA_V7.packs as string },
    // No row rewrite: the table is new and starts empty; rows written from now on are also packed,
    // and older rows are read one by one as before.
  },
  // { version: 8, stores: { samples: '...' }, upgrade: async (tx) => { await tx.table('samples').toCollection().modify(...) } },
];

/** The schema version this code writes (Dexie's version number; IndexedDB sees it times 10). */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 1;

export type VersionChangeKind = 'versionchange' | 'blocked' | 'outdated';

export interface VersionChangeEvent {
  kind: VersionChangeKind;
  dbName: string;
  oldVersion: number;
  newVersion: number | null;
}

type VersionChangeListener = (ev: VersionChangeEvent) => void;

/** The fields of IDBVersionChangeEvent we read (named structurally so Node type-checks it too). */
interface IdbVersionEvent {
  oldVersion: number;
  newVersion: number | null;
}

const listeners = new Set<VersionChangeListener>();

/**
 * Registers `cb` for two-tab events of every Glimpse database in this page:
 * - 'versionchange': another tab opened a newer schema (or deleted the database). This tab's
 *   connection has already been closed so the other tab can upgrade; writes now fail with a
 *   "reload" GlimpseError, and the UI should ask the user to reload.
 * - 'blocked': this tab wants a newer schema but an older tab still holds the database open. The
 *   open waits (and completes once the other tab closes), so the UI should ask to close other tabs.
 * - 'outdated': the database on disk is newer than this page's code (a newer deploy ran in another
 *   tab). The open is refused, so this code never writes old-shaped rows into a newer schema;
 *   calls fail with a "reload" GlimpseError and the UI should ask the user to reload.
 * Returns a function that unregisters `cb`.
 */
export function onVersionChange(cb: VersionChangeListener): () => void {
  listeners.add(cb);
  return () => {
    listeners.delete(cb);
  };
}

function notify(ev: VersionChangeEvent): void {
  for (const cb of [...listeners]) {
    try {
      cb(ev);
    } catch (err) {
      // A broken listener must not keep the others (or the close) from running.
      console.error('Glimpse: a version-change listener failed', err);
    }
  }
}

/** IndexedDB event versions are Dexie's times 10. */
function dexieVersion(v: number | null | undefined): number | null {
  return v == null ? null : v / 10;
}

/**
 * The IndexedDB factory Dexie gets: the real one, except that it never opens a Glimpse database at
 * a version above this code's. Dexie 4 opens a newer database at its own version and, when that
 * layout lacks an index this code declares, "patches" it by opening at version + 1 and adding the
 * index: a write into the newer tab's data. Refusing that open (VersionError) makes Dexie fall back
 * to a plain, read-only-until-used open, which the 'ready' check below then refuses for good.
 */
function guardedFactory(base: IDBFactory | undefined): IDBFactory | undefined {
  if (!base) return base;
  const limit = SCHEMA_VERSION * 10;
  return new Proxy(base, {
    get(target, prop) {
      if (prop === 'open') {
        return (name: string, version?: number): IDBOpenDBRequest => {
          if (version !== undefined && version > limit) {
            throw new DOMException(
              `Glimpse ${SCHEMA_VERSION} does not upgrade databases past its own schema.`,
              'VersionError',
            );
          }
          return version === undefined ? target.open(name) : target.open(name, version);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export class GlimpseDB extends Dexie {
  declare projects: Table<ProjectRow, string>;
  declare classes: Table<ClassRow, string>;
  declare samples: Table<SampleRow, string>;
  declare embeddings: Table<EmbeddingRow, string>;
  declare heads: Table<HeadRow, string>;
  declare settings: Table<SettingRow, string>;
  declare quarantine: Table<QuarantineRow, number>;
  declare augments: Table<AugmentRow, string>;
  declare tuned: Table<TunedRow, string>;
  declare stash: Table<EmbeddingRow, [string, string]>;
  declare packs: Table<PackRow, string>;

  constructor(name: string = DB_NAME, options?: DexieOptions) {
    super(name, {
      ...options,
      indexedDB: guardedFactory(
        (options?.indexedDB ?? Dexie.dependencies.indexedDB) as IDBFactory | undefined,
      ),
      IDBKeyRange: options?.IDBKeyRange ?? Dexie.dependencies.IDBKeyRange,
    });
    for (const m of MIGRATIONS) {
      const version = this.version(m.version).stores(m.stores);
      if (m.upgrade) version.upgrade(m.upgrade);
    }

    this.on('versionchange', (ev: IdbVersionEvent) => {
      // Dexie's own handler closes with auto-reopen; a stale tab must not reopen and write with
      // an old schema, so close for good: later calls fail with DatabaseClosedError ("reload").
      this.close({ disableAutoOpen: true });
      notify({
        kind: 'versionchange',
        dbName: this.name,
        oldVersion: dexieVersion(ev.oldVersion) ?? 0,
        newVersion: dexieVersion(ev.newVersion),
      });
      return false;
    });

    // Dexie 4 opens a database whose version is higher than ours at that higher version. Old code
    // must not write into a newer layout: refuse the open (sticky: checked on every reopen).
    this.on(
      'ready',
      () => {
        const installed = this.backendDB().version / 10;
        if (installed <= SCHEMA_VERSION) return;
        this.close({ disableAutoOpen: true });
        notify({
          kind: 'outdated',
          dbName: this.name,
          oldVersion: SCHEMA_VERSION,
          newVersion: installed,
        });
        return Promise.reject(
          new Dexie.VersionError(
            `The stored data uses schema ${installed}; this page only knows up to ${SCHEMA_VERSION}.`,
          ),
        );
      },
      true,
    );

    this.on('blocked', (ev: IdbVersionEvent) => {
      // Not closed: this tab is the one waiting; the open resumes when the other tab lets go.
      notify({
        kind: 'blocked',
        dbName: this.name,
        oldVersion: dexieVersion(ev.oldVersion) ?? 0,
        newVersion: dexieVersion(ev.newVersion),
      });
    });
  }
}

let shared: GlimpseDB | null = null;

/** The app's database, created on first use (Dexie opens it lazily on the first query). */
export function getDb(): GlimpseDB {
  shared ??= new GlimpseDB();
  return shared;
}
