// The import queue's run() loop, end to end on fake-indexeddb with a scripted worker: files go to
// the worker CHUNK at a time with at most two calls in flight, bad and duplicate files are counted
// and the rest saved; a cancel stops at once and keeps what was saved; a crashed worker stops the
// queue and fails the files it never reached.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EmbedItemResult, ImageInput } from '../../src/worker/protocol';
import { FakeLocks } from './fake-locks';

type EmbedOpts = { signal?: AbortSignal; onProgress?: (p: EmbedItemResult) => void };

/** The scripted worker: how each 'embed' call behaves, and what the calls looked like. */
const worker = vi.hoisted(() => ({
  calls: [] as string[][],
  inFlight: 0,
  maxInFlight: 0,
  /** Resolves when the test lets the calls go on (cancel test); null: answer at once. */
  gate: null as Promise<void> | null,
  /** The call number (0-based) that crashes the worker, or -1. */
  crashAt: -1,
}));

vi.mock('../../src/state/engine', async () => {
  const { create } = await import('zustand');
  const { GlimpseError } = await import('../../src/shared/errors');
  const useEngine = create(() => ({ status: 'ready', extractor: { id: 'x', name: 'X', key: 'k1', dim: 3, inputSize: 8, hasClassifier: false } }));
  async function embed(req: { images: ImageInput[] }, opts: EmbedOpts): Promise<{ done: number; failed: number }> {
    const n = worker.calls.push(req.images.map((i) => i.name)) - 1;
    worker.inFlight++;
    worker.maxInFlight = Math.max(worker.maxInFlight, worker.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      if (n === worker.crashAt) throw new GlimpseError('worker-crashed', 'The embedding worker stopped.');
      let done = 0;
      for (const [k, image] of req.images.entries()) {
        if (k === 1 && worker.gate) await worker.gate;
        const first = new Uint8Array(image.bytes)[0]!;
        if (image.name.startsWith('bad')) {
          opts.onProgress?.({ id: image.id, error: { code: 'corrupt-image', message: 'The image is damaged.' } });
          continue;
        }
        opts.onProgress?.({ id: image.id, embedding: Float32Array.from([first, 1, 2]), thumbnail: new Blob([new Uint8Array([9])], { type: 'image/jpeg' }), width: 4, height: 4 });
        done++;
      }
      return { done, failed: req.images.length - done };
    } finally {
      worker.inFlight--;
    }
  }
  return {
    useEngine,
    fileToInput: async (file: File, id: string) => ({ id, bytes: await file.arrayBuffer(), type: file.type, name: file.name }),
    embedBridge: () => ({ call: (_kind: 'embed', req: { images: ImageInput[] }, opts: EmbedOpts) => embed(req, opts) }),
  };
});

/** Web Locks for this "tab" (installed as navigator.locks; another tab takes locks on it directly). */
const locks = new FakeLocks();
Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis.navigator ?? {}), locks }, configurable: true });

const { CHUNK, cancelImport, enqueue } = await import('../../src/state/import-queue');
const { initialImport, useImport } = await import('../../src/state/import-state');
const { repo } = await import('../../src/state/repo');
const { releaseAll } = await import('../../src/state/import-dedupe');

afterEach(() => {
  worker.calls = [];
  worker.maxInFlight = 0;
  worker.gate = null;
  worker.crashAt = -1;
  locks.requests = [];
  useImport.setState({ ...initialImport });
  releaseAll();
});

async function setup() {
  const project = await repo().projects.create(`P ${crypto.randomUUID()}`, 'x', 'k1');
  const cls = await repo().classes.add(project.id, 'Cats');
  return { projectId: project.id, classId: cls.id };
}

/** A job whose content is `tag` (same tag, same SHA-256); `bytes: 0` makes an empty file. */
function job(projectId: string, classId: string, name: string, tag: number, bytes = 3) {
  const data = bytes === 0 ? new Uint8Array(0) : new Uint8Array([tag, tag >> 8, 7]);
  return { projectId, classId, source: 'file' as const, name, file: new File([data], name, { type: 'image/jpeg' }) };
}

async function finished() {
  await vi.waitFor(() => expect(useImport.getState().running).toBe(false), { timeout: 10_000, interval: 10 });
  return useImport.getState();
}

