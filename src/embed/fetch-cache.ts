// Model bytes in the browser: Cache Storage first (so a model fetched once works offline), then the
// network with a timeout. Model shards are far over Workbox's precache limit, so they live in their
// own cache, filled on first use.
import { GlimpseError } from '../shared/errors';
import type { ByteFetcher } from './loader';

export const MODEL_CACHE = 'glimpse-models-v1';
const NETWORK_TIMEOUT_MS = 30_000;

export function cachingFetcher(opts: { timeoutMs?: number; onNetwork?: (url: string) => void } = {}): ByteFetcher {
  return async (url, signal) => {
    const cache = typeof caches === 'undefined' ? null : await caches.open(MODEL_CACHE).catch(() => null);
    const hit = await cache?.match(url);
    if (hit) return hit.arrayBuffer();
    opts.onNetwork?.(url);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? NETWORK_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, { signal: combined, credentials: 'omit' });
    } catch (err) {
      const why = timeout.aborted ? 'the request timed out' : navigator.onLine === false ? 'you are offline' : 'the network request failed';
      throw new GlimpseError('model-fetch-failed', `Could not download ${url}: ${why}.`, String(err));
    }
    if (!res.ok) throw new GlimpseError('model-fetch-failed', `Could not download ${url}: the server answered ${res.status}.`);
    const bytes = await res.arrayBuffer();
    // Only cache complete, successful answers; a failed put (quota) must not fail the load.
    await cache?.put(url, new Response(bytes.slice(0), { headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' } })).catch(() => undefined);
    return bytes;
  };
}
