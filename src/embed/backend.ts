// Backend choice, as a pure policy over probes: WebGPU, then WebGL, then WASM, then CPU, skipping a
// GPU backend that is really software (a fallback WebGPU adapter, SwiftShader WebGL), because WASM
// runs Inception-v3 30-50x faster than a software GPU. Forcing a backend always tries it first.

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export function isBackendName(v: unknown): v is BackendName {
  return typeof v === 'string' && (BACKEND_ORDER as readonly string[]).includes(v);
}

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** A software implementation of a GPU API (slow for large networks). */
  software: boolean;
  /** What was found, for the UI ("SwiftShader", "fallback adapter", "4 threads", ...). */
  detail: string;
}

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface BackendChoice {
  name: BackendName;
  forced: boolean;
  detail: string;
  attempts: BackendAttempt[];
}

/** The order in which to try backends, with the reason each one was skipped. */
export function planBackends(
  probes: readonly BackendProbe[],
  forced?: BackendName,
): { order: BackendName[]; skipped: BackendAttempt[] } {
  const byName = new Map(probes.map((p) => [p.name, p]));
  const order: BackendName[] = [];
  const skipped: BackendAttempt[] = [];
  if (forced) order.push(forced);
  for (const name of BACKEND_ORDER) {
    if (name === forced) continue;
    const p = byName.get(name);
    if (!p || !p.available) {
      skipped.push({ name, ok: false, reason: p ? `not available (${p.detail})` : 'not available' });
    } else if (p.software) {
      skipped.push({ name, ok: false, reason: `software GPU (${p.detail}): WASM is much faster` });
    } else {
      order.push(name);
    }
  }
  // Software GPUs still beat nothing at all: keep them as a last resort before giving up.
  for (const p of probes) {
    if (p.available && p.software && !order.includes(p.name)) order.push(p.name);
  }
  return { order, skipped };
}

/**
 * Tries each backend in order. `setBackend` resolves false (TF.js does not throw) when a backend
 * cannot start; `warmup` runs the model once so that a backend that starts but cannot run the
 * network is caught here rather than on the user's first image.
 */
export async function selectBackend(
  probes: readonly BackendProbe[],
  setBackend: (name: BackendName) => Promise<boolean>,
  warmup: (name: BackendName) => Promise<void>,
  forced?: BackendName,
): Promise<BackendChoice> {
  const { order, skipped } = planBackends(probes, forced);
  const attempts: BackendAttempt[] = [...skipped];
  for (const name of order) {
    let ok = false;
    try {
      ok = await setBackend(name);
    } catch (err) {
      attempts.push({ name, ok: false, reason: `failed to start: ${String(err)}` });
      continue;
    }
    if (!ok) {
      attempts.push({ name, ok: false, reason: 'failed to start (setBackend returned false)' });
      continue;
    }
    try {
      await warmup(name);
    } catch (err) {
      attempts.push({ name, ok: false, reason: `warm-up failed: ${String(err)}` });
      continue;
    }
    attempts.push({ name, ok: true, reason: name === forced ? 'forced' : 'selected' });
    const detail = probes.find((p) => p.name === name)?.detail ?? '';
    return { name, forced: name === forced, detail, attempts };
  }
  throw new Error(`No TF.js backend could run: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`);
}
