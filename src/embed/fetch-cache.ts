// Model bytes in the browser: Cache Storage first (so a model fetched once works offline), then the
// network with a timeout. Model shards are far over Workbox's precache limit, so they live in their
// own cache, filled on first use (the worker's loads) or ahead of time ("Download for offline use"
// in Settings, from the window). Both go through cachingFetcher, the only writer of the cache; the
// service worker deliberately has no route for model files (see vite.config.ts).
//
// This file has no TF.js import: the window imports it for the offline status and downloads.
import { GlimpseError } from '../shared/errors';
import type { ByteFetcher } from './loader';
import type { ExtractorSpec } from './specs';

export const MODEL_CACHE = 'glimpse-models-v1';
const NETWORK_TIMEOUT_MS = 30_000;
/** Cached responses carry their size so the offline status never reads 50 MB to add it up. */
const SIZE_HEADER = 'x-glimpse-bytes';

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

async function openCache(): Promise<Cache | null> {
  return typeof caches === 'undefined' ? null : caches.open(MODEL_CACHE).catch(() => null);
}

export function cachingFetcher(opts: { timeoutMs?: number; onNetwork?: (url: string) => void } = {}): ByteFetcher {
  return async (url, signal) => {
    const cache = await openCache();
    const hit = await cache?.match(url);
    if (hit) return hit.arrayBuffer();
    opts.onNetwork?.(url);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? NETWORK_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, { signal: combined, credentials: 'omit' });
    } catch (err) {
      if (signal?.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      if (!timeout.aborted && isOffline()) {
        // The case users meet on a train: say what is wrong and what fixes it.
        throw new GlimpseError(
          'model-fetch-failed',
          `You are offline and this model isn't downloaded yet (${fileName(url)} is not on this device). Connect once to download it, or choose a model marked "Available offline" in Settings.`,
          String(err),
        );
      }
      const why = timeout.aborted ? 'the request timed out' : 'the network request failed';
      throw new GlimpseError('model-fetch-failed', `Could not download ${url}: ${why}.`, String(err));
    }
    if (!res.ok) throw new GlimpseError('model-fetch-failed', `Could not download ${url}: the server answered ${res.status}.`);
    const bytes = await res.arrayBuffer();
    // Only cache complete, successful answers; a failed put (quota) must not fail the load.
    const headers = { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream', [SIZE_HEADER]: String(bytes.byteLength) };
    await cache?.put(url, new Response(bytes.slice(0), { headers })).catch(() => undefined);
    return bytes;
  };
}

function fileName(url: string): string {
  const path = url.split('?')[0] ?? url;
  return path.slice(path.lastIndexOf('/') + 1) || url;
}

/** Shard URL next to model.json (keeps model.json's query string, as loader.resolveSibling does). */
function sibling(modelUrl: string, name: string): string {
  const q = modelUrl.indexOf('?');
  const base = q >= 0 ? modelUrl.slice(0, q) : modelUrl;
  return `${base.slice(0, base.lastIndexOf('/') + 1)}${name}${q >= 0 ? modelUrl.slice(q) : ''}`;
}

function shardPaths(modelJson: ArrayBuffer): string[] {
  const json = JSON.parse(new TextDecoder().decode(modelJson)) as { weightsManifest?: { paths?: unknown }[] };
  if (!Array.isArray(json.weightsManifest)) throw new GlimpseError('model-invalid', 'model.json has no weights manifest.');
  return json.weightsManifest.flatMap((g) => (Array.isArray(g.paths) ? g.paths.filter((p): p is string => typeof p === 'string') : []));
}

/** model.json files and other single files (labels) an extractor needs, resolved. */
function rootFiles(spec: ExtractorSpec, resolve: (u: string) => string): { models: string[]; others: string[] } {
  const models = [resolve(spec.modelUrl)];
  const others: string[] = [];
  if (spec.classifier?.modelUrl) models.push(resolve(spec.classifier.modelUrl));
  if (spec.classifier) others.push(resolve(spec.classifier.labelsUrl));
  return { models, others };
}

