// Data parallelism on WASM: besides the embedding worker itself, a second worker ("helper lane")
// holds its own copy of the same extractor and embeds every other batch of an import.
//
// Why: measured here (`npm run bench`), XNNPACK's own threads barely help at these layer sizes —
// two threads made ResNet-50 only ~15 % faster than one — while two single-threaded copies of the
// network on two cores run almost twice as fast as one (Node: 3.5 images/s alone, 3.5 each side
// by side). So the cores are split between workers (each with hardwareConcurrency / lanes threads)
// instead of all going to one. GPU backends keep one lane: a second copy would only queue on the
// same GPU.
//
// A helper lane is an optimisation only: the worker starts it when a call brings more than one
// batch (an import, a re-embedding; the bytes come from Cache Storage), uses it once it has loaded
// exactly the same weights (same key), drops it at the first failure (whatever it was embedding is
// redone in the main lane) and stops it after IDLE_MS without work, which frees its memory.
import { WorkerBridge } from '../shared/worker-bridge';
import type { HelperRequests } from './helper-protocol';
import type { EmbedItemResult, ImageInput } from './types';
import type { ExtractorSpec } from './specs';

/** Worker count and WASM threads per worker. */
export interface LanePlan {
  lanes: number;
  /** WASM threads of the main embedding worker. */
  mainThreads: number;
  /** WASM threads of each helper lane. */
  helperThreads: number;
}

/** At most this many workers hold a copy of the network (each copy is ~100 MB for ResNet-50). */
export const MAX_LANES = 2;

let override: number | null = null;

/**
 * `?lanes=1` (benchmarks, A/B) fixes the lane count; it must be set before the backend starts
 * (the thread counts follow it) and then stays. undefined or an invalid count changes nothing;
 * null goes back to the automatic choice (tests).
 */
export function setLaneOverride(lanes: number | null | undefined): void {
  if (lanes === null) override = null;
  else if (lanes !== undefined && Number.isInteger(lanes) && lanes >= 1) override = Math.min(lanes, MAX_LANES);
}

export function planLanes(env: { cores: number; isolated: boolean; memoryGb: number | undefined }): LanePlan {
  const cores = Math.max(1, Math.floor(env.cores) || 1);
  const automatic = cores >= 2 && (env.memoryGb ?? 8) >= 4 ? 2 : 1;
  const lanes = Math.max(1, Math.min(override ?? automatic, MAX_LANES));
  // Without cross-origin isolation there is no SharedArrayBuffer, so each worker runs one thread.
  if (!env.isolated) return { lanes, mainThreads: 1, helperThreads: 1 };
  return {
    lanes,
    mainThreads: Math.max(1, Math.ceil(cores / lanes)),
    helperThreads: Math.max(1, Math.floor(cores / lanes)),
  };
}

/** The plan for this browser. */
export function browserLanePlan(): LanePlan {
  // deviceMemory is Chromium's (GB, rounded); hardwareConcurrency exists in windows and workers.
  const nav = globalThis.navigator as { hardwareConcurrency?: number; deviceMemory?: number } | undefined;
  return planLanes({
    cores: nav?.hardwareConcurrency ?? 1,
    isolated: Boolean(globalThis.crossOriginIsolated),
    memoryGb: nav?.deviceMemory,
  });
}

export interface HelperLane {
  /** Decodes and embeds a batch in the helper: one result per file. The bytes are copied, not moved. */
  embed(images: readonly ImageInput[], thumbnails: boolean, signal: AbortSignal): Promise<EmbedItemResult[]>;
  memory(): Promise<number>;
  profile(batch: number, repeats: number, matmul: boolean): Promise<HelperRequests['profile']['res']>;
}

type Bridge = WorkerBridge<HelperRequests>;

/** A helper lane with nothing to do for this long is stopped (its model copy freed). */
export const IDLE_MS = 120_000;

let generation = 0;
/** Key of the weights the running (or starting) helpers hold. */
let currentKey: string | null = null;
let idleTimer: ReturnType<typeof setTimeout> | null = null;
let ready: Bridge[] = [];
let starting: Bridge[] = [];
/** Batches the helper lanes embedded since the worker started (diagnostics, tests). */
let helperBatchCount = 0;
/** Tests: the next helper batch kills its worker mid-call (as a crash would). */
let crashNext = false;

