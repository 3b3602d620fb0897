// Repositories on fake-indexeddb: atomic sample writes, class delete + undo, project delete and
// duplicate, moves, dropping originals, input checks and the two-tab rules.
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  GlimpseDB,
  onVersionChange,
  SCHEMA_VERSION,
  type VersionChangeEvent,
} from '../../src/store/db';
import { RELOAD_MESSAGE } from '../../src/store/errors';
import { createRepo, type NewSample, type Repo as StoreRepo } from '../../src/store/repo';

/** The repositories with the test's own database handle (the app's Repo has none). */
type Repo = StoreRepo & { db: GlimpseDB };
import { GlimpseError } from '../../src/shared/errors';
import { tinyHead } from './head-fixture';

const opened: GlimpseDB[] = [];

function freshRepo(): Repo {
  const db = new GlimpseDB(`test-${crypto.randomUUID()}`);
  opened.push(db);
  return { ...createRepo(db), db };
}

afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
  vi.restoreAllMocks();
});

const vec = (...v: number[]): Float32Array => Float32Array.from(v);

function sampleInput(projectId: string, classId: string, over: Partial<NewSample> = {}): NewSample {
  return {
    projectId,
    classId,
    source: 'file',
    name: 'cat.png',
    type: 'image/png',
    blob: new Blob([new Uint8Array([1, 2, 3, 4, 5])], { type: 'image/png' }),
    thumb: new Blob([new Uint8Array([9, 9])], { type: 'image/jpeg' }),
    width: 640,
    height: 480,
    embedding: { extractorKey: 'k1', vector: vec(1, 2, 3) },
    ...over,
  };
}

async function setup(repo: Repo) {
  const project = await repo.projects.create('Pets', 'inception-v3', 'k1');
  const cats = await repo.classes.add(project.id, 'Cats');
  const dogs = await repo.classes.add(project.id, 'Dogs', '#00AA11');
  return { project, cats, dogs };
}

async function tableCounts(repo: Repo) {
  const { db } = repo;
  return {
    projects: await db.projects.count(),
    classes: await db.classes.count(),
    samples: await db.samples.count(),
    embeddings: await db.embeddings.count(),
    heads: await db.heads.count(),
    quarantine: await db.quarantine.count(),
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<GlimpseError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GlimpseError);
  expect((err as GlimpseError).code).toBe(code);
  return err as GlimpseError;
}

