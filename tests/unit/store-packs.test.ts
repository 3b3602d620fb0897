// Packs (schema v7, store/packs.ts): rows written together are also stored as one value, and the
// training read takes a row's vector from the newest pack that holds it, while the sample still
// has an embedding for that key. The rows stay the truth; these tests pin down when a copy is used.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { GlimpseDB } from '../../src/store/db';
import { PACK_ROWS } from '../../src/store/packs';
import { createRepo, type NewSample } from '../../src/store/repo';
import type { TrainingPage } from '../../src/store/embeddings';
import { newSample } from './sample-fixture';

const dim = 6;
const opened: GlimpseDB[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

function vec(i: number): Float32Array {
  return Float32Array.from({ length: dim }, (_, j) => i * 10 + j + 0.25);
}

function sample(projectId: string, classId: string, i: number): NewSample {
  return newSample(projectId, classId, vec(i), i);
}

async function world(n: number) {
  const db = new GlimpseDB(`packs-${crypto.randomUUID()}`);
  opened.push(db);
  const repo = createRepo(db);
  const project = await repo.projects.create('P', 'e', 'k1');
  const a = await repo.classes.add(project.id, 'A');
  const b = await repo.classes.add(project.id, 'B');
  const saved = await repo.samples.addSamples(
    Array.from({ length: n }, (_, i) => sample(project.id, (i % 2 ? b : a).id, i)),
  );
  return { db, repo, project, saved };
}

/** The streamed rows by sample id, and the pages as they came. */
async function stream(w: Awaited<ReturnType<typeof world>>) {
  const pages: TrainingPage[] = [];
  const set = await w.repo.embeddings.streamTrainingSet(w.project.id, 'k1', { expectedDim: dim, pageRows: 4 }, (p) => {
    pages.push(p);
  });
  const byId = new Map<string, number[]>();
  for (const p of pages) p.ids.forEach((id, i) => byId.set(id, Array.from(p.x.subarray(i * dim, (i + 1) * dim))));
  return { set, pages, byId };
}

describe('packs', () => {
  it('rows written together are packed, and the training read gives exactly the rows', async () => {
    const w = await world(PACK_ROWS + 5);
    const packs = await w.db.packs.toArray();
    expect(packs.map((p) => p.ids.length)).toEqual([PACK_ROWS, 5]);
    expect(packs[0]!.ids).toEqual(w.saved.slice(0, PACK_ROWS).map((s) => s.id));
    const { set, pages, byId } = await stream(w);
    const mem = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: dim });
    expect(set.ids).toEqual(mem.ids);
    mem.ids.forEach((id, i) => expect(byId.get(id)).toEqual(Array.from(mem.x.subarray(i * dim, (i + 1) * dim))));
    // Every row came from a pack, newest pack first (rows read one by one come 4 to a page here),
    // each row once, at its position.
    expect(pages.map((p) => p.ids.length)).toEqual([5, PACK_ROWS]);
    for (const p of pages) p.ids.forEach((id, i) => expect(set.ids[p.at[i]!]).toBe(id));
  });

  it('a copy is used only while its row exists, and a pack nobody uses is deleted', async () => {
    const w = await world(10);
    await w.repo.samples.delete([w.saved[3]!.id]);
    const { set, byId } = await stream(w);
    expect(set.ids).not.toContain(w.saved[3]!.id);
    expect(byId.has(w.saved[3]!.id)).toBe(false);
    expect(set.ids).toHaveLength(9);

    // A second batch, then every sample of the first is deleted: its pack goes at the next read.
    const more = await w.repo.samples.addSamples([sample(w.project.id, w.saved[0]!.classId, 50)]);
    expect(await w.db.packs.count()).toBe(2);
    await w.repo.samples.delete(w.saved.map((s) => s.id).filter((id) => id !== w.saved[3]!.id));
    const after = await stream(w);
    expect(after.set.ids).toEqual([more[0]!.id]);
    expect(await w.db.packs.count()).toBe(1);
  });

  it('re-embedding writes a newer pack and the newest copy wins', async () => {
    const w = await world(4);
    const fresh = vec(77);
    await w.repo.embeddings.putMany([{ sampleId: w.saved[1]!.id, extractorKey: 'k1', vector: fresh }]);
    expect(await w.db.packs.count()).toBe(2);
    const { byId } = await stream(w);
    expect(byId.get(w.saved[1]!.id)).toEqual(Array.from(fresh));
    expect(byId.get(w.saved[2]!.id)).toEqual(Array.from(vec(2)));
  });

  it('a copy that is not finite is skipped: that row is read and checked instead', async () => {
    const w = await world(3);
    const pack = (await w.db.packs.toArray())[0]!;
    const x = Float32Array.from(pack.x);
    x[dim + 2] = Number.NaN; // the copy of row 1
    await w.db.packs.update(pack.id, { x });
    const { set, byId } = await stream(w);
    expect(set.quarantined).toBe(0);
    expect(byId.get(w.saved[1]!.id)).toEqual(Array.from(vec(1)));

    // Both copies bad: the row's own check quarantines it, as without packs.
    await w.db.embeddings.update(w.saved[1]!.id, { vector: new Float32Array(dim).fill(Number.NaN) });
    const again = await stream(w);
    expect(again.set.quarantined).toBe(1);
    expect(again.set.ids).not.toContain(w.saved[1]!.id);
  });

  it('a few rows of many (the map\'s sample) are read one by one, not from the packs', async () => {
    const w = await world(40);
    const pages: number[] = [];
    const set = await w.repo.embeddings.streamTrainingSet(
      w.project.id,
      'k1',
      { expectedDim: dim, pageRows: 4, select: (ids) => ids.map((_, i) => i).filter((i) => i % 4 === 0) },
      (p) => void pages.push(p.ids.length),
    );
    expect(set.ids).toHaveLength(10);
    expect(pages).toEqual([4, 4, 2]); // rows read 4 to a page; a pack would have come as one page of 10
    // Half of them or more: from the pack.
    const half: number[] = [];
    await w.repo.embeddings.streamTrainingSet(
      w.project.id,
      'k1',
      { expectedDim: dim, pageRows: 4, select: (ids) => ids.map((_, i) => i).filter((i) => i % 2 === 0) },
      (p) => void half.push(p.ids.length),
    );
    expect(half).toEqual([20]);
  });

  it('a copy of another key or length is never used (and such a pack is deleted), and deleting the project deletes its packs', async () => {
    const w = await world(3);
    const other = await w.repo.embeddings.streamTrainingSet(w.project.id, 'k2', { expectedDim: dim }, () => {
      throw new Error('no rows have key k2');
    });
    expect(other.ids).toEqual([]);
    const pack = (await w.db.packs.toArray())[0]!;
    await w.db.packs.update(pack.id, { dim: dim + 1 });
    const { set, byId } = await stream(w); // rows read one by one
    expect(set.ids).toHaveLength(3);
    expect(byId.get(w.saved[2]!.id)).toEqual(Array.from(vec(2)));
    expect(await w.db.packs.count()).toBe(0); // a pack nothing can use is deleted
    await w.repo.embeddings.putMany([{ sampleId: w.saved[0]!.id, extractorKey: 'k1', vector: vec(7) }]);
    expect(await w.db.packs.count()).toBe(1);
    await w.repo.projects.delete(w.project.id);
    expect(await w.db.packs.count()).toBe(0);
  });
});

describe('lacksKey', () => {
  it('says from index counts whether a sample has no embedding for a key', async () => {
    const w = await world(4);
    expect(await w.repo.embeddings.lacksKey(w.project.id, 'k1')).toBe(false);
    expect(await w.repo.embeddings.lacksKey(w.project.id, 'k2')).toBe(true);
    await w.repo.samples.addSamples([{ ...sample(w.project.id, w.saved[0]!.classId, 9), embedding: undefined }]);
    expect(await w.repo.embeddings.lacksKey(w.project.id, 'k1')).toBe(true);
    expect((await w.repo.embeddings.coverage(w.project.id, 'k1')).missing).toHaveLength(1);
  });
});
