// Model bytes in the browser: Cache Storage first (so a model fetched once works offline), then the
// network with a timeout. Model shards are far over Workbox's precache limit, so they live in their
// own cache, filled on first use (the worker's loads) or ahead of time ("Download for offline use"
// in Settings, from the window). Both go through modelSource, the only writer of the cache; the
// service worker deliberately has no route for model files (see vite.config.ts).
// A model with a manifest (every bundled one, and models loaded from files since manifests exist)
// is read through the verifier in model-files.ts: its files are cached under content keys and
// hashed on every load; see there for what a mismatch does.
//
// This file has no TF.js import: the window imports it for the offline status and downloads.
import { GlimpseError } from '../shared/errors';
import type { ByteFetcher } from './loader';
import { contentKey, folderOf, manifestDigest, MANIFEST_FILE, parseManifest, verifiedFiles, type ByteCache, type IntegrityReport, type ModelManifest } from './model-files';
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
    const bytes = await networkBytes(url, signal, opts);
    // Only cache complete, successful answers; a failed put (quota) must not fail the load.
    const headers = { 'content-type': 'application/octet-stream', [SIZE_HEADER]: String(bytes.byteLength) };
    await cache?.put(url, new Response(bytes.slice(0), { headers })).catch(() => undefined);
    return bytes;
  };
}

