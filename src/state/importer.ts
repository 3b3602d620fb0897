// The import queue: files (dropped, picked, pasted, or webcam frames) wait here as File handles,
// go to the embedding worker a few at a time, and each embedded image is saved with its
// thumbnail and embedding in one transaction. Memory stays bounded: only CHUNK files are read
// into memory at once, however many are queued. A bad file records its own error and the rest go
// on; a full disk or a cancel stops the queue (what was saved stays saved). Each file's SHA-256 is
// saved with it, and a file whose content is already saved in its class is skipped, so dropping
// the same folder again (after a crash, a cancel or a full disk) resumes the import.
import { create } from 'zustand';
import type { EmbedItemResult, ImageInput } from '../embed/protocol';
import { GlimpseError, serializeError } from '../shared/errors';
import { embedBridge, fileToInput, useEngine } from './engine';
import { repo, type SampleSource } from './repo';
import { useSession } from './session';
import { pickedFromDataTransfer, pickedFromFiles, type Picked, type PickedFile } from './walk';

/** Files read and sent to the worker per call. */
export const CHUNK = 16;
/** Larger originals are refused before reading (the worker's guard checks pixel counts). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_LISTED_ERRORS = 500;

export interface ImportError {
  name: string;
  message: string;
  /** Stable error code (GlimpseError.code), for tests and styling. */
  code?: string;
}

export interface ImportState {
  running: boolean;
  /** Waiting for the model to finish loading before the first image is embedded. */
  waitingForModel: boolean;
  total: number;
  done: number;
  failed: number;
  /** Files skipped because the same image is already saved in (or queued for) their class. */
  duplicates: number;
  /** Images per second since embedding started in this run. */
  rate: number | null;
  /** Estimated seconds left. */
  etaS: number | null;
  errors: ImportError[];
  /** How the last run ended: null while running or before any run. */
  outcome: 'finished' | 'cancelled' | 'stopped' | null;
  /** Why the queue stopped early (model failed, storage full). */
  stopReason: string | null;
  /** The error code behind stopReason ('quota-exceeded' when the disk is full). */
  stopCode: string | null;
  /** Files inside dropped folders that were skipped because they are not images. */
  skipped: number;
}

const initial: ImportState = {
  running: false,
  waitingForModel: false,
  total: 0,
  done: 0,
  failed: 0,
  duplicates: 0,
  rate: null,
  etaS: null,
  errors: [],
  outcome: null,
  stopReason: null,
  stopCode: null,
  skipped: 0,
};

export const useImport = create<ImportState>(() => ({ ...initial }));

interface Job {
  projectId: string;
  classId: string;
  file: File;
  source: SampleSource;
  name: string;
  /** Hex SHA-256 of the file, once read (null where WebCrypto is unavailable). */
  sha256?: string | null;
}

const queue: Job[] = [];
/** `${classId} ${sha256}` of files of this run that are saved or on their way (not failed). */
const claimed = new Set<string>();
let controller: AbortController | null = null;
let runStartedAt: number | null = null;
let nextItemId = 1;

function enqueue(jobs: Job[], skipped = 0): void {
  if (jobs.length === 0 && skipped === 0) return;
  queue.push(...jobs);
  const s = useImport.getState();
  if (s.running) {
    useImport.setState({ total: s.total + jobs.length, skipped: s.skipped + skipped });
    return;
  }
  if (jobs.length === 0) {
    useImport.setState({ ...initial, skipped, outcome: 'finished' });
    return;
  }
  useImport.setState({ ...initial, running: true, total: jobs.length, skipped });
  void run();
}

/** Stops the queue: the batch in the worker is cancelled, queued files are dropped. */
export function cancelImport(): void {
  controller?.abort();
}

/** Clears the finished run's summary and error list. */
export function clearImportSummary(): void {
  if (!useImport.getState().running) useImport.setState({ ...initial });
}

function fail(job: Job, err: unknown): void {
  const { message, code } = serializeError(err);
  useImport.setState((s) => ({
    failed: s.failed + 1,
    errors:
      s.errors.length < MAX_LISTED_ERRORS
        ? [...s.errors, { name: job.name, message, code }]
        : s.errors,
  }));
  updateRate();
}

function succeed(): void {
  useImport.setState((s) => ({ done: s.done + 1 }));
  updateRate();
}

function duplicate(): void {
  useImport.setState((s) => ({ duplicates: s.duplicates + 1 }));
  updateRate();
}

