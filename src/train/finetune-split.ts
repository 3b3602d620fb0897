// Splitting a layers model for fine-tuning (see finetune.ts): the frozen bottom (image ->
// activations entering the first unfrozen layer) and the trainable top (those activations ->
// embedding), rebuilt over the same layer objects so training the top changes them in place.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';

export interface FineTuneSplit {
  /** Image -> activations entering the first unfrozen layer (frozen). */
  bottom: tf.LayersModel;
  /** Those activations -> embedding (trainable part). */
  top: tf.LayersModel;
  /** Shape of one activation, without the batch axis. */
  activationShape: number[];
  topLayers: tf.layers.Layer[];
}

interface Node {
  inputTensors: tf.SymbolicTensor[];
}

/** Splits `model` at the input of layer `fromLayer`; the top ends at layer `outputLayer`. */
export function splitForFineTune(
  model: tf.LayersModel,
  fromLayer: string,
  outputLayer: string,
): FineTuneSplit {
  const cut = model.getLayer(fromLayer).input;
  if (Array.isArray(cut))
    throw new GlimpseError(
      'model-invalid',
      `Layer ${fromLayer} has several inputs: cannot fine-tune from there.`,
    );
  const output = model.getLayer(outputLayer).output as tf.SymbolicTensor;
  const shape = cut.shape.slice(1) as number[];
  const input = tf.input({
    shape,
    name: `finetune_input_${cut.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
  });
  const memo = new Map<number, tf.SymbolicTensor>();
  const topLayers = new Set<tf.layers.Layer>();
  const rebuild = (sym: tf.SymbolicTensor): tf.SymbolicTensor => {
    if (sym.id === cut.id) return input;
    const hit = memo.get(sym.id);
    if (hit) return hit;
    const layer = sym.sourceLayer as tf.layers.Layer;
    if (layer.getClassName() === 'InputLayer')
      throw new GlimpseError(
        'model-invalid',
        `${outputLayer} does not depend on ${fromLayer} only.`,
      );
    const node = (layer as unknown as { inboundNodes: Node[] }).inboundNodes[sym.nodeIndex];
    if (!node) throw new GlimpseError('model-invalid', `Cannot follow the graph at ${layer.name}.`);
    const ins = node.inputTensors.map(rebuild);
    const out = layer.apply(ins.length === 1 ? ins[0]! : ins) as
      tf.SymbolicTensor | tf.SymbolicTensor[];
    topLayers.add(layer);
    const result = Array.isArray(out) ? out[sym.tensorIndex]! : out;
    memo.set(sym.id, result);
    return result;
  };
  const topOut = rebuild(output);
  return {
    bottom: tf.model({ inputs: model.inputs, outputs: cut }),
    top: tf.model({ inputs: input, outputs: topOut }),
    activationShape: shape,
    topLayers: [...topLayers],
  };
}

/**
 * Drops the reference the rebuilt top holds on its layers (each `apply` counts one): without it,
 * disposing the original model leaves the top layers' weights alive. Either order works: before
 * the model is disposed the layers stay usable through it; after, their weights are freed.
 */
export function releaseSplit(split: FineTuneSplit): void {
  const patched = unitScales.get(split) ?? [];
  for (const p of patched) p.layer.gamma = null;
  tf.dispose(patched.map((p) => p.ones));
  unitScales.delete(split);
  for (const layer of split.topLayers) layer.dispose();
}

interface UnscaledBatchNorm {
  gamma: { read(): tf.Tensor } | null;
  movingMean?: { shape: number[] };
}

const unitScales = new WeakMap<FineTuneSplit, { layer: UnscaledBatchNorm; ones: tf.Tensor }[]>();

/**
 * TF.js cannot differentiate a batch normalisation without a scale (Inception-v3's have none):
 * FusedBatchNorm saves all its inputs for the backward pass, the missing scale among them, and
 * fails. Such layers of the top get a constant scale of ones (x * 1: the same numbers), not a
 * weight: nothing about what is trained or stored changes. Undone by releaseSplit.
 */
export function giveUnitScales(split: FineTuneSplit): void {
  if (unitScales.has(split)) return;
  const patched: { layer: UnscaledBatchNorm; ones: tf.Tensor }[] = [];
  for (const l of split.topLayers) {
    const bn = l as unknown as UnscaledBatchNorm;
    if (l.getClassName() === 'BatchNormalization' && bn.gamma == null && bn.movingMean) {
      const ones = tf.keep(tf.ones(bn.movingMean.shape));
      bn.gamma = { read: () => ones };
      patched.push({ layer: bn, ones });
    }
  }
  unitScales.set(split, patched);
}
