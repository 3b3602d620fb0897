// The import queue's bookkeeping under load (issue 9, item 5), on fake-indexeddb: counts reach the
// store in one update however many files finish, embedded images are saved several to a
// transaction (one bad sample fails alone), re-dropped content is skipped by SHA-256, and long
// loops give the thread back.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { contentHash, release, releaseAll, withoutDuplicates } from '../../src/state/import-dedupe';
import { SAVE_BATCH, SampleSaver, type SaveJob } from '../../src/state/import-saver';
import {
  countDuplicate,
  countFailed,
  countSaved,
  initialImport,
  MAX_LISTED_ERRORS,
  publishCounts,
  useImport,
} from '../../src/state/import-state';
import { repo } from '../../src/state/repo';
import { getDb } from '../../src/store/db';
import { forEachSliced } from '../../src/state/yield';
import type { EmbedItemResult } from '../../src/worker/protocol';

afterEach(() => {
  publishCounts();
  useImport.setState({ ...initialImport });
  releaseAll();
  vi.restoreAllMocks();
});

async function setup() {
  const project = await repo().projects.create(`P ${crypto.randomUUID()}`, 'x', 'k1');
  const cls = await repo().classes.add(project.id, 'Cats');
  return { projectId: project.id, classId: cls.id };
}

function job(projectId: string, classId: string, i: number, sha256?: string): SaveJob {
  return {
    projectId,
    classId,
    source: 'file',
    name: `img-${i}.jpg`,
    file: new File([new Uint8Array([i, 1, 2])], `img-${i}.jpg`, { type: 'image/jpeg' }),
    ...(sha256 ? { sha256 } : {}),
  };
}

function result(i: number): EmbedItemResult {
  return {
    id: `import-${i}`,
    embedding: Float32Array.from([i, 1, 2]),
    thumbnail: new Blob([new Uint8Array([9])], { type: 'image/jpeg' }),
    width: 10,
    height: 10,
  };
}

describe('import state', () => {
  it('publishes thousands of per-file counts as one store update', () => {
    let updates = 0;
    const unsubscribe = useImport.subscribe(() => updates++);
    useImport.setState({ total: 3000 });
    updates = 0;
    for (let i = 0; i < 2000; i++) countSaved();
    for (let i = 0; i < 500; i++) countDuplicate();
    for (let i = 0; i < MAX_LISTED_ERRORS + 100; i++) countFailed(`bad-${i}`, new Error('no'));
    expect(useImport.getState().done).toBe(0);
    publishCounts();
    unsubscribe();
    expect(updates).toBe(1);
    const s = useImport.getState();
    expect([s.done, s.duplicates, s.failed]).toEqual([2000, 500, MAX_LISTED_ERRORS + 100]);
    expect(s.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(s.errors[0]?.name).toBe('bad-0');
  });
});

describe('SampleSaver', () => {
  it('saves many samples per transaction and counts them only once committed', async () => {
    const { projectId, classId } = await setup();
    const addSamples = vi.spyOn(repo().samples, 'addSamples');
    const saver = new SampleSaver({ id: 'x', key: 'k1' });
    const n = SAVE_BATCH * 2 + 3;
    for (let i = 0; i < n; i++) saver.add(job(projectId, classId, i), result(i));
    await saver.close();
    publishCounts();
    expect(addSamples).toHaveBeenCalledTimes(3);
    expect(useImport.getState().done).toBe(n);
    expect(await getDb().samples.where('classId').equals(classId).count()).toBe(n);
    expect(await getDb().embeddings.count()).toBeGreaterThanOrEqual(n);
  });

  it('fails a bad sample alone; the rest of its batch is saved', async () => {
    const { projectId, classId } = await setup();
    const gone = await repo().classes.add(projectId, 'Gone');
    await repo().classes.delete(gone.id);
    const saver = new SampleSaver({ id: 'x', key: 'k1' });
    saver.add(job(projectId, classId, 1), result(1));
    saver.add(job(projectId, gone.id, 2), result(2));
    saver.add(job(projectId, classId, 3), result(3));
    saver.add(job(projectId, classId, 4), { ...result(4), thumbnail: undefined });
    await saver.close();
    publishCounts();
    const s = useImport.getState();
    expect(s.done).toBe(2);
    expect(s.failed).toBe(2);
    expect(s.errors.map((e) => e.name).sort()).toEqual(['img-2.jpg', 'img-4.jpg']);
    expect(await getDb().samples.where('classId').equals(classId).count()).toBe(2);
  });
});

describe('de-duplication', () => {
  it('skips content saved in the class or claimed earlier in the run, and frees failed claims', async () => {
    const { projectId, classId } = await setup();
    const hashes = await Promise.all([1, 2, 3].map((i) => contentHash(new Uint8Array([i]).buffer)));
    const [h1, h2, h3] = hashes as string[];
    const saver = new SampleSaver({ id: 'x', key: 'k1' });
    saver.add(job(projectId, classId, 1, h1), result(1));
    await saver.close();

    const entries = [h1, h2, h2, h3].map((h, i) => ({ job: job(projectId, classId, i, h) }));
    let dupes = 0;
    const kept = await withoutDuplicates(entries, (n) => (dupes += n));
    expect(kept.map((e) => e.job.sha256)).toEqual([h2, h3]);
    expect(dupes).toBe(2);
    // h3 failed: the same content may be tried again; h2 is still on its way.
    release(kept[1]!.job);
    const again = await withoutDuplicates(
      [h2, h3].map((h, i) => ({ job: job(projectId, classId, i, h) })),
      () => undefined,
    );
    expect(again.map((e) => e.job.sha256)).toEqual([h3]);
  });
});

describe('forEachSliced', () => {
  it('visits every item in order and yields between slices', async () => {
    const seen: number[] = [];
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    await forEachSliced(
      Array.from({ length: 40 }, (_, i) => i),
      (i) => {
        seen.push(i);
        const until = performance.now() + 1;
        while (performance.now() < until);
      },
    );
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(timeouts.mock.calls.length).toBeGreaterThanOrEqual(3);
  });
});