describe('import queue run()', () => {
  it('embeds CHUNK files per call, two calls at most in flight, and counts saved, failed and duplicate files', async () => {
    const { projectId, classId } = await setup();
    const jobs = Array.from({ length: 2 * CHUNK + 8 }, (_, i) => job(projectId, classId, `img-${i}.jpg`, i + 1));
    jobs.push(job(projectId, classId, 'empty.jpg', 0, 0), job(projectId, classId, 'bad-1.jpg', 500), job(projectId, classId, 'again.jpg', 3));
    enqueue(jobs);
    const s = await finished();
    expect(s.outcome).toBe('finished');
    expect([s.total, s.done, s.failed, s.duplicates]).toEqual([jobs.length, 2 * CHUNK + 8, 2, 1]);
    expect(worker.calls.every((c) => c.length <= CHUNK)).toBe(true);
    expect(worker.calls.flat()).not.toContain('empty.jpg');
    expect(worker.calls.flat()).not.toContain('again.jpg');
    expect(worker.maxInFlight).toBe(2);
    const stored = await repo().samples.listByClass(projectId, classId);
    expect(stored.map((x) => x.name).sort()).toEqual(jobs.slice(0, 2 * CHUNK + 8).map((j) => j.name).sort());
  });

  it('a cancel stops at once; what was saved stays, the rest is dropped from the total', async () => {
    const { projectId, classId } = await setup();
    let open = () => {};
    worker.gate = new Promise<void>((r) => (open = r));
    const jobs = Array.from({ length: 3 * CHUNK }, (_, i) => job(projectId, classId, `c-${i}.jpg`, i + 1));
    enqueue(jobs);
    await vi.waitFor(() => expect(worker.calls.length).toBeGreaterThan(0));
    cancelImport();
    const s = await finished();
    open();
    expect(s.outcome).toBe('cancelled');
    expect(s.done).toBeLessThan(jobs.length);
    expect(s.total).toBeLessThan(jobs.length);
    const stored = await repo().samples.listByClass(projectId, classId);
    expect(stored).toHaveLength(s.done);
  });

  it('a crashed worker stops the queue: its chunk and every file not reached fail with the reason', async () => {
    const { projectId, classId } = await setup();
    worker.crashAt = 0;
    const jobs = Array.from({ length: 3 * CHUNK }, (_, i) => job(projectId, classId, `w-${i}.jpg`, i + 1));
    enqueue(jobs);
    const s = await finished();
    expect(s.outcome).toBe('stopped');
    expect(s.stopCode).toBe('worker-crashed');
    expect(s.done + s.failed).toBe(jobs.length);
    expect(s.failed).toBeGreaterThanOrEqual(CHUNK);
    expect(await repo().samples.listByClass(projectId, classId)).toHaveLength(s.done);
  });

  it('waits while another tab imports into the same project, says so, then imports everything', async () => {
    const { projectId, classId } = await setup();
    let release = () => {};
    const otherTab = locks.request(`glimpse-project-${projectId}-import`, {}, () => new Promise<void>((r) => (release = r)));
    const jobs = Array.from({ length: CHUNK + 3 }, (_, i) => job(projectId, classId, `t-${i}.jpg`, i + 1));
    enqueue(jobs);
    await vi.waitFor(() => expect(useImport.getState().waitingForTab).toBe(true));
    await new Promise((r) => setTimeout(r, 30));
    expect(worker.calls).toEqual([]);
    expect(useImport.getState().running).toBe(true);
    release();
    await otherTab;
    const s = await finished();
    expect(s.outcome).toBe('finished');
    expect(s.waitingForTab).toBe(false);
    expect([s.total, s.done]).toEqual([jobs.length, jobs.length]);
    expect(await repo().samples.listByClass(projectId, classId)).toHaveLength(jobs.length);
  });

  it('a cancel while waiting for another tab imports nothing', async () => {
    const { projectId, classId } = await setup();
    let release = () => {};
    const otherTab = locks.request(`glimpse-project-${projectId}-import`, {}, () => new Promise<void>((r) => (release = r)));
    enqueue([job(projectId, classId, 'w1.jpg', 1), job(projectId, classId, 'w2.jpg', 2)]);
    await vi.waitFor(() => expect(useImport.getState().waitingForTab).toBe(true));
    cancelImport();
    const s = await finished();
    expect(s.outcome).toBe('cancelled');
    expect([s.total, s.done, s.waitingForTab]).toEqual([0, 0, false]);
    expect(worker.calls).toEqual([]);
    release();
    await otherTab;
    expect(await repo().samples.listByClass(projectId, classId)).toHaveLength(0);
  });

  it('runs one project at a time under its own lock; a chunk never mixes projects', async () => {
    const a = await setup();
    const b = await setup();
    const jobs = [
      ...Array.from({ length: 5 }, (_, i) => job(a.projectId, a.classId, `a-${i}.jpg`, i + 1)),
      ...Array.from({ length: 4 }, (_, i) => job(b.projectId, b.classId, `b-${i}.jpg`, i + 1)),
      job(a.projectId, a.classId, 'a-last.jpg', 99),
    ];
    enqueue(jobs);
    const s = await finished();
    expect([s.outcome, s.done]).toEqual(['finished', jobs.length]);
    expect(worker.calls).toEqual([
      ['a-0.jpg', 'a-1.jpg', 'a-2.jpg', 'a-3.jpg', 'a-4.jpg'],
      ['b-0.jpg', 'b-1.jpg', 'b-2.jpg', 'b-3.jpg'],
      ['a-last.jpg'],
    ]);
    expect(locks.requests.map((r) => r.name)).toEqual([
      `glimpse-project-${a.projectId}-import`,
      `glimpse-project-${b.projectId}-import`,
      `glimpse-project-${a.projectId}-import`,
    ]);
  });
});
