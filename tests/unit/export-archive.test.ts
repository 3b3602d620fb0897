// Project archives and the streaming unzip, in Node: round trip (bit-exact embeddings and head),
// every bad archive refused with its own message, the store untouched by a refused import, and a
// good import written as a new project in one transaction (fake-indexeddb).
import 'fake-indexeddb/auto';
import fs from 'node:fs';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { readDatasetZip } from '../../src/export/dataset-zip';
import { MiB, PROJECT_ZIP_LIMITS, type ZipLimits } from '../../src/export/limits';
import { buildProjectArchive, readProjectArchive, type ProjectSnapshot } from '../../src/export/project-archive';
import { freeProjectName, restoreSnapshot, snapshotProject } from '../../src/export/project-store';
import { APP_VERSION } from '../../src/export/version';
import { checkEntryPath, readZip } from '../../src/export/zip-read';
import { GlimpseDB } from '../../src/store/db';
import { createRepo, type Repo as StoreRepo } from '../../src/store/repo';

/** The repositories with the test's own database handle (the app's Repo has none). */
type Repo = StoreRepo & { db: GlimpseDB };
import type { TrainedHead } from '../../src/train/head';
import { defaultHeadSettings } from '../../src/train/head';
import { badArchives, forgeSizes, HTML_LABELS, htmlLabelArchive } from '../e2e/export-fixtures';

const root = path.resolve(import.meta.dirname, '..', '..');
const flowers = path.resolve(root, '..', 'shared', 'datasets', 'flower_photos');
const jpegs = (cls: string, n: number) =>
  fs.readdirSync(path.join(flowers, cls)).filter((f) => f.endsWith('.jpg')).sort().slice(0, n).map((f) => new Uint8Array(fs.readFileSync(path.join(flowers, cls, f))));

const DIM = 16;
function vector(seed: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, i) => Math.sin(seed * 31 + i) * 3 + 1e-7 * seed);
}

function head(numClasses: number): TrainedHead {
  const f = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 7 + s) / 3);
  return {
    kind: 'softmax',
    inputDim: DIM,
    numClasses,
    mean: f(DIM, 1),
    invStd: Float32Array.from({ length: DIM }, (_, i) => 1 + i / 10),
    layers: [{ inDim: DIM, outDim: numClasses, kernel: f(DIM * numClasses, 2), bias: f(numClasses, 3) }],
    settings: defaultHeadSettings(),
    history: [{ epoch: 1, loss: 1.1, accuracy: 0.5, valLoss: 1.2, valAccuracy: 0.4 }],
    bestEpoch: 1,
  };
}

function snapshot(): ProjectSnapshot {
  const daisy = jpegs('daisy', 2);
  const roses = jpegs('roses', 2);
  const samples = [...daisy.map((b) => ['c1', b] as const), ...roses.map((b) => ['c2', b] as const)].map(([classId, bytes], i) => ({
    id: `s${i}`,
    classId,
    name: `photo ${i}.jpg`,
    type: 'image/jpeg',
    source: 'file' as const,
    createdAt: 1000 + i,
    width: 320,
    height: 240,
    sizeBytes: bytes.byteLength,
    image: i === 3 ? null : bytes,
    thumb: bytes,
    thumbType: 'image/jpeg',
  }));
  return {
    name: 'Flowers',
    createdAt: 5,
    extractorId: 'resnet50-imagenet',
    extractorKey: 'k@1',
    settings: { note: 'kept' },
    classes: [
      { id: 'c1', name: 'daisy', color: '#4e79a7' },
      { id: 'c2', name: '<b>roses</b>', color: '#f28e2b' },
    ],
    samples,
    embeddings: { extractorKey: 'k@1', dim: DIM, vectors: new Map(samples.map((s, i) => [s.id, vector(i)])) },
    head: { extractorKey: 'k@1', labels: ['c1', 'c2'], classNames: ['daisy', '<b>roses</b>'], createdAt: 9, head: head(2), metrics: { validation: { accuracy: 1, perClass: [1, 1], confusion: [[1, 0], [0, 1]], n: 2 }, trainMs: 12 } },
  };
}

