// loadTrainingSet(): packing, missing embeddings, and quarantine of corrupt rows (wrong length,
// NaN, sample of a deleted class, embedding without a sample) -- counted and moved, never thrown.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { GlimpseDB } from '../../src/store/db';
import { createRepo, type NewSample, type Repo as StoreRepo } from '../../src/store/repo';

/** The repositories with the test's own database handle (the app's Repo has none). */
type Repo = StoreRepo & { db: GlimpseDB };

const opened: GlimpseDB[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

function freshRepo(): Repo {
  const db = new GlimpseDB(`test-${crypto.randomUUID()}`);
  opened.push(db);
  return { ...createRepo(db), db };
}

function input(projectId: string, classId: string, vector?: number[], key = 'k1'): NewSample {
  return {
    projectId,
    classId,
    source: 'webcam',
    name: 'frame',
    type: 'image/jpeg',
    blob: new Blob([new Uint8Array([1, 2, 3])]),
    thumb: new Blob([new Uint8Array([4])]),
    width: 299,
    height: 299,
    ...(vector ? { embedding: { extractorKey: key, vector } } : {}),
  };
}

async function world() {
  const repo = freshRepo();
  const project = await repo.projects.create('P', 'e', 'k1');
  const a = await repo.classes.add(project.id, 'A');
  const b = await repo.classes.add(project.id, 'B');
  // Valid rows: a1, a2 in A; b1 in B. Listed in insertion order within each class below.
  const [a1, a2, b1, noEmb, otherKey] = await repo.samples.addSamples([
    input(project.id, a.id, [1, 2, 3]),
    input(project.id, a.id, [4, 5, 6]),
    input(project.id, b.id, [7, 8, 9]),
    input(project.id, b.id),
    input(project.id, a.id, [1, 1, 1, 1], 'k2'),
  ]);
  return { repo, project, a, b, a1: a1!, a2: a2!, b1: b1!, noEmb: noEmb!, otherKey: otherKey! };
}

/** Rows of x as plain arrays, keyed by sample id. */
function rowsOf(set: { ids: string[]; dim: number; x: Float32Array }): Record<string, number[]> {
  return Object.fromEntries(
    set.ids.map((id, i) => [id, Array.from(set.x.subarray(i * set.dim, (i + 1) * set.dim))]),
  );
}

describe('loadTrainingSet', () => {
  it('packs valid rows in class order and lists samples without an embedding for the key', async () => {
    const w = await world();
    const set = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(set.dim).toBe(3);
    expect(set.quarantined).toBe(0);
    expect(set.x).toBeInstanceOf(Float32Array);
    expect(set.x.length).toBe(9);
    expect(new Set(set.ids.slice(0, 2))).toEqual(new Set([w.a1.id, w.a2.id]));
    expect(set.ids[2]).toBe(w.b1.id);
    expect(set.classIds).toEqual([w.a.id, w.a.id, w.b.id]);
    expect(rowsOf(set)).toEqual({
      [w.a1.id]: [1, 2, 3],
      [w.a2.id]: [4, 5, 6],
      [w.b1.id]: [7, 8, 9],
    });
    expect(new Set(set.missing)).toEqual(new Set([w.noEmb.id, w.otherKey.id]));

    await w.repo.classes.reorder(w.project.id, [w.b.id, w.a.id]);
    const reordered = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(reordered.classIds).toEqual([w.b.id, w.a.id, w.a.id]);

    const k2 = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k2');
    expect(k2).toMatchObject({ ids: [w.otherKey.id], dim: 4, quarantined: 0 });
  });

  it('quarantines wrong length, NaN, missing class and orphan embeddings, and counts them', async () => {
    const w = await world();
    const { db } = w.repo;
    const [wrongLen, nan, inf, badDim, lostClass, orphanSample] = await w.repo.samples.addSamples([
      input(w.project.id, w.a.id, [0, 0, 0]),
      input(w.project.id, w.a.id, [0, 0, 0]),
      input(w.project.id, w.b.id, [0, 0, 0]),
      input(w.project.id, w.b.id, [0, 0, 0]),
      input(w.project.id, w.b.id, [5, 5, 5]),
      input(w.project.id, w.b.id, [6, 6, 6]),
    ]);
    // Corrupt the rows behind the repository's back, as a bug or a bad import would.
    await db.embeddings.update(wrongLen!.id, { vector: new Float32Array([1, 2, 3, 4]), dim: 4 });
    await db.embeddings.update(nan!.id, { vector: new Float32Array([1, NaN, 3]) });
    await db.embeddings.update(inf!.id, { vector: [1, Infinity, 3] });
    await db.embeddings.update(badDim!.id, { dim: 7 });
    await db.samples.update(lostClass!.id, { classId: 'deleted-class' });
    await db.samples.delete(orphanSample!.id);
    const before = await db.embeddings.count();

    const set = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(set.quarantined).toBe(6);
    expect(set.dim).toBe(3);
    expect(rowsOf(set)).toEqual({
      [w.a1.id]: [1, 2, 3],
      [w.a2.id]: [4, 5, 6],
      [w.b1.id]: [7, 8, 9],
    });
    expect(set.x.length).toBe(9);
    // Samples whose embedding was bad still exist and need a fresh embedding.
    expect(new Set(set.missing)).toEqual(
      new Set([w.noEmb.id, w.otherKey.id, wrongLen!.id, nan!.id, inf!.id, badDim!.id]),
    );

    const q = await w.repo.embeddings.listQuarantine(w.project.id);
    const summary = q.map((r) => [r.table, r.rowId]).sort();
    expect(summary).toEqual(
      [
        ['embeddings', wrongLen!.id],
        ['embeddings', nan!.id],
        ['embeddings', inf!.id],
        ['embeddings', badDim!.id],
        ['embeddings', orphanSample!.id],
        ['embeddings', lostClass!.id],
        ['samples', lostClass!.id],
      ].sort(),
    );
    expect(q.every((r) => r.reason.length > 0 && r.row !== undefined)).toBe(true);
    expect(q.find((r) => r.rowId === nan!.id)?.reason).toMatch(/NaN/);
    expect(q.find((r) => r.table === 'samples')?.reason).toMatch(/class/);
    // Moved, not copied: gone from their tables, the quarantined sample keeps its image.
    expect(await db.embeddings.count()).toBe(before - 6);
    expect(await db.samples.get(lostClass!.id)).toBeUndefined();
    const kept = q.find((r) => r.table === 'samples')?.row as { blob: Blob };
    expect(kept.blob.size).toBe(3);

    // A second load finds nothing more to quarantine and returns the same data.
    const again = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(again.quarantined).toBe(0);
    expect(rowsOf(again)).toEqual(rowsOf(set));
  });

  it('expectedDim wins over the stored majority', async () => {
    const w = await world();
    const set = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: 4 });
    expect(set).toMatchObject({ ids: [], dim: 4, quarantined: 3 });
    expect(set.x.length).toBe(0);
  });

  it('an empty project gives an empty set', async () => {
    const repo = freshRepo();
    const p = await repo.projects.create('Empty', 'e', 'k1');
    expect(await repo.embeddings.loadTrainingSet(p.id, 'k1')).toEqual({
      ids: [],
      classIds: [],
      dim: 0,
      x: new Float32Array(0),
      missing: [],
      quarantined: 0,
    });
  });

  it('still leaves corrupt rows out when they cannot be moved', async () => {
    const w = await world();
    await w.repo.db.embeddings.update(w.a1.id, { vector: new Float32Array([NaN, 0, 0]) });
    w.repo.db.quarantine.hook('creating', () => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    const set = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(set.quarantined).toBe(1);
    expect(set.ids).not.toContain(w.a1.id);
    expect(await w.repo.db.embeddings.get(w.a1.id)).toBeDefined();
  });

  it('putMany replaces embeddings (e.g. after switching extractor) and skips deleted samples', async () => {
    const w = await world();
    const n = await w.repo.embeddings.putMany([
      { sampleId: w.noEmb.id, extractorKey: 'k1', vector: [0.5, 0.5, 0.5] },
      { sampleId: 'deleted', extractorKey: 'k1', vector: [1, 1, 1] },
    ]);
    expect(n).toBe(1);
    const set = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1');
    expect(set.ids).toContain(w.noEmb.id);
    expect(set.missing).toEqual([w.otherKey.id]);
  });
});