function createHelper(): Bridge {
  return new WorkerBridge<HelperRequests>(
    () => new Worker(new URL('./helper.worker.ts', import.meta.url), { type: 'module', name: 'glimpse-embed-helper' }),
    'The second embedding worker',
  );
}

/** Stops every helper lane (a new model is loading, or the backend is not WASM). */
export function stopHelperLanes(): void {
  generation++;
  currentKey = null;
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = null;
  for (const b of [...ready, ...starting]) b.terminate();
  ready = [];
  starting = [];
}

/** Restarts the idle countdown (at the start and end of every call that may use the lanes). */
export function touchHelperLanes(): void {
  if (idleTimer !== null) clearTimeout(idleTimer);
  idleTimer = currentKey === null ? null : setTimeout(stopHelperLanes, IDLE_MS);
}

/**
 * Makes sure plan.lanes - 1 helpers run (or are loading) `spec`'s model with weights `key`; starts
 * them in the background when not. A helper joins only when its weights have that key.
 */
export function ensureHelperLanes(opts: { spec: ExtractorSpec; key: string; baseUrl: string; plan: LanePlan }): void {
  if (opts.plan.lanes <= 1) return;
  if (currentKey !== opts.key) void startHelperLanes(opts);
  touchHelperLanes();
}

/** Starts the helpers (stopping any old ones); resolves when all have joined or given up. */
export async function startHelperLanes(opts: { spec: ExtractorSpec; key: string; baseUrl: string; plan: LanePlan }): Promise<void> {
  stopHelperLanes();
  currentKey = opts.key;
  const mine = generation;
  const jobs: Promise<void>[] = [];
  for (let i = 1; i < opts.plan.lanes; i++) {
    const bridge = createHelper();
    starting.push(bridge);
    jobs.push(
      bridge
        .call('load', { spec: opts.spec, baseUrl: opts.baseUrl, threads: opts.plan.helperThreads })
        .then((res) => {
          if (mine !== generation) return;
          starting = starting.filter((b) => b !== bridge);
          if (res.key !== opts.key) throw new Error(`the helper loaded other weights (${res.key})`);
          ready.push(bridge);
        })
        .catch((err: unknown) => {
          if (mine !== generation) return;
          console.warn('Glimpse: the second embedding worker is not used:', err);
          starting = starting.filter((b) => b !== bridge);
          bridge.terminate();
        }),
    );
  }
  await Promise.all(jobs);
}

/** The helper lanes that are ready now. */
export function helperLanes(): HelperLane[] {
  return ready.map((bridge) => ({
    async embed(images, thumbnails, signal) {
      try {
        // No transfer list: the bytes are copied, so the batch can be redone here if the helper fails.
        const call = bridge.call('embed', { images: [...images], thumbnails }, { signal });
        if (crashNext) {
          crashNext = false;
          bridge.terminate();
        }
        const { items } = await call;
        const ids = new Set(images.map((i) => i.id));
        if (items.length !== images.length || !items.every((r) => ids.has(r.id))) throw new Error('the helper answered for other files');
        helperBatchCount++;
        return items;
      } catch (err) {
        // One failure and the lane is gone; the caller redoes the batch in the main lane.
        if (!signal.aborted) retire(bridge);
        throw err;
      }
    },
    memory: async () => (await bridge.call('memory', {})).numTensors,
    profile: (batch, repeats, matmul) => bridge.call('profile', { batch, repeats, matmul }),
  }));
}

/** Batches embedded by helper lanes so far. */
export function helperBatches(): number {
  return helperBatchCount;
}

/** Tests: the next batch sent to a helper lane finds its worker killed. */
export function armHelperCrash(): boolean {
  crashNext = ready.length > 0;
  return crashNext;
}

function retire(bridge: Bridge): void {
  ready = ready.filter((b) => b !== bridge);
  bridge.terminate();
}

/** Tensors held by the helper lanes (part of the worker's memory report). */
export async function helperTensors(): Promise<number> {
  const counts = await Promise.all(helperLanes().map((l) => l.memory().catch(() => 0)));
  return counts.reduce((a, b) => a + b, 0);
}
