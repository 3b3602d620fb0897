// Limits for untrusted archives (project archives, dataset zips, model bundles). Every number here
// bounds memory or work before the thing it limits is read: a zip's entries are counted and their
// inflated bytes measured while they stream (headers can lie), JSON is size-checked before parsing.

export const MiB = 1024 * 1024;

export interface ZipLimits {
  /** Most file entries an archive may hold (directories not counted). */
  maxEntries: number;
  /** Most bytes all kept entries may inflate to, together (real bytes, not header claims). */
  maxTotalBytes: number;
  /** Most bytes one entry may inflate to; by path, so JSON gets a far smaller cap than images. */
  maxEntryBytes: (path: string) => number;
}

/** The original image of a sample: the importer refuses larger files too (state/importer.ts). */
export const MAX_IMAGE_BYTES = 64 * MiB;
/** project.json: ~400 bytes a sample, so 16 MiB holds well over 20,000 samples. */
export const MAX_PROJECT_JSON_BYTES = 16 * MiB;
export const MAX_MANIFEST_BYTES = 8 * MiB;
/** head.json (settings, history, metrics; weights are binary). */
export const MAX_HEAD_JSON_BYTES = 4 * MiB;
/** embeddings.bin: 50,000 samples x 2048 floats x 4 bytes. */
export const MAX_EMBEDDINGS_BYTES = 400 * MiB;
/** head weights: an mlp 65536 x 1024 + 1024 x 1000 floats is far beyond any head we train. */
export const MAX_HEAD_WEIGHTS_BYTES = 256 * MiB;
export const MAX_SAMPLES = 50_000;
export const MAX_CLASSES = 1_000;

/** Project archives: everything a project holds must fit in memory while it is checked. */
export const PROJECT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 2 * MAX_SAMPLES + 16,
  maxTotalBytes: 1536 * MiB,
  maxEntryBytes: (path) => {
    if (path === 'manifest.json') return MAX_MANIFEST_BYTES;
    if (path === 'project.json') return MAX_PROJECT_JSON_BYTES;
    if (path === 'head/head.json') return MAX_HEAD_JSON_BYTES;
    if (path === 'head/weights.bin') return MAX_HEAD_WEIGHTS_BYTES;
    if (path === 'embeddings.bin') return MAX_EMBEDDINGS_BYTES;
    if (path.endsWith('.json')) return MAX_HEAD_JSON_BYTES;
    return MAX_IMAGE_BYTES;
  },
};

/** Dataset zips (one folder per class): images only. */
export const DATASET_ZIP_LIMITS: ZipLimits = {
  maxEntries: MAX_SAMPLES,
  maxTotalBytes: 1536 * MiB,
  maxEntryBytes: () => MAX_IMAGE_BYTES,
};

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
