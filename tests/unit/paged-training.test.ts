// Paged training (issue 21): the app reads a project's embeddings from IndexedDB a page at a time
// (streamTrainingSet) and the worker packs the pages (RowStage) before fitHead runs. The rows, the
// quarantine and the trained head must be exactly those of the in-memory path (loadTrainingSet +
// selectClasses + fitHead on the same rows), whatever the page size.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { selectClasses } from '../../src/dataset/labelled-set';
import { GlimpseDB } from '../../src/store/db';
import { createRepo, type NewSample } from '../../src/store/repo';
import { newSample } from './sample-fixture';
import { mulberry32 } from '../../src/shared/rng';
import { fitHead } from '../../src/train/fit';
import { defaultHeadSettings, type TrainedHead } from '../../src/train/head';
import { RowStage } from '../../src/train/row-stage';
import { trainingSubsample } from '../../src/dataset/subsample';
import { rowsBeforeWarmStart } from '../../src/train/fit-plan';

const dim = 24;
const opened: GlimpseDB[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const sample = newSample;

/** 3 classes x 25 rows with class-dependent means, a sample without embedding and 3 corrupt rows. */
async function world() {
  const db = new GlimpseDB(`paged-${crypto.randomUUID()}`);
  opened.push(db);
  const repo = createRepo(db);
  const project = await repo.projects.create('P', 'e', 'k1');
  const classes = [];
  for (const name of ['A', 'B', 'C']) classes.push(await repo.classes.add(project.id, name));
  const next = mulberry32(5);
  const inputs: NewSample[] = [];
  for (let i = 0; i < 75; i++) {
    const k = i % 3;
    const v = Float32Array.from({ length: dim }, (_, j) => (j % 3 === k ? 1.5 : 0.2) * (0.5 + next()) * (1 + (i % 4)));
    inputs.push(sample(project.id, classes[k]!.id, v, i));
  }
  inputs.push(sample(project.id, classes[1]!.id, null, 99));
  const saved = await repo.samples.addSamples(inputs);
  // Corrupt rows behind the repository's back: NaN, wrong length, sample of a deleted class.
  await db.embeddings.update(saved[4]!.id, { vector: new Float32Array(dim).fill(Number.NaN) });
  await db.embeddings.update(saved[10]!.id, { vector: new Float32Array(dim + 1), dim: dim + 1 });
  await db.samples.update(saved[20]!.id, { classId: 'deleted-class' });
  // The rows are read one by one here, as rows written before schema v7 are: the packed copies
  // (store/packs.ts, tested below) would still hold the good vectors of the rows corrupted above.
  await db.packs.clear();
  return { db, repo, project, classes, saved };
}

/** What the worker does with the pages: announce, append each page, then view the packed rows. */
async function streamed(w: Awaited<ReturnType<typeof world>>, pageRows: number, maxRows?: number) {
  let stage: RowStage | null = null;
  const pages: number[] = [];
  const set = await w.repo.embeddings.streamTrainingSet(
    w.project.id,
    'k1',
    {
      expectedDim: dim,
      pageRows,
      onPlan: (rows) => void (stage = new RowStage(rows, dim)),
      ...(maxRows ? { select: (ids: readonly string[], cls: readonly string[]) => trainingSubsample(ids, cls, maxRows) } : {}),
    },
    (page) => {
      pages.push(page.ids.length);
      stage!.append(page.ids, page.x, page.at);
    },
  );
  // As the worker does when some planned rows turned out unreadable (pages placed by position).
  (stage as RowStage | null)!.retain(set.ids);
  return { set, x: stage!.view(set.ids), pages };
}

function sameHead(a: TrainedHead, b: TrainedHead): void {
  expect(Buffer.from(a.mean.buffer, a.mean.byteOffset, a.mean.byteLength).equals(Buffer.from(b.mean.buffer, b.mean.byteOffset, b.mean.byteLength))).toBe(true);
  expect(Buffer.from(a.invStd.buffer, a.invStd.byteOffset, a.invStd.byteLength).equals(Buffer.from(b.invStd.buffer, b.invStd.byteOffset, b.invStd.byteLength))).toBe(true);
  a.layers.forEach((layer, l) => {
    expect(Array.from(layer.kernel)).toEqual(Array.from(b.layers[l]!.kernel));
    expect(Array.from(layer.bias)).toEqual(Array.from(b.layers[l]!.bias));
  });
  expect(a.history).toEqual(b.history);
  expect(a.bestEpoch).toBe(b.bestEpoch);
}

describe('paged training set', () => {
  it('pages concatenated are loadTrainingSet\'s rows, and corrupt rows are quarantined the same way', async () => {
    const w = await world();
    const paged = await streamed(w, 7);
    expect(paged.set.quarantined).toBe(3);
    expect(paged.pages.every((p) => p <= 7)).toBe(true);
    expect(paged.pages.length).toBeGreaterThan(9);
    const q = await w.repo.embeddings.listQuarantine(w.project.id);
    expect(q.map((r) => [r.table, r.rowId]).sort()).toEqual(
      [
        ['embeddings', w.saved[4]!.id],
        ['embeddings', w.saved[10]!.id],
        ['embeddings', w.saved[20]!.id],
        ['samples', w.saved[20]!.id],
      ].sort(),
    );
    expect(q.find((r) => r.rowId === w.saved[4]!.id)?.reason).toMatch(/NaN/);
    // In memory, after the quarantine: the same ids, classes, vectors and missing samples.
    const mem = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: dim });
    expect(mem.quarantined).toBe(0);
    expect(paged.set.ids).toEqual(mem.ids);
    expect(paged.set.classIds).toEqual(mem.classIds);
    expect(Array.from(paged.x)).toEqual(Array.from(mem.x));
    expect(new Set(paged.set.missing)).toEqual(new Set([w.saved[75]!.id]));
    expect(new Set(mem.missing)).toEqual(new Set([w.saved[4]!.id, w.saved[10]!.id, w.saved[75]!.id]));
    expect(paged.set.ids.length).toBe(72);
    // Any page size gives the same rows.
    for (const pageRows of [1, 64, 10_000]) {
      const again = await streamed(w, pageRows);
      expect(again.set.ids).toEqual(mem.ids);
      expect(Array.from(again.x)).toEqual(Array.from(mem.x));
    }
  });

  // pagedMinValues 0: the fit takes head-paged.ts's page-at-a-time objective, as sets above
  // 12,000 rows do; undefined: the whole-set objective of smaller sets.
  it.each([
    ['cpu', undefined],
    ['wasm', undefined],
    ['cpu', 0],
    ['wasm', 0],
  ] as const)('trains the same head as in-memory training on the same rows (%s, pagedMinValues %s)', async (backend, pagedMinValues) => {
    if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    expect(await tf.setBackend(backend)).toBe(true);
    const w = await world();
    const paged = await streamed(w, 7);
    const mem = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: dim });
    const order = w.classes.map((c) => c.id);
    const rows = selectClasses(mem, order);
    const labels = Int32Array.from(paged.set.classIds, (c) => order.indexOf(c));
    expect(Array.from(labels)).toEqual(Array.from(rows.labels));
    const settings = defaultHeadSettings();
    const opts = pagedMinValues === undefined ? {} : { pagedMinValues };
    const before = tf.memory().numTensors;
    const fromPages = await fitHead({ ids: paged.set.ids, labels, x: paged.x, dim }, 3, settings, opts);
    const inMemory = await fitHead({ ids: rows.ids, labels: rows.labels, x: rows.x, dim }, 3, settings, opts);
    expect(tf.memory().numTensors).toBe(before);
    sameHead(fromPages.head, inMemory.head);
    expect(fromPages.validation).toEqual(inMemory.validation);
    expect(fromPages.head.history.length).toBeGreaterThan(1);
  });

  it('above the row limit, only the subsample is read and sent, and it trains the head in-memory training gives on the same rows', async () => {
    await tf.setBackend('cpu');
    const w = await world();
    await streamed(w, 7); // moves the corrupt rows aside first
    const paged = await streamed(w, 5, 40);
    expect(paged.set.ids.length).toBe(40);
    expect(paged.pages.reduce((a, b) => a + b, 0)).toBe(40);
    const mem = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: dim });
    const order = w.classes.map((c) => c.id);
    const rows = selectClasses(mem, order);
    const pick = trainingSubsample(rows.ids, rows.ids.map((_, i) => order[rows.labels[i]!]!), 40)!;
    expect(paged.set.ids).toEqual(pick.map((i) => rows.ids[i]));
    const x = new Float32Array(pick.length * dim);
    pick.forEach((r, i) => x.set(rows.x.subarray(r * dim, (r + 1) * dim), i * dim));
    expect(Array.from(paged.x)).toEqual(Array.from(x));
    const labels = Int32Array.from(pick, (r) => rows.labels[r]!);
    const settings = defaultHeadSettings();
    const fromPages = await fitHead({ ids: paged.set.ids, labels: Int32Array.from(paged.set.classIds, (c) => order.indexOf(c)), x: paged.x, dim }, 3, settings);
    const inMemory = await fitHead({ ids: pick.map((i) => rows.ids[i]!), labels, x, dim }, 3, settings);
    sameHead(fromPages.head, inMemory.head);
    expect(fromPages.validation).toEqual(inMemory.validation);
  });

  it('a large fit starts on the rows it needs first while the others are still read, and trains the in-memory head', async () => {
    await tf.setBackend('cpu');
    const w = await world();
    await streamed(w, 7); // moves the corrupt rows aside first
    const mem = await w.repo.embeddings.loadTrainingSet(w.project.id, 'k1', { expectedDim: dim });
    const order = w.classes.map((c) => c.id);
    const rows = selectClasses(mem, order);
    const settings = defaultHeadSettings();
    // A set "large" at these sizes: every row paged, a warm start on every 3rd training row.
    const sizes = { pagedMinValues: 0, warmRows: 20 };
    let stage: RowStage | null = null;
    let first: number[] | null = null;
    let fit: ReturnType<typeof fitHead> | null = null;
    const asked: (number[] | null)[] = [];
    const pageRows: number[][] = [];
    let placedWhenFitAsked = -1;
    const set = await w.repo.embeddings.streamTrainingSet(
      w.project.id,
      'k1',
      {
        expectedDim: dim,
        pageRows: 5,
        onPlan: (_n, ids) => void (stage = new RowStage(ids, dim)),
        first: (ids, cls) => (first = rowsBeforeWarmStart(ids, Int32Array.from(cls, (c) => order.indexOf(c)), settings, { dim, ...sizes })),
      },
      async (page) => {
        pageRows.push(Array.from(page.at));
        stage!.append(page.ids, page.x, page.at);
        const labels = Int32Array.from(stage!['ids'] as string[], (id) => rows.labels[rows.ids.indexOf(id)]!);
        if (!fit && first && first.every((r) => pageRows.flat().includes(r))) {
          const staged = stage!;
          fit = fitHead({ ids: rows.ids, labels, x: staged.view(rows.ids), dim }, 3, settings, {
            ...sizes,
            whenRows: async (r) => {
              asked.push(r ? [...r].sort((a, b) => a - b) : null);
              if (asked.length === 1) placedWhenFitAsked = staged.rows;
              await staged.whenRows(r);
            },
          });
        }
        await new Promise((r) => setTimeout(r, 0)); // the fit runs between pages
      },
    );
    expect(set.ids).toEqual(rows.ids);
    expect(first).not.toBeNull();
    expect(first!.length).toBeLessThan(rows.ids.length);
    // The pages read the first rows first, then the rest; each row once.
    const readOrder = pageRows.flat();
    expect(readOrder.slice(0, first!.length)).toEqual(first);
    expect([...readOrder].sort((a, b) => a - b)).toEqual(rows.ids.map((_, i) => i));
    const streamedFit = await fit!;
    // The fit asked for exactly fit-plan's rows, then for all, and started before all were there.
    expect(asked).toEqual([first, null]);
    expect(placedWhenFitAsked).toBeLessThan(rows.ids.length);
    const inMemory = await fitHead({ ids: rows.ids, labels: rows.labels, x: rows.x, dim }, 3, settings, sizes);
    sameHead(streamedFit.head, inMemory.head);
    expect(streamedFit.validation).toEqual(inMemory.validation);
  });

  it('an announced stage places pages by position, wakes waiters, keeps what came and can be closed', async () => {
    const stage = new RowStage(['a', 'b', 'c'], 2);
    let woke = false;
    const both = stage.whenRows([0, 2]).then(() => (woke = true));
    stage.append(['c'], new Float32Array([5, 6]), [2]);
    await Promise.resolve();
    expect(woke).toBe(false);
    expect(() => stage.append(['c'], new Float32Array([5, 6]), [1])).toThrow(/out of place/);
    stage.append(['a'], new Float32Array([1, 2]), [0]);
    await both;
    expect(stage.rows).toBe(2);
    expect(Array.from(stage.view(['a', 'b', 'c']))).toEqual([1, 2, 0, 0, 5, 6]);
    const all = stage.whenRows(null);
    // 'b' turned out unreadable: the set becomes what came; whoever waited for all of it is told.
    expect(stage.retain(['a', 'c'])).toBe(2);
    await expect(all).rejects.toThrow(/changed/);
    expect(Array.from(stage.view(['a', 'c']))).toEqual([1, 2, 5, 6]);
    await expect(stage.whenRows(null)).resolves.toBeUndefined();
    expect(() => stage.retain(['b'])).toThrow(/lack/);
    const other = new RowStage(['x'], 1);
    const waiting = other.whenRows(null);
    other.close(new Error('replaced'));
    await expect(waiting).rejects.toThrow(/replaced/);
    await expect(other.whenRows([0])).rejects.toThrow(/replaced/);
  });

  it('the stage refuses pages beyond the announced size and rows other than the request\'s', () => {
    const stage = new RowStage(2, 3);
    stage.append(['a'], new Float32Array([1, 2, 3]));
    expect(() => stage.append(['b'], new Float32Array([1, 2]))).toThrow(/values/);
    stage.append(['b'], new Float32Array([4, 5, 6]));
    expect(() => stage.append(['c'], new Float32Array([7, 8, 9]))).toThrow(/More rows than announced/);
    expect(() => stage.view(['a', 'c'])).toThrow(/do not match/);
    expect(Array.from(stage.view(['a', 'b']))).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
