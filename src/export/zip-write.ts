// Writes a zip as a stream of chunks (fflate's Zip), so a complete model of tens of MB is never
// held twice over: each file is pushed in slices, the output chunks go straight to the caller
// (a Blob in the browser, a file in Node), and progress is reported per slice. Weight files are
// stored, not deflated: float32 weights shrink by a few percent for seconds of CPU.
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { GlimpseError } from '../shared/errors';

export interface ZipProgress {
  doneBytes: number;
  totalBytes: number;
}

const SLICE_BYTES = 1 << 20;

function isStored(path: string): boolean {
  return /\.bin$/i.test(path);
}

/** Zips `files` (path -> bytes) into chunks; yields to the event loop between slices. */
export async function zipChunks(
  files: Record<string, Uint8Array>,
  opts: { onProgress?: (p: ZipProgress) => void; signal?: AbortSignal } = {},
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let failure: Error | null = null;
  let finished = false;
  const zip = new Zip((err, data, final) => {
    if (err) failure = err;
    else chunks.push(data);
    if (final) finished = true;
  });
  const totalBytes = Object.values(files).reduce((a, b) => a + b.byteLength, 0);
  let doneBytes = 0;
  for (const [path, bytes] of Object.entries(files)) {
    const entry = isStored(path) ? new ZipPassThrough(path) : new ZipDeflate(path, { level: 6 });
    zip.add(entry);
    if (bytes.byteLength === 0) entry.push(new Uint8Array(0), true);
    for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
      if (opts.signal?.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      const end = Math.min(bytes.byteLength, at + SLICE_BYTES);
      entry.push(bytes.subarray(at, end), end === bytes.byteLength);
      doneBytes += end - at;
      opts.onProgress?.({ doneBytes, totalBytes });
      if (failure) throw failure;
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
  }
  zip.end();
  if (failure) throw failure;
  if (!finished) throw new GlimpseError('internal', 'The zip writer did not finish.');
  return chunks;
}

/** The chunks as one array (Node and tests). */
export function concatChunks(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
