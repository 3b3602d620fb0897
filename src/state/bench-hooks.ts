// Hooks for `npm run bench` and the e2e tests (only with ?bench=1; main.tsx loads this module on
// demand): time the app's own pipeline — the same worker, decoding, embedding and training code a
// user's actions go through — from the page.
import { debugCalls } from '../worker/client';
import type { ProfileResult } from '../worker/debug-protocol';
import { defaultHeadSettings } from '../train/head-types';
import { embedBridge, useEngine, whatIsThis } from './engine';
import { predictImage, trainProject, useTraining } from './training';
import { useSession } from './session';
import { switchProject } from './projects';
import { repo } from './repo';
import { computeMap, loadReview, useInsight } from './insight';

export interface BenchApi {
  ready(): boolean;
  info(): { backend: string | null; extractor: string | null; threads: string | null; loadMs: number | null };
  /** Embeds the given image URLs (fetched first, not timed) in chunks; returns ms for the embedding. */
  embedUrls(urls: string[], chunk: number): Promise<{ ms: number; done: number; failed: number }>;
  profile(batches: number[], repeats: number): Promise<ProfileResult>;
  /** Trains the default head in the worker on synthetic embeddings; returns ms and long tasks. */
  trainSynthetic(n: number, classes: number, dim: number): Promise<{ ms: number; longestTaskMs: number }>;
  /** Embeds one image `cycles` times (embed + classify alternately); tensors and heap around it. */
  cycles(url: string, cycles: number): Promise<{ tensorsBefore: number; tensorsAfter: number; heapBeforeMb: number | null; heapAfterMb: number | null; ms: number }>;
  memory(): Promise<{ numTensors: number; numBytes: number; lanes: number; helperBatches: number; wasmHeapBytes: number }>;
  /** Tests: the next batch for the second embedding worker kills it mid-call. */
  crashHelperLane(): Promise<{ armed: boolean }>;
  /** Loses the worker's GPU context (tests of recovery): after `afterMs`, at the next GPU work, or at a training epoch. */
  loseGpuContext(when: { afterMs?: number; onNextWork?: boolean; atEpoch?: number }): Promise<{ backend: string; scheduled: boolean }>;
  /**
   * Long-session soak through the app's own actions: cycle i embeds the image (as the importer
   * does), asks "What is this?" (whatIsThis, results in the UI) or predicts with the loaded head
   * (predictImage), in turn. Needs a trained head for the open project.
   */
  soakCycles(url: string, cycles: number): Promise<{ ms: number; embeds: number; classifies: number; predicts: number; failures: string[] }>;
  /** Trains the open project `runs` times through the app's trainProject; ms per run. */
  soakTrain(runs: number): Promise<{ msPerRun: number; phases: string[] }>;
}

function longTaskRecorder(): { stop(): number } {
  let longest = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
  });
  obs.observe({ type: 'longtask', buffered: false });
  return {
    stop() {
      obs.disconnect();
      return longest;
    },
  };
}

function heapMb(): number | null {
  const m = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
  return m ? m.usedJSHeapSize / 2 ** 20 : null;
}

