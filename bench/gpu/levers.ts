// The backend's own switches, measured one at a time on the forward pass (issue #19, point 2).
// Each lever is a set of TF.js environment flags that the WebGPU backend reads per dispatch, so they
// can be flipped inside one process between timings; every run re-checks the embedding against the
// CPU backend's reference so that no lever is reported that changes the numbers.
import * as tf from '@tensorflow/tfjs';
import { CONV_TILES, setConvTile } from './conv-tiles';
import { autoPolicy, fixedPolicy, getIgemmPolicy, setIgemmPolicy, type IgemmPolicy, type IgemmTile } from '../../src/embed/conv-webgpu';

/** The implicit-GEMM tiles (igemm.ts) checked layer by layer and offered as fixed levers. */
export const IGEMM_TILES: Record<string, IgemmTile> = {
  '128x128': { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 }, // 256 threads of 8x8
  '128x64': { bm: 128, bn: 64, bk: 8, tm: 8, tn: 8 }, // 128 threads of 8x8
  '64x64': { bm: 64, bn: 64, bk: 8, tm: 8, tn: 8 }, // 64 threads of 8x8
  '128x32': { bm: 128, bn: 32, bk: 8, tm: 8, tn: 4 }, // 128 threads of 8x4
  '64x32': { bm: 64, bn: 32, bk: 8, tm: 8, tn: 4 }, // 64 threads of 8x4
  '128x128-bk16': { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  '64x64-bk16': { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8 },
  '64x64-4x4': { bm: 64, bn: 64, bk: 8, tm: 4, tn: 4 }, // 256 threads of 4x4
};

export interface Lever {
  name: string;
  /** What the lever changes, in words, for the report. */
  what: string;
  flags: Record<string, number | boolean>;
  /** A larger output tile for the conv / 1x1-conv shaders (conv-tiles.ts). */
  tile?: { name: keyof typeof CONV_TILES; minWorkgroups?: number };
  /**
   * Convolutions through the implicit-GEMM shader (src/embed/conv-webgpu.ts) with this policy;
   * null: TF.js's own conv shaders; absent: as the app has it (on, with its auto policy).
   */
  igemm?: IgemmPolicy | null;
}

export const LEVERS: Lever[] = [
  {
    name: 'defaults',
    what: "the app's defaults: TF.js 4.22 WebGPU (15 dispatches per submit), convs through the implicit-GEMM shader (src/embed/conv-webgpu.ts, auto tiles)",
    flags: {},
  },
  {
    name: 'tfjs-convs',
    what: "TF.js's own conv shaders (Conv2DMMProgram, 1x1 through MatMulPackedProgram): the defaults before the implicit-GEMM shader",
    flags: {},
    igemm: null,
  },
  {
    name: 'submit-100',
    what: 'command batching: 100 dispatches per queue submit',
    flags: { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 100 },
  },
  {
    name: 'submit-all',
    what: 'command batching: one submit per forward pass',
    flags: { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 100000 },
  },
  {
    name: 'matmul-packed',
    what: '1x1 convolutions always through the tiled (packed) matmul shader (TF.js convs)',
    flags: { WEBGPU_MATMUL_PROGRAM_TYPE: 3 },
    igemm: null,
  },
  {
    name: 'workgroups-132',
    what: 'small matmuls/convs (up to 132 workgroups of 32x32, one per H200 multiprocessor) through the split-K / small-tile shaders (the default threshold is 8)',
    flags: { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 132 },
    igemm: null,
  },
  {
    name: 'im2col',
    what: 'convolutions as a separate im2col shader + matmul',
    flags: { WEBGPU_CONV_SEPARATE_IM2COL_SHADER: true },
    igemm: null,
  },
  {
    name: 'tile-64x32',
    what: 'conv and 1x1-conv shaders with 64x32 output tiles (8x8 threads of 8x4), TF.js uses 32x32',
    flags: {},
    tile: { name: '64x32' },
    igemm: null,
  },
  {
    name: 'tile-64x32-w264',
    what: 'tile-64x32 only where it still gives >= 264 workgroups (2 per H200 multiprocessor)',
    flags: {},
    tile: { name: '64x32', minWorkgroups: 264 },
    igemm: null,
  },
  {
    name: 'tile-128x32',
    what: 'conv and 1x1-conv shaders with 128x32 output tiles (8x16 threads of 8x4)',
    flags: {},
    tile: { name: '128x32' },
    igemm: null,
  },
  {
    name: 'tile-64x64',
    what: 'conv and 1x1-conv shaders with 64x64 output tiles, inner tile 64 (16x8 threads of 8x4)',
    flags: {},
    tile: { name: '64x64' },
    igemm: null,
  },
  {
    name: 'igemm-bk16',
    what: "the app's igemm policy with K chunks of 16 (32 KiB of workgroup memory for 128x128)",
    flags: {},
    igemm: autoPolicy({ bk: 16 }),
  },
  {
    name: 'igemm-no1x1',
    what: 'igemm for the KxK convs only, 1x1 convs through TF.js\'s matmul',
    flags: {},
    igemm: autoPolicy({ pointwise: false }),
  },
  {
    name: 'igemm-64x64',
    what: 'igemm, 64x64 tiles everywhere (64 threads of 8x8)',
    flags: {},
    igemm: fixedPolicy(IGEMM_TILES['64x64']!),
  },
  {
    name: 'igemm-128x64',
    what: 'igemm, 128x64 tiles everywhere (128 threads of 8x8)',
    flags: {},
    igemm: fixedPolicy(IGEMM_TILES['128x64']!),
  },
  {
    name: 'igemm-64x64-4x4',
    what: 'igemm, 64x64 tiles everywhere, 256 threads of 4x4',
    flags: {},
    igemm: fixedPolicy(IGEMM_TILES['64x64-4x4']!),
  },
  {
    name: 'igemm-128x128',
    what: 'igemm, 128x128 tiles everywhere (256 threads of 8x8)',
    flags: {},
    igemm: fixedPolicy(IGEMM_TILES['128x128']!),
  },
];

const DEFAULTS: Record<string, number | boolean> = {};
/** The app's conv policy, as loadExtractor left it (captured at the first applyLever). */
let appPolicy: IgemmPolicy | null | undefined;

/** Sets a lever's flags, remembering each flag's default the first time it is touched. */
export function applyLever(lever: Lever): void {
  const env = tf.env();
  for (const name of new Set([...Object.keys(DEFAULTS), ...Object.keys(lever.flags)])) {
    if (!(name in DEFAULTS)) DEFAULTS[name] = env.get(name) as number | boolean;
    env.set(name, lever.flags[name] ?? DEFAULTS[name]!);
  }
  const tile = lever.tile ? CONV_TILES[lever.tile.name]! : null;
  setConvTile(tile, lever.tile?.minWorkgroups !== undefined ? { minWorkgroups: lever.tile.minWorkgroups } : {});
  if (appPolicy === undefined) appPolicy = getIgemmPolicy();
  setIgemmPolicy(lever.igemm === undefined ? appPolicy : lever.igemm);
}

interface CompilingBackend {
  checkCompileCompletionAsync(): Promise<void>;
}

/**
 * Pipelines compiled ahead (WEBGPU_ENGINE_COMPILE_ONLY): one pass that only builds the compute
 * pipelines, asynchronously and in parallel, then waits for all of them. What the app would do
 * at load instead of compiling shader by shader during the first real batch.
 */
export async function precompile(run: () => tf.Tensor): Promise<number> {
  const t0 = performance.now();
  tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', true);
  try {
    const y = run();
    await (tf.backend() as unknown as CompilingBackend).checkCompileCompletionAsync();
    y.dispose();
  } finally {
    tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', false);
  }
  return performance.now() - t0;
}
