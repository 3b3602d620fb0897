// Entry points of the import: files (dropped, picked, pasted, or webcam frames) and dropped or
// picked folders (sub-folders become classes) become jobs of the import queue. The queue itself
// (bounded reads, the worker, cancel) is import-queue.ts; de-duplication by SHA-256, which makes
// dropping the same folder again resume an import, is import-dedupe.ts; batched saving is
// import-saver.ts; the counts the UI shows are import-state.ts. Thousands of dropped files are
// turned into jobs in slices, so a big drop never blocks the page.
import { GlimpseError } from '../shared/errors';
import { enqueue, type Job } from './import-queue';
import { repo, type SampleSource } from './repo';
import { withProjectLock } from './tab-locks';
import { useSession } from './session';
import { pickedFromDataTransfer, pickedFromFiles, type Picked, type PickedFile } from './walk';
import { forEachSliced } from './yield';

export { CHUNK, MAX_FILE_BYTES, cancelImport, clearImportSummary } from './import-queue';
export { MAX_LISTED_ERRORS, useImport, type ImportError, type ImportState } from './import-state';

// ---- entry points ------------------------------------------------------------------------------

function requireProject(): string {
  const id = useSession.getState().currentProjectId;
  if (!id) throw new GlimpseError('invalid-input', 'Open or create a project first.');
  return id;
}

/** Queues files for one class. */
export function importFiles(
  classId: string,
  files: Iterable<File>,
  source: SampleSource = 'file',
): void {
  const projectId = requireProject();
  const jobs: Job[] = [];
  // Small lists (a paste, a few picked photos) are queued at once; big ones in slices.
  const list = Array.isArray(files) ? (files as File[]) : [...files];
  const add = (file: File) =>
    jobs.push({ projectId, classId, file, source, name: file.name || `${source} image` });
  if (list.length <= 64) {
    list.forEach(add);
    enqueue(jobs);
  } else void forEachSliced(list, add).then(() => enqueue(jobs));
}

/** Same as importFiles for one captured frame or pasted image, with a readable name. */
export function importCaptured(
  classId: string,
  file: File,
  source: 'webcam' | 'paste',
  n?: number,
): void {
  const projectId = requireProject();
  const time = new Date().toLocaleTimeString();
  const name = `${source} ${time}${n === undefined ? '' : ` #${n}`}`;
  enqueue([{ projectId, classId, file, source, name }]);
}

/** A class name made from a folder name: trimmed, 1..100 characters. */
function folderClassName(dir: string): string {
  const name = [...dir.trim()].slice(0, 100).join('').trim();
  return name || 'Unnamed';
}

export interface FolderOptions {
  /** Class for loose files (not in any folder); without it they go to a class "Unsorted". */
  intoClassId?: string | null;
  /** Files at the top of a dropped folder go to intoClassId instead of a class named after it. */
  rootFilesIntoClass?: boolean;
}

/** Which class name a file belongs to, or null for "the target class". */
function classNameFor(f: PickedFile, opts: FolderOptions): string | null {
  const [root, sub] = f.dirs;
  if (sub !== undefined) return folderClassName(sub);
  if (root !== undefined)
    return opts.rootFilesIntoClass && opts.intoClassId ? null : folderClassName(root);
  return opts.intoClassId ? null : 'Unsorted';
}

/**
 * The class id for each folder name of the drop, creating the missing classes. Under the project's
 * 'classes' lock (tab-locks.ts): the same folder dropped in two tabs at once makes its classes once.
 */
function classesForFolders(projectId: string, picked: Picked, opts: FolderOptions): Promise<Map<string, string>> {
  return withProjectLock(projectId, 'classes', async () => {
    const r = repo();
    const classes = await r.classes.list(projectId);
    const byName = new Map<string, string>();
    for (const c of classes) if (!byName.has(c.name)) byName.set(c.name, c.id);
    const wanted = new Set<string>();
    await forEachSliced(picked.files, (f) => {
      const name = classNameFor(f, opts);
      if (name !== null && !byName.has(name)) wanted.add(name);
    });
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    for (const name of [...wanted].sort(collator.compare)) {
      byName.set(name, (await r.classes.add(projectId, name)).id);
    }
    return byName;
  });
}

async function importPicked(projectId: string, picked: Picked, opts: FolderOptions): Promise<void> {
  const byName = await classesForFolders(projectId, picked, opts);
  const jobs: Job[] = [];
  await forEachSliced(picked.files, (f) => {
    const name = classNameFor(f, opts);
    const classId = name === null ? opts.intoClassId : byName.get(name);
    if (!classId) return;
    jobs.push({
      projectId,
      classId,
      file: f.file,
      source: 'file',
      name: [...f.dirs, f.file.name].join('/'),
    });
  });
  enqueue(jobs, picked.skipped);
}

/** Imports files whose folders are already known (e.g. the entries of a dataset zip). */
export async function importPickedFiles(picked: Picked, opts: FolderOptions = {}): Promise<void> {
  await importPicked(requireProject(), picked, opts);
}

/**
 * Imports a drop or a folder pick: sub-folders of a dropped folder become classes (created when
 * missing, names kept), files at its top go to a class named after the folder, loose files go to
 * `opts.intoClassId`. Pass a DataTransfer synchronously from the drop handler (its items are
 * readable only during the event), or the Files of an <input webkitdirectory>.
 */
export async function importFolder(
  dropped: DataTransfer | Iterable<File>,
  opts: FolderOptions = {},
): Promise<void> {
  const projectId = requireProject();
  const pending =
    typeof DataTransfer !== 'undefined' && dropped instanceof DataTransfer
      ? pickedFromDataTransfer(dropped)
      : pickedFromFiles(dropped as Iterable<File>);
  const picked = await pending;
  await importPicked(projectId, picked, opts);
}
