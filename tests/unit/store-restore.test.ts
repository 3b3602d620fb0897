// Stored heads and fine-tuned models come back typed (store/restore.ts): rows of every schema
// fixture, rows whose arrays came back as ArrayBuffers or plain arrays, damaged rows and
// metrics of older versions. Nothing a reader gets is an unchecked value.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import type { GlimpseDB } from '../../src/store/db';
import { createRepo } from '../../src/store/repo';
import { restoreHeadMetrics, restoreHeadRow, restoreTunedMetrics, restoreTunedRow } from '../../src/store/restore';
import type { HeadRow, TunedRow } from '../../src/store/types';
import { FIXTURES, openFixture } from './db-fixture';
import { tinyHead } from './head-fixture';

const opened: GlimpseDB[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete().catch(() => undefined);
});

function headRow(head: unknown, metrics: unknown = null, labels = ['a', 'b']): HeadRow {
  return { id: 'h', projectId: 'p', createdAt: 1, extractorKey: 'k', labels, classNames: labels.map((l) => l.toUpperCase()), head, metrics };
}

/** The head with its numbers as another structured-clone path may return them. */
function withArrays(map: (v: Float32Array) => unknown) {
  const h = tinyHead(2, 3, 5);
  return {
    ...h,
    mean: map(h.mean),
    invStd: map(h.invStd),
    layers: h.layers.map((l) => ({ ...l, kernel: map(l.kernel), bias: map(l.bias) })),
  };
}

describe('heads', () => {
  const files = readdirSync(FIXTURES).filter((f) => /^v\d+\.json$/.test(f));

  for (const file of files) {
    it(`${file}: the head of an older format reads back as unusable, with the reason, its metrics typed`, async () => {
      const { db, rows } = await openFixture(file, 'restore');
      opened.push(db);
      const want = rows.heads![0]!;
      const got = await createRepo(db).heads.latest(String(want.projectId));
      expect(got?.id).toBe(want.id);
      expect(got?.classNames).toEqual(['Fork', 'Spoon']);
      // `{ kind: 'softmax', weights: [[...]] }`: no sizes, no layers.
      expect(got?.head).toBeNull();
      expect(got?.problem).toMatch(/cannot be read .*train again/);
      // { accuracy: 1, confusion } without perClass or n is not a validation result.
      expect(got?.metrics).toEqual({ validation: null, trainMs: 0, settings: null, reviewed: [], nTrain: 0, nAugmented: 0 });
    });
  }

  it('a saved head reads back equal, its numbers Float32Arrays', async () => {
    const { db } = await openFixture('v6.json', 'restore');
    opened.push(db);
    const repo = createRepo(db);
    const project = (await repo.projects.list())[0]!;
    const classes = await repo.classes.list(project.id);
    const labels = classes.map((c) => c.id);
    const saved = await repo.heads.save(project.id, { extractorKey: 'k', labels, classNames: classes.map((c) => c.name), head: tinyHead(labels.length, 4, 3), metrics: { trainMs: 12, nTrain: 7 } });
    const got = await repo.heads.latestFor(project.id, 'k');
    expect(got?.id).toBe(saved.id);
    expect(got?.problem).toBeNull();
    expect(got?.head).toEqual(tinyHead(labels.length, 4, 3));
    expect(got?.head?.layers[0]!.kernel).toBeInstanceOf(Float32Array);
    expect(got?.metrics).toMatchObject({ trainMs: 12, nTrain: 7, nAugmented: 0, reviewed: [], validation: null });
  });

  it('numbers stored as ArrayBuffers or plain arrays come back as the same Float32Arrays', () => {
    const want = tinyHead(2, 3, 5);
    for (const map of [(v: Float32Array) => v.slice().buffer, (v: Float32Array) => [...v]]) {
      const got = restoreHeadRow(headRow(withArrays(map)));
      expect(got.problem).toBeNull();
      expect(got.head).toEqual(want);
      expect(got.head!.mean).toBeInstanceOf(Float32Array);
    }
  });

  it('a damaged head is unusable and says why', () => {
    const nan = withArrays((v) => v);
    (nan.layers[0]!.kernel as Float32Array)[2] = Number.NaN;
    expect(restoreHeadRow(headRow(nan)).problem).toMatch(/NaN or Infinity/);
    const short = withArrays((v) => v.subarray(1));
    expect(restoreHeadRow(headRow(short)).problem).toMatch(/has 2 values; expected 3/);
    expect(restoreHeadRow(headRow(tinyHead(2))).problem).toBeNull();
    // Three classes, a head of two outputs.
    expect(restoreHeadRow(headRow(tinyHead(2), null, ['a', 'b', 'c'])).problem).toBe('The saved model has 2 outputs for 3 classes.');
    expect(restoreHeadRow(headRow('text')).head).toBeNull();
    const { settings: _s, history: _h, ...bare } = tinyHead(2);
    // Heads stored before settings and history were kept with them are still heads.
    expect(restoreHeadRow(headRow(bare)).head?.settings.kind).toBe('softmax');
  });

  it('metrics: each malformed field gets its empty value, the rest is kept', () => {
    const validation = { accuracy: 0.5, perClass: [1, 0], confusion: [[1, 0], [1, 0]], n: 2 };
    const reviewed = [
      { sampleId: 's1', trueIndex: 1, predIndex: 0, confidence: 0.75 },
      { sampleId: 's2', trueIndex: 2, predIndex: 0, confidence: 0.5 },
      { sampleId: 7, trueIndex: 0, predIndex: 0, confidence: 0.5 },
    ];
    expect(restoreHeadMetrics({ validation, reviewed, trainMs: -3, nTrain: 2.5, nAugmented: 4, settings: { kind: 'bad' } }, 2)).toEqual({
      validation,
      reviewed: [reviewed[0]],
      trainMs: 0,
      nTrain: 0,
      nAugmented: 4,
      settings: null,
    });
    // Sized for three classes, read for two: not a validation result of this head.
    expect(restoreHeadMetrics({ validation: { ...validation, perClass: [1, 0, 0] } }, 2).validation).toBeNull();
    expect(restoreHeadMetrics('junk', 2)).toEqual(restoreHeadMetrics(undefined, 2));
  });
});