describe('samples: atomic writes', () => {
  it('saves sample, thumbnail and embedding together', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const s = await repo.samples.addSample(sampleInput(project.id, cats.id));
    const row = await repo.samples.get(s.id);
    expect(row?.sizeBytes).toBe(5);
    expect(new Uint8Array(await (row?.thumb as Blob).arrayBuffer())).toEqual(
      new Uint8Array([9, 9]),
    );
    const emb = await repo.db.embeddings.get(s.id);
    expect(emb).toMatchObject({ projectId: project.id, extractorKey: 'k1', dim: 3 });
    expect(Array.from(emb?.vector as Float32Array)).toEqual([1, 2, 3]);
  });

  it('writes nothing when the embedding put throws mid-transaction', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const before = await tableCounts(repo);
    repo.db.embeddings.hook('creating', () => {
      throw new Error('disk on fire');
    });
    await expectCode(repo.samples.addSample(sampleInput(project.id, cats.id)), 'internal');
    expect(await tableCounts(repo)).toEqual(before);
  });

  it('writes nothing when the embedding write rejects after the sample was put', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const spy = vi
      .spyOn(repo.db.embeddings, 'bulkPut')
      .mockImplementation(() => Dexie.Promise.reject(new Error('nope')) as never);
    await expect(repo.samples.addSample(sampleInput(project.id, cats.id))).rejects.toThrow();
    expect(spy).toHaveBeenCalledOnce();
    expect(await repo.db.samples.count()).toBe(0);
    expect(await repo.db.embeddings.count()).toBe(0);
  });

  it('reports a full disk as quota-exceeded and keeps earlier data', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const first = await repo.samples.addSample(sampleInput(project.id, cats.id));
    repo.db.samples.hook('creating', () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    const err = await expectCode(
      repo.samples.addSample(sampleInput(project.id, cats.id)),
      'quota-exceeded',
    );
    expect(err.message).toMatch(/full/i);
    expect(await repo.db.samples.toCollection().primaryKeys()).toEqual([first.id]);
    expect(await repo.db.embeddings.toCollection().primaryKeys()).toEqual([first.id]);
  });

  it('a batch is all or nothing', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const existing = await repo.samples.addSample(sampleInput(project.id, cats.id));
    const batch = [
      sampleInput(project.id, cats.id),
      sampleInput(project.id, dogs.id),
      sampleInput(project.id, dogs.id, { id: existing.id }), // duplicate key: ConstraintError
    ];
    await expect(repo.samples.addSamples(batch)).rejects.toBeInstanceOf(GlimpseError);
    expect(await repo.db.samples.count()).toBe(1);
    expect(await repo.db.embeddings.count()).toBe(1);

    const ok = await repo.samples.addSamples(batch.slice(0, 2));
    expect(ok).toHaveLength(2);
    expect(await repo.samples.countsByClass(project.id)).toEqual({ [cats.id]: 2, [dogs.id]: 1 });
  });

  it('rejects unknown classes, classes of another project and bad vectors before writing', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const other = await repo.projects.create('Other', 'x', 'k1');
    await expectCode(repo.samples.addSample(sampleInput(project.id, 'nope')), 'invalid-input');
    await expectCode(repo.samples.addSample(sampleInput(other.id, cats.id)), 'invalid-input');
    for (const bad of [vec(1, NaN), vec(), [1, Infinity]]) {
      await expectCode(
        repo.samples.addSample(
          sampleInput(project.id, cats.id, { embedding: { extractorKey: 'k1', vector: bad } }),
        ),
        'invalid-input',
      );
    }
    expect(await repo.db.samples.count()).toBe(0);
  });

  it('stores a compact copy of a vector that is a view into a larger buffer', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const batch = new Float32Array(3000).fill(7);
    const s = await repo.samples.addSample(
      sampleInput(project.id, cats.id, {
        embedding: { extractorKey: 'k1', vector: batch.subarray(3, 6) },
      }),
    );
    const v = (await repo.db.embeddings.get(s.id))?.vector as Float32Array;
    expect(v.length).toBe(3);
    expect(v.buffer.byteLength).toBe(12);
  });
});

describe('samples: content hashes (import de-duplication)', () => {
  const h1 = '1a'.repeat(32);
  const h2 = '2b'.repeat(32);

  it("savedHashes finds a class's saved hashes from the index, per class, ignoring bad input", async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    await repo.samples.addSample(sampleInput(project.id, cats.id, { sha256: h1 }));
    await repo.samples.addSample(sampleInput(project.id, cats.id)); // no hash: never matches
    expect(await repo.samples.savedHashes(cats.id, [h1, h2, 'not-a-hash'])).toEqual(new Set([h1]));
    expect(await repo.samples.savedHashes(dogs.id, [h1])).toEqual(new Set());
    expect(await repo.samples.savedHashes(cats.id, [])).toEqual(new Set());
    // Moving a sample moves its hash with it; deleting it forgets it.
    const [saved] = await repo.samples.listByClass(project.id, cats.id);
    await repo.samples.move([saved!.id], dogs.id);
    expect(await repo.samples.savedHashes(dogs.id, [h1])).toEqual(new Set([h1]));
    await repo.samples.delete([saved!.id]);
    expect(await repo.samples.savedHashes(dogs.id, [h1])).toEqual(new Set());
  });

  it('refuses a malformed hash before writing', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    for (const sha256 of ['', 'ABC', 'A'.repeat(64), `${h1}0`]) {
      await expectCode(
        repo.samples.addSample(sampleInput(project.id, cats.id, { sha256 })),
        'invalid-input',
      );
    }
    expect(await repo.db.samples.count()).toBe(0);
  });
});

