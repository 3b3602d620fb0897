// Reads the app's IndexedDB ("glimpse") straight from the page, bypassing the app, for tests that
// check what was really stored. One reader for every spec: rows come back as plain data (typed
// arrays as number arrays, Blobs as their size and type), so the spec picks what it checks.
import type { Page } from '@playwright/test';

/** A stored Blob as the test sees it. */
export interface BlobInfo {
  blob: true;
  size: number;
  type: string;
}

export type StoredRow = Record<string, unknown>;

/** All rows of each named object store (one read-only transaction). */
export function readStores<S extends string>(page: Page, stores: readonly S[]): Promise<Record<S, StoredRow[]>> {
  return page.evaluate(
    (names) =>
      new Promise<Record<string, Record<string, unknown>[]>>((resolve, reject) => {
        const plain = (v: unknown): unknown => {
          if (v instanceof Blob) return { blob: true, size: v.size, type: v.type };
          if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
          if (v instanceof ArrayBuffer) return Array.from(new Float32Array(v));
          if (Array.isArray(v)) return v.map(plain);
          if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
          return v;
        };
        const open = indexedDB.open('glimpse');
        open.onerror = () => reject(open.error ?? new Error('open failed'));
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(names, 'readonly');
          const reqs = names.map((n) => tx.objectStore(n).getAll());
          tx.onerror = () => reject(tx.error ?? new Error('read failed'));
          tx.oncomplete = () => {
            db.close();
            resolve(Object.fromEntries(names.map((n, i) => [n, (reqs[i]!.result as unknown[]).map((r) => plain(r) as Record<string, unknown>)])));
          };
        };
      }),
    [...stores],
  ) as Promise<Record<S, StoredRow[]>>;
}

/** Row counts of each named object store. */
export async function countStores<S extends string>(page: Page, stores: readonly S[]): Promise<Record<S, number>> {
  const rows = await readStores(page, stores);
  return Object.fromEntries(stores.map((s) => [s, rows[s].length])) as Record<S, number>;
}
