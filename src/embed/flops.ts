// Multiply-adds per image of a layers model, counted from its layers' shapes. Used to show the
// embedding time as a multiple of the hardware floor (MACs / measured matmul rate).
import * as tf from '@tensorflow/tfjs';

interface LayerLike {
  getClassName(): string;
  getConfig(): tf.serialization.ConfigDict;
  inputSpec?: unknown;
  // The first inbound node is the model's own graph; fine-tuning rebuilds the top over the same
  // layers and adds more nodes, after which `.input`/`.output` throw.
  getInputAt(nodeIndex: number): tf.SymbolicTensor | tf.SymbolicTensor[];
  getOutputAt(nodeIndex: number): tf.SymbolicTensor | tf.SymbolicTensor[];
}

function shapeOf(t: tf.SymbolicTensor | tf.SymbolicTensor[]): number[] {
  return (Array.isArray(t) ? t[0]! : t).shape.map((d) => d ?? 1);
}

/** MACs for one image up to (and including) `lastLayer`, or the whole model. */
export function countMacs(model: tf.LayersModel, lastLayer?: string): number {
  let macs = 0;
  for (const layer of model.layers as unknown as LayerLike[]) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      const [, oh, ow, oc] = shapeOf(layer.getOutputAt(0));
      const inC = shapeOf(layer.getInputAt(0))[3]!;
      const k = cfg.kernelSize as number[] | number;
      const [kh, kw] = Array.isArray(k) ? k : [k, k];
      macs += cls === 'Conv2D' ? oh! * ow! * oc! * kh! * kw! * inC : oh! * ow! * oc! * kh! * kw!;
    } else if (cls === 'Dense') {
      const inDim = shapeOf(layer.getInputAt(0)).at(-1)!;
      macs += inDim * (cfg.units as number);
    }
    if (lastLayer && (cfg.name as string) === lastLayer) break;
  }
  return macs;
}

/** Measured multiply-add rate (per second) of a large matrix product on the current backend. */
export async function measureMatmulRate(size = 512, minMs = 400): Promise<number> {
  // Two ways to multiply large matrices, and the backend's best counts: a plain matMul, and the
  // same product as a 1x1 convolution ([64*64, size] x [size, size]), which on WASM goes through
  // XNNPACK's convolution, the path the networks' own layers take (its matMul is a slower loop).
  const rate = async (run: () => tf.Tensor, macs: number): Promise<number> => {
    const warm = run();
    await warm.data();
    warm.dispose();
    let n = 0;
    const t0 = performance.now();
    do {
      const c = run();
      await c.data();
      c.dispose();
      n++;
    } while (performance.now() - t0 < minMs);
    return (macs * n) / ((performance.now() - t0) / 1000);
  };
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const x = tf.randomNormal([1, 64, 64, size]) as tf.Tensor4D;
  const w = tf.randomNormal([1, 1, size, size]) as tf.Tensor4D;
  try {
    const viaMatMul = await rate(() => tf.matMul(a, b), size * size * size);
    const viaConv = await rate(() => tf.conv2d(x, w, 1, 'valid'), 64 * 64 * size * size);
    return Math.max(viaMatMul, viaConv);
  } finally {
    tf.dispose([a, b, x, w]);
  }
}

/** ms per image of the network alone on random preprocessed input of `batch` images (after one warm-up run). */
export async function timeNetwork(embedTensor: (x: tf.Tensor4D) => tf.Tensor, inputSize: number, batch: number, repeats: number): Promise<number> {
  const input = tf.randomUniform([batch, inputSize, inputSize, 3], 0, 1) as tf.Tensor4D;
  try {
    const warm = embedTensor(input);
    await warm.data();
    warm.dispose();
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) {
      const out = embedTensor(input);
      await out.data();
      out.dispose();
    }
    return (performance.now() - t0) / (repeats * batch);
  } finally {
    input.dispose();
  }
}
