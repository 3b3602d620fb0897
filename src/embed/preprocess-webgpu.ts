// WebGPU: a whole batch's preprocessing in one upload and one dispatch. The RGBA bytes go up as
// they are (one 32-bit word per pixel, a quarter of the int32-per-channel upload), and one shader
// does what preprocess.ts's per-image ops do: centre crop, bilinear resize with half-pixel centres
// (the same formula as TF.js's ResizeBilinear), the value mapping, and the batch layout. Images
// of different sizes share the dispatch: a small table gives each image's offset and size.
import * as tf from '@tensorflow/tfjs';
import type { PixelImage } from '../shared/image';
import type { Preprocessing } from './specs';

export const PREPROCESS_KERNEL = 'GlimpsePreprocessRgba';

/**
 * Pixels per upload. WebGPU guarantees storage bindings of 128 MiB (32 Mi pixels); staying well
 * under it leaves room on adapters that offer no more, and a larger batch goes up in chunks.
 */
export const MAX_PIXELS_PER_UPLOAD = 24 * 2 ** 20;

/** Whether the fused path can take these images: RGBA, each small enough for one upload. */
export function fusedEligible(images: readonly PixelImage[]): boolean {
  return images.every((im) => im.channels === 4 && im.width * im.height <= MAX_PIXELS_PER_UPLOAD);
}

/** Splits [0, n) into runs whose pixels fit one upload (order kept). */
export function planChunks(
  images: readonly PixelImage[],
  maxPixels = MAX_PIXELS_PER_UPLOAD,
): [number, number][] {
  const chunks: [number, number][] = [];
  let start = 0;
  let pixels = 0;
  images.forEach((im, i) => {
    const p = im.width * im.height;
    if (i > start && pixels + p > maxPixels) {
      chunks.push([start, i]);
      start = i;
      pixels = 0;
    }
    pixels += p;
  });
  if (images.length > start) chunks.push([start, images.length]);
  return chunks;
}

/** Each image's pixels as 32-bit words: a view when aligned (ImageData always is), else a copy. */
function words32(im: PixelImage): Int32Array {
  const d = im.data;
  const n = im.width * im.height;
  return d.byteOffset % 4 === 0
    ? new Int32Array(d.buffer, d.byteOffset, n)
    : new Int32Array(d.slice(0, n * 4).buffer);
}

/** [offset, width, height] per image, offsets in words, images back to back. */
export function layoutOf(images: readonly PixelImage[]): Int32Array {
  const layout = new Int32Array(images.length * 3);
  let offset = 0;
  images.forEach((im, i) => {
    layout.set([offset, im.width, im.height], i * 3);
    offset += im.width * im.height;
  });
  return layout;
}

/** One word per pixel (the RGBA bytes as they lie in memory), images back to back, and the layout. */
export function packRgba(images: readonly PixelImage[]): { words: Int32Array; layout: Int32Array } {
  const layout = layoutOf(images);
  if (images.length === 1) return { words: words32(images[0]!), layout };
  const words = new Int32Array(images.reduce((s, im) => s + im.width * im.height, 0));
  images.forEach((im, i) => words.set(words32(im), layout[i * 3]!));
  return { words, layout };
}

function mapSnippet(mode: Preprocessing): string {
  switch (mode) {
    case 'unit':
      return 'v / 255.0';
    case 'signed':
      return 'v / 127.5 - 1.0';
    case 'caffe':
      // Output channel 0 is blue (input channel 2): BGR order, ImageNet means, no scaling.
      return 'v - array<f32, 3>(103.939, 116.779, 123.68)[ch]';
  }
}

interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

