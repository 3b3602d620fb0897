// Stable string hashes. The train/validation split hashes each sample id, so a sample's side must
// come out the same on every run, browser and platform: both hashes work on the UTF-8 bytes of the
// text with 32-bit integer arithmetic only. sha256Hex hashes file contents (duplicates, manifests).
import { GlimpseError } from '../shared/errors';

const encoder = new TextEncoder();

/** FNV-1a (32-bit) of the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * MurmurHash3 (x86, 32-bit) of the UTF-8 bytes of `text`, unsigned. Unlike FNV-1a its finaliser
 * spreads every input bit over the whole output, so ids that differ only in their last character
 * ("img-1", "img-2") still land far apart in [0, 1).
 */
export function murmur3_32(text: string, seed = 0): number {
  const bytes = encoder.encode(text);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A deterministic, well-mixed number in [0, 1) for `text`. */
export function stableUnitHash(text: string): number {
  return murmur3_32(text) / 4294967296;
}

/**
 * Hex SHA-256 of the bytes (WebCrypto). The import's duplicate check and the archive manifest
 * both hash with this, so a file's hash is the same wherever it was taken. Rejects where WebCrypto
 * is missing (an insecure context); callers decide what a missing hash means.
 */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  if (typeof crypto === 'undefined' || !crypto.subtle) throw new GlimpseError('internal', 'SHA-256 needs WebCrypto, which this page does not have (not a secure context).');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
