// Switching a project's extractor away and back (issue 15, item 6): the vectors of the first
// extractor are stashed, not lost, and come back without running the network; the trained head is
// kept per extractor.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { GlimpseDB } from '../../src/store/db';
import { createRepo, type Repo as StoreRepo } from '../../src/store/repo';
import { tinyHead } from './head-fixture';

type Repo = StoreRepo & { db: GlimpseDB };

const opened: GlimpseDB[] = [];
function freshRepo(): Repo {
  const db = new GlimpseDB(`switch-${crypto.randomUUID()}`);
  opened.push(db);
  return { ...createRepo(db), db };
}
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

const vec = (...v: number[]): Float32Array => Float32Array.from(v);

async function twoSamples(repo: Repo) {
  const project = await repo.projects.create('Flowers', 'inception-v3-2015-mixed8', 'A');
  const cls = await repo.classes.add(project.id, 'daisy');
  const base = { projectId: project.id, classId: cls.id, source: 'file' as const, type: 'image/png', width: 2, height: 2 };
  const blob = () => new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
  const [s1, s2] = await repo.samples.addSamples([
    { ...base, name: 'a.png', blob: blob(), thumb: blob(), embedding: { extractorKey: 'A', vector: vec(1, 2, 3) } },
    { ...base, name: 'b.png', blob: blob(), thumb: blob(), embedding: { extractorKey: 'A', vector: vec(4, 5, 6) } },
  ]);
  return { project, cls, s1: s1!, s2: s2! };
}

describe('switching extractor away and back', () => {
  it('stashes the replaced vectors and restores them exactly, with nothing left to embed', async () => {
    const repo = freshRepo();
    const { project, s1, s2 } = await twoSamples(repo);
    // Re-embedding for extractor B replaces the current vectors.
    await repo.embeddings.putMany([
      { sampleId: s1.id, extractorKey: 'B', vector: vec(9, 9) },
      { sampleId: s2.id, extractorKey: 'B', vector: vec(8, 8) },
    ]);
    expect((await repo.embeddings.coverage(project.id, 'A')).missing).toHaveLength(2);
    expect(await repo.db.stash.count()).toBe(2);

    // Back to A: both come back from the stash, B's go to the stash.
    expect(await repo.embeddings.restoreStashed(project.id, 'A')).toBe(2);
    const covA = await repo.embeddings.coverage(project.id, 'A');
    expect(covA.missing).toEqual([]);
    const setA = await repo.embeddings.loadTrainingSet(project.id, 'A');
    const byId = new Map(setA.ids.map((id, i) => [id, Array.from(setA.x.subarray(i * 3, i * 3 + 3))]));
    expect(byId.get(s1.id)).toEqual([1, 2, 3]);
    expect(byId.get(s2.id)).toEqual([4, 5, 6]);
    const stashed = await repo.db.stash.toArray();
    expect(stashed.map((r) => r.extractorKey)).toEqual(['B', 'B']);

    // And to B again: also without embedding.
    expect(await repo.embeddings.restoreStashed(project.id, 'B')).toBe(2);
    expect((await repo.embeddings.coverage(project.id, 'B')).missing).toEqual([]);
  });

  it('drops stashed rows of deleted samples instead of resurrecting them', async () => {
    const repo = freshRepo();
    const { project, s1, s2 } = await twoSamples(repo);
    await repo.embeddings.putMany([{ sampleId: s1.id, extractorKey: 'B', vector: vec(7, 7) }]);
    await repo.samples.delete([s1.id]);
    expect(await repo.embeddings.restoreStashed(project.id, 'A')).toBe(0);
    expect(await repo.db.stash.count()).toBe(0);
    expect((await repo.embeddings.coverage(project.id, 'A')).missing).toEqual([]);
    expect(await repo.db.embeddings.get(s2.id)).toMatchObject({ extractorKey: 'A' });
  });

  it('keeps the newest head per extractor', async () => {
    const repo = freshRepo();
    const { project, cls } = await twoSamples(repo);
    const head = (key: string) => ({ extractorKey: key, labels: [cls.id, cls.id], classNames: ['daisy', 'daisy'], head: tinyHead(2), metrics: null });
    const a = await repo.heads.save(project.id, head('A'));
    const b = await repo.heads.save(project.id, head('B'));
    expect((await repo.heads.latest(project.id))?.id).toBe(b.id);
    expect((await repo.heads.latestFor(project.id, 'A'))?.id).toBe(a.id);
    expect((await repo.heads.latestFor(project.id, 'B'))?.id).toBe(b.id);
    expect(await repo.heads.latestFor(project.id, 'C')).toBeUndefined();
  });

  it('deleting the project deletes its stash too', async () => {
    const repo = freshRepo();
    const { project, s1 } = await twoSamples(repo);
    await repo.embeddings.putMany([{ sampleId: s1.id, extractorKey: 'B', vector: vec(7, 7) }]);
    await repo.projects.delete(project.id);
    expect(await repo.db.stash.count()).toBe(0);
  });
});
