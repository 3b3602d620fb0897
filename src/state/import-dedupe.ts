// De-duplication of the import queue by content: each file's SHA-256 (WebCrypto, off the main
// thread) is checked against the hashes saved in its class (index keys only, never rows) and
// against the files of this run already on their way. Dropping the same folder again after a
// cancel, a crash or a full disk therefore skips what is saved and imports the rest.
import { sha256Hex } from '../dataset/hash';
import { repo } from './repo';
import type { SampleSource } from './repo';

export interface Hashed {
  classId: string;
  source: SampleSource;
  /** Hex SHA-256 of the file (null where WebCrypto is unavailable). */
  sha256?: string | null;
}

/** `${classId} ${sha256}` of files of this run that are saved or on their way (not failed). */
const claimed = new Set<string>();

/** Hex SHA-256 of the bytes, or null where WebCrypto is missing (insecure context): no duplicate check then. */
export async function contentHash(bytes: ArrayBuffer): Promise<string | null> {
  if (typeof crypto === 'undefined' || !crypto.subtle) return null;
  return sha256Hex(bytes);
}

/** Frees a file's claim (it failed), so the same content may be tried again. */
export function release(job: Hashed): void {
  if (job.sha256) claimed.delete(`${job.classId} ${job.sha256}`);
}

/** Forgets every claim (the run is over). */
export function releaseAll(): void {
  claimed.clear();
}

/**
 * Drops the files whose content is already saved in their class or claimed by an earlier file of
 * this run (counted through `onDuplicate`), and claims the rest. Files without a hash always pass,
 * and so do webcam frames and pastes: those are deliberate captures (a still scene gives identical
 * frames), while de-duplication exists to make re-dropping a folder resume an import.
 */
export async function withoutDuplicates<T extends { job: Hashed }>(
  read: T[],
  onDuplicate: (n: number) => void,
): Promise<T[]> {
  const byClass = new Map<string, string[]>();
  for (const { job } of read) {
    if (!job.sha256) continue;
    const list = byClass.get(job.classId) ?? [];
    list.push(job.sha256);
    byClass.set(job.classId, list);
  }
  const saved = new Set<string>();
  for (const [classId, hashes] of byClass) {
    for (const h of await repo().samples.savedHashes(classId, hashes)) saved.add(`${classId} ${h}`);
  }
  const keep: T[] = [];
  let duplicates = 0;
  for (const entry of read) {
    const { job } = entry;
    const captured = job.source === 'webcam' || job.source === 'paste';
    const key = job.sha256 && !captured ? `${job.classId} ${job.sha256}` : null;
    if (key !== null && (saved.has(key) || claimed.has(key))) {
      duplicates++;
      continue;
    }
    if (key !== null) claimed.add(key);
    keep.push(entry);
  }
  if (duplicates > 0) onDuplicate(duplicates);
  return keep;
}
