// Transaction helpers for the repositories. Nothing is stored here. Every repository call runs
// inside exactly one Dexie transaction (so a multi-row write lands whole or not at all) and
// through withStorageErrors (so quota and two-tab failures reach the UI as GlimpseErrors).

import type { Table } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { withStorageErrors } from './errors';
import type { ProjectRow } from './types';

function run<T>(
  db: GlimpseDB,
  mode: 'rw' | 'r',
  tables: Table[],
  scope: () => Promise<T>,
): Promise<T> {
  // Inside `scope`, await only Dexie calls: awaiting anything else (blob.text(), fetch, a timer)
  // lets IndexedDB auto-commit the transaction half-way.
  return withStorageErrors(() => db.transaction(mode, tables, scope));
}

/** Read-write transaction over `tables`; any throw inside aborts it and nothing is written. */
export function rw<T>(db: GlimpseDB, tables: Table[], scope: () => Promise<T>): Promise<T> {
  return run(db, 'rw', tables, scope);
}

/**
 * The rows of `keys` in `table`, in order (undefined where there is none), read in one read-only
 * IndexedDB transaction with a plain get() per key. Dexie's bulkGet does the same through its
 * promise and zone wrappers, which took about half of the page's time reading 50,000 embeddings
 * (.scratch/read-prof.mjs); the training read is the hot path that uses this.
 */
export function getRaw<T>(db: GlimpseDB, table: string, keys: readonly string[]): Promise<(T | undefined)[]> {
  return withStorageErrors(async () => {
    if (!db.isOpen()) await db.open();
    const store = db.backendDB().transaction(table, 'readonly').objectStore(table);
    return new Promise<(T | undefined)[]>((resolve, reject) => {
      const out = new Array<T | undefined>(keys.length);
      let left = keys.length;
      if (left === 0) resolve(out);
      keys.forEach((key, i) => {
        const req = store.get(key);
        req.onsuccess = () => {
          out[i] = req.result as T | undefined;
          if (--left === 0) resolve(out);
        };
        req.onerror = () => reject(req.error ?? new Error(`IndexedDB could not read ${table}`));
      });
    });
  });
}

/** Read-only transaction: one consistent snapshot of `tables`. */
export function ro<T>(db: GlimpseDB, tables: Table[], scope: () => Promise<T>): Promise<T> {
  return run(db, 'r', tables, scope);
}

let lastStamp = 0;

/**
 * Milliseconds since the epoch, strictly increasing within this page, so rows written in one
 * batch keep their order when sorted by createdAt.
 */
export function stamp(): number {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return lastStamp;
}

/** The project, or an invalid-input error. Call inside a transaction that includes projects. */
export async function requireProject(db: GlimpseDB, projectId: string): Promise<ProjectRow> {
  const project = await db.projects.get(projectId);
  if (!project)
    throw new GlimpseError('invalid-input', 'This project no longer exists.', projectId);
  return project;
}

/** Marks the project as changed now. Call inside a transaction that includes projects. */
export async function touch(db: GlimpseDB, projectId: string): Promise<void> {
  await db.projects.update(projectId, { updatedAt: stamp() });
}
