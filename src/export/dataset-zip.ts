// Dataset zips: one sub-folder per class (the usual layout of image datasets), read as untrusted
// input within DATASET_ZIP_LIMITS. Non-images, hidden files and __MACOSX/ are skipped unread;
// nested archives and unsafe paths refuse the whole zip. What comes out is a list of files with
// the folders they sat in, ready for the import queue (which embeds them and reports per file).
import { DATASET_ZIP_LIMITS, type ZipLimits } from './limits';
import { archiveError, readZip } from './zip-read';

export interface DatasetFile {
  /** Folders from the zip's root down to the file (a single common top folder is removed). */
  dirs: string[];
  name: string;
  bytes: Uint8Array;
  type: string;
}

export interface DatasetZip {
  files: DatasetFile[];
  /** Entries left out: not images, hidden files, macOS metadata. */
  skipped: number;
}

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', jfif: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', bmp: 'image/bmp', avif: 'image/avif' };

function typeOf(name: string): string | null {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return ext ? (TYPES[ext] ?? null) : null;
}

export async function readDatasetZip(source: Blob | Uint8Array, label = 'The dataset zip', limits: ZipLimits = DATASET_ZIP_LIMITS): Promise<DatasetZip> {
  let skipped = 0;
  const entries = await readZip(source, limits, {
    label,
    decide: (path) => {
      const parts = path.split('/');
      const hidden = parts.some((p) => p.startsWith('.') || p === '__MACOSX' || p === 'Thumbs.db');
      if (hidden || !typeOf(parts[parts.length - 1]!)) {
        skipped++;
        return 'skip';
      }
      return 'keep';
    },
  });
  if (entries.length === 0) throw archiveError(`${label} has no images (JPEG, PNG, GIF, WebP or BMP) in it.`);
  const split = entries.map((e) => e.path.split('/'));
  // "flowers/daisy/1.jpg" and "daisy/1.jpg" mean the same: drop one top folder every file shares.
  const first = split[0]![0];
  const common = split.every((p) => p.length > 2 && p[0] === first);
  const files = entries.map((e, i) => {
    const parts = split[i]!;
    const name = parts[parts.length - 1]!;
    return { dirs: parts.slice(common ? 1 : 0, -1), name, bytes: e.bytes, type: typeOf(name)! };
  });
  return { files, skipped };
}