describe('samples: a page of a class, and embedding coverage (schema v4)', () => {
  it('pageByClass reads the first rows in listByClass order, only as many as asked', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    // Same createdAt for some rows: ties are broken by id, as listByClass sorts them.
    const rows = await repo.samples.addSamples([
      ...Array.from({ length: 5 }, (_, i) =>
        sampleInput(project.id, cats.id, { createdAt: 100 + (i % 2) }),
      ),
      sampleInput(project.id, cats.id, { createdAt: 50 }),
      sampleInput(project.id, dogs.id, { createdAt: 10 }),
    ]);
    const all = (await repo.samples.listByClass(project.id, cats.id)).map((s) => s.id);
    expect(all).toHaveLength(6);
    expect(all[0]).toBe(rows[5]!.id);
    expect((await repo.samples.pageByClass(cats.id, 3)).map((s) => s.id)).toEqual(all.slice(0, 3));
    expect((await repo.samples.pageByClass(cats.id, 100)).map((s) => s.id)).toEqual(all);
    expect(await repo.samples.pageByClass(cats.id, 0)).toEqual([]);
    expect((await repo.samples.pageByClass(dogs.id, 24)).map((s) => s.id)).toEqual([rows[6]!.id]);
    // Later pages (the grid's Next): offset rows skipped, in the same order.
    expect((await repo.samples.pageByClass(cats.id, 2, 2)).map((s) => s.id)).toEqual(all.slice(2, 4));
    expect((await repo.samples.pageByClass(cats.id, 5, all.length - 1)).map((s) => s.id)).toEqual(all.slice(-1));
    expect(await repo.samples.pageByClass(cats.id, 5, all.length)).toEqual([]);
  });

  it('coverage lists the samples without an embedding for a key, from keys only', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const [a, b, c] = await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, dogs.id),
      sampleInput(project.id, dogs.id, { embedding: undefined }),
    ]);
    expect(await repo.embeddings.coverage(project.id, 'k1')).toEqual({
      total: 3,
      withKey: 2,
      missing: [c!.id],
    });
    await repo.embeddings.putMany([{ sampleId: a!.id, extractorKey: 'k2', vector: vec(4, 5, 6) }]);
    const k2 = await repo.embeddings.coverage(project.id, 'k2');
    expect(k2.total).toBe(3);
    expect(k2.withKey).toBe(1);
    expect([...k2.missing].sort()).toEqual([b!.id, c!.id].sort());
  });
});

describe('samples: move, delete, restore, drop originals', () => {
  it('moves within a project and refuses other projects', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const [a, b] = await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, cats.id),
    ]);
    expect(await repo.samples.move([a!.id, b!.id, 'gone'], dogs.id)).toBe(2);
    expect((await repo.samples.listByClass(project.id, dogs.id)).map((s) => s.id)).toEqual([
      a!.id,
      b!.id,
    ]);
    const other = await setup(repo);
    await expectCode(repo.samples.move([a!.id], other.cats.id), 'invalid-input');
  });

  it('delete + restore puts samples and embeddings back', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    const [a, b] = await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, cats.id),
    ]);
    const before = await repo.db.samples.toArray();
    const deleted = await repo.samples.delete([a!.id]);
    expect(deleted.samples).toHaveLength(1);
    expect(deleted.embeddings).toHaveLength(1);
    expect(await repo.db.samples.toCollection().primaryKeys()).toEqual([b!.id]);
    await repo.samples.restore(deleted);
    expect(await repo.db.samples.toArray()).toEqual(before);
    expect(await repo.db.embeddings.count()).toBe(2);
  });

  it('dropOriginals keeps thumbnails and embeddings', async () => {
    const repo = freshRepo();
    const { project, cats } = await setup(repo);
    await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, cats.id),
    ]);
    expect(await repo.dropOriginals(project.id)).toEqual({ samples: 2, bytesFreed: 10 });
    const rows = await repo.samples.listByClass(project.id, cats.id);
    expect(rows.every((s) => s.blob === null && s.thumb instanceof Blob && s.sizeBytes === 5)).toBe(
      true,
    );
    expect(await repo.db.embeddings.count()).toBe(2);
    expect(await repo.dropOriginals(project.id)).toEqual({ samples: 0, bytesFreed: 0 });
  });
});