describe('fine-tuned models', () => {
  const row = (over: Partial<TunedRow>): TunedRow => ({
    id: 't',
    projectId: 'p',
    headId: 'h',
    createdAt: 1,
    extractorKey: 'k',
    fromLayer: 'x',
    labels: ['a', 'b'],
    classNames: ['A', 'B'],
    weights: [{ name: 'x/kernel', shape: [2], data: Float32Array.from([1, 2]).buffer }],
    head: tinyHead(2),
    metrics: null,
    ...over,
  });

  it('weights stored as ArrayBuffers come back as Float32Arrays; metrics get their empty values', () => {
    const got = restoreTunedRow(row({}));
    expect(got.weights[0]!.data).toEqual(Float32Array.from([1, 2]));
    expect(got.head).toEqual(tinyHead(2));
    expect(got.metrics).toEqual({ history: [], bestEpoch: 0, epochs: 0, before: null, after: null, nTrain: 0, nValidation: 0, trainMs: 0, learningRate: null });
  });

  it('metrics keep what is valid; epochs default to the history length; a bad head is reported', () => {
    const history = [{ epoch: 1, loss: 0.5, valLoss: 0.4, valAccuracy: 0.9 }, { epoch: 2, loss: 'x' }, { epoch: 3, loss: 0.3, valAccuracy: 7 }];
    expect(restoreTunedMetrics({ history, bestEpoch: 1, before: 0.8, after: 1.5, learningRate: 1e-4 })).toEqual({
      history: [history[0], { epoch: 3, loss: 0.3 }],
      bestEpoch: 1,
      epochs: 2,
      before: 0.8,
      after: null,
      nTrain: 0,
      nValidation: 0,
      trainMs: 0,
      learningRate: 1e-4,
    });
    const bad = restoreTunedRow(row({ head: { kind: 'softmax' } }));
    expect(bad.head).toBeNull();
    expect(bad.problem).toMatch(/cannot be read/);
  });
});
