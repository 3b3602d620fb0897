// Larger output tiles for TF.js's WebGPU convolution and matmul shaders (issue #19, lever 2; a
// bench lever: measured slower than TF.js's own 32x32 tiles on the H200, run 8, so not in the app).
// TF.js 4.22 runs every vec4 convolution (Conv2DMMProgram: 3x3, 1x7, 7x1, 5x5) and 1x1 convolution
// (MatMulPackedProgram) with 8x8 threads of 4x4 outputs each: 32x32 output tiles, so each element
// loaded into workgroup memory is used 32 times. Its own shader source
// (makeMatMulPackedVec4Source) takes more rows per thread and wider workgroups; TF.js never asks
// for them. This wraps the backend's `runWebGPUProgram` and, for those two programs when the
// output is large enough, sets a larger tile before the pipeline is looked up: the shader key
// names the tile, so each tile compiles once. Bias and activation stay fused (same source).
// Every other program, and every small output, runs as TF.js made it.
import * as tf from '@tensorflow/tfjs';

export interface ConvTile {
  name: string;
  /** Threads per workgroup [x (output channels), y (output positions)]. */
  workgroup: [number, number];
  /** Output rows (positions) per thread; each thread always does 4 output channels (one vec4). */
  rows: number;
}

export const CONV_TILES: Record<string, ConvTile> = {
  '64x32': { name: '64x32', workgroup: [8, 8], rows: 8 }, // 64 positions x 32 channels, 12 KiB
  '128x32': { name: '128x32', workgroup: [8, 16], rows: 8 }, // 20 KiB of workgroup memory
  '64x64': { name: '64x64', workgroup: [16, 8], rows: 8 }, // inner tile 64: 32 KiB
};

interface Program {
  shaderKey: string;
  outputShape: number[];
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  elementsPerThread: [number, number, number];
  isVec4?: boolean;
  isChannelsLast?: boolean;
  innerElementSize?: number;
  transposeA?: boolean;
  isVectorA?: boolean;
  tileInner: number;
  tileAOuter?: number;
  tileBOuter?: number;
  fitAOuter: boolean;
  fitBOuter: boolean;
  fitInner: boolean;
  variableNames: string[];
}
interface Uniform {
  type: string;
  data: number[];
}
interface WebGPUBackendLike {
  device: { limits: { maxComputeWorkgroupStorageSize: number } };
  runWebGPUProgram: (p: Program, inputs: tf.TensorInfo[], dtype: string, u?: Uniform[], out?: tf.TensorInfo) => tf.TensorInfo;
}

let installed: { backend: WebGPUBackendLike; run: WebGPUBackendLike['runWebGPUProgram'] } | null = null;
let active: ConvTile | null = null;
let minWorkgroups = 0;
let retiled = 0;

/** dimAOuter / dimInner of the program, from its uniforms (conv) or its shapes (matmul). */
function dims(p: Program, inputs: tf.TensorInfo[], u: Uniform[] | undefined): [number, number] | null {
  if (p.shaderKey.startsWith('conv2DMM_')) {
    // Conv2DMMProgram's uniforms end with dimAOuter, dimBOuter, dimInner.
    const ints = (u ?? []).filter((x) => x.type === 'int32').map((x) => x.data[0]!);
    if (ints.length < 3) return null;
    return [ints[ints.length - 3]!, ints[ints.length - 1]!];
  }
  const a = inputs[0]!.shape;
  return [p.outputShape[1]!, a[2]!];
}

function retile(p: Program, inputs: tf.TensorInfo[], u: Uniform[] | undefined, tile: ConvTile, storage: number): boolean {
  const conv = p.shaderKey.startsWith('conv2DMM_');
  const matmul = p.shaderKey.startsWith('matMulPacked_');
  if (!conv && !matmul) return false;
  if (!p.isVec4) return false;
  if (conv && (!p.isChannelsLast || p.innerElementSize !== 4)) return false;
  if (matmul && (p.transposeA || p.isVectorA)) return false;
  if (p.workgroupSize[0] !== 8 || p.workgroupSize[1] !== 8 || p.elementsPerThread[1] !== 4) return false;
  const d = dims(p, inputs, u);
  if (!d) return false;
  const [dimAOuter, dimInner] = d;
  const [wx, wy] = tile.workgroup;
  const tileA = wy * tile.rows;
  const tileB = wx * 4;
  // Conv: max(wx * 4, wy) as TF.js computes it; the matmul shader takes tileInner = tileB.
  const tileInner = conv ? Math.max(wx * 4, wy) : tileB;
  if ((tileA * tileInner + tileInner * tileB) * 4 > storage) return false;
  const dimBOuter = p.outputShape[p.outputShape.length - 1]!;
  const dispatch: [number, number, number] = [
    Math.ceil(dimBOuter / tileB),
    Math.ceil((conv ? p.outputShape[1]! * p.outputShape[2]! : p.outputShape[1]!) / tileA),
    p.outputShape[0]!,
  ];
  if (dispatch[0] * dispatch[1] * dispatch[2] < minWorkgroups) return false;
  p.workgroupSize = [wx, wy, 1];
  p.elementsPerThread = [4, tile.rows, 1];
  p.tileInner = tileInner;
  if (conv) {
    p.tileAOuter = tileA;
    p.tileBOuter = tileB;
  }
  p.fitAOuter = dimAOuter % tileA === 0;
  p.fitBOuter = dimBOuter % tileB === 0;
  p.fitInner = dimInner % tileInner === 0;
  p.dispatch = dispatch;
  // The key TF.js built names the old tile and fits; the new one names the new.
  p.shaderKey = `${p.shaderKey}_tile${tileA}x${tileB}x${tileInner}_${p.fitAOuter}_${p.fitBOuter}_${p.fitInner}`;
  return true;
}

/**
 * Sets the tile for the WebGPU backend's convolutions (null: TF.js's own 32x32). `minWorkgroups`:
 * outputs that would get fewer workgroups than this with the larger tile keep TF.js's (small
 * layers at batch 1 would leave the GPU idle). Does nothing on other backends; returns whether
 * the tile is in force.
 */
export function setConvTile(tile: ConvTile | null, opts: { minWorkgroups?: number } = {}): boolean {
  minWorkgroups = opts.minWorkgroups ?? 0;
  if (tf.getBackend() !== 'webgpu') return false;
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  if (installed && installed.backend !== backend) installed = null; // a new backend after a loss
  active = tile;
  if (!tile) return false;
  if (!installed) {
    const run = backend.runWebGPUProgram.bind(backend);
    installed = { backend, run };
    const storage = backend.device.limits.maxComputeWorkgroupStorageSize;
    backend.runWebGPUProgram = (p, inputs, dtype, u, out) => {
      if (active && retile(p, inputs, u, active, storage)) retiled++;
      return run(p, inputs, dtype, u, out);
    };
  }
  return true;
}

/** Dispatches given a larger tile so far (for the bench's report). */
export function retiledDispatches(): number {
  return retiled;
}
