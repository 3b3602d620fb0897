// Augmentation: each image also contributes embeddings of a few deterministic variants, computed
// once (in the worker, from the original image) and cached with the sample. They are used for
// training only: fitHead() adds a sample's variants only when the sample itself is in the
// training split, so validation never sees them (nor a variant of a validation image).
//
// The variants, from the image as decoded (before the model's centre crop):
// - flip:  the centre square mirrored left-right;
// - crop-tl / crop-br: squares of 85 % of the short side at the top-left / bottom-right of the
//   centre square;
// - zoom:  the central 80 % of the centre square (a 1.25x scale-up);
// - bright: the centre square with brightness x1.2 (clipped to 255).
// No randomness: the same image always gives the same variants.
import * as tf from '@tensorflow/tfjs';
import { centreCropBox, mapValues, rgbTensor, type PixelImage } from './preprocess';
import type { Preprocessing } from './specs';

import { AUGMENT_VARIANTS, type AugmentVariant } from './augment-recipe';

// The names and cache key live in a TF.js-free module so the page's main bundle can use them.
export {
  AUGMENT_RECIPE,
  AUGMENT_VARIANTS,
  augmentKey,
  type AugmentVariant,
} from './augment-recipe';

/** [top, left, side] of each variant's square inside an image of width x height. */
export function variantBoxes(
  width: number,
  height: number,
): Record<AugmentVariant, [number, number, number]> {
  const [top, left, side] = centreCropBox(width, height);
  const crop = Math.max(1, Math.round(side * 0.85));
  const zoom = Math.max(1, Math.round(side * 0.8));
  const zoomOff = Math.floor((side - zoom) / 2);
  return {
    flip: [top, left, side],
    'crop-tl': [top, left, crop],
    'crop-br': [top + side - crop, left + side - crop, crop],
    zoom: [top + zoomOff, left + zoomOff, zoom],
    bright: [top, left, side],
  };
}

/** The variants of one image as model input, [AUGMENT_VARIANTS.length, size, size, 3]. */
export function augmentToBatch(image: PixelImage, size: number, mode: Preprocessing): tf.Tensor4D {
  return tf.tidy(() => {
    const { width, height } = image;
    const rgb = tf.cast(rgbTensor(image), 'float32') as tf.Tensor3D;
    const boxes = variantBoxes(width, height);
    const out = AUGMENT_VARIANTS.map((v) => {
      const [t, l, s] = boxes[v];
      let sq = tf.slice(rgb, [t, l, 0], [s, s, 3]) as tf.Tensor3D;
      if (s !== size) sq = tf.image.resizeBilinear(sq, [size, size], false, true);
      if (v === 'flip') sq = tf.reverse(sq, 1);
      if (v === 'bright') sq = tf.clipByValue(tf.mul(sq, 1.2), 0, 255);
      return mapValues(sq, mode) as tf.Tensor3D;
    });
    return tf.stack(out) as tf.Tensor4D;
  });
}
