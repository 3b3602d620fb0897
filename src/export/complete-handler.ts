// The worker's "exportComplete" request (wired in src/worker/handlers.ts): the complete model (complete-model.ts) built from the
// extractor this worker has loaded, the bundle (model-bundle.ts) and its zip, streamed slice by
// slice into a Blob here, so the page receives one Blob and the tens of MB never cross the
// thread boundary as copies. The wrapper in the worker runs it with the shipped weights in place;
// a fine-tuned project's weights replace them in the written bytes only.
import { GlimpseError } from '../shared/errors';
import type { Extractor } from '../embed/extractor';
import type { HeadSettings, TrainedHead } from '../train/head';
import type { Metrics } from '../train/metrics';
import { buildModelBundle } from './model-bundle';
import { zipChunks } from './zip-write';

/** Everything the complete-model export needs besides the worker's own extractor. */
export interface CompleteExportRequest {
  head: TrainedHead;
  classNames: string[];
  classIds: string[];
  extractorKey: string;
  metrics: { validation: Metrics | null; trainMs: number; settings?: HeadSettings } | null;
  projectName: string;
  /** The project's fine-tuned top (replaces those weights in the written model), or null. */
  fineTuned: { fromLayer: string; weights: { name: string; shape: number[]; data: Float32Array }[]; metrics?: unknown } | null;
  /** tf.min.js for the bundle's offline example page. */
  tfjsScript: Uint8Array;
}

type Progress = { phase: 'build' | 'weights' | 'zip'; doneBytes: number; totalBytes: number };

export async function exportCompleteZip(
  req: CompleteExportRequest,
  ex: Extractor,
  progress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<{ zip: Blob; bytes: number }> {
  if (!ex.layersModel)
    throw new GlimpseError(
      'invalid-input',
      `${ex.spec.name} is a graph model: only the head can be exported for it.`,
    );
  if (ex.key !== req.extractorKey) {
    throw new GlimpseError(
      'invalid-input',
      `This head was trained on ${req.extractorKey}, but the loaded network is ${ex.key}: switch back to it to export the complete model.`,
    );
  }
  const report = (p: Progress) => progress(p);
  const files = await buildModelBundle({
    head: req.head,
    classNames: req.classNames,
    classIds: req.classIds,
    extractor: ex.spec,
    extractorKey: req.extractorKey,
    metrics: req.metrics,
    projectName: req.projectName,
    fineTuned: req.fineTuned,
    tfjsScript: req.tfjsScript,
    complete: { extractor: ex.layersModel },
    onProgress: (p) => report({ phase: p.phase, doneBytes: 0, totalBytes: 0 }),
  });
  const chunks = await zipChunks(files, {
    ...(signal ? { signal } : {}),
    onProgress: (p) => report({ phase: 'zip', ...p }),
  });
  const zip = new Blob(chunks as Uint8Array<ArrayBuffer>[], { type: 'application/zip' });
  return { zip, bytes: zip.size };
}
