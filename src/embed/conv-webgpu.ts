// A hand-written implicit-GEMM convolution for TF.js's WebGPU backend (issue #19). On an H200 it
// ran Inception-v3 to mixed_8 at batch 32 in 0.57 ms per image against TF.js's own conv shaders'
// 0.85 (bench/gpu/RESULTS.md); the extractor turns it on when the backend is WebGPU
// (enableWebGPUConvs, called by loadExtractor). Other backends never see it.
//
// The convolution as one matrix product, never materialised: C[M, N] = A[M, K] · B[K, N] with
// M = batch · outH · outW (output positions), N = output channels, K = kh · kw · inChannels.
// A's row m, column k is the input pixel that output position m sees through filter tap k (zero in
// the padding): NHWC makes 4 consecutive k of one tap 4 consecutive floats, one vec4 load. B is
// the HWIO filter as TF.js stores it, read as [K, N] row-major, vec4 along N.
//
// Each workgroup computes a BM x BN output tile; each thread a TM x TN block of it in registers
// (TM rows, TN/4 vec4 columns, split across the tile so that shared-memory reads of B are
// conflict-free). K runs in chunks of BK staged in workgroup memory, double-buffered: the global
// loads of chunk k+1 are issued into registers before chunk k is computed, and stored into the
// other buffer after it, so one barrier per chunk. Every shape constant but the batch (sizes,
// strides, padding, tile) is baked into the shader source, so the index arithmetic divides by
// constants (the row count is a uniform: one shader serves every batch size); the shader
// key names all of them. Bias and ReLU are fused into the store.
//
// setIgemmPolicy(p) replaces the `webgpu` backend's FusedConv2D and Conv2D kernels with a wrapper
// that runs this shader where the policy picks a tile for the shape, and TF.js's own kernel
// otherwise (input channels not a multiple of 4, dilation, NCHW, PReLU/other activations, tiny
// outputs, a tile the device's limits do not allow); setIgemmPolicy(null) puts TF.js's kernels back.
import * as tf from '@tensorflow/tfjs';

import { igemmSource, tileName, type ConvGeom, type IgemmTile } from './conv-webgpu-wgsl';

export type { ConvGeom, IgemmTile } from './conv-webgpu-wgsl';
export { igemmSource } from './conv-webgpu-wgsl';

/** Chooses a tile for a convolution, or null: TF.js's own shader. */
export type IgemmPolicy = (g: ConvGeom) => IgemmTile | null;

/**
 * The program object runWebGPUProgram takes (TF.js's WebGPUProgram interface); a class so that
 * the pipeline's label and tf.profile's extra info name it.
 */
export class IgemmConvProgram {
  shaderKey: string;
  outputShape: number[];
  dispatchLayout = { x: [3], y: [1, 2], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  size = false;
  uniforms = 'M : i32,';
  constructor(
    readonly g: ConvGeom,
    readonly t: IgemmTile,
    readonly bias: boolean,
    readonly relu: boolean,
  ) {
    // Every size but the batch is baked into the source, so the key names them; the batch only
    // moves M (a uniform) and the dispatch.
    const key = [
      g.inH,
      g.inW,
      g.cin,
      g.outH,
      g.outW,
      g.cout,
      g.kh,
      g.kw,
      g.sh,
      g.sw,
      g.padTop,
      g.padLeft,
    ].join('_');
    this.shaderKey = `igemm_${key}_${tileName(t)}_${bias}_${relu}`;
    this.outputShape = [g.batch, g.outH, g.outW, g.cout];
    this.dispatch = [Math.ceil(g.cout / t.bn), Math.ceil((g.batch * g.outH * g.outW) / t.bm), 1];
    this.workgroupSize = [(t.bm / t.tm) * (t.bn / t.tn), 1, 1];
    this.variableNames = bias ? ['x', 'W', 'bias'] : ['x', 'W'];
    this.variableComponents = bias ? [4, 4, 4] : [4, 4];
  }
  getUserCode(): string {
    return igemmSource(this.g, this.t, this.bias, this.relu);
  }
}

/** Checks a tile's internal consistency (thrown at install, not in the shader). */
export function validTile(t: IgemmTile): boolean {
  return (
    t.tn % 4 === 0 &&
    t.bk % 4 === 0 &&
    t.bm % t.tm === 0 &&
    t.bn % t.tn === 0 &&
    (t.bn / 4) % (t.tn / 4) === 0 &&
    (t.bm / t.tm) * (t.bn / t.tn) <= 256
  );
}

// ---- policies -------------------------------------------------------------------------------

const SMS = 132; // H200 multiprocessors

const workgroups = (g: ConvGeom, bm: number, bn: number): number =>
  Math.ceil((g.batch * g.outH * g.outW) / bm) * Math.ceil(g.cout / bn);

/** Output channels per tile: the least padding over {128, 64, 32}, the larger on a tie. */
function autoBn(cout: number): number {
  let best = 128;
  for (const bn of [128, 64, 32])
    if (Math.ceil(cout / bn) * bn < Math.ceil(cout / best) * best) best = bn;
  return best;
}

/**
 * The default policy: output channels per tile from autoBn, 128 output rows where that still
 * gives two workgroups per multiprocessor, else 64; outputs too small for one workgroup per
 * multiprocessor at 64 rows stay with TF.js's 32x32 tiles. `bk`: the K chunk.
 */
export function autoPolicy(
  opts: { bk?: number; pointwise?: boolean; minWorkgroups?: number } = {},
): IgemmPolicy {
  const bk = opts.bk ?? 8;
  return (g) => {
    if (opts.pointwise === false && g.kh === 1 && g.kw === 1) return null;
    const bn = autoBn(g.cout);
    const tn = bn === 32 ? 4 : 8;
    const bm = workgroups(g, 128, bn) >= 2 * SMS ? 128 : 64;
    if (workgroups(g, bm, bn) < (opts.minWorkgroups ?? SMS)) return null;
    return { bm, bn, bk, tm: 8, tn };
  };
}

/** One tile for every convolution it can take (for the per-layer check and the bench). */
export const fixedPolicy =
  (t: IgemmTile): IgemmPolicy =>
  () =>
    t;

// ---- the kernel override ----------------------------------------------------------------------

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs: Record<string, unknown>;
}
interface WebGPUBackendLike {
  device?: {
    limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number };
  };
  runWebGPUProgram: (
    p: IgemmConvProgram,
    inputs: tf.TensorInfo[],
    dtype: string,
    uniforms: { type: string; data: number[] }[],
  ) => tf.TensorInfo;
}

