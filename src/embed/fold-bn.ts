// Batch norm folded into the convolution before it, at load, for the embedding path (issue #19).
// A layers model whose blocks are Conv2D (no bias) -> BatchNormalization -> ReLU (the full
// Inception-v3 of nsfwjs: 94 such blocks, ResNet-50: 53) runs three ops per block; in inference the
// batch norm is an affine map per output channel, y = (x - mean) * s + beta with
// s = gamma / sqrt(var + eps), so it moves into the convolution:
//   kernel' = kernel * s,  bias' = (bias - mean) * s + beta
// and the ReLU fuses into the same `tf.fused.conv2d`: one dispatch instead of three.
//
// The model is changed in place but its weights are not: the convolution's `call` is replaced by
// one fused op over folded copies of its kernel and bias, and the batch norm's and the ReLU's
// `call` pass their input through. Everything that reads or writes weights by name (fine-tuning's
// read/write of the top, the complete-model export, `toJSON`) sees the model as shipped. Layers at
// or above the fine-tuning cut (`fineTuneFrom`, and all that depends on it) are left alone, since
// fine-tuning trains them and writes their weights; only the frozen part is folded.
import * as tf from '@tensorflow/tfjs';

interface SymbolicRef {
  id: number;
  sourceLayer: tf.layers.Layer;
}
interface NodeRef {
  inputTensors: SymbolicRef[];
}
interface CallableLayer {
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  inboundNodes: NodeRef[];
  outboundNodes: unknown[];
}
interface BatchNormFields {
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  epsilon: number;
}

export interface BatchNormFold {
  /** Batch norms folded, and the ReLUs fused with them. */
  batchNorms: number;
  activations: number;
  /** Puts the layers' own `call` back and frees the folded weights. */
  undo(): void;
}

const one = <T>(x: T | T[]): T => (Array.isArray(x) ? x[0]! : x);

function lastAxis(axis: unknown): boolean {
  const a = Array.isArray(axis) ? (axis.length === 1 ? (axis[0] as unknown) : null) : axis;
  return a === 3 || a === -1;
}

/**
 * Layers that depend on the input of `fromLayer` (the trainable top), in the model's order; null
 * when the model has no such layer (then nothing is folded: fine-tuning reports the bad name).
 */
function topLayers(model: tf.LayersModel, fromLayer: string | undefined): Set<tf.layers.Layer> | null {
  const top = new Set<tf.layers.Layer>();
  if (!fromLayer) return top;
  const from = model.layers.find((l) => l.name === fromLayer);
  if (!from) return null;
  const cut = one(from.input as tf.SymbolicTensor | tf.SymbolicTensor[]) as unknown as SymbolicRef;
  for (const layer of model.layers) {
    const nodes = (layer as unknown as CallableLayer).inboundNodes;
    if (
      layer === from ||
      nodes.some((n) => n.inputTensors.some((t) => t.id === cut.id || top.has(t.sourceLayer)))
    )
      top.add(layer);
  }
  return top;
}

/**
 * Folds every frozen Conv2D -> BatchNormalization (-> ReLU) chain of `model` (each layer used once,
 * channels last, the convolution linear, the batch norm on the last axis). `fineTuneFrom`: the
 * first layer fine-tuning unfreezes; it and everything after it keep their own ops.
 */
export function foldBatchNorms(model: tf.LayersModel, fineTuneFrom?: string): BatchNormFold {
  const top = topLayers(model, fineTuneFrom);
  if (!top) return { batchNorms: 0, activations: 0, undo() {} };
  const consumers = new Map<tf.layers.Layer, tf.layers.Layer[]>();
  for (const layer of model.layers)
    for (const node of (layer as unknown as CallableLayer).inboundNodes)
      for (const t of node.inputTensors)
        consumers.set(t.sourceLayer, [...(consumers.get(t.sourceLayer) ?? []), layer]);
  for (const out of model.outputs) {
    const src = out.sourceLayer as tf.layers.Layer;
    consumers.set(src, [...(consumers.get(src) ?? []), src]); // an output is used elsewhere too
  }
  const restore: (() => void)[] = [];
  const held: tf.Tensor[] = [];
  let batchNorms = 0;
  let activations = 0;
  const passThrough = (layer: tf.layers.Layer) => {
    const l = layer as unknown as CallableLayer;
    const own = Object.prototype.hasOwnProperty.call(l, 'call') ? l.call : null;
    l.call = (inputs) => one(inputs);
    restore.push(() => {
      if (own) l.call = own;
      else delete (l as Partial<CallableLayer>).call;
    });
  };

  for (const bnLayer of model.layers) {
    if (bnLayer.getClassName() !== 'BatchNormalization' || top.has(bnLayer)) continue;
    const bnNodes = (bnLayer as unknown as CallableLayer).inboundNodes;
    if (bnNodes.length !== 1 || bnNodes[0]!.inputTensors.length !== 1) continue;
    if (!lastAxis(bnLayer.getConfig().axis)) continue;
    const conv = bnNodes[0]!.inputTensors[0]!.sourceLayer;
    if (conv.getClassName() !== 'Conv2D' || top.has(conv)) continue;
    if ((conv as unknown as CallableLayer).inboundNodes.length !== 1) continue;
    if ((consumers.get(conv) ?? []).length !== 1) continue;
    const cc = conv.getConfig();
    if (cc.dataFormat !== 'channelsLast' || cc.activation !== 'linear') continue;
    const next = consumers.get(bnLayer) ?? [];
    const act = next.length === 1 ? next[0]! : null;
    const relu =
      act !== null &&
      act !== bnLayer &&
      !top.has(act) &&
      act.getClassName() === 'Activation' &&
      act.getConfig().activation === 'relu' &&
      (act as unknown as CallableLayer).inboundNodes.length === 1;

    const bn = bnLayer as unknown as BatchNormFields;
    const [kernel, bias] = conv.getWeights();
    const [foldedKernel, foldedBias] = tf.tidy(() => {
      const mean = bn.movingMean.read();
      const s = tf.div(bn.gamma ? bn.gamma.read() : tf.onesLike(mean), tf.sqrt(tf.add(bn.movingVariance.read(), bn.epsilon)));
      const b = tf.add(tf.mul(tf.sub(bias ?? tf.zerosLike(mean), mean), s), bn.beta ? bn.beta.read() : tf.zerosLike(mean));
      return [tf.mul(kernel!, s) as tf.Tensor4D, b as tf.Tensor1D];
    });
    held.push(foldedKernel, foldedBias);
    const strides = cc.strides as [number, number];
    const dilations = cc.dilationRate as [number, number];
    const pad = cc.padding as 'same' | 'valid';
    const activation = relu ? 'relu' : 'linear';
    const c = conv as unknown as CallableLayer;
    const own = Object.prototype.hasOwnProperty.call(c, 'call') ? c.call : null;
    c.call = (inputs) =>
      tf.fused.conv2d({
        x: one(inputs) as tf.Tensor4D,
        filter: foldedKernel,
        bias: foldedBias,
        strides,
        pad,
        dataFormat: 'NHWC',
        dilations,
        activation,
      });
    restore.push(() => {
      if (own) c.call = own;
      else delete (c as Partial<CallableLayer>).call;
    });
    passThrough(bnLayer);
    batchNorms++;
    if (relu) {
      passThrough(act);
      activations++;
    }
  }
  let undone = false;
  return {
    batchNorms,
    activations,
    undo() {
      if (undone) return;
      undone = true;
      for (const r of restore.reverse()) r();
      tf.dispose(held);
    },
  };
}
