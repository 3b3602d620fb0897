// Requests that run images through the extractor: classify ("What is this?"), embed (imports,
// re-embedding; with the helper lanes), augment (variant embeddings), predict (with the project's
// head, or its fine-tuned model), and the memory report. The weights they need and the GPU-loss
// recovery are handlers.ts's policy; `ctx.gpu` guards one batch where a request retries items.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../capture/decode';
import { AUGMENT_VARIANTS, augmentToBatch } from '../embed/augment';
import { embedItems } from '../embed/embed-items';
import { browserLanePlan, ensureHelperLanes, helperBatches, helperLanes, helperTensors, touchHelperLanes, type HelperLane } from '../embed/lanes';
import { GlimpseError, serializeError } from '../shared/errors';
import { predictHead } from '../train/head';
import type { EmbedItemResult, ImageInput, Requests } from './protocol';
import type { WorkContext, WorkMap } from './policy';
import { imagenetClassifier, modelBaseUrl, readyExtractor } from './runtime';
import { classifyEmbedding } from './train-handlers';

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

async function embedMany(images: ImageInput[], thumbnails: boolean, ctx: WorkContext<EmbedItemResult>): Promise<{ done: number; failed: number }> {
  const { signal, progress } = ctx;
  const ex = readyExtractor();
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
  const local = (batch: ImageInput[]) => embedItems(batch, thumbnails, (pixels) => ctx.gpu(async () => (await readyExtractor().embed(pixels)).embeddings));
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
  if (batches.length > 1 && tf.getBackend() === 'wasm') ensureHelperLanes({ spec: ex.spec, key: ex.key, baseUrl: modelBaseUrl(), plan: browserLanePlan() });
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
async function augmentMany(images: ImageInput[], ctx: WorkContext<Requests['augment']['progress']>): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  for (const input of images) {
    if (ctx.signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    try {
      const { pixels } = await decodeImage(new Uint8Array(input.bytes), input.type, input.name);
      const vectors = await ctx.gpu(async () => {
        const ex = readyExtractor();
        const batch = augmentToBatch(pixels, ex.spec.inputSize, ex.spec.preprocessing);
        const out = ex.embedTensor(batch);
        batch.dispose();
        try {
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      });
      if (!vectors.every((v) => Number.isFinite(v))) throw new GlimpseError('internal', 'The model produced invalid numbers (NaN or infinity).');
      ctx.progress({ id: input.id, vectors, count: AUGMENT_VARIANTS.length }, [vectors.buffer]);
      done++;
    } catch (err) {
      // A loss the recovery could not mend ends the request; a bad file is that file's error.
      if (serializeError(err).code === 'gpu-context-lost') throw err;
      failed++;
      ctx.progress({ id: input.id, error: serializeError(err) });
    }
  }
  return { done, failed };
}

export const embedHandlers: Pick<WorkMap<Requests>, 'classify' | 'prepareLabeller' | 'embed' | 'augment' | 'predict' | 'memory'> = {
  prepareLabeller: async () => {
    await imagenetClassifier();
    return { data: { ok: true } };
  },
  classify: async ({ image, topK }) => {
    readyExtractor();
    const t0 = performance.now();
    const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
    const r = await (await imagenetClassifier()).embed([pixels], { topK });
    const data = { top: r.top?.[0] ?? [], embedding: r.embeddings[0]!, width: pixels.width, height: pixels.height, ms: performance.now() - t0 };
    return { data, transfer: [data.embedding.buffer] };
  },
  embed: async ({ images, thumbnails }, ctx) => ({ data: await embedMany(images, thumbnails, ctx) }),
  augment: async ({ images }, ctx) => ({ data: await augmentMany(images, ctx) }),
  predict: async ({ image }, { tuned }) => {
    const ex = readyExtractor();
    const t0 = performance.now();
    const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
    // The head's prediction runs on the backend too (dataSync): it belongs inside the guard.
    const { embeddings } = await ex.embed([pixels]);
    // With a fine-tuned model for this extractor, the top holds its weights and its head classifies.
    const probs = tuned ? predictHead(tuned.head, embeddings[0]!, 1) : classifyEmbedding(embeddings[0]!, ex.key);
    return { data: { probs, ms: performance.now() - t0 }, transfer: [probs.buffer] };
  },
  memory: async () => {
    const m = tf.memory();
    // Tensors of the helper lanes count too: a leak there is still this app's leak.
    const numTensors = m.numTensors + (await helperTensors());
    // The WASM backend's memory (never shrinks, so it is the largest it has been): the DevTools
    // heap figures leave it out.
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
    const wasmHeapBytes = tf.getBackend() === 'wasm' && heap ? heap.buffer.byteLength : 0;
    return { data: { numTensors, numBytes: m.numBytes, backend: tf.getBackend(), lanes: 1 + helperLanes().length, helperBatches: helperBatches(), wasmHeapBytes } };
  },
};
