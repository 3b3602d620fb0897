// Augmentation repository: the `augments` rows (schema v3), one per sample, holding the embeddings
// of the sample's deterministic augmentation variants for one extractor + recipe key. A cache for
// training only: rows whose sample is gone (deleted, moved out of the project) or whose vectors
// are damaged are deleted when read and simply computed again, never quarantined or trained on.

import { Dexie } from 'dexie';
import { GlimpseError } from '../shared/errors';
import type { GlimpseDB } from './db';
import { ro, rw } from './tx';
import type { AugmentRow, SampleRow } from './types';
import { allFinite, checkIds, toFloat32 } from './validate';

export interface AugmentSet {
  /** Row r of x is a variant of sample ids[r] (a sample appears `count` times in a row). */
  ids: string[];
  x: Float32Array;
  dim: number;
  /** Samples of the project that have variants for this key. */
  samples: number;
  /** Samples of the project without variants for this key: compute them. */
  missing: string[];
}

export function augmentsRepo(db: GlimpseDB) {
  return {
    /** The project's cached variants for `key`, packed; stale or damaged rows are deleted. */
    async load(projectId: string, key: string, dim: number): Promise<AugmentSet> {
      return rw(db, [db.samples, db.augments], async () => {
        const sampleIds = new Set<string>();
        await db.samples
          .where('[projectId+classId]')
          .between([projectId, Dexie.minKey], [projectId, Dexie.maxKey])
          .eachPrimaryKey((k) => sampleIds.add(String(k)));
        const rows = await db.augments
          .where('[projectId+extractorKey]')
          .equals([projectId, key])
          .toArray();
        const stale: string[] = [];
        const good: { id: string; v: Float32Array; count: number }[] = [];
        for (const row of rows) {
          const v = toFloat32(row.vectors);
          const ok =
            sampleIds.has(row.sampleId) &&
            row.dim === dim &&
            v !== null &&
            row.count > 0 &&
            v.length === row.count * dim &&
            allFinite(v);
          if (ok) good.push({ id: row.sampleId, v, count: row.count });
          else stale.push(row.sampleId);
        }
        if (stale.length > 0) await db.augments.bulkDelete(stale);
        const ids: string[] = [];
        const x = new Float32Array(good.reduce((a, g) => a + g.v.length, 0));
        let offset = 0;
        for (const g of good) {
          for (let c = 0; c < g.count; c++) ids.push(g.id);
          x.set(g.v, offset);
          offset += g.v.length;
        }
        const have = new Set(good.map((g) => g.id));
        return {
          ids,
          x,
          dim,
          samples: good.length,
          missing: [...sampleIds].filter((id) => !have.has(id)),
        };
      });
    },

    /** Writes variant embeddings of existing samples (a sample deleted meanwhile is skipped). */
    async putMany(
      rows: {
        sampleId: string;
        extractorKey: string;
        dim: number;
        count: number;
        vectors: Float32Array;
      }[],
    ): Promise<number> {
      checkIds(
        rows.map((r) => r.sampleId),
        'sample',
      );
      for (const r of rows) {
        if (!r.extractorKey || r.vectors.length !== r.count * r.dim || !allFinite(r.vectors)) {
          throw new GlimpseError(
            'invalid-input',
            'Augmentation embeddings are damaged.',
            r.sampleId,
          );
        }
      }
      return rw(db, [db.samples, db.augments], async () => {
        const samples = await db.samples.bulkGet(rows.map((r) => r.sampleId));
        const out: AugmentRow[] = [];
        rows.forEach((r, i) => {
          const s: SampleRow | undefined = samples[i];
          if (s)
            out.push({
              sampleId: s.id,
              projectId: s.projectId,
              extractorKey: r.extractorKey,
              dim: r.dim,
              count: r.count,
              vectors: r.vectors,
            });
        });
        await db.augments.bulkPut(out);
        return out.length;
      });
    },

    /** How many samples of the project have variants cached for `key` (keys only, no vectors read). */
    count(projectId: string, key: string): Promise<number> {
      return ro(db, [db.augments], () =>
        db.augments.where('[projectId+extractorKey]').equals([projectId, key]).count(),
      );
    },
  };
}

export type AugmentsRepo = ReturnType<typeof augmentsRepo>;
