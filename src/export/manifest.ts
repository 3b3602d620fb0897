// The manifest of a Glimpse archive: format, version, and the size and SHA-256 of every other
// entry. Reading an archive checks that the manifest lists exactly the entries present, with
// matching sizes and hashes, before any entry is parsed. Also: JSON parsing with a size cap.
import { sha256Hex } from '../dataset/hash';
import { archiveError, type ZipEntry } from './zip-read';
import { formatBytes } from './limits';

export const MANIFEST_PATH = 'manifest.json';

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: string;
  formatVersion: number;
  createdAt: string;
  app: { name: string; version: string };
  entries: ManifestEntry[];
}

export async function buildManifest(format: string, formatVersion: number, appVersion: string, files: Record<string, Uint8Array>): Promise<Manifest> {
  const entries: ManifestEntry[] = [];
  for (const [path, bytes] of Object.entries(files)) entries.push({ path, size: bytes.byteLength, sha256: await sha256Hex(bytes) });
  return { format, formatVersion, createdAt: new Date().toISOString(), app: { name: 'Glimpse', version: appVersion }, entries };
}

/** Parses JSON that is at most maxBytes long (checked before decoding). */
export function parseJsonCapped(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.byteLength > maxBytes) throw archiveError(`${what} is ${formatBytes(bytes.byteLength)}, more than the ${formatBytes(maxBytes)} allowed.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw archiveError(`${what} is not valid UTF-8 text.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw archiveError(`${what} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks the manifest's shape, its format and version, and that it lists exactly the archive's
 * other entries with their real sizes and SHA-256. Returns the entries by path.
 */
export async function verifyManifest(
  entries: ZipEntry[],
  expect: { format: string; maxVersion: number; maxBytes: number; label: string },
): Promise<Map<string, Uint8Array>> {
  const byPath = new Map(entries.map((e) => [e.path, e.bytes]));
  const raw = byPath.get(MANIFEST_PATH);
  if (!raw) throw archiveError(`${expect.label} has no ${MANIFEST_PATH}: it is not a Glimpse archive.`);
  const m = parseJsonCapped(raw, expect.maxBytes, MANIFEST_PATH) as Partial<Manifest> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw archiveError(`${MANIFEST_PATH} is not an object.`);
  if (m.format !== expect.format) throw archiveError(`${expect.label} is not a ${expect.format} archive (its manifest says “${String(m.format).slice(0, 40)}”).`);
  if (typeof m.formatVersion !== 'number' || !Number.isInteger(m.formatVersion) || m.formatVersion < 1) throw archiveError(`${MANIFEST_PATH} has no valid format version.`);
  if (m.formatVersion > expect.maxVersion) {
    throw archiveError(`${expect.label} was made by a newer Glimpse (format ${m.formatVersion}; this version reads up to ${expect.maxVersion}). Update Glimpse to open it.`);
  }
  if (!Array.isArray(m.entries)) throw archiveError(`${MANIFEST_PATH} has no list of entries.`);
  const listed = new Set<string>();
  for (const e of m.entries as unknown[]) {
    const entry = e as Partial<ManifestEntry> | null;
    if (typeof entry !== 'object' || entry === null || typeof entry.path !== 'string' || typeof entry.size !== 'number' || typeof entry.sha256 !== 'string' || !HEX64.test(entry.sha256)) {
      throw archiveError(`${MANIFEST_PATH} has a malformed entry.`);
    }
    if (listed.has(entry.path)) throw archiveError(`${MANIFEST_PATH} lists “${entry.path.slice(0, 80)}” twice.`);
    listed.add(entry.path);
    const bytes = byPath.get(entry.path);
    if (!bytes) throw archiveError(`${expect.label} is missing “${entry.path.slice(0, 80)}”, which its manifest lists.`);
    if (bytes.byteLength !== entry.size) throw archiveError(`“${entry.path.slice(0, 80)}” is ${bytes.byteLength} bytes but the manifest says ${entry.size}: the archive was changed or damaged.`);
    if ((await sha256Hex(bytes)) !== entry.sha256) throw archiveError(`“${entry.path.slice(0, 80)}” does not match its SHA-256 in the manifest: the archive was changed or damaged.`);
  }
  for (const path of byPath.keys()) {
    if (path !== MANIFEST_PATH && !listed.has(path)) throw archiveError(`${expect.label} has a file its manifest does not list (“${path.slice(0, 80)}”).`);
  }
  return byPath;
}
