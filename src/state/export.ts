// Take it with you: model export, project archive export/import and dataset import. The work is
// done by the pure modules of src/export/ (loaded on first use, so TF.js and the zip code stay out
// of the start-up bundle); this file picks the data, triggers downloads and reports progress and
// errors. An import that fails for any reason writes nothing and says what was wrong.
import { create } from 'zustand';
import { BUILTIN_EXTRACTORS, extractorKey } from '../embed/specs';
import { GlimpseError, serializeError } from '../shared/errors';
import type { TrainedHead } from '../train/head';
import { importFolder, importPickedFiles } from './importer';
import { switchProject } from './projects';
import { repo } from './repo';
import { showToast } from './session';

export type ExportTask = 'export-model' | 'export-project' | 'import-project' | 'import-dataset';

export interface ExportState {
  busy: ExportTask | null;
  /** What the last task did (shown as a status line), or null. */
  message: string | null;
  /** Why the last task failed, or null. */
  error: string | null;
}

export const useExport = create<ExportState>(() => ({ busy: null, message: null, error: null }));

async function run(task: ExportTask, fn: () => Promise<string>): Promise<boolean> {
  if (useExport.getState().busy) return false;
  useExport.setState({ busy: task, message: null, error: null });
  try {
    const message = await fn();
    useExport.setState({ busy: null, message, error: null });
    return true;
  } catch (err) {
    useExport.setState({ busy: null, message: null, error: serializeError(err).message });
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

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Downloads <project>-model.zip: the latest head as a TF.js layers model, metadata and examples. */
export function exportModel(projectId: string): Promise<boolean> {
  return run('export-model', async () => {
    const r = repo();
    const project = await r.projects.get(projectId);
    const row = await r.heads.latest(projectId);
    if (!project || !row) throw new GlimpseError('invalid-input', 'Train the model first: there is no trained classifier to export.');
    const spec = BUILTIN_EXTRACTORS.find((s) => extractorKey(s) === row.extractorKey);
    if (!spec) throw new GlimpseError('invalid-input', `The model was trained with an extractor this version does not know (${row.extractorKey}).`);
    const metrics = row.metrics as { validation?: unknown; trainMs?: unknown } | null;
    const bundle = await import('../export/model-bundle');
    const { checkMetrics } = await import('../export/validate');
    await bundle.selectCpuBackend();
    // With a fine-tuned network for this head, the bundle carries its top layers and the head
    // trained with them (store/tuned.ts); otherwise the head on the shipped extractor.
    const tuned = await r.tuned.forHead(row.id);
    const fine = tuned && tuned.extractorKey === row.extractorKey ? tuned : null;
    const files = await bundle.buildModelBundle({
      head: (fine ? fine.head : row.head) as TrainedHead,
      fineTuned: fine ? { fromLayer: fine.fromLayer, weights: fine.weights.map((w) => ({ name: w.name, shape: w.shape, data: w.data })), metrics: fine.metrics } : null,
      classNames: row.classNames,
      classIds: row.labels,
      extractor: spec,
      extractorKey: row.extractorKey,
      extractorModelUrl: new URL(spec.modelUrl, location.href).toString(),
      metrics: metrics ? checkMetrics(metrics, row.labels.length) : null,
      projectName: project.name,
    });
    download(bundle.zipBundle(files), `${safeFileName(project.name)}-model.zip`);
    return `Exported the model of “${project.name}” (${row.classNames.length} classes${fine ? ', with its fine-tuned network' : ''}).`;
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
