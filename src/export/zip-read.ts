// Streaming unzip of an untrusted archive with a byte budget. Nothing the archive says about
// itself is trusted: sizes in headers may be forged, so every entry's inflated bytes are counted
// as they come out of the decompressor, and reading stops the moment an entry outgrows its cap,
// its own declared size or the archive's total budget. The compressed input is fed in small
// slices (a deflate stream inflates at most ~1032x), so a zip bomb never gets to allocate more
// than a few MiB past the budget before it is stopped.
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { GlimpseError } from '../shared/errors';
import { formatBytes, type ZipLimits } from './limits';

export interface ZipEntry {
  path: string;
  bytes: Uint8Array;
}

/** What to do with an entry, decided from its (already checked) path before it is inflated. */
export type EntryDecision = 'keep' | 'skip';

export interface ReadZipOptions {
  /** Called for each file entry; 'skip' leaves it compressed and uncounted (e.g. __MACOSX/). */
  decide?: (path: string) => EntryDecision;
  /** Name used in messages ("project.zip"). */
  label?: string;
  signal?: AbortSignal;
}

/** Compressed bytes handed to the decompressor at a time: bounds one burst of inflated output. */
const PUSH_BYTES = 16 * 1024;
const MAX_PATH_CHARS = 512;
const NESTED_ARCHIVE_EXT = /\.(zip|jar|apk|gz|tgz|tar|bz2|xz|zst|7z|rar|cab|iso)$/i;

export function archiveError(message: string): GlimpseError {
  return new GlimpseError('invalid-input', message);
}

/**
 * Checks an entry name and returns it normalised ('/' separators, no './' segments), or throws.
 * Returns null for directory entries.
 */
export function checkEntryPath(raw: string): string | null {
  if (raw.length === 0) throw archiveError('The archive has an entry without a name.');
  if (raw.length > MAX_PATH_CHARS) throw archiveError(`An entry name is too long (${raw.length} characters).`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw archiveError(`The entry “${printable(raw)}” has control characters in its name.`);
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) {
    throw archiveError(`The entry “${printable(raw)}” has an absolute path; archives may only hold relative paths.`);
  }
  const parts = name.split('/');
  if (parts.some((p) => p === '..')) {
    throw archiveError(`The entry “${printable(raw)}” points outside the archive (“../”); it was refused.`);
  }
  const isDir = name.endsWith('/');
  const clean = parts.filter((p) => p !== '' && p !== '.');
  if (clean.length === 0) return null;
  return isDir ? null : clean.join('/');
}

/** An entry name safe to put in a message: short, no control characters. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return t.length > 80 ? `${t.slice(0, 77)}…` : t;
}

/** Magic numbers of archive formats, to catch a nested archive whatever it is called. */
function looksLikeArchive(head: Uint8Array): boolean {
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0x50 && b(1) === 0x4b && (b(2) === 3 || b(2) === 5 || b(2) === 7)) return true; // zip
  if (b(0) === 0x1f && b(1) === 0x8b) return true; // gzip
  if (b(0) === 0x37 && b(1) === 0x7a && b(2) === 0xbc && b(3) === 0xaf) return true; // 7z
  if (b(0) === 0x52 && b(1) === 0x61 && b(2) === 0x72 && b(3) === 0x21) return true; // rar
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return true; // bzip2
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58) return true; // xz
  return false;
}

function sizeOf(source: Blob | Uint8Array): number {
  return source instanceof Uint8Array ? source.byteLength : source.size;
}

async function sliceOf(source: Blob | Uint8Array, start: number, end: number): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source.subarray(start, end);
  return new Uint8Array(await source.slice(start, end).arrayBuffer());
}

/**
 * A complete zip ends with an end-of-central-directory record (within the last 64 KiB + 22
 * bytes): a truncated download or a file that is not a zip has none.
 */
async function checkComplete(source: Blob | Uint8Array, label: string): Promise<void> {
  const size = sizeOf(source);
  if (size < 22) throw archiveError(`${label} is not a zip archive (it is only ${size} bytes).`);
  const start = Math.max(0, size - 22 - 65535);
  const tail = await sliceOf(source, start, size);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) return;
  }
  const head = await sliceOf(source, 0, Math.min(size, 4));
  const isZip = head[0] === 0x50 && head[1] === 0x4b;
  throw archiveError(
    isZip
      ? `${label} is truncated: the end of the zip archive is missing. Download or copy it again.`
      : `${label} is not a zip archive.`,
  );
}

interface Pending {
  path: string;
  chunks: Uint8Array[];
  bytes: number;
  declared: number | undefined;
  done: boolean;
}

/**
 * Reads the archive's file entries into memory, within `limits`. Throws a GlimpseError
 * ('invalid-input') that says what was wrong: a bad path, a nested archive, too many entries, an
 * entry larger than allowed or than its header claims, a truncated or damaged archive.
 */