describe('classes', () => {
  it('checks names and colours; names keep any text, HTML included', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    expect(dogs.color).toBe('#00aa11');
    const html = await repo.classes.add(project.id, '  <img src=x onerror=alert(1)> ');
    expect(html.name).toBe('<img src=x onerror=alert(1)>');
    await expectCode(repo.classes.add(project.id, '   '), 'invalid-input');
    await expectCode(repo.classes.add(project.id, 'x'.repeat(101)), 'invalid-input');
    expect((await repo.classes.add(project.id, '😀'.repeat(100))).name).toHaveLength(200);
    await expectCode(repo.classes.setColor(cats.id, 'red'), 'invalid-input');
    await repo.classes.rename(cats.id, ' Kittens ');
    expect((await repo.classes.get(cats.id))?.name).toBe('Kittens');
  });

  it('reorder keeps classOrder and ClassRow.order in step', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const birds = await repo.classes.add(project.id, 'Birds');
    await repo.classes.reorder(project.id, [birds.id, cats.id, dogs.id]);
    expect((await repo.projects.get(project.id))?.classOrder).toEqual([birds.id, cats.id, dogs.id]);
    expect((await repo.classes.list(project.id)).map((c) => [c.id, c.order])).toEqual([
      [birds.id, 0],
      [cats.id, 1],
      [dogs.id, 2],
    ]);
    await expectCode(repo.classes.reorder(project.id, [cats.id, dogs.id]), 'invalid-input');
    await expectCode(
      repo.classes.reorder(project.id, [cats.id, cats.id, dogs.id]),
      'invalid-input',
    );
  });

  it('delete + restoreDeleted restores everything exactly', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const birds = await repo.classes.add(project.id, 'Birds');
    await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, dogs.id),
      sampleInput(project.id, dogs.id, { embedding: undefined, blob: null }),
      sampleInput(project.id, birds.id),
    ]);
    const snapshot = async () => ({
      classOrder: (await repo.projects.get(project.id))?.classOrder,
      classes: await repo.db.classes.orderBy('id').toArray(),
      samples: await repo.db.samples.orderBy('id').toArray(),
      embeddings: await repo.db.embeddings.orderBy('sampleId').toArray(),
    });
    const before = await snapshot();

    const deleted = await repo.classes.delete(dogs.id);
    expect(deleted.samples).toHaveLength(2);
    expect(deleted.embeddings).toHaveLength(1);
    const during = await snapshot();
    expect(during.classOrder).toEqual([cats.id, birds.id]);
    expect(during.classes.find((c) => c.id === birds.id)?.order).toBe(1);
    expect(during.samples.some((s) => s.classId === dogs.id)).toBe(false);
    expect(during.embeddings).toHaveLength(2);

    await repo.classes.restoreDeleted(deleted);
    const after = await snapshot();
    expect(after).toEqual(before);
    for (const [i, s] of after.samples.entries()) {
      const want = before.samples[i]!;
      expect(s.blob === null ? null : new Uint8Array(await s.blob.arrayBuffer())).toEqual(
        want.blob === null ? null : new Uint8Array(await want.blob.arrayBuffer()),
      );
    }
    await repo.classes.restoreDeleted(deleted); // twice is harmless
    expect(await snapshot()).toEqual(before);
  });
});