const opened: GlimpseDB[] = [];
function freshRepo(): Repo {
  const db = new GlimpseDB(`export-${crypto.randomUUID()}`);
  opened.push(db);
  return { ...createRepo(db), db };
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

async function counts(r: Repo): Promise<number[]> {
  const db = r.db;
  return Promise.all([db.projects.count(), db.classes.count(), db.samples.count(), db.embeddings.count(), db.heads.count()]);
}

describe('project archive', () => {
  it('round-trips every field, embedding and head weight bit for bit', async () => {
    const snap = snapshot();
    const zip = await buildProjectArchive(snap);
    const back = await readProjectArchive(zip);
    expect(back.name).toBe(snap.name);
    expect(back.settings).toEqual(snap.settings);
    expect(back.classes).toEqual(snap.classes);
    expect(back.samples.map((s) => ({ ...s, image: s.image && Buffer.from(s.image).toString('hex'), thumb: Buffer.from(s.thumb).toString('hex') }))).toEqual(
      snap.samples.map((s) => ({ ...s, image: s.image && Buffer.from(s.image).toString('hex'), thumb: Buffer.from(s.thumb).toString('hex') })),
    );
    for (const [id, v] of snap.embeddings!.vectors) expect(Array.from(back.embeddings!.vectors.get(id)!)).toEqual(Array.from(v));
    const h = back.head!;
    expect(h.labels).toEqual(['c1', 'c2']);
    expect(h.classNames).toEqual(['daisy', '<b>roses</b>']);
    expect(Array.from(h.head.layers[0]!.kernel)).toEqual(Array.from(snap.head!.head.layers[0]!.kernel));
    expect(Array.from(h.head.mean)).toEqual(Array.from(snap.head!.head.mean));
    expect(h.head.settings).toEqual(snap.head!.head.settings);
    expect(h.metrics).toEqual(snap.head!.metrics);
  });

  it('leaves embeddings and the head out when asked', async () => {
    const back = await readProjectArchive(await buildProjectArchive(snapshot(), { includeEmbeddings: false, includeHead: false }));
    expect(back.embeddings).toBeNull();
    expect(back.head).toBeNull();
    expect(back.samples).toHaveLength(4);
  });

  it('refuses each bad archive with its own message', async () => {
    const good = await buildProjectArchive(snapshot());
    const seen = new Set<string>();
    for (const bad of badArchives(good)) {
      const err = await readProjectArchive(bad.bytes).then(() => null, (e: unknown) => e as Error);
      expect(err, bad.name).not.toBeNull();
      expect(err!.message, bad.name).toMatch(bad.error);
      seen.add(err!.message);
    }
    expect(seen.size).toBe(badArchives(good).length);
  });

  it('imports HTML labels as plain text, unchanged', async () => {
    const back = await readProjectArchive(htmlLabelArchive(await buildProjectArchive(snapshot())));
    expect(back.classes.map((c) => c.name)).toEqual(HTML_LABELS);
    expect(back.head!.classNames).toEqual(HTML_LABELS);
  });

  it('validates fields: unknown class, bad colour, wrong embedding size, NaN weights', async () => {
    const good = snapshot();
    const cases: [string, (s: ProjectSnapshot) => void, RegExp][] = [
      ['colour', (s) => (s.classes[0]!.color = 'red'), /colour/],
      ['class', (s) => (s.samples[0]!.classId = 'nope'), /belongs to a class that is not in the archive/],
      ['nan', (s) => (s.head!.head.layers[0]!.kernel[0] = Number.NaN), /contains NaN or Infinity/],
      ['name', (s) => (s.classes[0]!.name = '   '), /cannot be empty/],
    ];
    for (const [what, mutate, error] of cases) {
      const s = snapshot();
      mutate(s);
      await expect(readProjectArchive(await buildProjectArchive(s)), what).rejects.toThrow(error);
    }
    expect(good.samples).toHaveLength(4);
  });

  it('writes a new project in one transaction, and a refused archive writes nothing', async () => {
    const repo = freshRepo();
    const existing = await repo.projects.create('Existing', 'x', 'k');
    const before = await counts(repo);
    for (const bad of badArchives(await buildProjectArchive(snapshot()))) {
      await expect(readProjectArchive(bad.bytes).then((s) => restoreSnapshot(repo, s))).rejects.toThrow();
    }
    expect(await counts(repo)).toEqual(before);

    const res = await restoreSnapshot(repo, await readProjectArchive(await buildProjectArchive(snapshot())));
    expect(res).toMatchObject({ classes: 2, samples: 4, embeddings: 4, head: true });
    expect((await repo.projects.get(existing.id))?.name).toBe('Existing');
    // Read it back out: same content under new ids, head labels re-keyed to the new class ids.
    const again = await snapshotProject(repo, res.project.id);
    const orig = snapshot();
    expect(again.classes.map((c) => [c.name, c.color])).toEqual(orig.classes.map((c) => [c.name, c.color]));
    expect(again.samples.map((s) => [s.name, s.image?.byteLength ?? null])).toEqual(orig.samples.map((s) => [s.name, s.image?.byteLength ?? null]));
    expect(again.head!.labels).toEqual(again.classes.map((c) => c.id));
    const newIds = again.samples.map((s) => s.id);
    expect(newIds.map((id) => Array.from(again.embeddings!.vectors.get(id)!))).toEqual(orig.samples.map((s) => Array.from(orig.embeddings!.vectors.get(s.id)!)));
    expect(Array.from(again.head!.head.layers[0]!.kernel)).toEqual(Array.from(orig.head!.head.layers[0]!.kernel));
  });

  it('an imported project whose name exists becomes "Name (2)", then "Name (3)"', async () => {
    const repo = freshRepo();
    const name = snapshot().name;
    await repo.projects.create(name, 'x', 'k');
    const bytes = await buildProjectArchive(snapshot());
    const second = await restoreSnapshot(repo, await readProjectArchive(bytes));
    const third = await restoreSnapshot(repo, await readProjectArchive(bytes));
    expect([second.project.name, third.project.name]).toEqual([`${name} (2)`, `${name} (3)`]);
    expect((await repo.projects.get(second.project.id))?.name).toBe(`${name} (2)`);
    const names = (await repo.projects.list()).map((p) => p.name).sort();
    expect(names).toEqual([name, `${name} (2)`, `${name} (3)`].sort());
    // A free name is kept as it is; a "Name (2)" imported again counts up from its base.
    expect(freeProjectName('Fresh', [name])).toBe('Fresh');
    expect(freeProjectName('Flowers (2)', ['Flowers', 'Flowers (2)'])).toBe('Flowers (3)');
    expect(freeProjectName('Flowers', ['Flowers', 'Flowers (2)', 'Flowers (4)'])).toBe('Flowers (3)');
  });

  it('writes the package.json version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(APP_VERSION).toBe(pkg.version);
  });
});