/** One file from the network, with a timeout and messages people can act on. */
async function networkBytes(url: string, signal: AbortSignal | undefined, opts: { timeoutMs?: number; onNetwork?: (url: string) => void; retry?: boolean }): Promise<ArrayBuffer> {
  opts.onNetwork?.(url);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? NETWORK_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    // A retry (bytes that did not match the manifest) bypasses the HTTP cache.
    res = await fetch(url, { signal: combined, credentials: 'omit', ...(opts.retry ? { cache: 'reload' as const } : {}) });
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
  return res.arrayBuffer();
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

/** What of an extractor is in the model cache (a bundled model's manifest may come from the app). */
export async function modelCacheStatus(spec: ExtractorSpec, resolve: (u: string) => string): Promise<ModelCacheStatus> {
  const cache = await openCache();
  const status: ModelCacheStatus = { totalFiles: 0, cachedFiles: 0, cachedBytes: 0, complete: false };
  if (!cache) return status;
  const count = async (key: string): Promise<Response | undefined> => {
    status.totalFiles++;
    const hit = await cache.match(key);
    if (hit) {
      status.cachedFiles++;
      status.cachedBytes += Number(hit.headers.get(SIZE_HEADER) ?? 0);
    }
    return hit;
  };
  const listed = await readManifest(spec, resolve, cache, { preferCache: true }).catch(() => undefined);
  if (listed === undefined) return status; // a manifest is needed and none is at hand (offline, never loaded)
  if (listed) {
    await Promise.all(listed.manifest.files.map((f) => count(contentKey(listed.folderUrl + f.path, f.sha256))));
    status.complete = status.cachedFiles === status.totalFiles;
    return status;
  }
  const { models, others } = rootFiles(spec, resolve);
  let known = true;
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
  const source = await modelSource(spec, resolve, opts.signal ? { signal: opts.signal } : {});
  const fetchBytes = source.fetchBytes;
  const files: string[] = [];
  const progress: DownloadProgress = { doneFiles: 0, totalFiles: 0, loadedBytes: 0 };
  const report = () => opts.onProgress?.({ ...progress });
  if (source.files) {
    files.push(...source.files);
    progress.totalFiles = files.length;
    report();
  } else {
    const { models, others } = rootFiles(spec, resolve);
    files.push(...others);
    progress.totalFiles = models.length + others.length;
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
  await source.prune();
  return progress;
}

/** Cache Storage as the verifier (model-files.ts) sees it; sizes go in a header for the status. */
function byteCache(cache: Cache): ByteCache {
  return {
    get: async (key) => {
      const hit = await cache.match(key);
      return hit ? hit.arrayBuffer() : null;
    },
    put: (key, bytes, type) => cache.put(key, new Response(bytes, { headers: { 'content-type': type, [SIZE_HEADER]: String(bytes.byteLength) } })),
    delete: async (key) => {
      await cache.delete(key);
    },
    keys: async () => (await cache.keys()).map((r) => r.url),
  };
}

interface Listed {
  manifest: ModelManifest;
  digest: string;
  /** Where the manifest is (its cached copy is kept under this URL). */
  url: string;
  folderUrl: string;
}

const MANIFEST_TIMEOUT_MS = 5_000;

/**
 * The manifest of an extractor's files, or null for one that has none (the TF Hub download,
 * a model from files loaded before manifests existed). A bundled model's manifest comes from the
 * app's own origin (revalidated each load, so a deploy with new weights is seen at once) with the
 * last one seen, kept in the model cache, as the offline copy. A user-loaded model's manifest was
 * written at import; its digest is pinned in the spec (localStorage), so a damaged one is caught.
 */
async function readManifest(
  spec: ExtractorSpec,
  resolve: (u: string) => string,
  cache: Cache | null,
  opts: { signal?: AbortSignal; preferCache?: boolean } = {},
): Promise<Listed | null> {
  const modelUrl = resolve(spec.modelUrl);
  const url = sibling(modelUrl, MANIFEST_FILE).split('?')[0]!;
  const folderUrl = folderOf(url);
  if (spec.origin === 'user') {
    if (!spec.weightsDigest) return null;
    const hit = await cache?.match(url);
    if (!hit) throw new GlimpseError('model-invalid', `The file list of “${spec.name}” is missing on this device. Remove the model in Settings and load it again from your files.`);
    const manifest = parseManifest(await hit.arrayBuffer(), `of “${spec.name}”`);
    const digest = await manifestDigest(manifest);
    if (digest !== spec.weightsDigest) {
      throw new GlimpseError('model-invalid', `The file list of “${spec.name}” is damaged on this device (it is not the one taken when you loaded the model). Remove the model in Settings and load it again from your files.`);
    }
    return { manifest, digest, url, folderUrl };
  }
  if (spec.origin !== 'bundled') return null;
  let raw: ArrayBuffer | null = null;
  let answer = '';
  if (opts.preferCache) raw = (await (await cache?.match(url))?.arrayBuffer()) ?? null;
  if (!raw && !isOffline()) {
    try {
      const timeout = AbortSignal.timeout(MANIFEST_TIMEOUT_MS);
      const res = await fetch(url, { cache: 'no-cache', credentials: 'omit', signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout });
      if (res.ok) {
        raw = await res.arrayBuffer();
        // Parsed before it replaces the offline copy.
        parseManifest(raw, url);
        await cache?.put(url, new Response(raw.slice(0), { headers: { 'content-type': 'application/json' } })).catch(() => undefined);
      } else answer = `the server answered ${res.status}`;
    } catch (err) {
      if (opts.signal?.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      if (err instanceof GlimpseError) throw err;
      answer = 'the request failed';
    }
  }
  raw ??= (await (await cache?.match(url))?.arrayBuffer()) ?? null;
  if (!raw) {
    if (isOffline()) {
      throw new GlimpseError(
        'model-fetch-failed',
        `You are offline and this model isn't downloaded yet (${spec.name} is not on this device). Connect once to download it, or choose a model marked "Available offline" in Settings.`,
      );
    }
    throw new GlimpseError('model-fetch-failed', `Could not read the file list of ${spec.name} (${url}: ${answer}). Every bundled model needs its manifest.json; in a development checkout, run npm run prepare-models.`);
  }
  const manifest = parseManifest(raw, url);
  return { manifest, digest: await manifestDigest(manifest), url, folderUrl };
}

export interface ModelSource {
  fetchBytes: ByteFetcher;
  /** Null for a model without a manifest (nothing was checked). */
  report: IntegrityReport | null;
  /** Every file URL the manifest lists (null without one). */
  files: string[] | null;
  /** After a successful load: removes this model's cached files that are no longer listed. */
  prune(): Promise<number>;
}

/**
 * How an extractor's bytes are read in the browser: through the verifier when it has a manifest
 * (cache keyed by content, every file hashed), else the plain caching fetcher.
 */
export async function modelSource(
  spec: ExtractorSpec,
  resolve: (u: string) => string,
  opts: { signal?: AbortSignal; onNetwork?: (url: string) => void } = {},
): Promise<ModelSource> {
  const cache = await openCache();
  const listed = await readManifest(spec, resolve, cache, opts.signal ? { signal: opts.signal } : {});
  if (!listed) return { fetchBytes: cachingFetcher(opts), report: null, files: null, prune: () => Promise.resolve(0) };
  const verified = verifiedFiles({
    manifest: listed.manifest,
    digest: listed.digest,
    folderUrl: listed.folderUrl,
    cache: cache ? byteCache(cache) : null,
    network: spec.origin === 'user' ? null : (url, signal, retry) => networkBytes(url, signal, { ...opts, retry }),
    modelName: spec.name,
    keep: [listed.url],
  });
  return { ...verified, files: listed.manifest.files.map((f) => listed.folderUrl + f.path) };
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
