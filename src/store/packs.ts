// Packs (schema v7): embedding rows written together are also stored as one value, a read cache
// for training. IndexedDB in Chromium costs about 0.2 ms per value read (the get plus the
// deserialisation), whatever its size: 50,000 rows of 1,280 floats took ~10 s as rows and ~4 s as
// packs of 32-256 rows (.scratch/pack-bench.mjs). The `embeddings` rows stay the truth; see
// PackRow in types.ts for why a pack's copy can be trusted while its row exists.

import type { GlimpseDB } from './db';
import { getRaw, stamp } from './tx';
import type { EmbeddingRow, PackRow } from './types';
import { allFinite, toFloat32 } from './validate';

/** At most this many rows per pack (1.3 MB at 1,280 floats). */
export const PACK_ROWS = 256;

/**
 * Packs are read only when at least 1 / PACKS_FROM_SHARE of the key's rows are wanted: a pack
 * costs about what 100 rows read one by one cost (~4 s against ~10 s for 50,000 rows).
 */
export const PACKS_FROM_SHARE = 2;

/**
 * Packs `rows` (already checked and about to be put) by project, extractor key and length, at
 * most PACK_ROWS to a pack. Call inside the rw transaction that puts the rows, with `packs` in
 * its tables: rows and their copies are written together or not at all.
 */
export async function packRows(db: GlimpseDB, rows: readonly EmbeddingRow[]): Promise<void> {
  const groups = new Map<
    string,
    {
      projectId: string;
      extractorKey: string;
      dim: number;
      rows: { id: string; v: Float32Array }[];
    }
  >();
  for (const r of rows) {
    const v = toFloat32(r.vector);
    if (!v || v.length !== r.dim || v.length === 0) continue;
    const key = `${r.projectId}\u0000${r.extractorKey}\u0000${r.dim}`;
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = { projectId: r.projectId, extractorKey: r.extractorKey, dim: r.dim, rows: [] }),
      );
    g.rows.push({ id: r.sampleId, v });
  }
  const packs: PackRow[] = [];
  for (const g of groups.values()) {
    for (let start = 0; start < g.rows.length; start += PACK_ROWS) {
      const part = g.rows.slice(start, start + PACK_ROWS);
      const x = new Float32Array(part.length * g.dim);
      part.forEach((r, i) => x.set(r.v, i * g.dim));
      packs.push({
        id: packId(),
        projectId: g.projectId,
        extractorKey: g.extractorKey,
        dim: g.dim,
        ids: part.map((r) => r.id),
        x,
      });
    }
  }
  if (packs.length > 0) await db.packs.bulkPut(packs);
}

/** Sorts by creation time: a base-36 time stamp of fixed width, then a random part. */
function packId(): string {
  return `${stamp().toString(36).padStart(10, '0')}-${crypto.randomUUID()}`;
}

/**
 * Rows found in one pack: at[i] is the position of row i among the rows asked for, and x holds
 * their values (at.length x dim). When every row of the pack is taken, x is the pack's own array
 * (nothing copied: the receiver may transfer it); otherwise a fresh copy of the rows taken.
 */
export type PackedRows = { at: Int32Array; x: Float32Array };

/**
 * Reads the packs of a project and extractor key, newest first, and hands over the rows of
 * `wanted` (sample id -> position, below `positions`) that they hold: each position at most once,
 * from the newest pack that has it, and only a copy of `dim` finite values. Reads nothing when
 * fewer than 1 / PACKS_FROM_SHARE of the key's rows (`live`) are wanted.
 *
 * `onRows` gets the rows of a group of packs (~`batchRows` rows) at a time and is awaited; the
 * next group is read meanwhile. Positions not handed over must be read from their rows.
 *
 * Returns the ids of packs nothing can use: none of their rows is in `live` (the samples were
 * deleted or re-keyed), or the pack is not one of `dim`-long rows. The caller may delete them.
 */
export async function readPacked(
  db: GlimpseDB,
  q: {
    projectId: string;
    extractorKey: string;
    dim: number;
    wanted: ReadonlyMap<string, number>;
    positions: number;
    live: ReadonlySet<string>;
    batchRows: number;
  },
  onRows: (chunks: PackedRows[]) => void | Promise<void>,
): Promise<string[]> {
  const { projectId, extractorKey, dim, wanted, positions, live, batchRows } = q;
  // A pack is read whole: for a few rows of each (the map's 2,000 of 50,000) reading the rows
  // themselves is cheaper, and keeps 250 MB of packs from passing through the page.
  if (wanted.size === 0 || wanted.size * PACKS_FROM_SHARE < live.size) return [];
  const ids = (
    await db.packs.where('[projectId+extractorKey]').equals([projectId, extractorKey]).primaryKeys()
  ).sort();
  ids.reverse();
  const perRead = Math.max(1, Math.floor(batchRows / PACK_ROWS));
  const taken = new Uint8Array(positions);
  const dead: string[] = [];
  const read = (start: number) => getRaw<PackRow>(db, 'packs', ids.slice(start, start + perRead));
  let next = ids.length > 0 ? read(0) : null;
  try {
    for (let start = 0; start < ids.length; start += perRead) {
      const packs = await next!;
      next = start + perRead < ids.length ? read(start + perRead) : null;
      const out: PackedRows[] = [];
      packs.forEach((pack, p) => {
        if (!pack) return; // deleted meanwhile
        const x = toFloat32(pack.x);
        if (
          !x ||
          !Array.isArray(pack.ids) ||
          pack.dim !== dim ||
          x.length !== pack.ids.length * dim
        ) {
          dead.push(ids[start + p]!); // damaged, or of another length: its rows are read instead
          return;
        }
        let alive = false;
        const rows: number[] = []; // rows of the pack taken
        const at: number[] = [];
        pack.ids.forEach((id, i) => {
          if (live.has(id)) alive = true;
          const r = wanted.get(id);
          if (r === undefined || taken[r]) return;
          if (!allFinite(x.subarray(i * dim, (i + 1) * dim))) return; // its row is read and checked instead
          taken[r] = 1;
          rows.push(i);
          at.push(r);
        });
        if (!alive) dead.push(ids[start + p]!);
        if (rows.length === 0) return;
        const whole =
          rows.length === pack.ids.length &&
          x.byteOffset === 0 &&
          x.byteLength === x.buffer.byteLength;
        let chunk = x;
        if (!whole) {
          chunk = new Float32Array(rows.length * dim);
          rows.forEach((i, k) => chunk.set(x.subarray(i * dim, (i + 1) * dim), k * dim));
        }
        out.push({ at: Int32Array.from(at), x: chunk });
      });
      if (out.length > 0) await onRows(out);
    }
  } finally {
    // A receiver that threw leaves a read in flight: its result is not wanted.
    void next?.catch(() => undefined);
  }
  return dead;
}