export interface ModelCacheStatus {
  /** Files known so far (model.json + labels + shards of every cached model.json). */
  totalFiles: number;
  cachedFiles: number;
  cachedBytes: number;
  /** Every file the extractor needs is in the model cache: it loads with the network off. */
  complete: boolean;
}

/** What of an extractor is in the model cache, without touching the network. */
export async function modelCacheStatus(spec: ExtractorSpec, resolve: (u: string) => string): Promise<ModelCacheStatus> {
  const cache = await openCache();
  const status: ModelCacheStatus = { totalFiles: 0, cachedFiles: 0, cachedBytes: 0, complete: false };
  if (!cache) return status;
  const { models, others } = rootFiles(spec, resolve);
  let known = true;
  const count = async (url: string): Promise<Response | undefined> => {
    status.totalFiles++;
    const hit = await cache.match(url);
    if (hit) {
      status.cachedFiles++;
      status.cachedBytes += Number(hit.headers.get(SIZE_HEADER) ?? 0);
    }
    return hit;
  };
  for (const url of others) await count(url);
  for (const url of models) {
    const hit = await count(url);
    if (!hit) {
      known = false; // shards unknown until model.json is here
      continue;
    }
    const paths = shardPaths(await hit.arrayBuffer());
    await Promise.all(paths.map((p) => count(sibling(url, p))));
  }
  status.complete = known && status.cachedFiles === status.totalFiles;
  return status;
}

export interface DownloadProgress {
  doneFiles: number;
  totalFiles: number;
  loadedBytes: number;
}

/** Puts every file of an extractor into the model cache (cached files are not fetched again). */
export async function downloadModelFiles(
  spec: ExtractorSpec,
  resolve: (u: string) => string,
  opts: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
): Promise<DownloadProgress> {
  const fetchBytes = cachingFetcher();
  const { models, others } = rootFiles(spec, resolve);
  const files = [...others];
  const progress: DownloadProgress = { doneFiles: 0, totalFiles: models.length + others.length, loadedBytes: 0 };
  const report = () => opts.onProgress?.({ ...progress });
  report();
  for (const url of models) {
    const json = await fetchBytes(url, opts.signal);
    progress.doneFiles++;
    progress.loadedBytes += json.byteLength;
    const shards = shardPaths(json).map((p) => sibling(url, p));
    progress.totalFiles += shards.length;
    files.push(...shards);
    report();
  }
  // A few requests in flight at once, as the loader does.
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const url = files[next++]!;
      const bytes = await fetchBytes(url, opts.signal);
      progress.doneFiles++;
      progress.loadedBytes += bytes.byteLength;
      report();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return progress;
}

/**
 * Puts files the user picked (a model's model.json and shards) into the model cache under
 * app-relative URLs, so the worker loads them like any cached model, offline included.
 * All or nothing: on a failed write (quota) the files already written are removed again.
 */
export async function putModelFiles(entries: { url: string; bytes: ArrayBuffer; type: string }[]): Promise<void> {
  const cache = await openCache();
  if (!cache) throw new GlimpseError('invalid-input', 'This browser has no Cache Storage, so a model cannot be kept here.');
  const done: string[] = [];
  try {
    for (const e of entries) {
      await cache.put(e.url, new Response(e.bytes, { headers: { 'content-type': e.type, [SIZE_HEADER]: String(e.bytes.byteLength) } }));
      done.push(e.url);
    }
  } catch (err) {
    await Promise.all(done.map((u) => cache.delete(u)));
    throw new GlimpseError('quota-exceeded', 'There is not enough storage space for this model. Free some space (Settings shows usage) and try again.', String(err));
  }
}

/** Removes every cached file whose URL starts with `prefix` (a user-loaded model's folder). */
export async function deleteModelFiles(prefix: string): Promise<void> {
  const cache = await openCache();
  if (!cache) return;
  const keys = await cache.keys();
  await Promise.all(keys.filter((r) => r.url.startsWith(prefix)).map((r) => cache.delete(r)));
}