describe('streaming unzip', () => {
  const small: ZipLimits = { maxEntries: 3, maxTotalBytes: 3 * MiB, maxEntryBytes: () => 2 * MiB };

  it('checks entry paths', () => {
    expect(checkEntryPath('a/./b.jpg')).toBe('a/b.jpg');
    expect(checkEntryPath('dir/')).toBeNull();
    expect(() => checkEntryPath('a/../../b')).toThrow(/outside the archive/);
    expect(() => checkEntryPath('..\\b')).toThrow(/outside the archive/);
    expect(() => checkEntryPath('/etc/passwd')).toThrow(/absolute path/);
    expect(() => checkEntryPath('C:/x')).toThrow(/absolute path/);
    expect(() => checkEntryPath('a\u0000b')).toThrow(/control characters/);
  });

  it('stops a bomb at the total budget by counting real bytes (each entry under its cap)', async () => {
    const chunk = new Uint8Array(1.5 * MiB);
    const zip = zipSync({ 'a.jpg': chunk, 'b.jpg': chunk, 'c.jpg': chunk });
    await expect(readZip(zip, small)).rejects.toThrow(/unpacks to more than 3\.0 MB \(a zip bomb\?\)/);
    // With forged (tiny) sizes in every header the declared-size check fires first.
    await expect(readZip(forgeSizes(zip, 10), small)).rejects.toThrow(/more than the 10 bytes its header declares/);
    // Forged to the cap: the header looks acceptable, but the counted bytes are not.
    const big = zipSync({ 'a.jpg': new Uint8Array(8 * MiB) });
    await expect(readZip(forgeSizes(big, 2 * MiB), small)).rejects.toThrow(/more than the 2\.0 MB its header declares/);
  });

  it('limits the number of entries and refuses nested archives by content', async () => {
    const many = zipSync({ a: strToU8('1'), b: strToU8('2'), c: strToU8('3'), d: strToU8('4') });
    await expect(readZip(many, small)).rejects.toThrow(/more than 3 files/);
    const nested = zipSync({ 'photo.jpg': zipSync({ x: strToU8('x') }) });
    await expect(readZip(nested, PROJECT_ZIP_LIMITS)).rejects.toThrow(/contains another archive/);
    await expect(readZip(strToU8('not a zip, just some text that is long enough'), small)).rejects.toThrow(/not a zip archive/);
  });

  it('reads a dataset zip: one folder per class, common top folder dropped, junk skipped', async () => {
    const [a, b] = jpegs('daisy', 2);
    const zip = zipSync({
      'flowers/daisy/1.jpg': a!,
      'flowers/roses/2.JPG': b!,
      'flowers/roses/notes.txt': strToU8('hi'),
      'flowers/.DS_Store': strToU8('x'),
      '__MACOSX/flowers/._1.jpg': strToU8('x'),
    });
    const data = await readDatasetZip(zip);
    expect(data.files.map((f) => [f.dirs.join('/'), f.name, f.type])).toEqual([
      ['daisy', '1.jpg', 'image/jpeg'],
      ['roses', '2.JPG', 'image/jpeg'],
    ]);
    expect(data.skipped).toBe(3);
    await expect(readDatasetZip(zipSync({ 'x/../../y.jpg': a! }))).rejects.toThrow(/outside the archive/);
    await expect(readDatasetZip(zipSync({ 'a/b.zip': a! }))).rejects.toThrow(/contains another archive/);
  });
});
