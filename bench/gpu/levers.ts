// The backend's own switches, measured one at a time on the forward pass (issue #19, point 2).
// Each lever is a set of TF.js environment flags that the WebGPU backend reads per dispatch, so they
// can be flipped inside one process between timings; every run re-checks the embedding against the
// CPU backend's reference so that no lever is reported that changes the numbers.
import * as tf from '@tensorflow/tfjs';
import { CONV_TILES, setConvTile } from './conv-tiles';

export interface Lever {
  name: string;
  /** What the lever changes, in words, for the report. */
  what: string;
  flags: Record<string, number | boolean>;
  /** A larger output tile for the conv / 1x1-conv shaders (conv-tiles.ts). */
  tile?: { name: keyof typeof CONV_TILES; minWorkgroups?: number };
}

export const LEVERS: Lever[] = [
  { name: 'defaults', what: 'TF.js 4.22 WebGPU defaults (15 dispatches per submit)', flags: {} },
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
    what: '1x1 convolutions always through the tiled (packed) matmul shader',
    flags: { WEBGPU_MATMUL_PROGRAM_TYPE: 3 },
  },
  {
    name: 'workgroups-132',
    what: 'small matmuls/convs (up to 132 workgroups of 32x32, one per H200 multiprocessor) through the split-K / small-tile shaders (the default threshold is 8)',
    flags: { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 132 },
  },
  {
    name: 'im2col',
    what: 'convolutions as a separate im2col shader + matmul',
    flags: { WEBGPU_CONV_SEPARATE_IM2COL_SHADER: true },
  },
  {
    name: 'tile-64x32',
    what: 'conv and 1x1-conv shaders with 64x32 output tiles (8x8 threads of 8x4), TF.js uses 32x32',
    flags: {},
    tile: { name: '64x32' },
  },
  {
    name: 'tile-64x32-w264',
    what: 'tile-64x32 only where it still gives >= 264 workgroups (2 per H200 multiprocessor)',
    flags: {},
    tile: { name: '64x32', minWorkgroups: 264 },
  },
  {
    name: 'tile-128x32',
    what: 'conv and 1x1-conv shaders with 128x32 output tiles (8x16 threads of 8x4)',
    flags: {},
    tile: { name: '128x32' },
  },
  {
    name: 'tile-64x64',
    what: 'conv and 1x1-conv shaders with 64x64 output tiles, inner tile 64 (16x8 threads of 8x4)',
    flags: {},
    tile: { name: '64x64' },
  },
];

const DEFAULTS: Record<string, number | boolean> = {};

/** Sets a lever's flags, remembering each flag's default the first time it is touched. */
export function applyLever(lever: Lever): void {
  const env = tf.env();
  for (const name of new Set([...Object.keys(DEFAULTS), ...Object.keys(lever.flags)])) {
    if (!(name in DEFAULTS)) DEFAULTS[name] = env.get(name) as number | boolean;
    env.set(name, lever.flags[name] ?? DEFAULTS[name]!);
  }
  const tile = lever.tile ? CONV_TILES[lever.tile.name]! : null;
  setConvTile(tile, lever.tile?.minWorkgroups !== undefined ? { minWorkgroups: lever.tile.minWorkgroups } : {});
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
