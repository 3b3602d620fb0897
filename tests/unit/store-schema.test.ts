// Schema fixtures: every released schema has tests/fixtures/db/vN.json, a small database as that
// version wrote it. Each is written into a fresh fake-indexeddb database with its own (frozen)
// store layout, then opened with the current code, which must upgrade it and read it back.
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GlimpseDB,
  onVersionChange,
  SCHEMA_V1,
  SCHEMA_V2,
  SCHEMA_V4,
  SCHEMA_V6,
  SCHEMA_VERSION,
  type VersionChangeEvent,
} from '../../src/store/db';
import { RELOAD_MESSAGE } from '../../src/store/errors';
import { createRepo } from '../../src/store/repo';
import type { ClassRow, EmbeddingRow, ProjectRow, SampleRow } from '../../src/store/types';
import { FIXTURES, readFixture, writeFixture } from './db-fixture';


/** Blobs become their bytes so rows compare with toEqual. */
async function plain(rows: unknown[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const row of rows as Record<string, unknown>[]) {
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      entry[k] =
        v instanceof Blob ? { type: v.type, bytes: [...new Uint8Array(await v.arrayBuffer())] } : v;
    }
    out.push(entry);
  }
  return out;
}

const opened: Dexie[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

const fixtureFiles = readdirSync(FIXTURES)
  .filter((f) => /^v\d+\.json$/.test(f))
  .sort((a, b) => parseInt(a.slice(1), 10) - parseInt(b.slice(1), 10));

describe('schema fixtures', () => {
  it('there is a fixture for every schema version up to the current one', () => {
    expect(fixtureFiles).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => `v${i + 1}.json`),
    );
  });

  it('schema v1 is frozen: db.ts still declares exactly the layout v1.json was written with', () => {
    expect(SCHEMA_V1).toEqual(readFixture('v1.json').fx.stores);
  });

  it('schema v2 is frozen: db.ts still declares exactly the layout v2.json was written with', () => {
    expect(SCHEMA_V2).toEqual(readFixture('v2.json').fx.stores);
  });

  it('schema v4 is frozen: db.ts still declares exactly the layout v4.json was written with', () => {
    expect(SCHEMA_V4).toEqual(readFixture('v4.json').fx.stores);
  });

  it('schema v6 is frozen: db.ts still declares exactly the layout v6.json was written with', () => {
    expect(SCHEMA_V6).toEqual(readFixture('v6.json').fx.stores);
  });

  for (const file of fixtureFiles) {
    it(`${file} opens with the current code and reads back through the repositories`, async () => {
      const { fx, rows } = readFixture(file);
      const name = `fixture-${file}-${crypto.randomUUID()}`;
      await writeFixture(name, fx, rows);

      const db = new GlimpseDB(name);
      opened.push(db);
      const repo = createRepo(db);
      await db.open();
      expect(db.verno).toBe(SCHEMA_VERSION);

      for (const project of rows.projects as unknown as ProjectRow[]) {
        const got = await repo.projects.get(project.id);
        expect(got?.name).toBe(project.name);
        const classes = await repo.classes.list(project.id);
        expect(classes.map((c) => c.id)).toEqual(got?.classOrder);
        const fixtureSamples = (rows.samples as unknown as SampleRow[]).filter(
          (s) => s.projectId === project.id,
        );
        const counts = await repo.samples.countsByClass(project.id);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(fixtureSamples.length);
        for (const cls of classes) {
          const listed = await repo.samples.listByClass(project.id, cls.id);
          const want = fixtureSamples.filter((s) => s.classId === cls.id);
          expect(
            await plain(listed.map((s) => ({ id: s.id, blob: s.blob, thumb: s.thumb }))),
          ).toEqual(await plain(want.map((s) => ({ id: s.id, blob: s.blob, thumb: s.thumb }))));
        }
        const set = await repo.embeddings.loadTrainingSet(project.id, got?.extractorKey ?? '');
        expect(set.quarantined).toBe(0);
        const vectors = (rows.embeddings as unknown as EmbeddingRow[]).filter(
          (e) => e.projectId === project.id,
        );
        expect(set.ids).toHaveLength(vectors.length);
        set.ids.forEach((id, i) => {
          const want = vectors.find((e) => e.sampleId === id)?.vector as Float32Array;
          expect(set.x.subarray(i * set.dim, (i + 1) * set.dim)).toEqual(want);
        });
        expect(await repo.heads.latest(project.id)).toBeDefined();
      }
    });
  }

  it('v1.json reads back exactly after the upgrade to the current schema', async () => {
    const { fx, rows } = readFixture('v1.json');
    const name = `fixture-exact-${crypto.randomUUID()}`;
    await writeFixture(name, fx, rows);
    const db = new GlimpseDB(name);
    opened.push(db);
    for (const [table, list] of Object.entries(rows)) {
      expect(await plain(await db.table(table).toArray()), table).toEqual(await plain(list));
    }
    const repo = createRepo(db);
    const project = (rows.projects as unknown as ProjectRow[])[0]!;
    const classes = rows.classes as unknown as ClassRow[];
    expect((await repo.projects.get(project.id))?.name).toBe('Kitchen <b>tools</b> & ünïcødé 🍳');
    expect((await repo.classes.list(project.id)).map((c) => c.name)).toEqual(['Fork', 'Spoon']);
    const set = await repo.embeddings.loadTrainingSet(project.id, project.extractorKey);
    expect(set.dim).toBe(4);
    expect(set.classIds).toEqual([classes[1]!.id, classes[1]!.id, classes[0]!.id]);
    expect(await repo.settings.get('onboarding', null)).toEqual({ done: true, step: 3 });
    expect((await repo.heads.latest(project.id))?.classNames).toEqual(['Fork', 'Spoon']);
  });

  it('v1 -> v2: old samples stay (no hash, never a duplicate); new ones are found by content hash', async () => {
    const { fx, rows } = readFixture('v1.json');
    const name = `fixture-v1-hash-${crypto.randomUUID()}`;
    await writeFixture(name, fx, rows);
    const db = new GlimpseDB(name);
    opened.push(db);
    const repo = createRepo(db);
    const project = (rows.projects as unknown as ProjectRow[])[0]!;
    const spoon = (rows.classes as unknown as ClassRow[]).find((c) => c.name === 'Spoon')!;
    const old = (rows.samples as unknown as SampleRow[]).find((s) => s.classId === spoon.id)!;
    const oldHash = createHash('sha256')
      .update(new Uint8Array(await (old.blob as Blob).arrayBuffer()))
      .digest('hex');
    expect((await repo.samples.get(old.id))?.sha256).toBeUndefined();
    expect(await repo.samples.savedHashes(spoon.id, [oldHash])).toEqual(new Set());

    const fresh = 'ab'.repeat(32);
    await repo.samples.addSample({
      projectId: project.id,
      classId: spoon.id,
      source: 'file',
      name: 'new.png',
      type: 'image/png',
      blob: new Blob([new Uint8Array([1, 2, 3])]),
      thumb: new Blob([new Uint8Array([1])]),
      width: 1,
      height: 1,
      sha256: fresh,
    });
    expect(await repo.samples.savedHashes(spoon.id, [fresh, oldHash])).toEqual(new Set([fresh]));
    expect((await repo.samples.countsByClass(project.id))[spoon.id]).toBe(2);
  });

  it('v2.json: the stored hashes are found per class, and only in their own class', async () => {
    const { fx, rows } = readFixture('v2.json');
    const name = `fixture-v2-hash-${crypto.randomUUID()}`;
    await writeFixture(name, fx, rows);
    const db = new GlimpseDB(name);
    opened.push(db);
    const repo = createRepo(db);
    const samples = rows.samples as unknown as SampleRow[];
    const hashed = samples.filter((s) => s.sha256);
    expect(hashed).toHaveLength(2);
    const all = hashed.map((s) => s.sha256!);
    for (const cls of rows.classes as unknown as ClassRow[]) {
      const own = new Set(hashed.filter((s) => s.classId === cls.id).map((s) => s.sha256));
      expect(await repo.samples.savedHashes(cls.id, [...all, '0'.repeat(64)])).toEqual(own);
    }
    const other = await repo.classes.add((rows.projects as unknown as ProjectRow[])[0]!.id, 'New');
    expect(await repo.samples.savedHashes(other.id, all)).toEqual(new Set());
  });

  it('a database from a newer version of Glimpse is refused with a reload message, untouched', async () => {
    const name = `newer-${crypto.randomUUID()}`;
    const newer = new Dexie(name);
    newer.version(SCHEMA_VERSION + 1).stores({ ...SCHEMA_V1, extra: 'id' });
    await newer.table('settings').put({ key: 'k', value: 1 });
    newer.close();
    opened.push(newer);

    const events: VersionChangeEvent[] = [];
    const off = onVersionChange((e) => events.push(e));
    const db = new GlimpseDB(name);
    const repo = createRepo(db);
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await repo.settings.set('k', 2).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'internal', message: RELOAD_MESSAGE });
    }
    off();
    expect(events).toEqual([
      {
        kind: 'outdated',
        dbName: name,
        oldVersion: SCHEMA_VERSION,
        newVersion: SCHEMA_VERSION + 1,
      },
    ]);
    db.close();
    await newer.open();
    expect(newer.verno).toBe(SCHEMA_VERSION + 1);
    expect(await newer.table('settings').get('k')).toEqual({ key: 'k', value: 1 });
  });
});
