// The embedding worker's logic, kept out of the worker file so it stays testable: backend choice,
// extractor loading with fallback, decoding, batched embedding with per-file errors.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../capture/decode';
import { GlimpseError, serializeError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import { selectBackend, type BackendChoice, type BackendName, type BackendProbe } from './backend';
import { probeBackends, setBrowserBackend } from './backend-browser';
import { loadExtractor, type Extractor } from './extractor';
import { cachingFetcher } from './fetch-cache';
import { armTestLoss, gpuGeneration, guardGpu, isGpuLossError, testLossPoint, watchActiveBackend } from './gpu-watchdog';
import type { AugmentItemResult, ClassifyResult, EmbedItemResult, ImageInput, InitRequest, InitResult, Requests, WorkerEvent } from './protocol';
import type { EpochReport } from '../train/head';
import { findExtractor } from './specs';
import { profileExtractor } from './profile';
import { classifyEmbedding, trainHandlers } from '../train/service';
import { AUGMENT_VARIANTS, augmentToBatch } from '../train/augment';
import { fineTuneHandlers, withBaseWeights, withTunedPrediction } from './finetune-service';
import { embedItems } from './embed-items';
import { warmHeadTraining } from '../train/fit';
import { exportCompleteHandler } from '../export/complete-handler';
import { armHelperCrash, browserLanePlan, ensureHelperLanes, helperBatches, helperLanes, helperTensors, setLaneOverride, stopHelperLanes, touchHelperLanes, type HelperLane } from './lanes';

let extractor: Extractor | null = null;
let backend: BackendChoice | null = null;
let baseUrl = '';
let probes: BackendProbe[] | null = null;
let loadedExtractorId: string | null = null;
let recovering: Promise<void> | null = null;
let emitEvent: (e: WorkerEvent) => void = () => {};

/** Where the worker's own messages (GPU recovery notices) go; set by the worker file. */
export function setEventSink(sink: (e: WorkerEvent) => void): void {
  emitEvent = sink;
}

function resolveUrl(url: string): string {
  return new URL(url, baseUrl).toString();
}

function checkReady(): Extractor {
  if (!extractor) throw new GlimpseError('internal', 'The model is not loaded yet.');
  return extractor;
}

async function smokeTest(): Promise<void> {
  const t = tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same').sum());
  const v = (await t.data())[0];
  t.dispose();
  // Interior cells see 27 ones per filter: any working backend gives a large positive sum.
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 27 * 4 * 36) {
    throw new Error(`backend produced wrong numbers (${String(v)})`);
  }
}

