// The fused WebGPU preprocessing (src/embed/preprocess-webgpu.ts) against the per-image TF.js ops
// it replaces, on the same backend: every mode, and sizes that crop, shrink, enlarge, keep the size,
// and mix in one batch. Run by run.ts --check-preprocess; throws past the tolerance.
import * as tf from '@tensorflow/tfjs';
import { imagesToBatchPerImage, type PixelImage } from '../../src/embed/preprocess';
import {
  fusedImagesToBatch,
  getUploadMode,
  packRgba,
  setUploadMode,
  type UploadMode,
} from '../../src/embed/preprocess-webgpu';

export const UPLOAD_MODES: UploadMode[] = ['tensor', 'queue', 'persistent', 'mapped'];
import type { Preprocessing } from '../../src/embed/specs';

function noiseImage(width: number, height: number, seed: number): PixelImage {
  const data = new Uint8Array(width * height * 4);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = s & 0xff;
  }
  return { width, height, channels: 4, data };
}

/** Largest |fused - per-image| over all cases; throws if any exceeds `tol` (in mapped units). */
export async function checkPreprocess(size: number, tol = 1e-3): Promise<number> {
  const sizes: [number, number][] = [
    [640, 480],
    [480, 640],
    [size, size],
    [size + 1, size],
    [100, 57],
    [7, 13],
    [961, 640],
  ];
  const images = sizes.map(([w, h], i) => noiseImage(w, h, 99 + i));
  let worst = 0;
  const before = getUploadMode();
  for (const [up, mode] of UPLOAD_MODES.flatMap((u) =>
    (['unit', 'signed', 'caffe'] as Preprocessing[]).map((m) => [u, m] as const),
  )) {
    setUploadMode(up);
    // The same batch twice in a row too: the kept buffers are reused (and the staging buffer may
    // not be mapped again yet), and a smaller batch after a larger one reads only its own part.
    for (const batch of [images, images, [images[0]!], images.slice(3, 5), images]) {
      const a = fusedImagesToBatch(batch, size, mode);
      const b = imagesToBatchPerImage(batch, size, mode);
      const m = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
      const diff = (await m.data())[0]!;
      tf.dispose([a, b, m]);
      worst = Math.max(worst, diff);
      if (!(diff <= tol))
        throw new Error(
          `fused preprocessing differs: upload ${up}, mode ${mode}, ${batch.length} images, max |diff| ${diff}`,
        );
    }
  }
  setUploadMode(before);
  return worst;
}

async function medianMs(fn: () => Promise<void> | void, iters = 15): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((x, y) => x - y)[t.length >> 1]!;
}

/**
 * Where the app path's time beyond the network goes, per batch of `images`: packing the words in
 * JavaScript, then the fused preprocessing alone (a sum read back, not the whole batch) and the
 * whole embed() for each way of uploading the words.
 */
export async function profilePreprocess(
  images: PixelImage[],
  size: number,
  mode: Preprocessing,
  embed: (ims: PixelImage[]) => Promise<unknown>,
): Promise<Record<string, number>> {
  const n = images.length;
  const out: Record<string, number> = {
    batch: n,
    packMsPerImage: (await medianMs(() => void packRgba(images))) / n,
  };
  const before = getUploadMode();
  for (const up of UPLOAD_MODES) {
    setUploadMode(up);
    out[`${up}PreprocessMsPerImage`] =
      (await medianMs(async () => {
        const s = tf.tidy(() => tf.sum(fusedImagesToBatch(images, size, mode)));
        await s.data();
        s.dispose();
      })) / n;
    out[`${up}EmbedMsPerImage`] = (await medianMs(async () => void (await embed(images)))) / n;
  }
  setUploadMode(before);
  return out;
}
