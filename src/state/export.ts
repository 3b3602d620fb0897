// Take it with you: model export, project archive export/import and dataset import. The work is
// done by the pure modules of src/export/ (loaded on first use, so TF.js and the zip code stay out
// of the start-up bundle); this file picks the data, triggers downloads and reports progress and
// errors. An import that fails for any reason writes nothing and says what was wrong.
import { create } from 'zustand';
// The exact TF.js build of the app, copied into every model export for its offline example page.
import tfjsUrl from '@tensorflow/tfjs/dist/tf.min.js?url';
import { extractorKey } from '../embed/specs';
import { extractorByKey } from './catalog';
import { GlimpseError, serializeError } from '../shared/errors';
import { importFolder, importPickedFiles } from './importer';
import { switchProject } from './projects';
import { repo } from './repo';
import { showToast } from './session';
import { embedBridge } from './engine';

export type ExportTask = 'export-model' | 'export-complete' | 'export-project' | 'import-project' | 'import-dataset';

export interface ExportState {
  busy: ExportTask | null;
  /** What the last task did (shown as a status line), or null. */
  message: string | null;
  /** Why the last task failed, or null. */
  error: string | null;
  /** What a long task is doing now ("Zipping 12.0 of 48.3 MB"), or null. */
  progress: string | null;
  /** Whether the project bar's "Export and import" is open. */
  toolsOpen: boolean;
  /** Raised by openExportTools(): the panel then moves focus to "Export model". */
  focusRequest: number;
}

export const useExport = create<ExportState>(() => ({ busy: null, message: null, error: null, progress: null, toolsOpen: false, focusRequest: 0 }));

/** Opens "Export and import" and focuses "Export model" (from the training results). */
export function openExportTools(): void {
  useExport.setState((s) => ({ toolsOpen: true, focusRequest: s.focusRequest + 1 }));
}

async function run(task: ExportTask, fn: () => Promise<string>): Promise<boolean> {
  if (useExport.getState().busy) return false;
  useExport.setState({ busy: task, message: null, error: null, progress: null });
  try {
    const message = await fn();
    useExport.setState({ busy: null, message, error: null, progress: null });
    return true;
  } catch (err) {
    useExport.setState({ busy: null, message: null, error: serializeError(err).message, progress: null });
    return false;
  }
}

export function clearExportStatus(): void {
  if (!useExport.getState().busy) useExport.setState({ message: null, error: null });
}

