// Integrity of model files (issue 21): every bundled model has a manifest (manifest.json beside
// its model.json) with the size and SHA-256 of each file it needs; a model the user loads from
// files gets one at import. The model cache is keyed by content (the file's URL plus its SHA-256),
// and every file is hashed when it is read, from the cache or the network, before TF.js sees it:
//   - a bundled file whose cached bytes do not match is dropped and fetched again (then checked);
//   - a user-loaded file that does not match is named in the error (it cannot be fetched again);
//   - new weights shipped at the same URL have new hashes, so they are new cache keys: the old
//     bytes are never served for them, and are removed once the new ones have loaded.
// The manifest's digest (SHA-256 of its sha256sum-style listing) names the weights; specs pin the
// digest they were published with, and other weights get their own extractor key (specs.ts).
// Pure: the cache and the network are passed in, so unit tests run it against Maps.
import { sha256Hex } from '../dataset/hash';
import { GlimpseError } from '../shared/errors';
import type { ByteFetcher } from './loader';

export const MANIFEST_FILE = 'manifest.json';
const MAX_MANIFEST_BYTES = 256 * 1024;
const MAX_FILES = 512;

export interface ManifestFile {
  /** File name beside model.json (no folders). */
  path: string;
  bytes: number;
  sha256: string;
}

export interface ModelManifest {
  files: ManifestFile[];
}

function bad(where: string, why: string): never {
  throw new GlimpseError('model-invalid', `The model manifest ${where} is not valid: ${why}.`);
}

/** Validates a manifest (from the app's server or the model cache). */
export function parseManifest(raw: ArrayBuffer | Uint8Array | string, where: string): ModelManifest {
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
  if (text.length > MAX_MANIFEST_BYTES) bad(where, 'it is larger than 256 KB');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    bad(where, 'it is not JSON');
  }
  const files = (json as { files?: unknown } | null)?.files;
  if (!Array.isArray(files) || files.length === 0 || files.length > MAX_FILES) bad(where, '"files" must list 1 to 512 files');
  const seen = new Set<string>();
  const out: ManifestFile[] = files.map((f: unknown, i) => {
    const o = (f ?? {}) as Record<string, unknown>;
    const path = o.path;
    if (typeof path !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(path)) bad(where, `file ${i + 1} has no plain file name`);
    if (seen.has(path)) bad(where, `${path} is listed twice`);
    seen.add(path);
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) bad(where, `${path} has no SHA-256`);
    if (typeof o.bytes !== 'number' || !Number.isSafeInteger(o.bytes) || o.bytes < 0) bad(where, `${path} has no byte count`);
    return { path, bytes: o.bytes, sha256: o.sha256 };
  });
  return { files: out };
}