function updateRate(): void {
  if (runStartedAt === null) return;
  const s = useImport.getState();
  const processed = s.done + s.failed + s.duplicates;
  const seconds = (performance.now() - runStartedAt) / 1000;
  if (processed === 0 || seconds <= 0) return;
  const rate = processed / seconds;
  useImport.setState({ rate, etaS: Math.max(0, s.total - processed) / rate });
}

function waitForModel(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const settle = (fn: () => void) => {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      useImport.setState({ waitingForModel: false });
      fn();
    };
    const onAbort = () => settle(() => reject(new GlimpseError('cancelled', 'Cancelled.')));
    const check = (status: string) => {
      if (status === 'ready') settle(resolve);
      else if (status === 'error') {
        settle(() =>
          reject(
            new GlimpseError(
              'model-invalid',
              'The model could not be loaded, so nothing was embedded.',
            ),
          ),
        );
      }
    };
    unsubscribe = useEngine.subscribe((s) => check(s.status));
    signal.addEventListener('abort', onAbort, { once: true });
    if (useEngine.getState().status !== 'ready') useImport.setState({ waitingForModel: true });
    check(useEngine.getState().status);
  });
}

/** A new project takes the extractor of its first embeddings (projects start with a guess). */
const checkedProjects = new Set<string>();
async function syncProjectExtractor(projectId: string, id: string, key: string): Promise<void> {
  const memo = `${projectId} ${key}`;
  if (checkedProjects.has(memo)) return;
  const r = repo();
  const project = await r.projects.get(projectId);
  if (project && project.extractorKey !== key) {
    const counts = await r.samples.countsByClass(projectId);
    if (Object.values(counts).every((n) => n === 0))
      await r.projects.setExtractor(projectId, id, key);
  }
  checkedProjects.add(memo);
}

async function run(): Promise<void> {
  controller = new AbortController();
  const { signal } = controller;
  runStartedAt = null;
  let outcome: ImportState['outcome'] = 'finished';
  let stopReason: string | null = null;
  let stopCode: string | null = null;
  try {
    while (queue.length > 0) {
      if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      await waitForModel(signal);
      runStartedAt ??= performance.now();
      await embedChunk(queue.splice(0, CHUNK), signal);
    }
  } catch (err) {
    const e = serializeError(err);
    if (e.code === 'cancelled' || signal.aborted) outcome = 'cancelled';
    else {
      outcome = 'stopped';
      stopReason = e.message;
      stopCode = e.code;
    }
  } finally {
    // Whatever did not run is dropped (cancel) or failed with the reason (model, disk).
    const left = queue.splice(0, queue.length);
    if (outcome === 'stopped')
      for (const job of left) fail(job, new GlimpseError('internal', stopReason ?? 'Stopped.'));
    else if (left.length > 0) useImport.setState((s) => ({ total: s.total - left.length }));
    controller = null;
    claimed.clear();
    useImport.setState({
      running: false,
      waitingForModel: false,
      outcome,
      stopReason,
      stopCode,
      etaS: null,
    });
  }
}