function program(n: number, size: number, mode: Preprocessing): Program {
  const outputShape = [n, size, size, 3];
  const workgroupSize: [number, number, number] = [64, 1, 1];
  const channel = mode === 'caffe' ? 'u32(2 - ch)' : 'u32(ch)';
  return {
    outputShape,
    shaderKey: `glimpsePreprocess_${mode}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: [Math.ceil((n * size * size * 3) / workgroupSize[0]), 1, 1],
    variableNames: ['words', 'boxes'],
    workgroupSize,
    size: true,
    getUserCode: () => `
      fn px(o: i32, w: i32, y: i32, x: i32, c: u32) -> f32 {
        return f32((bitcast<u32>(words[o + y * w + x]) >> (8u * c)) & 255u);
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let b = coords[0];
          let ch = coords[3];
          let o = boxes[b * 3];
          let w = boxes[b * 3 + 1];
          let h = boxes[b * 3 + 2];
          let side = min(w, h);
          let top = (h - side) / 2;
          let left = (w - side) / 2;
          let s = uniforms.outShape[1];
          let c = ${channel};
          var v: f32;
          if (side == s) {
            v = px(o, w, top + coords[1], left + coords[2], c);
          } else {
            // ResizeBilinear, half-pixel centres, align_corners off (as TF.js's CPU kernel).
            let ratio = f32(side) / f32(s);
            let fy = (f32(coords[1]) + 0.5) * ratio - 0.5;
            let fx = (f32(coords[2]) + 0.5) * ratio - 0.5;
            let y0 = max(0, i32(floor(fy)));
            let x0 = max(0, i32(floor(fx)));
            let y1 = min(side - 1, i32(ceil(fy)));
            let x1 = min(side - 1, i32(ceil(fx)));
            let dy = fy - f32(y0);
            let dx = fx - f32(x0);
            let tl = px(o, w, top + y0, left + x0, c);
            let tr = px(o, w, top + y0, left + x1, c);
            let bl = px(o, w, top + y1, left + x0, c);
            let br = px(o, w, top + y1, left + x1, c);
            let t = tl + (tr - tl) * dx;
            let bo = bl + (br - bl) * dx;
            v = t + (bo - t) * dy;
          }
          setOutputAtIndex(index, ${mapSnippet(mode)});
        }
      }`,
  };
}

interface WebGpuBackendLike {
  runWebGPUProgram(p: Program, inputs: tf.TensorInfo[], dtype: 'float32'): tf.TensorInfo;
}

tf.registerKernel({
  kernelName: PREPROCESS_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { words, boxes } = inputs as { words: tf.TensorInfo; boxes: tf.TensorInfo };
    const { size, mode } = attrs as unknown as { size: number; mode: Preprocessing };
    const n = boxes.shape[0]! / 3;
    return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
      program(n, size, mode),
      [words, boxes],
      'float32',
    );
  },
});

interface GpuBufferLike {
  readonly size: number;
  destroy(): void;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  mapAsync(mode: number): Promise<void>;
}
interface GpuDeviceLike {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBufferLike;
  queue: {
    writeBuffer(b: GpuBufferLike, offset: number, data: ArrayBufferView): void;
    onSubmittedWorkDone(): Promise<void>;
  };
}
interface UploadBackend {
  device: GpuDeviceLike;
  commandEncoder: {
    copyBufferToBuffer(
      s: GpuBufferLike,
      so: number,
      d: GpuBufferLike,
      dof: number,
      n: number,
    ): void;
  } | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
const usage = (): Record<'STORAGE' | 'COPY_SRC' | 'COPY_DST' | 'MAP_WRITE', number> =>
  (
    globalThis as unknown as {
      GPUBufferUsage: Record<'STORAGE' | 'COPY_SRC' | 'COPY_DST' | 'MAP_WRITE', number>;
    }
  ).GPUBufferUsage;
const MAP_WRITE_MODE = 2; // GPUMapMode.WRITE

/**
 * How the words reach the GPU.
 * - 'mapped' (default): two buffers kept across calls, a mappable staging buffer and the storage
 *   buffer the shader reads. Each image is copied straight into the mapped staging memory (one
 *   memcpy, no allocation), one copyBufferToBuffer on TF.js's own command encoder moves it (so it
 *   is ordered before the dispatch that reads it), and the staging buffer is mapped again once
 *   that copy has run. If it is not mapped yet (calls back to back), that call writes with
 *   queue.writeBuffer into the kept storage buffer instead.
 * - 'persistent': queue.writeBuffer of each image into the kept storage buffer.
 * - 'queue': a new storage buffer per call, queue.writeBuffer per image, destroyed once read
 *   (the first WebGPU path; the per-call 39 MB buffer at batch 32 cost time).
 * - 'tensor': the images packed into one Int32Array, then tf.tensor1d.
 * The kept buffers are reused only while they are large enough and at most
 * MAX_PIXELS_PER_UPLOAD words; they are replaced when a larger batch comes, and
 * releaseUploadBuffers() frees them.
 */
export type UploadMode = 'tensor' | 'queue' | 'persistent' | 'mapped';
let uploadMode: UploadMode = 'mapped';
export function setUploadMode(mode: UploadMode): void {
  uploadMode = mode;
}
export function getUploadMode(): UploadMode {
  return uploadMode;
}

interface Kept {
  device: GpuDeviceLike;
  storage: GpuBufferLike;
  staging: GpuBufferLike;
  /** Whether the staging buffer is mapped now (set when a mapAsync resolves). */
  mapped: boolean;
}
let kept: Kept | null = null;

function destroyLater(device: GpuDeviceLike, buffers: GpuBufferLike[]): void {
  void device.queue.onSubmittedWorkDone().then(() => buffers.forEach((b) => b.destroy()));
}

/** Frees the kept upload buffers (after the work that reads them). */
export function releaseUploadBuffers(): void {
  if (!kept) return;
  const { device, storage, staging } = kept;
  kept = null;
  destroyLater(device, [storage, staging]);
}

function keptBuffers(device: GpuDeviceLike, bytes: number): Kept {
  if (kept && kept.device === device && kept.storage.size >= bytes) return kept;
  if (kept) releaseUploadBuffers();
  const u = usage();
  // Room for a little more than asked, so that a slightly larger next batch does not reallocate.
  const size = Math.min(Math.ceil((bytes * 1.25) / 1024) * 1024, MAX_PIXELS_PER_UPLOAD * 4);
  kept = {
    device,
    storage: device.createBuffer({ size, usage: u.STORAGE | u.COPY_SRC | u.COPY_DST }),
    staging: device.createBuffer({ size, usage: u.MAP_WRITE | u.COPY_SRC, mappedAtCreation: true }),
    mapped: true,
  };
  return kept;
}

function bytesOf(im: PixelImage): Uint8Array {
  const d = im.data;
  const n = im.width * im.height * 4;
  return d instanceof Uint8Array
    ? d.subarray(0, n)
    : new Uint8Array(d.buffer, d.byteOffset, Math.min(n, d.byteLength));
}

function upload(
  images: readonly PixelImage[],
  layout: Int32Array,
  owned: GpuBufferLike[],
): tf.Tensor1D {
  if (uploadMode === 'tensor') return tf.tensor1d(packRgba(images).words, 'int32');
  const total = images.reduce((s, im) => s + im.width * im.height, 0);
  const bytes = Math.max(4, total * 4);
  const backend = tf.backend() as unknown as UploadBackend;
  const { device } = backend;
  const u = usage();
  let buffer: GpuBufferLike;
  // The kept buffers serve one chunk per call: a second chunk in the same call would overwrite
  // the first before its dispatch ran.
  if (uploadMode === 'queue' || keptTaken || bytes > MAX_PIXELS_PER_UPLOAD * 4) {
    buffer = device.createBuffer({ size: bytes, usage: u.STORAGE | u.COPY_SRC | u.COPY_DST });
    owned.push(buffer);
    images.forEach((im, i) => device.queue.writeBuffer(buffer, layout[i * 3]! * 4, words32(im)));
  } else {
    const k = keptBuffers(device, bytes);
    keptTaken = true;
    buffer = k.storage;
    if (uploadMode === 'mapped' && k.mapped) {
      const dst = new Uint8Array(k.staging.getMappedRange(0, bytes));
      images.forEach((im, i) => dst.set(bytesOf(im), layout[i * 3]! * 4));
      k.staging.unmap();
      k.mapped = false;
      // On TF.js's own encoder, so the copy comes before the dispatch recorded next.
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.commandEncoder!.copyBufferToBuffer(k.staging, 0, k.storage, 0, bytes);
      stagingToRemap = k;
    } else {
      // Ordered before the next submit, which holds the dispatch that reads it; every earlier
      // dispatch that read this buffer was submitted at the end of its own call.
      images.forEach((im, i) => device.queue.writeBuffer(buffer, layout[i * 3]! * 4, words32(im)));
    }
  }
  return tf.tensor(
    { buffer, zeroCopy: true } as unknown as tf.TensorLike,
    [total],
    'int32',
  ) as tf.Tensor1D;
}
let stagingToRemap: Kept | null = null;
let keptTaken = false;

/** [n, size, size, 3] float32 from RGBA images, on the WebGPU backend (fusedEligible first). */
export function fusedImagesToBatch(
  images: readonly PixelImage[],
  size: number,
  mode: Preprocessing,
): tf.Tensor4D {
  const owned: GpuBufferLike[] = [];
  keptTaken = false;
  const out = tf.tidy(() => {
    const parts = planChunks(images).map(([a, b]) => {
      const chunk = images.slice(a, b);
      const layout = layoutOf(chunk);
      const attrs = { size, mode } as unknown as tf.NamedAttrMap;
      const inputs = { words: upload(chunk, layout, owned), boxes: tf.tensor1d(layout, 'int32') };
      return tf.engine().runKernel(PREPROCESS_KERNEL, inputs, attrs) as tf.Tensor4D;
    });
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  });
  // Our buffers may be reused or freed only after the dispatches that read them ran: submit now.
  if (uploadMode !== 'tensor') {
    const backend = tf.backend() as unknown as UploadBackend;
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    if (owned.length > 0) destroyLater(backend.device, owned);
    const k = stagingToRemap;
    stagingToRemap = null;
    if (k) {
      // Mapped again once the copy has run; a call before that writes with writeBuffer instead.
      k.staging.mapAsync(MAP_WRITE_MODE).then(
        () => {
          if (kept === k) k.mapped = true;
        },
        () => undefined, // destroyed meanwhile (a larger batch replaced it)
      );
    }
  }
  return out;
}
