// Pixels -> model input. Pure TF.js ops so the browser worker, the eval CLI and the tests share
// exactly one implementation: centre crop to a square, bilinear resize (half-pixel centres, as
// Keras/PIL do), then the spec's value mapping.
import * as tf from '@tensorflow/tfjs';
import type { Preprocessing } from './specs';
import { fusedEligible, fusedImagesToBatch } from './preprocess-webgpu';

import type { PixelImage } from '../shared/image';

export type { PixelImage };

/** ImageNet BGR channel means used by caffe-style models (Keras ResNet-50). */
export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

/** Square centre crop box over the full short side: [top, left, size]. */
export function centreCropBox(width: number, height: number): [number, number, number] {
  const size = Math.min(width, height);
  return [Math.floor((height - size) / 2), Math.floor((width - size) / 2), size];
}

/** Maps float RGB values in [0,255] (shape [..., 3]) to the model's input range. */
export function mapValues(rgb: tf.Tensor, mode: Preprocessing): tf.Tensor {
  return tf.tidy(() => {
    switch (mode) {
      case 'unit':
        return tf.div(rgb, 255);
      case 'signed':
        return tf.sub(tf.div(rgb, 127.5), 1);
      case 'caffe': {
        // RGB -> BGR, then subtract the per-channel mean; no scaling.
        const bgr = tf.reverse(rgb, -1);
        return tf.sub(bgr, tf.tensor1d([...CAFFE_MEAN_BGR]));
      }
    }
  });
}

/** The image's RGB values as an int32 [height, width, 3] tensor (alpha dropped). Call inside tidy. */
export function rgbTensor(image: PixelImage): tf.Tensor3D {
  const { width, height, channels } = image;
  const data =
    image.data instanceof Uint8Array
      ? image.data
      : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const px: tf.Tensor3D = tf.tensor3d(data, [height, width, channels], 'int32');
  return channels === 4 ? tf.slice(px, [0, 0, 0], [height, width, 3]) : px;
}

/** One image -> float32 [size, size, 3] in the model's input range. */
export function imageToInput(image: PixelImage, size: number, mode: Preprocessing): tf.Tensor3D {
  return tf.tidy(() => mapValues(imageToPixels(image, size), mode) as tf.Tensor3D);
}

/**
 * One image -> float32 [size, size, 3] RGB 0-255: centre crop and resize only (what a complete
 * exported model takes, src/export/complete-model.ts).
 */
export function imageToPixels(image: PixelImage, size: number): tf.Tensor3D {
  return tf.tidy(() => {
    const px = rgbTensor(image);
    const [top, left, side] = centreCropBox(image.width, image.height);
    const square = tf.slice(px, [top, left, 0], [side, side, 3]);
    return side === size
      ? (tf.cast(square, 'float32') as tf.Tensor3D)
      : tf.image.resizeBilinear(tf.cast(square, 'float32') as tf.Tensor3D, [size, size], false, true);
  });
}

/** A batch of images -> [n, size, size, 3], image by image with TF.js ops (every backend). */
export function imagesToBatchPerImage(
  images: readonly PixelImage[],
  size: number,
  mode: Preprocessing,
): tf.Tensor4D {
  return tf.tidy(() => tf.stack(images.map((im) => imageToInput(im, size, mode))) as tf.Tensor4D);
}

/**
 * A batch of images -> [n, size, size, 3]. On WebGPU the bytes go up once, as bytes, and one
 * shader crops, resizes and maps the whole batch (preprocess-webgpu.ts: the same numbers within
 * float rounding); elsewhere, image by image.
 */
export function imagesToBatch(
  images: readonly PixelImage[],
  size: number,
  mode: Preprocessing,
): tf.Tensor4D {
  if (tf.getBackend() === 'webgpu' && fusedEligible(images))
    return fusedImagesToBatch(images, size, mode);
  return imagesToBatchPerImage(images, size, mode);
}