async function embedChunk(chunk: Job[], signal: AbortSignal): Promise<void> {
  const extractor = useEngine.getState().extractor;
  if (!extractor) throw new GlimpseError('model-invalid', 'The model is not loaded.');
  const byId = new Map<string, Job>();
  const read: { job: Job; input: ImageInput }[] = [];
  for (const job of chunk) {
    try {
      if (job.file.size === 0) throw new GlimpseError('empty-file', 'The file is empty.');
      if (job.file.size > MAX_FILE_BYTES) {
        throw new GlimpseError(
          'image-too-large',
          `The file is too large (over ${MAX_FILE_BYTES >> 20} MB).`,
        );
      }
      const input = await fileToInput(job.file, `import-${nextItemId++}`);
      job.sha256 = await sha256Hex(input.bytes);
      read.push({ job, input });
    } catch (err) {
      fail(job, err);
    }
  }
  const images: ImageInput[] = [];
  for (const { job, input } of await withoutDuplicates(read)) {
    images.push(input);
    byId.set(input.id, job);
  }
  if (images.length === 0) return;

  const saves: Promise<void>[] = [];
  let storageError: unknown = null;
  const save = async (job: Job, item: EmbedItemResult): Promise<void> => {
    try {
      if (!item.embedding || !item.thumbnail || !item.width || !item.height) {
        throw new GlimpseError('internal', 'The worker returned an incomplete result.');
      }
      await syncProjectExtractor(job.projectId, extractor.id, extractor.key);
      await repo().samples.addSample({
        projectId: job.projectId,
        classId: job.classId,
        source: job.source,
        name: job.name,
        type: job.file.type || 'application/octet-stream',
        blob: job.file,
        thumb: item.thumbnail,
        width: item.width,
        height: item.height,
        embedding: { extractorKey: extractor.key, vector: item.embedding },
        ...(job.sha256 ? { sha256: job.sha256 } : {}),
      });
      succeed();
    } catch (err) {
      if (job.sha256) claimed.delete(`${job.classId} ${job.sha256}`);
      // A full disk, or another tab upgraded the database: the rest would fail the same way.
      if (serializeError(err).code === 'quota-exceeded' || useSession.getState().reloadRequired)
        storageError ??= err;
      fail(job, err);
    }
  };

  const reported = new Set<string>();
  try {
    await embedBridge().call(
      'embed',
      { images, thumbnails: true },
      {
        signal,
        transfer: images.map((i) => i.bytes),
        onProgress: (item) => {
          const job = byId.get(item.id);
          if (!job || reported.has(item.id)) return;
          reported.add(item.id);
          if (item.error) {
            if (job.sha256) claimed.delete(`${job.classId} ${job.sha256}`);
            fail(job, item.error);
          } else saves.push(save(job, item));
        },
      },
    );
  } catch (err) {
    await Promise.allSettled(saves);
    if (signal.aborted || serializeError(err).code === 'cancelled') throw err;
    // The batch failed as a whole (e.g. the worker crashed): its unreported files fail with it.
    for (const [id, job] of byId) {
      if (reported.has(id)) continue;
      if (job.sha256) claimed.delete(`${job.classId} ${job.sha256}`);
      fail(job, err);
    }
    if (serializeError(err).code === 'worker-crashed') throw err;
    return;
  }
  await Promise.allSettled(saves);
  if (storageError) throw storageError;
}

/** Hex SHA-256 of the bytes, or null where WebCrypto is missing (insecure context). */
async function sha256Hex(bytes: ArrayBuffer): Promise<string | null> {
  if (typeof crypto === 'undefined' || !crypto.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Drops (and counts as duplicates) the files whose content is already saved in their class or
 * claimed by an earlier file of this run; claims the rest. Files without a hash always pass, and
 * so do webcam frames and pastes: those are deliberate captures (a still scene gives identical
 * frames), while de-duplication exists to make re-dropping a folder resume an import.
 */
async function withoutDuplicates<T extends { job: Job }>(read: T[]): Promise<T[]> {
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
  for (const entry of read) {
    const { job } = entry;
    const captured = job.source === 'webcam' || job.source === 'paste';
    const key = job.sha256 && !captured ? `${job.classId} ${job.sha256}` : null;
    if (key !== null && (saved.has(key) || claimed.has(key))) {
      duplicate();
      continue;
    }
    if (key !== null) claimed.add(key);
    keep.push(entry);
  }
  return keep;
}

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
  for (const file of files) {
    jobs.push({ projectId, classId, file, source, name: file.name || `${source} image` });
  }
  enqueue(jobs);
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

async function importPicked(projectId: string, picked: Picked, opts: FolderOptions): Promise<void> {
  const r = repo();
  const classes = await r.classes.list(projectId);
  const byName = new Map<string, string>();
  for (const c of classes) if (!byName.has(c.name)) byName.set(c.name, c.id);
  const wanted = new Set<string>();
  for (const f of picked.files) {
    const name = classNameFor(f, opts);
    if (name !== null && !byName.has(name)) wanted.add(name);
  }
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  for (const name of [...wanted].sort(collator.compare)) {
    byName.set(name, (await r.classes.add(projectId, name)).id);
  }
  const jobs: Job[] = [];
  for (const f of picked.files) {
    const name = classNameFor(f, opts);
    const classId = name === null ? opts.intoClassId : byName.get(name);
    if (!classId) continue;
    jobs.push({
      projectId,
      classId,
      file: f.file,
      source: 'file',
      name: [...f.dirs, f.file.name].join('/'),
    });
  }
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
      : Promise.resolve(pickedFromFiles(dropped as Iterable<File>));
  const picked = await pending;
  await importPicked(projectId, picked, opts);
}
