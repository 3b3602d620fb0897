// The worker's "exportComplete" request: the complete model (complete-model.ts) built from the
// extractor this worker has loaded, the bundle (model-bundle.ts) and its zip, streamed slice by
// slice into a Blob here, so the page receives one Blob and the tens of MB never cross the
// thread boundary as copies. The wrapper in the worker runs it with the shipped weights in place;
// a fine-tuned project's weights replace them in the written bytes only.
import { GlimpseError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import type { Extractor } from '../embed/extractor';
import type { CompleteExportRequest, Requests } from '../embed/protocol';
import { buildModelBundle } from './model-bundle';
import { zipChunks } from './zip-write';

type Progress = Requests['exportComplete']['progress'];

export function exportCompleteHandler(getExtractor: () => Extractor | null): Handler {
  return async (payload, { progress, signal }) => {
    const req = payload as CompleteExportRequest;
    const ex = getExtractor();
    if (!ex) throw new GlimpseError('internal', 'The model is not loaded yet.');
    if (!ex.layersModel) throw new GlimpseError('invalid-input', `${ex.spec.name} is a graph model: only the head can be exported for it.`);
    if (ex.key !== req.extractorKey) {
      throw new GlimpseError('invalid-input', `This head was trained on ${req.extractorKey}, but the loaded network is ${ex.key}: switch back to it to export the complete model.`);
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
    const chunks = await zipChunks(files, { signal, onProgress: (p) => report({ phase: 'zip', ...p }) });
    const zip = new Blob(chunks as Uint8Array<ArrayBuffer>[], { type: 'application/zip' });
    return { data: { zip, bytes: zip.size } };
  };
}
