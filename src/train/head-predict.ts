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
 * The head's first layer when it normalises rows: x / max(||x||, 1e-12) along the last axis. The
 * exported examples register the same class (model-examples.ts), so a model.json loaded without
 * it fails loudly instead of predicting from unnormalised embeddings.
 */
export class GlimpseL2Normalize extends tf.layers.Layer {
  static className = 'GlimpseL2Normalize';
  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => l2NormalizeTensor(Array.isArray(inputs) ? inputs[0]! : inputs));
  }
}
tf.serialization.registerClass(GlimpseL2Normalize);

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

/** A tf.sequential equivalent of the head that takes raw embeddings. Caller disposes it. */
export function headToLayersModel(head: TrainedHead): tf.LayersModel {
  checkHead(head);
  const layers = head.layers.map((layer, l) =>
    l === 0 ? foldStandardisation(layer, head.mean, head.invStd) : layer,
  );
  const model = tf.sequential();
  if (head.inputNorm === 'l2') model.add(new GlimpseL2Normalize({ inputShape: [head.inputDim], name: 'l2_normalize' }));
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    const dense = tf.layers.dense({
      units: layer.outDim,
      activation: last ? 'softmax' : 'relu',
      kernelInitializer: 'zeros',
      name: last ? 'probabilities' : `hidden_${l + 1}`,
      ...(l === 0 && head.inputNorm !== 'l2' ? { inputShape: [layer.inDim] } : {}),
    });
    model.add(dense);
    const kernel = tf.tensor2d(layer.kernel, [layer.inDim, layer.outDim]);
    const bias = tf.tensor1d(layer.bias);
    dense.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
  });
  return model;
}
