// The implicit-GEMM convolution (igemm.ts) layer by layer against TF.js's CPU backend: every tile
// of IGEMM_TILES and the auto policy's choice, on Inception-v3's own conv shapes (3x3 / 5x5 /
// 1x7 / 7x1 / 1x1, stride 1 and 2, same and valid padding; the sizes 147, 71, 35, 17, 8 do not
// divide any tile, so every edge check runs), fused bias + ReLU, and plain Conv2D (no bias, no
// activation). Run by run.ts --check-igemm; throws past the tolerance.
import * as tf from '@tensorflow/tfjs';
import {
  autoPolicy,
  fixedPolicy,
  getIgemmPolicy,
  igemmDispatches,
  setIgemmPolicy,
  type IgemmPolicy,
} from '../../src/embed/conv-webgpu';
import { IGEMM_TILES } from './levers';

interface Shape {
  name: string;
  hw: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: number;
  pad: 'same' | 'valid';
  /** Plain conv2d (no bias, no activation) instead of the fused one. */
  plain?: boolean;
}

export const IGEMM_SHAPES: Shape[] = [
  { name: 'conv 2a 3x3', hw: 149, cin: 32, cout: 32, k: [3, 3], stride: 1, pad: 'valid' },
  { name: 'conv 4a 3x3', hw: 73, cin: 80, cout: 192, k: [3, 3], stride: 1, pad: 'valid' },
  { name: 'conv 3b 1x1', hw: 73, cin: 64, cout: 80, k: [1, 1], stride: 1, pad: 'valid' },
  { name: 'mixed 5x5', hw: 35, cin: 48, cout: 64, k: [5, 5], stride: 1, pad: 'same' },
  { name: 'mixed 1x1', hw: 35, cin: 288, cout: 48, k: [1, 1], stride: 1, pad: 'same' },
  { name: 'reduce 3x3/2', hw: 35, cin: 288, cout: 384, k: [3, 3], stride: 2, pad: 'valid' },
  { name: 'mixed 1x7', hw: 17, cin: 160, cout: 160, k: [1, 7], stride: 1, pad: 'same' },
  { name: 'mixed 7x1', hw: 17, cin: 192, cout: 192, k: [7, 1], stride: 1, pad: 'same' },
  { name: 'reduce 3x3/2 8', hw: 17, cin: 192, cout: 320, k: [3, 3], stride: 2, pad: 'valid' },
  {
    name: 'plain 3x3/2 same',
    hw: 17,
    cin: 96,
    cout: 96,
    k: [3, 3],
    stride: 2,
    pad: 'same',
    plain: true,
  },
];

export interface IgemmCheck {
  policy: string;
  shape: string;
  batch: number;
  maxDiff: number;
  maxRef: number;
}

/** Returns one row per policy, shape and batch; throws when one is off by more than 1e-4 relative. */
export async function checkIgemm(batches = [1, 2], only?: string[]): Promise<IgemmCheck[]> {
  const policies: [string, IgemmPolicy][] = [
    ...Object.entries(IGEMM_TILES).map(([n, t]) => [n, fixedPolicy(t)] as [string, IgemmPolicy]),
    ['auto', autoPolicy({ minWorkgroups: 0 })],
  ];
  const rows: IgemmCheck[] = [];
  const appPolicy = getIgemmPolicy();
  for (const batch of batches) {
    for (const s of IGEMM_SHAPES.filter((q) => !only || only.includes(q.name))) {
      const x = tf.randomUniform([batch, s.hw, s.hw, s.cin], -1, 1, 'float32', 11) as tf.Tensor4D;
      const w = tf.randomNormal([...s.k, s.cin, s.cout], 0, 0.05, 'float32', 12) as tf.Tensor4D;
      const b = tf.randomNormal([s.cout], 0, 0.1, 'float32', 13) as tf.Tensor1D;
      const run = (): tf.Tensor =>
        s.plain
          ? tf.conv2d(x, w, s.stride, s.pad)
          : tf.fused.conv2d({
              x,
              filter: w,
              bias: b,
              strides: s.stride,
              pad: s.pad,
              activation: 'relu',
            });
      await tf.setBackend('cpu');
      const ref = (await run().data()) as Float32Array;
      await tf.setBackend('webgpu');
      const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (const [name, policy] of policies) {
        setIgemmPolicy(policy);
        const before = igemmDispatches();
        const y = run();
        const got = (await y.data()) as Float32Array;
        y.dispose();
        if (igemmDispatches() === before)
          throw new Error(`igemm ${name}: ${s.name} was not routed`);
        let maxDiff = 0;
        for (let i = 0; i < ref.length; i++)
          maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
        if (got.length !== ref.length) maxDiff = Infinity;
        rows.push({ policy: name, shape: s.name, batch, maxDiff, maxRef });
        if (process.env.GLIMPSE_CHECK_VERBOSE)
          console.log(
            `[igemm] ${name} ${s.name} b${batch}: max |diff| ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toFixed(2)})`,
          );
        if (!(maxDiff <= 1e-4 * Math.max(1, maxRef)))
          throw new Error(`igemm ${name}, ${s.name}, batch ${batch}: max |diff| ${maxDiff} vs CPU`);
      }
      tf.dispose([x, w, b]);
    }
  }
  setIgemmPolicy(appPolicy);
  return rows;
}
