// Watches the active GPU backend for a lost context. After a WebGL context loss `dataSync()` returns
// zeros and `data()` never resolves, so every piece of GPU work runs under guardGpu(): it rejects
// as soon as the context is lost (the `webglcontextlost` event, `gl.isContextLost()` polled, or the
// WebGPU device's `lost` promise) or when no progress is seen for a generous while, and it refuses
// a result that was computed across a loss (the flag, not the numbers, is the reliable signal).
// On WASM and CPU reads always resolve, and guardGpu() just runs the work.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';

/** No progress for this long on a GPU backend counts as a hung (lost) GPU. */
export const GPU_STALL_MS = 180_000;
const POLL_MS = 250;

type GL = WebGLRenderingContext | WebGL2RenderingContext;

interface Watch {
  backendName: string;
  gl: GL | null;
  lost: string | null;
  /** Rejects when the context is lost; never resolves. */
  lostPromise: Promise<never>;
  markLost(reason: string): void;
  dispose(): void;
}

let current: Watch | null = null;
let generation = 0;

export function isGpuLossError(err: unknown): err is GlimpseError {
  return err instanceof GlimpseError && err.code === 'gpu-context-lost';
}

function lossError(reason: string): GlimpseError {
  return new GlimpseError('gpu-context-lost', 'The graphics context was lost while Glimpse was computing.', reason);
}

function webglContext(): GL | null {
  const b = tf.backend() as unknown as { gpgpu?: { gl?: GL } };
  return b.gpgpu?.gl ?? null;
}

/** Counts backend changes, so that callers can tell whether a recovery already happened. */
export function gpuGeneration(): number {
  return generation;
}

export function gpuLostReason(): string | null {
  return current?.lost ?? null;
}

/** Starts watching the active backend; call after every successful setBackend. */
export function watchActiveBackend(): void {
  current?.dispose();
  current = null;
  generation++;
  const backendName = tf.getBackend();
  if (backendName !== 'webgl' && backendName !== 'webgpu') return;
  let reject: (e: Error) => void = () => {};
  const lostPromise = new Promise<never>((_, rej) => {
    reject = rej;
  });
  lostPromise.catch(() => {}); // observed through races; never an unhandled rejection
  const gl = backendName === 'webgl' ? webglContext() : null;
  // The context's canvas (an OffscreenCanvas in the worker); typed loosely: worker code has no DOM types.
  const canvas = (gl as unknown as { canvas?: EventTarget } | null)?.canvas;
  const onLost = () => watch.markLost('webglcontextlost');
  const watch: Watch = {
    backendName,
    gl,
    lost: null,
    lostPromise,
    markLost(reason) {
      if (watch.lost) return;
      watch.lost = reason;
      reject(lossError(reason));
    },
    dispose() {
      canvas?.removeEventListener('webglcontextlost', onLost);
    },
  };
  canvas?.addEventListener('webglcontextlost', onLost);
  if (backendName === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { lost?: Promise<{ message?: string }> } }).device;
    void device?.lost?.then((info) => {
      if (current === watch) watch.markLost(`WebGPU device lost: ${info.message ?? ''}`);
    });
  }
  current = watch;
}

function pollLost(w: Watch): boolean {
  if (!w.lost && w.gl?.isContextLost()) w.markLost('isContextLost');
  return w.lost !== null;
}

/**
 * Runs GPU work so that it cannot hang on a lost context or return numbers computed after one.
 * `beat()` (given to the work) postpones the stall watchdog, e.g. once per training epoch.
 */
export async function guardGpu<T>(run: (beat: () => void) => Promise<T>, stallMs = GPU_STALL_MS): Promise<T> {
  const w = current;
  if (!w) return run(() => {});
  if (pollLost(w)) throw lossError(w.lost!);
  let lastBeat = performance.now();
  const beat = () => {
    lastBeat = performance.now();
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (pollLost(w)) reject(lossError(w.lost!));
      else if (performance.now() - lastBeat > stallMs) {
        w.markLost(`no progress for ${Math.round(stallMs / 1000)} s`);
        reject(lossError(w.lost!));
      }
    }, POLL_MS);
  });
  watchdog.catch(() => {});
  const work = run(beat);
  testLossPoint({ work: true }); // the work's kernels are queued and its reads are pending
  work.catch(() => {}); // may settle after the race was decided
  try {
    const result = await Promise.race([work, w.lostPromise, watchdog]);
    // A result computed across a loss may be zeros: only the flag tells.
    if (pollLost(w)) throw lossError(w.lost!);
    return result;
  } catch (err) {
    if (pollLost(w) && !isGpuLossError(err)) throw lossError(w.lost!);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** When a test-triggered loss fires: after a delay, as the next guarded work starts, or at an epoch. */
export interface TestLossTrigger {
  afterMs?: number;
  onNextWork?: boolean;
  atEpoch?: number;
}

let armed: TestLossTrigger | null = null;

/** Loses the WebGL context (or destroys the WebGPU device) now; false on other backends. */
function loseNow(): boolean {
  const name = tf.getBackend();
  if (name === 'webgl') {
    const ext = webglContext()?.getExtension('WEBGL_lose_context');
    ext?.loseContext();
    return Boolean(ext);
  }
  if (name === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { destroy(): void } }).device;
    device?.destroy();
    return Boolean(device);
  }
  return false;
}

/** Test hook: arms a context loss; with no `onNextWork`/`atEpoch` it fires after `afterMs`. */
export function armTestLoss(trigger: TestLossTrigger): { backend: string; scheduled: boolean } {
  const backend = tf.getBackend();
  const scheduled = backend === 'webgl' || backend === 'webgpu';
  if (!scheduled) return { backend, scheduled };
  if (trigger.onNextWork || trigger.atEpoch !== undefined) armed = trigger;
  else setTimeout(loseNow, trigger.afterMs ?? 0);
  return { backend, scheduled };
}

/** Called by the work itself at the points a test may lose the context. */
export function testLossPoint(point: { work: true } | { epoch: number }): void {
  if (!armed) return;
  const hit = 'work' in point ? armed.onNextWork === true : armed.atEpoch === point.epoch;
  if (!hit) return;
  armed = null;
  loseNow();
}