export async function readZip(source: Blob | Uint8Array, limits: ZipLimits, opts: ReadZipOptions = {}): Promise<ZipEntry[]> {
  const label = opts.label ?? 'The archive';
  await checkComplete(source, label);
  let failure: GlimpseError | null = null;
  let entries = 0;
  let total = 0;
  const seen = new Set<string>();
  const pending: Pending[] = [];
  const fail = (e: GlimpseError, file?: UnzipFile) => {
    failure ??= e;
    try {
      file?.terminate();
    } catch {
      // already finished
    }
  };

  const unzip = new Unzip((file) => {
    if (failure) return;
    let path: string | null;
    try {
      path = checkEntryPath(file.name);
    } catch (err) {
      fail(err as GlimpseError);
      return;
    }
    if (path === null) return;
    if (NESTED_ARCHIVE_EXT.test(path)) {
      fail(archiveError(`${label} contains another archive (“${printable(path)}”). Nested archives are not accepted: unpack it first.`));
      return;
    }
    if ((opts.decide?.(path) ?? 'keep') === 'skip') return;
    if (seen.has(path)) {
      fail(archiveError(`${label} has two entries named “${printable(path)}”.`));
      return;
    }
    seen.add(path);
    entries++;
    if (entries > limits.maxEntries) {
      fail(archiveError(`${label} has more than ${limits.maxEntries.toLocaleString('en')} files, more than Glimpse accepts.`));
      return;
    }
    const cap = limits.maxEntryBytes(path);
    const declared = file.originalSize;
    if (declared !== undefined && declared > cap) {
      fail(archiveError(`“${printable(path)}” claims ${formatBytes(declared)}, more than the ${formatBytes(cap)} allowed for it; the archive was refused unread.`));
      return;
    }
    if (file.compression !== 0 && file.compression !== 8) {
      fail(archiveError(`“${printable(path)}” uses a compression method (${file.compression}) that Glimpse cannot read.`));
      return;
    }
    const entry: Pending = { path, chunks: [], bytes: 0, declared, done: false };
    pending.push(entry);
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) {
        const truncated = /unexpected EOF/i.test(err.message);
        fail(archiveError(truncated ? `${label} is truncated: “${printable(path)}” ends early.` : `“${printable(path)}” is damaged and cannot be unpacked (${err.message}).`), file);
        return;
      }
      if (entry.bytes === 0 && chunk.length > 0 && looksLikeArchive(chunk)) {
        fail(archiveError(`${label} contains another archive (“${printable(path)}”). Nested archives are not accepted: unpack it first.`), file);
        return;
      }
      entry.bytes += chunk.length;
      total += chunk.length;
      if (entry.declared !== undefined && entry.bytes > entry.declared) {
        fail(archiveError(`“${printable(path)}” unpacks to more than the ${formatBytes(entry.declared)} its header declares: the archive's sizes are forged (a zip bomb?). It was refused.`), file);
      } else if (entry.bytes > cap) {
        fail(archiveError(`“${printable(path)}” unpacks to more than the ${formatBytes(cap)} allowed for it (a zip bomb?). It was refused.`), file);
      } else if (total > limits.maxTotalBytes) {
        fail(archiveError(`${label} unpacks to more than ${formatBytes(limits.maxTotalBytes)} (a zip bomb?). It was refused.`), file);
      } else {
        if (chunk.length > 0) entry.chunks.push(chunk);
        if (final) entry.done = true;
      }
    };
    try {
      file.start();
    } catch (err) {
      fail(archiveError(`“${printable(path)}” cannot be unpacked (${err instanceof Error ? err.message : String(err)}).`));
    }
  });
  unzip.register(UnzipInflate);

  const size = sizeOf(source);
  // Blobs are read a MiB at a time; each MiB is pushed in small slices (see PUSH_BYTES).
  const READ_BYTES = 1024 * 1024;
  try {
    for (let offset = 0; offset < size && !failure; offset += READ_BYTES) {
      if (opts.signal?.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      const block = await sliceOf(source, offset, Math.min(size, offset + READ_BYTES));
      for (let i = 0; i < block.length && !failure; i += PUSH_BYTES) {
        const last = offset + i + PUSH_BYTES >= size;
        unzip.push(block.subarray(i, i + PUSH_BYTES), last);
      }
    }
  } catch (err) {
    if (err instanceof GlimpseError) throw err;
    failure ??= archiveError(`${label} is damaged and cannot be unpacked (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (failure) throw failure;
  const broken = pending.find((p) => !p.done);
  if (broken) throw archiveError(`${label} is truncated or damaged: “${printable(broken.path)}” is incomplete.`);
  for (const p of pending) {
    if (p.declared !== undefined && p.bytes !== p.declared) {
      throw archiveError(`“${printable(p.path)}” unpacks to ${p.bytes} bytes but its header declares ${p.declared}: the archive is damaged or forged.`);
    }
  }
  return pending.map((p) => ({ path: p.path, bytes: concat(p.chunks, p.bytes) }));
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