/** Whether the device takes the tile: workgroup memory (two buffers of A and B) and threads. */
function fits(t: IgemmTile, backend: WebGPUBackendLike): boolean {
  const lim = backend.device?.limits;
  const storage = 2 * (t.bm * t.bk + t.bk * t.bn) * 4;
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  return (
    validTile(t) &&
    storage <= (lim?.maxComputeWorkgroupStorageSize ?? 16384) &&
    threads <= (lim?.maxComputeInvocationsPerWorkgroup ?? 256)
  );
}

let policy: IgemmPolicy | null = null;
let saved: { name: string; config: tf.KernelConfig }[] | null = null;
let routed = 0;

/** The geometry of a conv this shader can run, or null. */
function geometry(args: KernelArgs): ConvGeom | null {
  const { x, filter, preluActivationWeights } = args.inputs;
  const a = args.attrs;
  if (!x || !filter || preluActivationWeights) return null;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) return null;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return null;
  const act = a.activation as string | undefined;
  if (act !== undefined && act !== 'linear' && act !== 'relu') return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides as number | [number, number],
    (a.dilations as number | [number, number] | undefined) ?? 1,
    a.pad as 'valid' | 'same' | number,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (info.inChannels % 4 !== 0 || info.outChannels % 4 !== 0) return null;
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    cin: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    cout: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function wrap(name: string, orig: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const g = policy ? geometry(args) : null;
    const t = g && policy ? policy(g) : null;
    const backend = args.backend as WebGPUBackendLike;
    if (!g || !t || !fits(t, backend)) return orig(args as unknown as Parameters<tf.KernelFunc>[0]);
    const { x, filter, bias } = args.inputs;
    const hasBias = name === 'FusedConv2D' && bias !== undefined;
    const relu = args.attrs.activation === 'relu';
    routed++;
    const inputs = hasBias ? [x!, filter!, bias!] : [x!, filter!];
    const m = [g.batch * g.outH * g.outW];
    return backend.runWebGPUProgram(new IgemmConvProgram(g, t, hasBias, relu), inputs, 'float32', [
      { type: 'int32', data: m },
    ]);
  }) as unknown as tf.KernelFunc;
}

/**
 * Routes the webgpu backend's FusedConv2D / Conv2D through the implicit-GEMM shader where
 * `p` returns a tile (null: back to TF.js's kernels). Registration is global to TF.js, per
 * backend name; other backends are untouched.
 */
export function setIgemmPolicy(p: IgemmPolicy | null): void {
  policy = p;
  if (p && !saved) {
    saved = [];
    for (const name of ['FusedConv2D', 'Conv2D']) {
      const config = tf.getKernel(name, 'webgpu');
      if (!config) continue;
      saved.push({ name, config });
      tf.unregisterKernel(name, 'webgpu');
      tf.registerKernel({ ...config, kernelFunc: wrap(name, config.kernelFunc) });
    }
  } else if (!p && saved) {
    for (const { name, config } of saved) {
      tf.unregisterKernel(name, 'webgpu');
      tf.registerKernel(config);
    }
    saved = null;
  }
}

/** The policy in force (null: TF.js's own conv shaders). */
export function getIgemmPolicy(): IgemmPolicy | null {
  return policy;
}

/**
 * What the app runs on WebGPU: the auto policy (K chunks of 8: 16 KiB of workgroup memory at most,
 * WebGPU's default limit). Call only when tf.getBackend() is 'webgpu'; idempotent.
 */
export function enableWebGPUConvs(): void {
  if (!policy) setIgemmPolicy(APP_POLICY);
}
const APP_POLICY = autoPolicy();

/** Convolutions run through the shader so far (for the bench's report). */
export function igemmDispatches(): number {
  return routed;
}