async function init(req: InitRequest, progress: (p: Requests['init']['progress']) => void, signal: AbortSignal): Promise<InitResult> {
  baseUrl = req.baseUrl;
  const start = performance.now();
  stopHelperLanes();
  setLaneOverride(req.lanes);
  if (!backend || req.backend !== undefined) {
    progress({ phase: 'backend', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
    probes = await probeBackends();
    backend = await selectBackend(probes, setBrowserBackend, smokeTest, req.backend);
    watchActiveBackend();
  }
  extractor?.dispose();
  extractor = null;
  loadedExtractorId = null;
  const load = (id: string) => loadById(id, signal, (p) => progress({ phase: `model:${id}`, ...p }));
  let fallback: InitResult['fallback'];
  try {
    extractor = await load(req.extractorId);
  } catch (err) {
    if (!req.fallbackId || req.fallbackId === req.extractorId || signal.aborted) throw err;
    fallback = { requestedId: req.extractorId, reason: serializeError(err) };
    extractor = await load(req.fallbackId);
  }
  loadedExtractorId = extractor.spec.id;
  const loadMs = performance.now() - start;
  const w0 = performance.now();
  progress({ phase: 'warmup', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
  await extractor.warmup(1);
  // The first real training would otherwise pay for compiling the training code and warming its
  // kernels (src/train/fit.ts); the worker is idle now. Not awaited: the model is ready. Only on
  // WASM and real GPUs: on plain JS or a software GPU the warm-up itself takes seconds of CPU.
  const software = probes?.find((p) => p.name === backend?.name)?.software ?? false;
  if (backend.name !== 'cpu' && !software) void warmHeadTraining(extractor.spec.embeddingDim);
  const result: InitResult = {
    backend,
    extractor: {
      id: extractor.spec.id,
      name: extractor.spec.name,
      key: extractor.key,
      dim: extractor.spec.embeddingDim,
      inputSize: extractor.spec.inputSize,
      hasClassifier: extractor.hasClassifier,
    },
    loadMs,
    warmupMs: performance.now() - w0,
  };
  if (fallback) result.fallback = fallback;
  return result;
}

function loadById(id: string, signal?: AbortSignal, onProgress?: (p: { loadedBytes: number; doneFiles: number; totalFiles: number }) => void): Promise<Extractor> {
  return loadExtractor(findExtractor(id), {
    fetchBytes: cachingFetcher(),
    resolveUrl,
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
}

/**
 * After a lost GPU context: drops the dead backend, starts a fresh one from its factory (a real
 * GPU) or WASM (a software GPU, which the normal policy would not have picked either), reloads
 * the extractor (its bytes come from Cache Storage) and tells the page. One recovery at a time;
 * callers that saw the same loss share it.
 */
function recoverGpu(seenGeneration: number, reason: string): Promise<void> {
  if (recovering) return recovering;
  if (gpuGeneration() !== seenGeneration) return Promise.resolve();
  recovering = doRecover(reason).finally(() => {
    recovering = null;
  });
  return recovering;
}

async function doRecover(reason: string): Promise<void> {
  const lost = (backend?.name ?? tf.getBackend()) as BackendName;
  try {
    try {
      extractor?.dispose();
    } catch {
      // the model's textures died with the context
    }
    extractor = null;
    const factory = tf.findBackendFactory(lost);
    try {
      tf.removeBackend(lost);
    } catch {
      // disposing a backend whose context is gone may throw; it is dropped either way
    }
    if (factory) tf.registerBackend(lost, factory);
    const known = probes ?? (await probeBackends());
    const software = known.find((p) => p.name === lost)?.software ?? false;
    const choice = await selectBackend(known, setBrowserBackend, smokeTest, software ? 'wasm' : lost);
    backend = { ...choice, forced: false, detail: `${choice.detail} (after the ${lost.toUpperCase()} context was lost)`.trim() };
    watchActiveBackend();
    if (!loadedExtractorId) throw new GlimpseError('internal', 'No model was loaded.');
    extractor = await loadById(loadedExtractorId);
    await extractor.warmup(1);
  } catch (err) {
    const message = `The graphics context was lost and Glimpse could not recover: ${serializeError(err).message} Reload the page.`;
    emitEvent({ type: 'gpu-recovery-failed', lostBackend: lost, reason, message });
    throw new GlimpseError('gpu-context-lost', message, reason);
  }
  const now = backend.name === lost ? `a fresh ${lost.toUpperCase()} context` : backend.name.toUpperCase();
  emitEvent({
    type: 'gpu-recovered',
    lostBackend: lost,
    backend,
    reason,
    message: `The graphics context was lost; Glimpse switched to ${now} and retried.`,
  });
}

/** Runs GPU work under the loss watchdog; after a loss it recovers and retries the work once. */
async function withGpuRecovery<T>(what: string, run: (beat: () => void) => Promise<T>): Promise<T> {
  if (recovering) await recovering;
  const seen = gpuGeneration();
  try {
    return await guardGpu(run);
  } catch (err) {
    if (!isGpuLossError(err)) throw err;
    await recoverGpu(seen, err.detail ?? err.message);
  }
  const retried = gpuGeneration();
  try {
    return await guardGpu(run);
  } catch (err) {
    if (!isGpuLossError(err)) throw err;
    await recoverGpu(retried, err.detail ?? err.message).catch(() => {});
    throw new GlimpseError('gpu-context-lost', `The graphics context was lost twice while ${what}. Try again.`, err.detail);
  }
}

async function classify(image: ImageInput, topK: number): Promise<ClassifyResult> {
  checkReady();
  const t0 = performance.now();
  const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
  const r = await withGpuRecovery('classifying an image', () => checkReady().embed([pixels], { topK }));
  return { top: r.top?.[0] ?? [], embedding: r.embeddings[0]!, width: pixels.width, height: pixels.height, ms: performance.now() - t0 };
}

/**
 * Images per forward pass, by backend. Measured (`npm run bench`, profile rows): on WASM and CPU
 * the time per image hardly changes with the batch (ResNet-50: 262 ms at 1, 255 at 2, 257 at 4),
 * so small batches keep progress and cancellation prompt and, with helper lanes, keep this
 * worker's thread (blocked while its own network runs) free often enough to feed the helpers;
 * GPUs amortise their per-call overhead over larger batches (WebGPU on an H200: 27 ms/image at
 * batch 1, 3.2 at 8, 1.1 at 32, bench/gpu/RESULTS.md).
 */
function embedBatchFor(backendName: string): number {
  if (backendName === 'webgpu') return 16;
  if (backendName === 'webgl') return 8;
  return 2;
}

/** Batches a helper lane holds at once: it starts the next while this worker is busy. */
const HELPER_DEPTH = 2;

async function embedMany(
  images: ImageInput[],
  thumbnails: boolean,
  progress: (p: EmbedItemResult, transfer?: Transferable[]) => void,
  signal: AbortSignal,
): Promise<{ done: number; failed: number }> {
  const ex = checkReady();
  const size = embedBatchFor(tf.getBackend());
  const batches: ImageInput[][] = [];
  for (let start = 0; start < images.length; start += size) batches.push(images.slice(start, start + size));
  let done = 0;
  let failed = 0;
  let next = 0;
  let failure: unknown = null;
  const take = () => (next < batches.length && failure === null ? batches[next++]! : null);
  const report = (items: EmbedItemResult[]) => {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    for (const item of items) {
      if (item.embedding) {
        done++;
        progress(item, [item.embedding.buffer]);
      } else {
        failed++;
        progress(item);
      }
    }
  };
  const local = (batch: ImageInput[]) =>
    embedItems(batch, thumbnails, (pixels) => withGpuRecovery('embedding images', async () => (await checkReady().embed(pixels)).embeddings));
  // Every lane takes the next batch when it is free. A helper lane decodes and embeds in its own
  // worker; when it fails, its batch is redone here and that helper is dropped (lanes.ts).
  const runLocal = async () => {
    for (let batch = take(); batch; batch = take()) report(await local(batch));
  };
  const runHelper = async (helper: HelperLane) => {
    for (let batch = take(); batch; batch = take()) {
      let items: EmbedItemResult[];
      try {
        items = await helper.embed(batch, thumbnails, signal);
      } catch (err) {
        if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
        console.warn('Glimpse: a helper lane failed; its images are embedded here instead.', err);
        report(await local(batch));
        return;
      }
      report(items);
    }
  };
  // Helper lanes start with the first call that brings more than one batch; they join the calls
  // after they have loaded.
  if (batches.length > 1 && tf.getBackend() === 'wasm') ensureHelperLanes({ extractorId: ex.spec.id, key: ex.key, baseUrl, plan: browserLanePlan() });
  const helpers = batches.length > 1 ? helperLanes() : [];
  const lanes = [runLocal(), ...helpers.flatMap((h) => Array.from({ length: HELPER_DEPTH }, () => runHelper(h)))];
  await Promise.all(
    lanes.map((lane) =>
      lane.catch((err: unknown) => {
        failure ??= err; // the other lanes stop taking batches
      }),
    ),
  );
  touchHelperLanes();
  if (failure !== null) throw failure;
  return { done, failed };
}

/** Embeddings of each image's augmentation variants, one image (5 variants) per forward pass. */
async function augmentMany(
  images: ImageInput[],
  progress: (p: AugmentItemResult, transfer?: Transferable[]) => void,
  signal: AbortSignal,
): Promise<{ done: number; failed: number }> {
  const ex = checkReady();
  let done = 0;
  let failed = 0;
  for (const input of images) {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    try {
      const { pixels } = await decodeImage(new Uint8Array(input.bytes), input.type, input.name);
      const batch = augmentToBatch(pixels, ex.spec.inputSize, ex.spec.preprocessing);
      const out = ex.embedTensor(batch);
      batch.dispose();
      let vectors: Float32Array;
      try {
        vectors = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
      if (!vectors.every((v) => Number.isFinite(v))) throw new GlimpseError('internal', 'The model produced invalid numbers (NaN or infinity).');
      progress({ id: input.id, vectors, count: AUGMENT_VARIANTS.length }, [vectors.buffer]);
      done++;
    } catch (err) {
      failed++;
      progress({ id: input.id, error: serializeError(err) });
    }
  }
  return { done, failed };
}

async function predict(image: ImageInput): Promise<{ probs: Float32Array; ms: number }> {
  checkReady();
  const t0 = performance.now();
  const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
  // The head's prediction runs on the backend too (dataSync): it belongs inside the guard.
  const probs = await withGpuRecovery('predicting', async () => {
    const ex = checkReady();
    const { embeddings } = await ex.embed([pixels]);
    return classifyEmbedding(embeddings[0]!, ex.key);
  });
  return { probs, ms: performance.now() - t0 };
}

export const embedHandlers: Record<keyof Requests, Handler> = {
  profile: async (payload) => {
    const { batches, repeats } = payload as Requests['profile']['req'];
    return { data: await profileExtractor(checkReady(), batches, repeats) };
  },
  ...trainHandlers,
  ...fineTuneHandlers(checkReady),
  train: (payload, { progress, signal }) => {
    // A retry after a lost context starts again at epoch 1: report only epochs not reported yet.
    let lastEpoch = 0;
    return withGpuRecovery('training', (beat) =>
      trainHandlers.train(payload, {
        signal,
        progress: (data, transfer) => {
          beat();
          const epoch = (data as EpochReport).epoch;
          if (epoch <= lastEpoch) return;
          lastEpoch = epoch;
          progress(data, transfer);
          testLossPoint({ epoch });
        },
      }),
    );
  },
  debugLoseContext: async (payload) => ({ data: armTestLoss(payload as Requests['debugLoseContext']['req']) }),
  debugCrashHelper: async () => ({ data: { armed: armHelperCrash() } }),
  exportComplete: exportCompleteHandler(() => extractor),
  predict: async (payload) => {
    const data = await predict((payload as Requests['predict']['req']).image);
    return { data, transfer: [data.probs.buffer] };
  },
  init: async (payload, { progress, signal }) => ({ data: await init(payload as InitRequest, progress, signal) }),
  classify: async (payload) => {
    const { image, topK } = payload as Requests['classify']['req'];
    const data = await classify(image, topK);
    return { data, transfer: [data.embedding.buffer] };
  },
  embed: async (payload, { progress, signal }) => {
    const { images, thumbnails } = payload as Requests['embed']['req'];
    return { data: await embedMany(images, thumbnails, progress, signal) };
  },
  augment: async (payload, { progress, signal }) => {
    const { images } = payload as Requests['augment']['req'];
    return { data: await augmentMany(images, progress, signal) };
  },
  memory: async () => {
    const m = tf.memory();
    // Tensors of the helper lanes count too: a leak there is still this app's leak.
    const numTensors = m.numTensors + (await helperTensors());
    return { data: { numTensors, numBytes: m.numBytes, backend: tf.getBackend(), lanes: 1 + helperLanes().length, helperBatches: helperBatches() } };
  },
};

// Fine-tuning (finetune-service.ts): embeddings for storage always come from the shipped weights;
// prediction uses the project's fine-tuned model when one is set.
for (const k of ['embed', 'classify', 'augment', 'profile', 'exportComplete'] as const) embedHandlers[k] = withBaseWeights(() => extractor, embedHandlers[k]);
embedHandlers.predict = withTunedPrediction(() => extractor, embedHandlers.predict);
