// The complete model: one TF.js layers model from 0-255 pixels to class probabilities, made of
// TF.js's own layers only (plain `tf.loadLayersModel` reads it with nothing registered):
//   image [n, size, size, 3] (0-255, already centre-cropped and resized)
//   -> glimpse_pixels: Rescaling to the extractor's value range (x * scale + offset)
//   -> glimpse_bgr (caffe models only): 1x1 convolution that swaps RGB -> BGR and subtracts the means
//   -> the extractor up to its embedding layer (nested, its own layer names and weights)
//   -> the head (train/head-predict.ts applyHeadLayers, names prefixed glimpse_head_).
// Pure: the worker calls it with its loaded extractor, `npm run eval -- --export --complete` with
// the one it loaded in Node. The extractor's layers are shared, not copied: never dispose the
// returned model (disposeComplete frees only what was made here).
import * as tf from '@tensorflow/tfjs';
import type { ExtractorSpec, Preprocessing } from '../embed/specs';
import { CAFFE_MEAN_BGR } from '../embed/preprocess';
import { applyHeadLayers } from '../train/head-predict';
import type { TrainedHead } from '../train/head-types';
import { GlimpseError } from '../shared/errors';

export const PIXELS_LAYER = 'glimpse_pixels';

/** x * scale + offset for 0-255 pixels, per preprocessing mode (caffe adds glimpse_bgr after it). */
export function pixelRescale(mode: Preprocessing): { scale: number; offset: number } {
  if (mode === 'unit') return { scale: 1 / 255, offset: 0 };
  if (mode === 'signed') return { scale: 1 / 127.5, offset: -1 };
  return { scale: 1, offset: 0 };
}

/**
 * Teachable Machine's image library feeds a model u = pixel / 127 - 1 (its capture()); for such
 * a caller the first layer maps u back to pixel = 127 * (u + 1) before its own rescaling.
 */
export function tmRescale(mode: Preprocessing): { scale: number; offset: number } {
  const { scale, offset } = pixelRescale(mode);
  return { scale: 127 * scale, offset: 127 * scale + offset };
}

export interface CompleteModel {
  model: tf.LayersModel;
  /** The layers made here (preprocessing and head): what disposeComplete frees. */
  own: tf.layers.Layer[];
}

export function buildCompleteModel(extractor: tf.LayersModel, spec: ExtractorSpec, head: TrainedHead): CompleteModel {
  if (head.inputDim !== spec.embeddingDim) throw new GlimpseError('invalid-input', 'The head’s input size does not match its extractor.');
  const s = spec.inputSize;
  const input = tf.input({ shape: [s, s, 3], name: 'image' });
  const own: tf.layers.Layer[] = [];
  const pixels = tf.layers.rescaling({ ...pixelRescale(spec.preprocessing), name: PIXELS_LAYER });
  own.push(pixels);
  let x = pixels.apply(input) as tf.SymbolicTensor;
  if (spec.preprocessing === 'caffe') {
    const bgr = tf.layers.conv2d({ filters: 3, kernelSize: 1, useBias: true, name: 'glimpse_bgr', kernelInitializer: 'zeros' });
    x = bgr.apply(x) as tf.SymbolicTensor;
    // out[c] = in[2 - c] - mean[c]: a permutation (exact: one product by 1, the rest by 0).
    const kernel = new Float32Array(9);
    for (let c = 0; c < 3; c++) kernel[(2 - c) * 3 + c] = 1;
    const k = tf.tensor4d(kernel, [1, 1, 3, 3]);
    const b = tf.tensor1d(CAFFE_MEAN_BGR.map((m) => -m));
    bgr.setWeights([k, b]);
    tf.dispose([k, b]);
    own.push(bgr);
  }
  // Node 0 is the layer in the loaded graph: fine-tuning in the worker applies the top layers
  // again (more inbound nodes), after which `.output` is ambiguous.
  const embOut = extractor.getLayer(spec.embeddingOutput).getOutputAt(0) as tf.SymbolicTensor;
  const sub = tf.model({ inputs: extractor.inputs, outputs: embOut, name: 'glimpse_extractor' });
  const emb = sub.apply(x) as tf.SymbolicTensor;
  if (emb.shape.length !== 2 || emb.shape[1] !== spec.embeddingDim) {
    throw new GlimpseError('model-invalid', `Layer ${spec.embeddingOutput} gives shape [${emb.shape.join(',')}], expected [n, ${spec.embeddingDim}].`);
  }
  const probs = applyHeadLayers(emb, head, 'glimpse_head_');
  const model = tf.model({ inputs: input, outputs: probs, name: 'glimpse_complete' });
  for (const layer of model.layers) if (layer.name.startsWith('glimpse_head_')) own.push(layer);
  return { model, own };
}

/** Frees the preprocessing and head layers; the extractor's shared layers stay loaded. */
export function disposeComplete(c: CompleteModel): void {
  for (const layer of c.own) layer.dispose();
}

/**
 * The topology with another first rescaling (tmRescale): Teachable Machine's predict() feeds
 * pixel / 127 - 1. Same layers and weight names, so it reads the same weights file.
 */
export function withInputRescale(topology: object, r: { scale: number; offset: number }): object {
  const copy = JSON.parse(JSON.stringify(topology)) as { config?: { layers?: { name?: string; config?: Record<string, unknown> }[] } };
  const layer = copy.config?.layers?.find((l) => l.name === PIXELS_LAYER);
  if (!layer?.config) throw new GlimpseError('internal', 'The complete model has no pixel rescaling layer.');
  layer.config.scale = r.scale;
  layer.config.offset = r.offset;
  return copy;
}
