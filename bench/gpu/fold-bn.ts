// Batch norm folded into the convolution before it, at load (issue #19, point 2): a Keras-style
// layers model whose blocks are Conv2D (no bias) -> BatchNormalization -> Activation('relu'), as
// the full Inception-v3 of inception-v3-nsfwjs is (94 such triples), becomes Conv2D(bias, relu):
// one fused dispatch instead of three. In inference the batch norm is an affine map per output
// channel, y = (x - mean) * gamma / sqrt(var + eps) + beta, so it moves into the kernel and bias:
//   kernel' = kernel * s,  bias' = (bias - mean) * s + beta,  s = gamma / sqrt(var + eps).
import * as tf from '@tensorflow/tfjs';

type InboundRef = [string, number, number, Record<string, unknown>?];
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: InboundRef[][];
}
interface ModelJson {
  class_name: string;
  config: { layers: LayerJson[]; output_layers: [string, number, number][] };
}

export interface Folded {
  model: tf.LayersModel;
  /** Batch norms folded, and the ReLU activations folded with them. */
  batchNorms: number;
  activations: number;
}

/** Folds every Conv2D -> BatchNormalization (-> ReLU) chain of `model`; keeps `keep` layers. */
export async function foldBatchNorms(model: tf.LayersModel, keep: string[] = []): Promise<Folded> {
  const json = model.toJSON(null, false) as unknown as ModelJson;
  const layers = json.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of layers)
    for (const node of l.inbound_nodes)
      for (const [src] of node) consumers.set(src, [...(consumers.get(src) ?? []), l.name]);
  for (const [name] of json.config.output_layers)
    consumers.set(name, [...(consumers.get(name) ?? []), '<output>']);

  const rename = new Map<string, string>();
  const drop = new Set<string>();
  const folds: { conv: string; bn: string }[] = [];
  let activations = 0;
  for (const bn of layers) {
    if (bn.class_name !== 'BatchNormalization' || keep.includes(bn.name)) continue;
    const axis = bn.config.axis as number | number[];
    if (!(
      axis === 3 ||
      axis === -1 ||
      (Array.isArray(axis) && axis.length === 1 && (axis[0] === 3 || axis[0] === -1))
    ))
      continue;
    const ins = bn.inbound_nodes;
    if (ins.length !== 1 || ins[0]!.length !== 1) continue;
    const conv = byName.get(ins[0]![0]![0]);
    if (!conv || conv.class_name !== 'Conv2D' || keep.includes(conv.name)) continue;
    if ((consumers.get(conv.name) ?? []).length !== 1) continue;
    if (conv.config.data_format !== 'channels_last' || conv.config.activation !== 'linear')
      continue;
    conv.config.use_bias = true;
    rename.set(bn.name, conv.name);
    drop.add(bn.name);
    folds.push({ conv: conv.name, bn: bn.name });
    const next = consumers.get(bn.name) ?? [];
    const act = next.length === 1 ? byName.get(next[0]!) : undefined;
    if (
      act &&
      act.class_name === 'Activation' &&
      act.config.activation === 'relu' &&
      !keep.includes(act.name)
    ) {
      conv.config.activation = 'relu';
      rename.set(act.name, conv.name);
      drop.add(act.name);
      activations++;
    }
  }
  const to = (n: string): string => rename.get(n) ?? n;
  json.config.layers = layers.filter((l) => !drop.has(l.name));
  for (const l of json.config.layers)
    l.inbound_nodes = l.inbound_nodes.map((node) =>
      node.map(([n, ...rest]) => [to(n), ...rest] as InboundRef),
    );
  json.config.output_layers = json.config.output_layers.map(([n, a, b]) => [to(n), a, b]);

  const folded = await tf.models.modelFromJSON({
    modelTopology: json,
  } as unknown as tf.io.ModelJSON);
  const foldOf = new Map(folds.map((f) => [f.conv, f.bn]));
  for (const layer of folded.layers) {
    const old = model.getLayer(layer.name);
    if (old.weights.length === 0) continue;
    const bnName = foldOf.get(layer.name);
    if (!bnName) {
      layer.setWeights(old.getWeights());
      continue;
    }
    const bn = model.getLayer(bnName);
    const w = new Map(
      bn.weights.map((v, i) => [
        v.name.split('/').pop()!.replace(/_\d+$/, ''),
        bn.getWeights()[i]!,
      ]),
    );
    const eps = (bn.getConfig().epsilon as number | undefined) ?? 1e-3;
    const [kernel, bias] = old.getWeights();
    const weights = tf.tidy(() => {
      const mean = w.get('moving_mean')!;
      const variance = w.get('moving_variance')!;
      const s = tf.div(w.get('gamma') ?? tf.onesLike(mean), tf.sqrt(tf.add(variance, eps)));
      const b = tf.add(
        tf.mul(tf.sub(bias ?? tf.zerosLike(mean), mean), s),
        w.get('beta') ?? tf.zerosLike(mean),
      );
      return [tf.mul(kernel!, s), b];
    });
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  return { model: folded, batchNorms: folds.length, activations };
}