export function installBenchHooks(): void {
  const api: BenchApi = {
    ready: () => useEngine.getState().status === 'ready',
    info: () => {
      const s = useEngine.getState();
      return { backend: s.backend?.name ?? null, extractor: s.extractor?.id ?? null, threads: s.backend?.detail ?? null, loadMs: s.loadMs };
    },
    async embedUrls(urls, chunk) {
      const blobs = await Promise.all(urls.map(async (u) => ({ u, b: await (await fetch(u)).arrayBuffer() })));
      let done = 0;
      let failed = 0;
      const t0 = performance.now();
      for (let i = 0; i < blobs.length; i += chunk) {
        const images = blobs.slice(i, i + chunk).map((x, j) => ({ id: String(i + j), bytes: x.b.slice(0), type: 'image/jpeg', name: x.u }));
        const r = await embedBridge().call('embed', { images, thumbnails: false }, { transfer: images.map((im) => im.bytes) });
        done += r.done;
        failed += r.failed;
      }
      return { ms: performance.now() - t0, done, failed };
    },
    profile: (batches, repeats) => debugCalls(embedBridge()).call('profile', { batches, repeats }),
    async trainSynthetic(n, classes, dim) {
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, rnd));
      const x = new Float32Array(n * dim);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = i % classes;
        for (let j = 0; j < dim; j++) x[i * dim + j] = centres[i % classes]![j]! * 0.5 + rnd();
      }
      const ids = Array.from({ length: n }, (_, i) => `s${i}`);
      const rec = longTaskRecorder();
      const t0 = performance.now();
      await embedBridge().call('train', { ids, labels, x, dim, numClasses: classes, settings: defaultHeadSettings(), extractorKey: null }, { transfer: [x.buffer] });
      return { ms: performance.now() - t0, longestTaskMs: rec.stop() };
    },
    async cycles(url, cycles) {
      const bytes = await (await fetch(url)).arrayBuffer();
      const before = await embedBridge().call('memory', {});
      const heapBeforeMb = heapMb();
      const t0 = performance.now();
      for (let i = 0; i < cycles; i++) {
        const copy = bytes.slice(0);
        const image = { id: 'c', bytes: copy, type: 'image/jpeg', name: 'cycle.jpg' };
        if (i % 2 === 0) await embedBridge().call('embed', { images: [image], thumbnails: false }, { transfer: [copy] });
        else await embedBridge().call('classify', { image, topK: 5 }, { transfer: [copy] });
      }
      const ms = performance.now() - t0;
      const after = await embedBridge().call('memory', {});
      return { tensorsBefore: before.numTensors, tensorsAfter: after.numTensors, heapBeforeMb, heapAfterMb: heapMb(), ms };
    },
    memory: () => embedBridge().call('memory', {}),
    crashHelperLane: () => debugCalls(embedBridge()).call('debugCrashHelper', {}),
    loseGpuContext: (when) => debugCalls(embedBridge()).call('debugLoseContext', when),
    async soakCycles(url, cycles) {
      const response = await fetch(url);
      const type = response.headers.get('content-type') ?? 'image/jpeg';
      const bytes = await response.arrayBuffer();
      const counts = { embeds: 0, classifies: 0, predicts: 0 };
      const failures: string[] = [];
      const t0 = performance.now();
      for (let i = 0; i < cycles; i++) {
        const copy = bytes.slice(0);
        if (i % 3 === 0) {
          const image = { id: `soak${i}`, bytes: copy, type, name: 'soak.jpg' };
          const r = await embedBridge().call('embed', { images: [image], thumbnails: true }, { transfer: [copy] });
          if (r.done !== 1) failures.push(`embed ${i}`);
          counts.embeds++;
        } else if (i % 3 === 1) {
          await whatIsThis(new File([copy], 'soak.jpg', { type }));
          const err = useEngine.getState().error;
          if (err) failures.push(`classify ${i}: ${err.message}`);
          counts.classifies++;
        } else {
          const p = await predictImage(new Blob([copy], { type }), 'soak.jpg');
          if (p.scores.length < 2) failures.push(`predict ${i}`);
          counts.predicts++;
        }
      }
      return { ms: performance.now() - t0, ...counts, failures };
    },
    async soakTrain(runs) {
      const projectId = useSession.getState().currentProjectId;
      if (!projectId) throw new Error('No open project.');
      const phases: string[] = [];
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) {
        await trainProject(projectId);
        phases.push(useTraining.getState().phase);
      }
      return { msPerRun: (performance.now() - t0) / runs, phases };
    },
  };
  (window as unknown as { __glimpseBench: BenchApi }).__glimpseBench = api;
  installScaleHooks();
}

// ---- npm run bench:scale (scripts/bench-scale.ts) ----------------------------------------------

export interface ScaleBenchApi {
  /**
   * Writes a project of `samples` rows in `classes` classes through the app's repositories
   * (synthetic embeddings for the running extractor, 8x8 JPEG thumbnails, no originals) in
   * batches of 250 samples per transaction, opens it, and returns the write time.
   */
  seedProject(samples: number, classes: number): Promise<{ projectId: string; ms: number }>;
  /** A fresh empty project, opened (for the real-image import run). */
  newProject(name: string): Promise<string>;
  /** trainProject() on the project, as the Train button runs it: ms and how it ended. */
  train(projectId: string): Promise<{ ms: number; phase: string; error: string | null; rows: number; of: number; validationAccuracy: number | null; fitMs: number; readMs: number; rowsRead: number; epochs: number }>;
  /** loadReview() with the trained head's classes, as the review disclosure runs it. */
  review(projectId: string): Promise<{ ms: number; status: string; items: number; error: string | null }>;
  /** computeMap() as the map disclosure runs it (PCA, then UMAP when `umap`). */
  map(projectId: string, umap: boolean): Promise<{ ms: number; status: string; method: string | null; points: number; error: string | null }>;
  heapMb(): number | null;
  /** Reads the project's training rows from IndexedDB as training does, sending them nowhere. */
  readRows(projectId: string): Promise<{ ms: number; rows: number }>;
}

