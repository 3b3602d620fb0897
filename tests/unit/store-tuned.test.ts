// Schema v5 (fine-tuned models): v5.json's model reads back through the repository with its
// weights as Float32Arrays; a v4 database upgrades to an empty `tuned` table; saving replaces the
// project's earlier model; deleting the project deletes it.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GlimpseDB, SCHEMA_V5, SCHEMA_VERSION } from '../../src/store/db';
import { createRepo } from '../../src/store/repo';
import { restoreTunedMetrics } from '../../src/store/restore';
import { tinyHead } from './head-fixture';
import { FIXTURES, openFixture, type Rows } from './db-fixture';

async function open(file: string): Promise<{ db: GlimpseDB; rows: Rows }> {
  const opened = await openFixture(file, 'tuned');
  dbs.push(opened.db);
  return opened;
}

const dbs: GlimpseDB[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.delete().catch(() => undefined);
});

describe('schema v5: fine-tuned models', () => {
  it('v5 is frozen: db.ts declares exactly the layout v5.json was written with', () => {
    const fx = JSON.parse(readFileSync(join(FIXTURES, 'v5.json'), 'utf8')) as { stores: Record<string, string> };
    expect(SCHEMA_V5).toEqual(fx.stores);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(5);
  });

  it('v5.json: the fine-tuned model reads back by its head, weights as Float32Array', async () => {
    const { db, rows } = await open('v5.json');
    const repo = createRepo(db);
    const want = rows.tuned![0]!;
    const got = await repo.tuned.forHead(String(want.headId));
    expect(got?.fromLayer).toBe('res5a_branch2a');
    expect(got?.weights.map((w) => w.name)).toEqual(['res5a_branch2a/kernel', 'res5a_branch2a/bias']);
    expect(got?.weights[0]!.data).toEqual(Float32Array.from([0.5, -0.25, 0.125, 1]));
    expect((await repo.tuned.summary(String(want.projectId)))?.id).toBe(want.id);
  });

  it('v4 -> v5: every row stays, the tuned table starts empty', async () => {
    const { db, rows } = await open('v4.json');
    expect(db.verno).toBe(SCHEMA_VERSION);
    expect(await db.tuned.count()).toBe(0);
    expect(await db.heads.count()).toBe(rows.heads!.length);
    expect(await db.samples.count()).toBe(rows.samples!.length);
  });

  it('saving replaces the project’s earlier model; deleting the project deletes it', async () => {
    const { db, rows } = await open('v5.json');
    const repo = createRepo(db);
    const projectId = String(rows.projects![0]!.id);
    const headId = String(rows.heads![0]!.id);
    const saved = await repo.tuned.save(projectId, {
      headId,
      extractorKey: 'k',
      fromLayer: 'x',
      labels: ['a', 'b'],
      classNames: ['A', 'B'],
      weights: [{ name: 'x/kernel', shape: [2], data: Float32Array.from([1, 2]) }],
      head: tinyHead(2),
      metrics: restoreTunedMetrics({}),
    });
    expect(await db.tuned.where('projectId').equals(projectId).count()).toBe(1);
    expect((await repo.tuned.forHead(headId))?.id).toBe(saved.id);
    await expect(
      repo.tuned.save(projectId, { headId, extractorKey: 'k', fromLayer: 'x', labels: ['a'], classNames: ['A'], weights: [{ name: 'w', shape: [3], data: Float32Array.from([1]) }], head: tinyHead(1), metrics: restoreTunedMetrics({}) }),
    ).rejects.toThrow(/malformed/);
    await repo.projects.delete(projectId);
    expect(await db.tuned.count()).toBe(0);
  });
});
