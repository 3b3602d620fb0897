// Multiply-adds per image of a layers model, counted from its layers' shapes. Used to show the
// embedding time as a multiple of the hardware floor (MACs / measured matmul rate).
import * as tf from '@tensorflow/tfjs';

interface LayerLike {
  getClassName(): string;
  getConfig(): tf.serialization.ConfigDict;
  inputSpec?: unknown;
  input: tf.SymbolicTensor | tf.SymbolicTensor[];
  output: tf.SymbolicTensor | tf.SymbolicTensor[];
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
      const [, oh, ow, oc] = shapeOf(layer.output);
      const inC = shapeOf(layer.input)[3]!;
      const k = cfg.kernelSize as number[] | number;
      const [kh, kw] = Array.isArray(k) ? k : [k, k];
      macs += cls === 'Conv2D' ? oh! * ow! * oc! * kh! * kw! * inC : oh! * ow! * oc! * kh! * kw!;
    } else if (cls === 'Dense') {
      const inDim = shapeOf(layer.input).at(-1)!;
      macs += inDim * (cfg.units as number);
    }
    if (lastLayer && (cfg.name as string) === lastLayer) break;
  }
  return macs;
}

/** Measured multiply-add rate (per second) of a large matrix product on the current backend. */
export async function measureMatmulRate(size = 512, repeats = 4): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const warm = tf.matMul(a, b);
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (size * size * size * repeats) / seconds;
}
