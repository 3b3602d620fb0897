// A helper lane (lanes.ts): a second copy of the extractor on single-purpose WASM, embedding
// already decoded pixels for the embedding worker. Nothing else runs here.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import { serveWorker, type Handler } from '../shared/worker-host';
import { configureWasm } from './backend-browser';
import { loadExtractor, type Extractor } from './extractor';
import { cachingFetcher } from './fetch-cache';
import type { HelperRequests } from './helper-protocol';
import { findExtractor } from './specs';

let extractor: Extractor | null = null;

const handlers: Record<keyof HelperRequests, Handler> = {
  load: async (payload) => {
    const { extractorId, baseUrl, threads } = payload as HelperRequests['load']['req'];
    const t0 = performance.now();
    configureWasm(threads);
    if (!(await tf.setBackend('wasm'))) throw new GlimpseError('internal', 'WASM is not available in the helper worker.');
    await tf.ready();
    extractor?.dispose();
    extractor = await loadExtractor(findExtractor(extractorId), {
      fetchBytes: cachingFetcher(),
      resolveUrl: (url) => new URL(url, baseUrl).toString(),
    });
    await extractor.warmup(1);
    const data: HelperRequests['load']['res'] = { key: extractor.key, backend: tf.getBackend(), ms: performance.now() - t0 };
    return { data };
  },
  embed: async (payload) => {
    if (!extractor) throw new GlimpseError('internal', 'The helper has no model.');
    const { pixels } = payload as HelperRequests['embed']['req'];
    const { embeddings } = await extractor.embed(pixels);
    return { data: { embeddings }, transfer: embeddings.map((e) => e.buffer) };
  },
  memory: async () => ({ data: { numTensors: tf.memory().numTensors } }),
};

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], handlers);
