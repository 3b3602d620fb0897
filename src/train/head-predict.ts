// Inference with a trained head, and its conversion to a TF.js LayersModel for export.

import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import type { DenseWeights, TrainedHead } from './head-types';
import { MIN_ROW_NORM } from './head-util';

/** Rows per forward pass, so a large batch never holds more than a few MB of activations. */
const PREDICT_CHUNK_ROWS = 4096;

function checkHead(head: TrainedHead): void {
  const first = head.layers[0];
  const last = head.layers[head.layers.length - 1];
  if (!first || !last || first.inDim !== head.inputDim || last.outDim !== head.numClasses) {
    throw new GlimpseError('model-invalid', 'The classifier head is malformed.');
  }
  if (head.mean.length !== head.inputDim || head.invStd.length !== head.inputDim) {
    throw new GlimpseError(
      'model-invalid',
      'The classifier head has a wrong standardisation size.',
    );
  }
  for (const layer of head.layers) {
    if (layer.kernel.length !== layer.inDim * layer.outDim || layer.bias.length !== layer.outDim) {
      throw new GlimpseError('model-invalid', 'The classifier head has a wrong weight size.');
    }
  }
}

/** Class probabilities, row-major [n, numClasses]. */
export function predictHead(head: TrainedHead, x: Float32Array, n: number): Float32Array {
  checkHead(head);
  const d = head.inputDim;
  if (!Number.isInteger(n) || n < 0 || x.length !== n * d) {
    throw new GlimpseError(
      'invalid-input',
      `Expected ${n} embeddings of size ${d}, got ${x.length} values.`,
    );
  }
  const out = new Float32Array(n * head.numClasses);
  for (let start = 0; start < n; start += PREDICT_CHUNK_ROWS) {
    const rows = Math.min(PREDICT_CHUNK_ROWS, n - start);
    const probs = tf.tidy(() => {
      let a: tf.Tensor2D = tf.tensor2d(x.subarray(start * d, (start + rows) * d), [rows, d]);
      if (head.inputNorm === 'l2') a = l2NormalizeTensor(a);
      a = tf.mul(tf.sub(a, tf.tensor1d(head.mean)), tf.tensor1d(head.invStd));
      head.layers.forEach((layer, l) => {
        const kernel = tf.tensor2d(layer.kernel, [layer.inDim, layer.outDim]);
        a = tf.add(tf.matMul(a, kernel), tf.tensor1d(layer.bias));
        if (l < head.layers.length - 1) a = tf.relu(a);
      });
      return tf.softmax(a).dataSync() as Float32Array;
    });
    out.set(probs, start * head.numClasses);
  }
  return out;
}

/** Rows scaled to unit L2 length, as the head was trained (head-util.ts l2NormalizeRows). */
export function l2NormalizeTensor<T extends tf.Tensor>(x: T): T {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), MIN_ROW_NORM));
}

/**
 * Fold the standardisation into the first layer (in float64):
 * ((x - mean) * invStd) W + b = x (diag(invStd) W) + (b - (mean * invStd) W).
 */
function foldStandardisation(
  layer: DenseWeights,
  mean: Float32Array,
  invStd: Float32Array,
): DenseWeights {
  const { inDim, outDim } = layer;
  const kernel = new Float32Array(inDim * outDim);
  const bias = new Float64Array(layer.bias);
  for (let i = 0; i < inDim; i++) {
    const scale = invStd[i] as number;
    const shift = (mean[i] as number) * scale;
    for (let j = 0; j < outDim; j++) {
      const w = layer.kernel[i * outDim + j] as number;
      kernel[i * outDim + j] = w * scale;
      bias[j] = (bias[j] as number) - shift * w;
    }
  }
  return { inDim, outDim, kernel, bias: Float32Array.from(bias) };
}

/**
 * Unit-length rows with TF.js's own layers only, so `tf.loadLayersModel` reads the export with
 * nothing registered. There is no built-in L2-normalisation layer, but LayerNormalization of the
 * pair [x, -x] (mean 0, variance ||x||^2 / d over its 2d values) gives [x, -x] * sqrt(d) / ||x||.
 * The next dense layer reads both halves with kernels +K/2 and -K/2 (scaled by 1 / sqrt(d)), so
 * any rounding in the computed mean cancels and the logits are those of x / ||x|| times K.
 * epsilon stands in for the app's max(||x||, 1e-12) (head-util.ts): both only matter for a zero
 * row, which gives zeros either way.
 */
export const L2_PAIR_EPSILON = 1e-12;

/**
 * The head's layers applied to `input` (raw embeddings [n, inputDim]): built-in layers only, the
 * standardisation folded into the first dense layer. `prefix` keeps layer names apart from an
 * extractor's when the head is part of a complete model.
 */
export function applyHeadLayers(input: tf.SymbolicTensor, head: TrainedHead, prefix = ''): tf.SymbolicTensor {
  checkHead(head);
  const layers = head.layers.map((layer, l) => (l === 0 ? foldStandardisation(layer, head.mean, head.invStd) : layer));
  let a = input;
  const pair = head.inputNorm === 'l2';
  if (pair) {
    const neg = tf.layers.rescaling({ scale: -1, offset: 0, name: `${prefix}l2_negate` }).apply(input) as tf.SymbolicTensor;
    const both = tf.layers.concatenate({ axis: -1, name: `${prefix}l2_pair` }).apply([input, neg]) as tf.SymbolicTensor;
    a = tf.layers
      .layerNormalization({ axis: -1, center: false, scale: false, epsilon: L2_PAIR_EPSILON, name: `${prefix}l2_normalize` })
      .apply(both) as tf.SymbolicTensor;
  }
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    const dense = tf.layers.dense({
      units: layer.outDim,
      activation: last ? 'softmax' : 'relu',
      kernelInitializer: 'zeros',
      name: last ? `${prefix}probabilities` : `${prefix}hidden_${l + 1}`,
    });
    a = dense.apply(a) as tf.SymbolicTensor;
    const kernel = l === 0 && pair ? pairKernel(layer) : tf.tensor2d(layer.kernel, [layer.inDim, layer.outDim]);
    const bias = tf.tensor1d(layer.bias);
    dense.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
  });
  return a;
}

/** [K; -K] / (2 sqrt(d)) for the [x, -x] * sqrt(d) / ||x|| input of applyHeadLayers. */
function pairKernel(layer: DenseWeights): tf.Tensor2D {
  const { inDim, outDim } = layer;
  const out = new Float32Array(2 * inDim * outDim);
  const c = 1 / (2 * Math.sqrt(inDim));
  for (let i = 0; i < inDim * outDim; i++) {
    const w = (layer.kernel[i] as number) * c;
    out[i] = w;
    out[inDim * outDim + i] = -w;
  }
  return tf.tensor2d(out, [2 * inDim, outDim]);
}

/** The head as a TF.js LayersModel that takes raw embeddings. Caller disposes it. */
export function headToLayersModel(head: TrainedHead): tf.LayersModel {
  const input = tf.input({ shape: [head.inputDim], name: 'embedding' });
  return tf.model({ inputs: input, outputs: applyHeadLayers(input, head), name: 'glimpse_head' });
}