function installScaleHooks(): void {
  const running = () => {
    const ex = useEngine.getState().extractor;
    if (!ex) throw new Error('The model is not loaded.');
    return ex;
  };
  const api: ScaleBenchApi = {
    async seedProject(samples, classes) {
      const ex = running();
      const r = repo();
      const t0 = performance.now();
      const project = await r.projects.create(`Scale ${samples} x ${classes}`, ex.id, ex.key);
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 8;
      const ctx = canvas.getContext('2d')!;
      const classIds: string[] = [];
      const thumbs: Blob[] = [];
      for (let k = 0; k < classes; k++) {
        classIds.push((await r.classes.add(project.id, `Class ${k + 1}`)).id);
        ctx.fillStyle = `hsl(${Math.round((k * 360) / classes)} 70% 50%)`;
        ctx.fillRect(0, 0, 8, 8);
        thumbs.push(
          await new Promise<Blob>((resolve, reject) =>
            canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/jpeg', 0.8),
          ),
        );
      }
      let seed = 11;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const centres = Array.from({ length: classes }, () => Float32Array.from({ length: ex.dim }, rnd));
      for (let i = 0; i < samples; i += 250) {
        const batch = [];
        for (let j = i; j < Math.min(samples, i + 250); j++) {
          const k = j % classes;
          const vector = new Float32Array(ex.dim);
          for (let d = 0; d < ex.dim; d++) vector[d] = centres[k]![d]! * 0.5 + rnd();
          batch.push({
            projectId: project.id,
            classId: classIds[k]!,
            source: 'import' as const,
            name: `synthetic-${j}.jpg`,
            type: 'image/jpeg',
            blob: null,
            thumb: thumbs[k]!,
            width: 8,
            height: 8,
            sizeBytes: 0,
            embedding: { extractorKey: ex.key, vector },
          });
        }
        await r.samples.addSamples(batch);
      }
      const ms = performance.now() - t0;
      await switchProject(project.id);
      return { projectId: project.id, ms };
    },
    async readRows(projectId) {
      const ex = useEngine.getState().extractor;
      if (!ex) throw new Error('The model is not loaded.');
      const t0 = performance.now();
      const set = await repo().embeddings.streamTrainingSet(projectId, ex.key, { expectedDim: ex.dim }, () => undefined);
      return { ms: performance.now() - t0, rows: set.ids.length };
    },
    async newProject(name) {
      const ex = running();
      const project = await repo().projects.create(name, ex.id, ex.key);
      await switchProject(project.id);
      return project.id;
    },
    async train(projectId) {
      const t0 = performance.now();
      await trainProject(projectId);
      const s = useTraining.getState();
      const o = s.outcome;
      return {
        ms: performance.now() - t0,
        phase: s.phase,
        error: s.error?.message ?? null,
        rows: s.subsampled?.used ?? o?.nTrain ?? 0,
        of: s.subsampled?.of ?? o?.nTrain ?? 0,
        validationAccuracy: o?.validation?.accuracy ?? null,
        fitMs: o?.trainMs ?? 0,
        readMs: o?.readMs ?? 0,
        rowsRead: o?.rowsRead ?? 0,
        epochs: s.history.length,
      };
    },
    async review(projectId) {
      const classIds = useTraining.getState().loadedHead?.classIds ?? [];
      const t0 = performance.now();
      await loadReview(projectId, classIds, 0);
      const r = useInsight.getState().review;
      return { ms: performance.now() - t0, status: r.status, items: r.items.length, error: r.error };
    },
    async map(projectId, umap) {
      const t0 = performance.now();
      await computeMap(projectId, { umap });
      const m = useInsight.getState().map;
      return { ms: performance.now() - t0, status: m.status, method: m.method, points: m.points.length, error: m.error };
    },
    heapMb,
  };
  (window as unknown as { __glimpseScale: ScaleBenchApi }).__glimpseScale = api;
}
