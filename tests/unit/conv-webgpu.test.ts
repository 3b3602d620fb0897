// The WebGPU implicit-GEMM convolution's routing (src/embed/conv-webgpu.ts), without a GPU: the
// 'webgpu' kernels are called with a stand-in backend that records the program it is given. The
// shader's numbers are checked on a real device and on lavapipe by bench/gpu (--check-igemm: every
// tile on Inception-v3's conv shapes against the CPU backend, max |diff| 1.7e-6 on lavapipe, 0 on
// the H200; the whole network's embedding cosine 1.000000).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { afterEach, describe, expect, it } from 'vitest';
import {
  autoPolicy,
  enableWebGPUConvs,
  getIgemmPolicy,
  IgemmConvProgram,
  igemmDispatches,
  setIgemmPolicy,
  type ConvGeom,
} from '../../src/embed/conv-webgpu';

const info = (shape: number[]): tf.TensorInfo => ({ dataId: {}, shape, dtype: 'float32' });

function recorder(): { backend: unknown; programs: unknown[]; uniforms: unknown[] } {
  const programs: unknown[] = [];
  const uniforms: unknown[] = [];
  const backend = {
    device: {
      limits: { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 },
    },
    runWebGPUProgram: (p: unknown, _inputs: tf.TensorInfo[], dtype: string, u: unknown) => {
      programs.push(p);
      uniforms.push(u);
      return info([0, dtype === 'float32' ? 1 : 0]);
    },
  };
  return { backend, programs, uniforms };
}

function callFused(
  backend: unknown,
  x: number[],
  w: number[],
  attrs: Record<string, unknown>,
): void {
  const k = tf.getKernel('FusedConv2D', 'webgpu')!;
  const inputs: Record<string, tf.TensorInfo> = {
    x: info(x),
    filter: info(w),
    bias: info([w[3]!]),
  };
  try {
    k.kernelFunc({
      inputs,
      backend: backend as tf.KernelBackend,
      attrs: {
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
        dilations: 1,
        activation: 'relu',
        ...attrs,
      } as unknown as tf.NamedAttrMap,
    });
  } catch {
    // TF.js's own kernel cannot run on the stand-in backend; only what reached it matters.
  }
}

const geom = (
  batch: number,
  hw: number,
  cin: number,
  cout: number,
  k: [number, number],
  stride = 1,
): ConvGeom => {
  const out = stride === 1 ? hw : Math.floor((hw - k[0]) / stride) + 1;
  return {
    batch,
    inH: hw,
    inW: hw,
    cin,
    outH: out,
    outW: out,
    cout,
    kh: k[0],
    kw: k[1],
    sh: stride,
    sw: stride,
    padTop: 0,
    padLeft: 0,
  };
};

afterEach(() => setIgemmPolicy(null));