/** A file name made from a project name: letters, digits, - and _ only. */
export function safeFileName(name: string): string {
  const clean = name
    .normalize('NFKD')
    .replace(/[^\w-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return clean || 'glimpse';
}

function download(data: Uint8Array | Blob, name: string): void {
  const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function tfjsScript(): Promise<Uint8Array> {
  const res = await fetch(tfjsUrl);
  if (!res.ok) throw new GlimpseError('internal', `Could not read TF.js for the example page (${res.status}).`);
  return new Uint8Array(await res.arrayBuffer());
}

/** What the export needs from the store: the latest head, its extractor and fine-tuned network. */
async function exportSource(projectId: string) {
  const r = repo();
  const project = await r.projects.get(projectId);
  const row = await r.heads.latest(projectId);
  if (!project || !row) throw new GlimpseError('invalid-input', 'Train the model first: there is no trained classifier to export.');
  // Builtin extractors first, then models the user loaded from files.
  const spec = extractorByKey(row.extractorKey, extractorKey);
  if (!spec) throw new GlimpseError('invalid-input', `The model was trained with an extractor this version does not know (${row.extractorKey}).`);
  if (!row.head) throw new GlimpseError('invalid-input', row.problem ?? 'The saved model cannot be read; train again.');
  // With a fine-tuned network for this head, the bundle carries its top layers and the head
  // trained with them (store/tuned.ts); otherwise the head on the shipped extractor.
  const tuned = await r.tuned.forHead(row.id);
  const fine = tuned?.head && tuned.extractorKey === row.extractorKey ? { ...tuned, head: tuned.head } : null;
  return {
    project,
    spec,
    head: fine ? fine.head : row.head,
    fineTuned: fine ? { fromLayer: fine.fromLayer, weights: fine.weights, metrics: fine.metrics } : null,
    classNames: row.classNames,
    classIds: row.labels,
    extractorKey: row.extractorKey,
    metrics: { validation: row.metrics.validation, trainMs: row.metrics.trainMs },
  };
}

/** Downloads <project>-model.zip: the latest head as a TF.js layers model, metadata and examples. */
export function exportModel(projectId: string): Promise<boolean> {
  return run('export-model', async () => {
    const src = await exportSource(projectId);
    const bundle = await import('../export/model-bundle');
    await bundle.selectCpuBackend();
    const files = await bundle.buildModelBundle({
      head: src.head,
      fineTuned: src.fineTuned,
      classNames: src.classNames,
      classIds: src.classIds,
      extractor: src.spec,
      extractorKey: src.extractorKey,
      metrics: src.metrics,
      projectName: src.project.name,
      tfjsScript: await tfjsScript(),
    });
    download(bundle.zipBundle(files), `${safeFileName(src.project.name)}-model.zip`);
    return `Exported the model of “${src.project.name}” (${src.classNames.length} classes${src.fineTuned ? ', with its fine-tuned network' : ''}).`;
  });
}

const MB = 1024 * 1024;

/**
 * Downloads <project>-complete-model.zip: one model from pixels to probabilities, built, written
 * and zipped in the embedding worker from the network it has loaded (with progress).
 */
export function exportCompleteModel(projectId: string): Promise<boolean> {
  return run('export-complete', async () => {
    const src = await exportSource(projectId);
    const res = await embedBridge().call(
      'exportComplete',
      {
        head: src.head,
        classNames: src.classNames,
        classIds: src.classIds,
        extractorKey: src.extractorKey,
        metrics: src.metrics,
        projectName: src.project.name,
        fineTuned: src.fineTuned,
        tfjsScript: await tfjsScript(),
      },
      {
        onProgress: (p) =>
          useExport.setState({
            progress: p.phase === 'zip' ? `Zipping ${(p.doneBytes / MB).toFixed(1)} of ${(p.totalBytes / MB).toFixed(1)} MB` : p.phase === 'weights' ? 'Writing the weights…' : 'Building the model…',
          }),
      },
    );
    download(res.zip, `${safeFileName(src.project.name)}-complete-model.zip`);
    return `Exported the complete model of “${src.project.name}” (${src.classNames.length} classes, ${(res.bytes / MB).toFixed(1)} MB${src.fineTuned ? ', with its fine-tuned network' : ''}).`;
  });
}

/** Downloads <project>.glimpse.zip with images, labels and (optionally) embeddings and the head. */
export function exportProject(projectId: string, opts: { includeEmbeddings: boolean; includeHead: boolean }): Promise<boolean> {
  return run('export-project', async () => {
    const { snapshotProject } = await import('../export/project-store');
    const { buildProjectArchive } = await import('../export/project-archive');
    const snap = await snapshotProject(repo(), projectId);
    const bytes = await buildProjectArchive(snap, opts);
    download(bytes, `${safeFileName(snap.name)}.glimpse.zip`);
    return `Exported “${snap.name}”: ${snap.classes.length} classes, ${snap.samples.length} samples.`;
  });
}

/** Reads a project archive into a new project and opens it; nothing is written if it is invalid. */
export function importProject(file: File): Promise<boolean> {
  return run('import-project', async () => {
    const { readProjectArchive } = await import('../export/project-archive');
    const { restoreSnapshot } = await import('../export/project-store');
    const snap = await readProjectArchive(file, `“${file.name}”`);
    const res = await restoreSnapshot(repo(), snap);
    await switchProject(res.project.id);
    const message = `Imported “${res.project.name}”: ${res.classes} classes, ${res.samples} samples${res.head ? ', trained model' : ''}.`;
    showToast(message);
    return message;
  });
}

/** A dataset as a .zip with one folder per class: the images go through the import queue. */
export function importDatasetZip(file: File): Promise<boolean> {
  return run('import-dataset', async () => {
    const { readDatasetZip } = await import('../export/dataset-zip');
    const data = await readDatasetZip(file, `“${file.name}”`);
    const files = data.files.map((f) => ({
      // Only the class folder counts: "daisy/sub/x.jpg" is still a daisy.
      dirs: f.dirs.slice(0, 1),
      file: new File([f.bytes as Uint8Array<ArrayBuffer>], f.name, { type: f.type }),
    }));
    await importPickedFiles({ files, skipped: data.skipped });
    const classes = new Set(files.map((f) => f.dirs[0] ?? ''));
    return `Adding ${files.length} images in ${classes.size} classes from “${file.name}”${data.skipped ? ` (${data.skipped} other files skipped)` : ''}.`;
  });
}

/** A dataset folder picked with <input webkitdirectory>: sub-folders become classes. */
export function importDatasetFolder(files: File[]): Promise<boolean> {
  return run('import-dataset', async () => {
    if (files.length === 0) throw new GlimpseError('invalid-input', 'The folder is empty.');
    await importFolder(files);
    return `Adding images from ${files.length} files.`;
  });
}
