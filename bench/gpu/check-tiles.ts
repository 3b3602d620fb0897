// The larger conv tiles (conv-tiles.ts) layer by layer, on real Inception-v3
// shapes: each tile's fused conv (bias + ReLU) on WebGPU against TF.js's CPU backend on the same
// inputs, at batch 1 and 4 (odd sizes: 147, 35, 17 positions per side, so the tiles do not fit
// and the edge checks run). Run by run.ts --check-tiles; throws past the tolerance.
import * as tf from '@tensorflow/tfjs';
import { CONV_TILES, setConvTile, retiledDispatches } from './conv-tiles';
import { getIgemmPolicy, setIgemmPolicy } from '../../src/embed/conv-webgpu';

interface Shape {
  name: string;
  hw: number;
  cin: number;
  cout: number;
  k: [number, number];
  stride: number;
  pad: 'same' | 'valid';
}

const SHAPES: Shape[] = [
  { name: 'conv 2b 3x3', hw: 147, cin: 32, cout: 64, k: [3, 3], stride: 1, pad: 'same' },
  { name: 'mixed 1x1', hw: 35, cin: 288, cout: 64, k: [1, 1], stride: 1, pad: 'same' },
  { name: 'mixed 5x5', hw: 35, cin: 48, cout: 64, k: [5, 5], stride: 1, pad: 'same' },
  { name: 'reduce 3x3/2', hw: 35, cin: 288, cout: 384, k: [3, 3], stride: 2, pad: 'valid' },
  { name: 'mixed 1x7', hw: 17, cin: 128, cout: 128, k: [1, 7], stride: 1, pad: 'same' },
  { name: 'mixed 7x1', hw: 17, cin: 192, cout: 192, k: [7, 1], stride: 1, pad: 'same' },
];

export interface TileCheck {
  tile: string;
  shape: string;
  batch: number;
  maxDiff: number;
  maxRef: number;
}

/** Returns one row per tile, shape and batch; throws when one is off by more than 1e-4 relative. */
export async function checkTiles(): Promise<TileCheck[]> {
  const rows: TileCheck[] = [];
  // The tiles are TF.js's own conv shaders: the app's implicit-GEMM shader off meanwhile.
  const appPolicy = getIgemmPolicy();
  setIgemmPolicy(null);
  for (const batch of [1, 4]) {
    for (const s of SHAPES) {
      const x = tf.randomUniform([batch, s.hw, s.hw, s.cin], 0, 1, 'float32', 11) as tf.Tensor4D;
      const w = tf.randomNormal([...s.k, s.cin, s.cout], 0, 0.05, 'float32', 12) as tf.Tensor4D;
      const b = tf.randomNormal([s.cout], 0, 0.1, 'float32', 13) as tf.Tensor1D;
      const run = () =>
        tf.fused.conv2d({ x, filter: w, bias: b, strides: s.stride, pad: s.pad, activation: 'relu' });
      await tf.setBackend('cpu');
      const ref = (await run().data()) as Float32Array;
      await tf.setBackend('webgpu');
      const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (const tile of Object.values(CONV_TILES)) {
        setConvTile(tile);
        const before = retiledDispatches();
        const y = run();
        const got = (await y.data()) as Float32Array;
        y.dispose();
        if (retiledDispatches() === before) throw new Error(`tile ${tile.name}: ${s.name} was not retiled`);
        let maxDiff = 0;
        for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
        rows.push({ tile: tile.name, shape: s.name, batch, maxDiff, maxRef });
        if (!(maxDiff <= 1e-4 * Math.max(1, maxRef)))
          throw new Error(`tile ${tile.name}, ${s.name}, batch ${batch}: max |diff| ${maxDiff} vs CPU`);
      }
      setConvTile(null);
      tf.dispose([x, w, b]);
    }
  }
  setIgemmPolicy(appPolicy);
  return rows;
}