describe('WebGPU implicit-GEMM convolution', () => {
  it('routes a fused 3x3 conv to its program with the shape baked in', () => {
    const { backend, programs, uniforms } = recorder();
    enableWebGPUConvs();
    const before = igemmDispatches();
    callFused(backend, [32, 35, 35, 64], [3, 3, 64, 96], {});
    expect(igemmDispatches()).toBe(before + 1);
    expect(programs).toHaveLength(1);
    const p = programs[0] as IgemmConvProgram;
    expect(p).toBeInstanceOf(IgemmConvProgram);
    expect(p.outputShape).toEqual([32, 35, 35, 96]);
    // 96 channels: 32-wide tiles (no padding), 39200 rows in 128-row tiles: 307 x 3 workgroups.
    expect(p.t).toEqual({ bm: 128, bn: 32, bk: 8, tm: 8, tn: 4 });
    expect(p.dispatch).toEqual([3, 307, 1]);
    expect(p.workgroupSize).toEqual([128, 1, 1]);
    expect(p.variableNames).toEqual(['x', 'W', 'bias']);
    // The batch is not in the key: M = 32 * 35 * 35 comes as a uniform, so other batch sizes with
    // the same tile reuse the compiled shader.
    expect(p.shaderKey).toBe('igemm_35_35_64_35_35_96_3_3_1_1_1_1_128x32x8_8x4_true_true');
    expect(p.uniforms).toBe('M : i32,');
    expect(uniforms[0]).toEqual([{ type: 'int32', data: [39200] }]);
    const src = p.getUserCode();
    expect(src).toContain('max(');
    expect(src).toContain('bias[');
    expect(src).not.toMatch(/undefined|NaN/);
  });

  it('leaves to TF.js what it does not take', () => {
    const { backend, programs } = recorder();
    enableWebGPUConvs();
    callFused(backend, [32, 299, 299, 3], [3, 3, 3, 32], { strides: 2, pad: 'valid' }); // 3 input channels
    callFused(backend, [32, 35, 35, 64], [3, 3, 64, 96], { dilations: 2 });
    callFused(backend, [32, 35, 35, 64], [3, 3, 64, 96], { activation: 'elu' });
    callFused(backend, [32, 35, 35, 64], [3, 3, 64, 96], { dataFormat: 'NCHW' });
    callFused(backend, [1, 8, 8, 64], [3, 3, 64, 96], {}); // 64 outputs: TF.js's small tiles
    expect(programs.some((p) => p instanceof IgemmConvProgram)).toBe(false);
  });

  it('picks tiles by shape within WebGPU default limits', () => {
    const p = autoPolicy();
    expect(p(geom(32, 147, 32, 64, [3, 3]))).toEqual({ bm: 128, bn: 64, bk: 8, tm: 8, tn: 8 });
    // 17x17 outputs at batch 32: 73 x 3 workgroups of 128 rows, under two per multiprocessor.
    expect(p(geom(32, 35, 288, 384, [3, 3], 2))).toEqual({ bm: 64, bn: 128, bk: 8, tm: 8, tn: 8 });
    expect(p(geom(32, 17, 160, 192, [1, 7]))).toEqual({ bm: 64, bn: 64, bk: 8, tm: 8, tn: 8 });
    expect(p(geom(1, 17, 160, 192, [1, 7]))).toBeNull();
    expect(autoPolicy({ pointwise: false })(geom(32, 35, 288, 64, [1, 1]))).toBeNull();
    for (const g of [
      geom(32, 147, 32, 64, [3, 3]),
      geom(32, 35, 288, 384, [3, 3], 2),
      geom(8, 73, 80, 192, [3, 3]),
    ]) {
      const t = p(g)!;
      expect(2 * (t.bm * t.bk + t.bk * t.bn) * 4).toBeLessThanOrEqual(16384);
      expect((t.bm / t.tm) * (t.bn / t.tn)).toBeLessThanOrEqual(256);
    }
  });

  it('touches only the webgpu kernels and puts them back', () => {
    const cpu = tf.getKernel('FusedConv2D', 'cpu');
    const gpu = tf.getKernel('FusedConv2D', 'webgpu')!;
    const plain = tf.getKernel('Conv2D', 'webgpu')!;
    enableWebGPUConvs();
    expect(tf.getKernel('Conv2D', 'webgpu')!.kernelFunc).not.toBe(plain.kernelFunc);
    expect(getIgemmPolicy()).not.toBeNull();
    expect(tf.getKernel('FusedConv2D', 'cpu')).toBe(cpu);
    expect(tf.getKernel('FusedConv2D', 'webgpu')!.kernelFunc).not.toBe(gpu.kernelFunc);
    setIgemmPolicy(null);
    expect(tf.getKernel('FusedConv2D', 'webgpu')!.kernelFunc).toBe(gpu.kernelFunc);
    expect(tf.getKernel('Conv2D', 'webgpu')!.kernelFunc).toBe(plain.kernelFunc);
  });
});
