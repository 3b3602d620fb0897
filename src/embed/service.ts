// The embedding worker's logic, kept out of the worker file so it stays testable: backend choice,
// extractor loading with fallback, decoding, batched embedding with per-file errors.
import * as tf from '@tensorflow/tfjs';
import { decodeImage, makeThumbnail } from '../capture/decode';
import { GlimpseError, serializeError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import { selectBackend, type BackendChoice } from './backend';
import { probeBackends, setBrowserBackend } from './backend-browser';
import { loadExtractor, type Extractor } from './extractor';
import { cachingFetcher } from './fetch-cache';
import type { ClassifyResult, EmbedItemResult, ImageInput, InitRequest, InitResult, ProfileResult, Requests } from './protocol';
import { findExtractor } from './specs';
import { countMacs, measureMatmulRate } from './flops';
import { classifyEmbedding, trainHandlers } from '../train/service';

const EMBED_BATCH = 4;

let extractor: Extractor | null = null;
let backend: BackendChoice | null = null;
let baseUrl = '';

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
  if (!backend || req.backend !== undefined) {
    progress({ phase: 'backend', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
    const probes = await probeBackends();
    backend = await selectBackend(probes, setBrowserBackend, smokeTest, req.backend);
  }
  extractor?.dispose();
  extractor = null;
  const fetchBytes = cachingFetcher();
  const load = (id: string) =>
    loadExtractor(findExtractor(id), {
      fetchBytes,
      resolveUrl,
      signal,
      onProgress: (p) => progress({ phase: `model:${id}`, ...p }),
    });
  let fallback: InitResult['fallback'];
  try {
    extractor = await load(req.extractorId);
  } catch (err) {
    if (!req.fallbackId || req.fallbackId === req.extractorId || signal.aborted) throw err;
    fallback = { requestedId: req.extractorId, reason: serializeError(err) };
    extractor = await load(req.fallbackId);
  }
  const loadMs = performance.now() - start;
  const w0 = performance.now();
  progress({ phase: 'warmup', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
  await extractor.warmup(1);
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

async function classify(image: ImageInput, topK: number): Promise<ClassifyResult> {
  const ex = checkReady();
  const t0 = performance.now();
  const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
  const r = await ex.embed([pixels], { topK });
  return { top: r.top?.[0] ?? [], embedding: r.embeddings[0]!, width: pixels.width, height: pixels.height, ms: performance.now() - t0 };
}

async function embedMany(
  images: ImageInput[],
  thumbnails: boolean,
  progress: (p: EmbedItemResult, transfer?: Transferable[]) => void,
  signal: AbortSignal,
): Promise<{ done: number; failed: number }> {
  const ex = checkReady();
  let done = 0;
  let failed = 0;
  for (let start = 0; start < images.length; start += EMBED_BATCH) {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    const chunk = images.slice(start, start + EMBED_BATCH);
    const decoded: { input: ImageInput; pixels: Awaited<ReturnType<typeof decodeImage>>['pixels']; thumb?: Blob }[] = [];
    for (const input of chunk) {
      try {
        const bytes = new Uint8Array(input.bytes);
        const { pixels } = await decodeImage(bytes, input.type, input.name);
        const item: (typeof decoded)[number] = { input, pixels };
        if (thumbnails) item.thumb = await makeThumbnail(bytes, input.type);
        decoded.push(item);
      } catch (err) {
        failed++;
        progress({ id: input.id, error: serializeError(err) });
      }
    }
    if (decoded.length === 0) continue;
    const { embeddings } = await ex.embed(decoded.map((d) => d.pixels));
    decoded.forEach((d, i) => {
      const embedding = embeddings[i]!;
      const msg: EmbedItemResult = { id: d.input.id, embedding, width: d.pixels.width, height: d.pixels.height };
      if (d.thumb) msg.thumbnail = d.thumb;
      progress(msg, [embedding.buffer]);
      done++;
    });
  }
  return { done, failed };
}

async function predict(image: ImageInput): Promise<{ probs: Float32Array; ms: number }> {
  const ex = checkReady();
  const t0 = performance.now();
  const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
  const { embeddings } = await ex.embed([pixels]);
  return { probs: classifyEmbedding(embeddings[0]!, ex.key), ms: performance.now() - t0 };
}

async function profile(batches: number[], repeats: number): Promise<ProfileResult> {
  const ex = checkReady();
  const s = ex.spec.inputSize;
  const embedMsPerImage: Record<number, number> = {};
  for (const b of batches) {
    const input = tf.randomUniform([b, s, s, 3], 0, 1) as tf.Tensor4D;
    const warm = ex.embedTensor(input);
    await warm.data();
    warm.dispose();
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) {
      const out = ex.embedTensor(input);
      await out.data();
      out.dispose();
    }
    embedMsPerImage[b] = (performance.now() - t0) / (repeats * b);
    input.dispose();
  }
  return {
    backend: tf.getBackend(),
    extractor: ex.spec.id,
    macsPerImage: ex.layersModel ? countMacs(ex.layersModel, ex.spec.embeddingOutput) : null,
    matmulMacsPerS: await measureMatmulRate(),
    embedMsPerImage,
  };
}

export const embedHandlers: Record<keyof Requests, Handler> = {
  profile: async (payload) => {
    const { batches, repeats } = payload as Requests['profile']['req'];
    return { data: await profile(batches, repeats) };
  },
  ...trainHandlers,
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
  memory: async () => {
    const m = tf.memory();
    return { data: { numTensors: m.numTensors, numBytes: m.numBytes, backend: tf.getBackend() } };
  },
};