function sorted(m: ModelManifest): ManifestFile[] {
  return [...m.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The manifest as written to disk and to the cache (files sorted by name, one per line). */
export function manifestText(m: ModelManifest): string {
  const lines = sorted(m).map((f) => `    ${JSON.stringify({ path: f.path, bytes: f.bytes, sha256: f.sha256 })}`);
  return `{\n  "files": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/**
 * The weights' identity: SHA-256 of the listing `sha256sum` prints for the files, sorted by name
 * (`LC_ALL=C sha256sum * | sort -k2 | sha256sum` in the model's folder, manifest.json left out).
 */
export function manifestDigest(m: ModelManifest): Promise<string> {
  const listing = sorted(m)
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return sha256Hex(new TextEncoder().encode(listing));
}

/** A manifest for files in hand (a model the user picked). */
export async function manifestOf(files: readonly { path: string; bytes: ArrayBuffer }[]): Promise<ModelManifest> {
  return { files: await Promise.all(files.map(async (f) => ({ path: f.path, bytes: f.bytes.byteLength, sha256: await sha256Hex(new Uint8Array(f.bytes)) }))) };
}

/** The model cache's key for a file: its URL and the SHA-256 its bytes must have. */
export function contentKey(url: string, sha256: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}sha256=${sha256}`;
}

/** Folder URL of a file URL (what its siblings start with). */
export function folderOf(url: string): string {
  const q = url.indexOf('?');
  const base = q >= 0 ? url.slice(0, q) : url;
  return base.slice(0, base.lastIndexOf('/') + 1);
}

/** The model cache as the verifier sees it (Cache Storage in the browser, a Map in tests). */
export interface ByteCache {
  get(key: string): Promise<ArrayBuffer | null>;
  put(key: string, bytes: ArrayBuffer, type: string): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** What a load found: for the UI ("a damaged file was replaced") and the tests. */
export interface IntegrityReport {
  /** The manifest's digest (hex). */
  digest: string;
  verifiedFiles: number;
  verifiedBytes: number;
  /** Wall-clock time during which at least one file was being hashed (files hash concurrently). */
  hashMs: number;
  /** Files whose cached bytes did not match and were fetched again. */
  repaired: string[];
  /** Files that came from the network this time. */
  fetched: string[];
}

export interface VerifiedFiles {
  fetchBytes: ByteFetcher;
  report: IntegrityReport;
  /** After a successful load: removes cached files of this folder that the manifest no longer lists. */
  prune(): Promise<number>;
}

export interface VerifyOptions {
  manifest: ModelManifest;
  digest: string;
  /** Absolute URL of the folder the manifest describes (ends with "/"). */
  folderUrl: string;
  cache: ByteCache | null;
  /**
   * Fetches a file from where it is published; `retry` asks to bypass every HTTP cache. Null for a
   * model the user loaded from files: its bytes exist only in the model cache.
   */
  network: ((url: string, signal: AbortSignal | undefined, retry: boolean) => Promise<ArrayBuffer>) | null;
  /** For messages: the model's name. */
  modelName: string;
  /** Keys never pruned (the cached copy of the manifest itself). */
  keep?: readonly string[];
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A byte fetcher that serves only the manifest's files, each checked against its SHA-256. */
export function verifiedFiles(opts: VerifyOptions): VerifiedFiles {
  const byUrl = new Map(opts.manifest.files.map((f) => [opts.folderUrl + f.path, f]));
  const report: IntegrityReport = { digest: opts.digest, verifiedFiles: 0, verifiedBytes: 0, hashMs: 0, repaired: [], fetched: [] };
  let hashing = 0;
  let since = 0;
  const matches = async (bytes: ArrayBuffer, f: ManifestFile): Promise<{ ok: boolean; got: string }> => {
    if (bytes.byteLength !== f.bytes) return { ok: false, got: `${bytes.byteLength} bytes` };
    if (hashing++ === 0) since = now();
    let got: string;
    try {
      got = await sha256Hex(new Uint8Array(bytes));
    } finally {
      if (--hashing === 0) report.hashMs += now() - since;
    }
    return { ok: got === f.sha256, got: `SHA-256 ${got.slice(0, 12)}…` };
  };
  const accept = (bytes: ArrayBuffer) => {
    report.verifiedFiles++;
    report.verifiedBytes += bytes.byteLength;
    return bytes;
  };
  const fetchBytes: ByteFetcher = async (rawUrl, signal) => {
    const url = rawUrl.split('?')[0]!;
    const f = byUrl.get(url);
    if (!f) throw new GlimpseError('model-invalid', `${url.slice(url.lastIndexOf('/') + 1)} is not listed in the manifest of ${opts.modelName}, so it cannot be checked and is not loaded.`);
    const key = contentKey(url, f.sha256);
    const cached = await opts.cache?.get(key).catch(() => null);
    if (cached) {
      const check = await matches(cached, f);
      if (check.ok) return accept(cached);
      await opts.cache?.delete(key).catch(() => undefined);
      if (!opts.network) {
        throw new GlimpseError(
          'model-invalid',
          `The file ${f.path} of “${opts.modelName}” is damaged on this device (${check.got}, expected ${f.bytes} bytes with SHA-256 ${f.sha256.slice(0, 12)}…, as when you loaded it). Remove the model in Settings and load it again from your files.`,
        );
      }
      report.repaired.push(f.path);
    } else if (!opts.network) {
      throw new GlimpseError('model-invalid', `The file ${f.path} of “${opts.modelName}” is missing on this device. Remove the model in Settings and load it again from your files.`);
    }
    let bytes = await opts.network!(url, signal, false);
    let check = await matches(bytes, f);
    if (!check.ok) {
      // A stale HTTP cache or a proxy may have answered: once more, straight from the server.
      bytes = await opts.network!(url, signal, true);
      check = await matches(bytes, f);
    }
    if (!check.ok) {
      throw new GlimpseError(
        'model-invalid',
        `The server sent ${f.path} of “${opts.modelName}” with other contents than this version of Glimpse lists (${check.got}, expected ${f.bytes} bytes with SHA-256 ${f.sha256.slice(0, 12)}…). The model was not loaded; reload the page, and if it persists the app's files on the server are incomplete.`,
      );
    }
    report.fetched.push(f.path);
    // Only verified bytes are cached; a failed put (quota) must not fail the load.
    await opts.cache?.put(key, bytes.slice(0), contentType(f.path)).catch(() => undefined);
    return accept(bytes);
  };
  const prune = async (): Promise<number> => {
    if (!opts.cache) return 0;
    const wanted = new Set([...opts.manifest.files.map((f) => contentKey(opts.folderUrl + f.path, f.sha256)), ...(opts.keep ?? [])]);
    const stale = (await opts.cache.keys()).filter((k) => k.startsWith(opts.folderUrl) && !wanted.has(k));
    await Promise.all(stale.map((k) => opts.cache!.delete(k)));
    return stale.length;
  };
  return { fetchBytes, report, prune };
}

function contentType(path: string): string {
  return path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}
