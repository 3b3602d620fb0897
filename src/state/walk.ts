// Files out of a drop or a folder pick, each with the folders it sat in. Dropped folders are walked
// with DataTransferItem.webkitGetAsEntry(); <input webkitdirectory> picks (and drops whose Files
// carry a webkitRelativePath) give the path directly. Nothing is read here: Files are handles,
// their bytes stay on disk until the import queue reads a few at a time.
// A drop of thousands of files is sorted in slices (state/yield.ts): only reading the drop's items,
// which is possible only during the event, runs in one go.
// (Lives in state/ rather than capture/ because tsconfig.worker.json type-checks capture/ without the
// DOM library, and DataTransfer / FileSystemEntry are DOM-only.)

import { forEachSliced, SLICE_MS, yieldToMain } from './yield';

export interface PickedFile {
  file: File;
  /** Folder names from the dropped/picked root down to the file ([] for a loose file). */
  dirs: string[];
}

export interface Picked {
  files: PickedFile[];
  /** Files inside folders that were left out because they are not images (or are hidden). */
  skipped: number;
}

/** The most files one drop may bring in: a guard against dropping a whole disk by mistake. */
export const MAX_PICKED_FILES = 50_000;

const IMAGE_EXT = /\.(jpe?g|jfif|png|gif|webp|bmp|avif|tiff?)$/i;

/** Whether a file found inside a folder should be imported (loose files are always tried). */
export function looksLikeImage(file: File): boolean {
  if (file.name.startsWith('.')) return false;
  return file.type.startsWith('image/') || IMAGE_EXT.test(file.name);
}

function dirsOf(file: File): string[] {
  const rel = file.webkitRelativePath;
  if (!rel || !rel.includes('/')) return [];
  return rel
    .split('/')
    .slice(0, -1)
    .filter((p) => p.length > 0);
}

/** For <input webkitdirectory> picks and plain file lists (sorted in slices). */
export async function pickedFromFiles(list: Iterable<File>): Promise<Picked> {
  const out: Picked = { files: [], skipped: 0 };
  await forEachSliced(list, (file) => {
    const dirs = dirsOf(file);
    if (dirs.length > 0 && !looksLikeImage(file)) out.skipped++;
    else if (out.files.length < MAX_PICKED_FILES) out.files.push({ file, dirs });
    else out.skipped++;
  });
  return out;
}

function readBatch(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function isDir(e: FileSystemEntry): e is FileSystemDirectoryEntry {
  return e.isDirectory;
}

function isFile(e: FileSystemEntry): e is FileSystemFileEntry {
  return e.isFile;
}

async function walk(dir: FileSystemDirectoryEntry, dirs: string[], out: Picked): Promise<void> {
  let sliceStart = performance.now();
  const reader = dir.createReader();
  // readEntries hands out at most ~100 entries per call: read until it returns none.
  for (;;) {
    const batch = await readBatch(reader);
    if (batch.length === 0) return;
    for (const entry of batch) {
      if (out.files.length >= MAX_PICKED_FILES) {
        out.skipped++;
      } else if (isDir(entry)) {
        if (!entry.name.startsWith('.')) await walk(entry, [...dirs, entry.name], out);
      } else if (isFile(entry)) {
        const file = await entryFile(entry);
        if (looksLikeImage(file)) out.files.push({ file, dirs });
        else out.skipped++;
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToMain();
        sliceStart = performance.now();
      }
    }
  }
}

/**
 * Everything a drop brought: call it synchronously inside the drop handler (the items are only
 * readable during the event); the returned promise may settle later.
 */
export function pickedFromDataTransfer(dt: DataTransfer): Promise<Picked> {
  const dirs: FileSystemDirectoryEntry[] = [];
  const loose: File[] = [];
  const items = Array.from(dt.items ?? []).filter((i) => i.kind === 'file');
  if (items.length === 0) return pickedFromFiles(Array.from(dt.files ?? []));
  items.forEach((item, i) => {
    // Folders have no MIME type: only those items need an entry (one per item costs time when
    // thousands of loose photos are dropped, and all of this must run inside the event).
    const typed = item.type !== '';
    const entry =
      !typed && typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry && isDir(entry)) {
      dirs.push(entry);
      return;
    }
    const file = item.getAsFile() ?? dt.files[i];
    if (file) loose.push(file);
  });
  return (async () => {
    const out = await pickedFromFiles(loose);
    for (const d of dirs) await walk(d, [d.name], out);
    return out;
  })();
}
