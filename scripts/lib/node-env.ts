// Node-side glue for the CLI tools and unit tests: the TF.js backend, reading model files from
// disk through the same loader the browser uses, and decoding images with pure-JS decoders.
//
// Differences from the browser path (documented in the README): jpeg-js's IDCT differs from
// Chromium's libjpeg-turbo by a few grey levels; EXIF orientation is applied by hand from the header
// (browsers rotate when decoding); CMYK JPEGs are converted by jpeg-js. Everything after decoding
// (crop, resize, value mapping, the model) is the same module as in the app.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { ByteFetcher } from '../../src/embed/loader';
import type { PixelImage } from '../../src/embed/preprocess';
import { BUILTIN_EXTRACTORS, findExtractor, type ExtractorSpec } from '../../src/embed/specs';
import { loadExtractor, type Extractor } from '../../src/embed/extractor';
import { sniffImage } from '../../src/capture/guard';
import { registerWasmConvGrad } from '../../src/embed/wasm-grad';
import { orientPixels } from '../../src/capture/orient';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedRoot = path.resolve(repoRoot, '..', 'shared');

export async function initNodeBackend(name = process.env.GLIMPSE_BACKEND ?? 'wasm'): Promise<string> {
  if (name === 'wasm') {
    const dir = path.join(repoRoot, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;
    setWasmPaths(dir);
  }
  if (!tf.findBackendFactory(name)) {
    throw new Error(
      name === 'webgpu'
        ? 'The webgpu backend runs in Node only from the Dawn bundle: node bench/gpu/build-eval.mjs, then node .cache/eval-gpu/eval-gpu.mjs (see README "Fine-tuning").'
        : `Unknown TF.js backend ${name} (wasm, cpu${process.env.GLIMPSE_DAWN_BUNDLE ? ', webgpu' : ''})`,
    );
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`TF.js backend ${name} could not start in Node`);
  await tf.ready();
  // Convolution weight gradients (fine-tuning): TF.js's WASM backend lacks the kernel.
  if (tf.getBackend() === 'wasm') registerWasmConvGrad();
  return tf.getBackend();
}

/**
 * Runs `f` on TF.js's CPU backend when the active backend is webgpu (the Dawn bundle), else as is.
 * The head (L-BFGS fit, predictHead) reads small tensors synchronously, and WebGPU's synchronous
 * read needs an OffscreenCanvas, which Node lacks. The head only takes Float32Arrays in and gives
 * Float32Arrays out, so no tensor crosses backends; the extractor and fine-tuning stay on the GPU.
 */
export async function withSyncReads<T>(f: () => T | Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  if (prev !== 'webgpu') return f();
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend(prev);
  }
}

/** Maps the app's URLs ("models/..") to files on disk. */
export function resolveModelPath(url: string): string {
  const clean = url.split('?')[0]!;
  if (clean.startsWith('models/')) return path.join(repoRoot, 'public', clean);
  if (clean.startsWith('cache-models/')) return path.join(repoRoot, '.cache', 'models', clean.slice('cache-models/'.length));
  return clean;
}

export const fileFetcher: ByteFetcher = async (p) => {
  const buf = await fs.readFile(p);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
};

/** Eval-only variant: the original float32 ResNet-50, to measure what float16 storage costs. */
export const RESNET_F32: ExtractorSpec = {
  ...findExtractor('resnet50-imagenet'),
  id: 'resnet50-imagenet-f32',
  version: '1.0.4-f32',
  modelUrl: 'cache-models/resnet50-imagenet-f32/model.json',
  classifier: { ...findExtractor('resnet50-imagenet').classifier!, labelsUrl: 'cache-models/resnet50-imagenet-f32/labels.json' },
  userFacing: false,
};

export function nodeExtractorSpec(id: string): ExtractorSpec {
  return id === RESNET_F32.id ? RESNET_F32 : findExtractor(id);
}

/** Extractors whose files exist on this machine (the TF Hub one never does here). */
export async function availableExtractors(): Promise<ExtractorSpec[]> {
  const out: ExtractorSpec[] = [];
  for (const spec of BUILTIN_EXTRACTORS) {
    if (spec.origin === 'remote') continue;
    try {
      await fs.access(resolveModelPath(spec.modelUrl));
      out.push(spec);
    } catch {
      // not prepared / not present on this machine
    }
  }
  return out;
}

export async function loadNodeExtractor(id: string, opts: { foldBatchNorms?: boolean } = {}): Promise<Extractor> {
  const spec = nodeExtractorSpec(id);
  if (spec.origin === 'remote') {
    throw new Error(`${id} is loaded from the network by the browser app; it cannot be fetched here.`);
  }
  return loadExtractor(spec, { fetchBytes: fileFetcher, resolveUrl: resolveModelPath, ...opts });
}

/** Decodes JPEG/PNG bytes to RGBA, upright per EXIF orientation. Throws GlimpseError on bad input. */
export function decodeImageBytes(bytes: Uint8Array, name: string): PixelImage {
  const header = sniffImage(bytes, name);
  let img: PixelImage;
  if (header.format === 'jpeg') {
    const d = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    img = { width: d.width, height: d.height, channels: 4, data: d.data };
  } else if (header.format === 'png') {
    const d = PNG.sync.read(Buffer.from(bytes));
    img = { width: d.width, height: d.height, channels: 4, data: new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.length) };
  } else {
    throw new Error(`${name}: ${header.format} decoding is supported in the browser only`);
  }
  return orientPixels(img, header.orientation ?? 1);
}

export async function decodeImageFile(file: string): Promise<PixelImage> {
  const buf = await fs.readFile(file);
  return decodeImageBytes(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path.basename(file));
}