describe('projects', () => {
  it('delete removes every row of the project and nothing of another', async () => {
    const repo = freshRepo();
    const a = await setup(repo);
    const b = await setup(repo);
    for (const p of [a, b]) {
      await repo.samples.addSamples([
        sampleInput(p.project.id, p.cats.id),
        sampleInput(p.project.id, p.dogs.id),
      ]);
      await repo.heads.save(p.project.id, {
        extractorKey: 'k1',
        labels: [p.cats.id, p.dogs.id],
        classNames: ['Cats', 'Dogs'],
        head: tinyHead(2),
        metrics: { trainMs: 1 },
      });
    }
    await repo.db.quarantine.add({
      table: 'embeddings',
      rowId: 'x',
      projectId: a.project.id,
      reason: 'r',
      at: 1,
    });
    const bBefore = await tableCounts(repo);
    await repo.projects.delete(a.project.id);
    const left = await tableCounts(repo);
    expect(left).toEqual({
      projects: 1,
      classes: 2,
      samples: 2,
      embeddings: 2,
      heads: 1,
      quarantine: 0,
    });
    expect(bBefore.samples).toBe(4);
    for (const t of [
      repo.db.classes,
      repo.db.samples,
      repo.db.embeddings,
      repo.db.heads,
    ] as const) {
      const rows = (await t.toArray()) as { projectId: string }[];
      expect(rows.every((r) => r.projectId === b.project.id)).toBe(true);
    }
    expect((await repo.projects.list()).map((p) => p.id)).toEqual([b.project.id]);
  });

  it('duplicate copies classes, samples and embeddings under new ids, not heads', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    await repo.samples.addSamples([
      sampleInput(project.id, cats.id),
      sampleInput(project.id, dogs.id),
    ]);
    await repo.heads.save(project.id, {
      extractorKey: 'k1',
      labels: [cats.id, dogs.id],
      classNames: ['Cats', 'Dogs'],
      head: tinyHead(2),
      metrics: null,
    });
    const copy = await repo.projects.duplicate(project.id);
    expect(copy.name).toBe('Pets (copy)');
    const classes = await repo.classes.list(copy.id);
    expect(classes.map((c) => c.name)).toEqual(['Cats', 'Dogs']);
    expect(copy.classOrder).toEqual(classes.map((c) => c.id));
    expect(classes.some((c) => c.id === cats.id)).toBe(false);
    const set = await repo.embeddings.loadTrainingSet(copy.id, 'k1');
    expect(set.ids).toHaveLength(2);
    expect(set.classIds).toEqual(classes.map((c) => c.id));
    expect(await repo.heads.latest(copy.id)).toBeUndefined();
    // The original is untouched.
    expect((await repo.embeddings.loadTrainingSet(project.id, 'k1')).classIds).toEqual([
      cats.id,
      dogs.id,
    ]);
    const long = await repo.projects.create('p'.repeat(100), 'x', 'k1');
    expect([...(await repo.projects.duplicate(long.id)).name]).toHaveLength(100);
  });

  it('heads: latest is the newest; settings round-trip', async () => {
    const repo = freshRepo();
    const { project, cats, dogs } = await setup(repo);
    const h = (n: number) => ({
      extractorKey: 'k1',
      labels: [cats.id, dogs.id],
      classNames: ['Cats', 'Dogs'],
      head: tinyHead(2, 2, n),
      metrics: {},
    });
    await repo.heads.save(project.id, h(1));
    const second = await repo.heads.save(project.id, h(2));
    expect(await repo.heads.latest(project.id)).toEqual(second);
    expect((await repo.heads.list(project.id)).map((r) => r.head)).toEqual([tinyHead(2, 2, 2), tinyHead(2, 2, 1)]);
    expect(second.head?.layers[0]!.bias).toBeInstanceOf(Float32Array);
    await expectCode(repo.heads.save(project.id, { ...h(3), classNames: [] }), 'invalid-input');
    expect(await repo.settings.get('theme', 'light')).toBe('light');
    await repo.settings.set('theme', { mode: 'dark' });
    expect(await repo.settings.get('theme', null)).toEqual({ mode: 'dark' });
  });
});

describe('two tabs', () => {
  it('closes on versionchange, tells the listener, and later writes ask for a reload', async () => {
    const repo = freshRepo();
    await setup(repo);
    const events: VersionChangeEvent[] = [];
    const off = onVersionChange((e) => events.push(e));
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const newer = new Dexie(repo.db.name);
    newer.version(SCHEMA_VERSION + 1).stores({ projects: 'id' });
    await newer.open();
    off();
    expect(events).toEqual([
      {
        kind: 'versionchange',
        dbName: repo.db.name,
        oldVersion: SCHEMA_VERSION,
        newVersion: SCHEMA_VERSION + 1,
      },
    ]);
    expect(repo.db.isOpen()).toBe(false);
    const err = await expectCode(repo.projects.create('x', 'x', 'k1'), 'internal');
    expect(err.message).toBe(RELOAD_MESSAGE);
    newer.close();
  });

  it('reports an upgrade blocked by an old connection, then completes when it closes', async () => {
    const name = `test-${crypto.randomUUID()}`;
    const old = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 5);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const events: VersionChangeEvent[] = [];
    const off = onVersionChange((e) => events.push(e));
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const db = new GlimpseDB(name);
    opened.push(db);
    const opening = db.open();
    await vi.waitFor(() => expect(events.map((e) => e.kind)).toContain('blocked'));
    old.close();
    await opening;
    off();
    expect(events[0]).toMatchObject({
      kind: 'blocked',
      dbName: name,
      oldVersion: 0.5,
      newVersion: SCHEMA_VERSION,
    });
    expect(await createRepo(db).projects.list()).toEqual([]);
  });
});
