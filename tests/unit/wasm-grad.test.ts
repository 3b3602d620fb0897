// Conv2DBackpropFilter on WASM (our kernel) against the CPU backend's own kernel on random data
// (and our faster Conv2DBackpropInput likewise): strides, padding, 1x1 and larger filters, odd
// sizes, every convolution shape fine-tuning runs (largest differences printed); through conv2d's
// and the fused conv2d's gradients too (what the layers API runs); no leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../scripts/lib/node-env';
import { registerWasmConvGrad } from '../../src/embed/wasm-grad';
import { mulberry32 } from '../../src/shared/rng';

beforeAll(async () => {
  await initNodeBackend('wasm');
  expect(registerWasmConvGrad()).toBe(true);
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function random(shape: number[], seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}

async function on<T>(backend: string, run: () => T): Promise<T> {
  await tf.setBackend(backend);
  return run();
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const cases: { x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: 'same' | 'valid' }[] = [
  { x: [2, 7, 7, 5], f: [3, 3, 5, 4], s: 1, pad: 'same' },
  { x: [2, 7, 7, 5], f: [3, 3, 5, 4], s: 1, pad: 'valid' },
  { x: [3, 14, 14, 8], f: [1, 1, 8, 6], s: 2, pad: 'valid' },
  { x: [1, 9, 11, 3], f: [3, 5, 3, 2], s: [2, 1], pad: 'same' },
  { x: [2, 8, 8, 4], f: [1, 3, 4, 3], s: 1, pad: 'same' },
  { x: [2, 10, 10, 6], f: [3, 3, 6, 7], s: 2, pad: 'same' },
  // Inception's grid reductions (17x17 -> 8x8, 3x3 stride 2 valid); x longer than the windows read.
  { x: [2, 17, 17, 4], f: [3, 3, 4, 5], s: 2, pad: 'valid' },
  { x: [1, 10, 9, 3], f: [3, 3, 3, 2], s: 2, pad: 'valid' },
  { x: [1, 11, 11, 2], f: [5, 5, 2, 3], s: 3, pad: 'same' },
  // The exact spatial shapes fine-tuning runs (fewer channels, to keep the CPU reference quick):
  // Inception-v3 mixed_8 (17x17 in; 1x1, 1x7, 7x1, 3x3 stride 2 valid -> 8x8) ...
  { x: [2, 17, 17, 48], f: [1, 1, 48, 24], s: 1, pad: 'same' },
  { x: [2, 17, 17, 24], f: [1, 7, 24, 24], s: 1, pad: 'same' },
  { x: [2, 17, 17, 24], f: [7, 1, 24, 24], s: 1, pad: 'same' },
  { x: [2, 17, 17, 24], f: [3, 3, 24, 40], s: 2, pad: 'valid' },
  { x: [2, 17, 17, 24], f: [3, 3, 24, 24], s: 2, pad: 'same' },
  // ... and ResNet-50's last stage (14x14 in; 1x1 stride 2, 3x3 same and 1x1 on 7x7).
  { x: [2, 14, 14, 64], f: [1, 1, 64, 32], s: 2, pad: 'valid' },
  { x: [2, 7, 7, 32], f: [3, 3, 32, 32], s: 1, pad: 'same' },
  { x: [2, 7, 7, 32], f: [1, 1, 32, 64], s: 1, pad: 'valid' },
];

/** Largest |wasm - cpu| per case and kernel, printed at the end (README "Fine-tuning"). */
const diffs: string[] = [];
afterAll(() => {
  console.log(`max abs diff wasm vs cpu:\n${diffs.join('\n')}`);
});
const fmt = (c: (typeof cases)[number]) => `x ${c.x.join('x')} f ${c.f.join('x')} s ${String(c.s)} ${c.pad}`;

describe('Conv2DBackpropFilter on the wasm backend', () => {
  it.each(cases.map((c, i) => [i, c] as const))('equals the cpu kernel (case %i)', async (i, c) => {
    const x = random(c.x, 10 + i);
    const conv = (): tf.Tensor4D => {
      const xt = tf.tensor4d(x, c.x);
      const out = tf.conv2d(xt, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad);
      return out;
    };
    const outShape = (await on('cpu', () => tf.tidy(conv))).shape;
    const dy = random(outShape, 100 + i);
    const grad = () =>
      tf.tidy(() => {
        const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f };
        const inputs = { x: tf.tensor4d(x, c.x), dy: tf.tensor(dy, outShape) };
        return tf.engine().runKernel('Conv2DBackpropFilter', inputs, attrs as never) as tf.Tensor;
      });
    const cpu = await on('cpu', () => {
      const t = grad();
      const v = t.dataSync() as Float32Array;
      t.dispose();
      return v;
    });
    const wasm = await on('wasm', () => {
      const before = tf.memory().numTensors;
      const dataIds = tf.engine().backend.numDataIds();
      const t = grad();
      expect(t.shape).toEqual(c.f);
      const v = t.dataSync() as Float32Array;
      t.dispose();
      expect(tf.memory().numTensors).toBe(before);
      // Intermediates are backend data, not tensors: count those too.
      expect(tf.engine().backend.numDataIds()).toBe(dataIds);
      return v;
    });
    const d = maxDiff(cpu, wasm);
    diffs.push(`filter ${fmt(c)}: ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
  });

  it.each(cases.map((c, i) => [i, c] as const))('Conv2DBackpropInput equals the cpu kernel (case %i)', async (i, c) => {
    const f = random(c.f, 20 + i);
    const outShape = (await on('cpu', () => tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad)))).shape;
    const dy = random(outShape, 200 + i);
    const grad = () =>
      tf.tidy(() => {
        const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
        return tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dy, outShape), filter: tf.tensor4d(f, c.f) }, attrs as never) as tf.Tensor;
      });
    const cpu = await on('cpu', () => tf.tidy(() => grad().dataSync() as Float32Array));
    const wasm = await on('wasm', () => {
      const before = tf.engine().backend.numDataIds();
      const t = grad();
      expect(t.shape).toEqual(c.x);
      const v = t.dataSync() as Float32Array;
      t.dispose();
      expect(tf.engine().backend.numDataIds()).toBe(before);
      return v;
    });
    const d = maxDiff(cpu, wasm);
    diffs.push(`input  ${fmt(c)}: ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
  });

  it('gives the same gradients through conv2d and fused conv2d (bias + relu)', async () => {
    const xs = random([2, 6, 6, 4], 7);
    const fs = random([3, 3, 4, 5], 8);
    const bs = random([5], 9);
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [2, 6, 6, 4]);
        const f = tf.tensor4d(fs, [3, 3, 4, 5]);
        const bias = tf.tensor1d(bs);
        const g1 = tf.grad((w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').square().sum())(f);
        const [g2, g3] = tf.grads((w: tf.Tensor, b: tf.Tensor) =>
          tf.fused.conv2d({ x, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'relu' }).square().sum(),
        )([f, bias]);
        return [g1, g2!, g3!].map((g) => g.dataSync() as Float32Array);
      });
    const cpu = await on('cpu', grads);
    const before = (await on('wasm', () => tf.memory().numTensors));
    const wasm = await on('wasm', grads);
    expect(tf.memory().numTensors).toBe(before);
    cpu.forEach((g, i) => expect(maxDiff(g, wasm[i]!)).toBeLessThan(1e-4));
  });

  it('refuses explicit padding with a clear error', async () => {
    await tf.setBackend('wasm');
    const run = () =>
      tf.tidy(() =>
        tf.engine().runKernel(
          'Conv2DBackpropFilter',
          { x: tf.ones([1, 4, 4, 1]), dy: tf.ones([1, 4, 4, 1]) },
          { strides: 1, pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, 1, 1] } as never,
        ),
      );
    expect(run).toThrow(/padding only/);
  });
});

describe('Tile on the wasm backend', () => {
  it.each([
    [[1, 1, 1, 5], [2, 3, 4, 1]],
    [[1, 3], [4, 1]],
    [[2, 3], [2, 2]],
    [[1, 3, 2], [2, 2, 1]],
    [[1, 1, 4], [1, 1, 1]],
  ])('equals the cpu kernel for x %j, reps %j', async (shape, reps) => {
    const x = random(shape, 5);
    const run = () => tf.tidy(() => tf.tile(tf.tensor(x, shape), reps).dataSync() as Float32Array);
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
  });
});
