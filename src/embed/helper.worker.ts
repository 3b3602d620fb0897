// A helper lane (lanes.ts): a second copy of the extractor on WASM, decoding and embedding
// batches of files for the embedding worker. Nothing else runs here.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import { serveWorker, type HandlerMap } from '../shared/worker-host';
import { configureWasm } from './backend-browser';
import { embedItems } from './embed-items';
import { loadExtractor, type Extractor } from './extractor';
import { measureMatmulRate, timeNetwork } from './flops';
import { modelSource } from './fetch-cache';
import type { HelperRequests } from './helper-protocol';

let extractor: Extractor | null = null;

const handlers: HandlerMap<HelperRequests> = {
  load: async ({ spec, baseUrl, threads }) => {
    const t0 = performance.now();
    configureWasm(threads);
    if (!(await tf.setBackend('wasm'))) throw new GlimpseError('internal', 'WASM is not available in the helper worker.');
    await tf.ready();
    extractor?.dispose();
    // The same checked bytes as the main worker's (its key names the weights, compared by lanes.ts).
    const resolveUrl = (url: string) => new URL(url, baseUrl).toString();
    const source = await modelSource(spec, resolveUrl);
    extractor = await loadExtractor(spec, { fetchBytes: source.fetchBytes, resolveUrl, ...(source.report ? { weightsDigest: source.report.digest } : {}) });
    await extractor.warmup(1);
    return { data: { key: extractor.key, backend: tf.getBackend(), ms: performance.now() - t0 } };
  },
  embed: async ({ images, thumbnails }) => {
    const ex = extractor;
    if (!ex) throw new GlimpseError('internal', 'The helper has no model.');
    const items = await embedItems(images, thumbnails, async (pixels) => (await ex.embed(pixels)).embeddings);
    const transfer = items.flatMap((r) => (r.embedding ? [r.embedding.buffer] : []));
    return { data: { items }, transfer };
  },
  profile: async ({ batch, repeats, matmul }) => {
    const ex = extractor;
    if (!ex) throw new GlimpseError('internal', 'The helper has no model.');
    const msPerImage = repeats > 0 ? await timeNetwork((x) => ex.embedTensor(x), ex.spec.inputSize, batch, repeats) : NaN;
    return { data: { msPerImage, matmulMacsPerS: matmul ? await measureMatmulRate() : NaN } };
  },
  memory: async () => ({ data: { numTensors: tf.memory().numTensors } }),
};

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], handlers);
