// npm run eval -- ... --export <dir> [--complete]: writes the app's model bundle (the same
// buildModelBundle the app runs, src/export/model-bundle.ts), then loads it back with plain
// tf.loadLayersModel (nothing registered) and checks it on the test set against the app's own
// prediction path (predictHead on the app's embeddings): accuracy, top-class agreement and the
// largest probability difference.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Extractor } from '../../src/embed/extractor';
import { imageToPixels } from '../../src/embed/preprocess';
import { buildModelBundle } from '../../src/export/model-bundle';
import type { HeadMetrics } from '../../src/export/validate';
import { predictHead, type TrainedHead } from '../../src/train/head';
import { argmaxRows } from '../../src/train/metrics';
import { diskModel, tfjsScriptBytes, writeBundle } from './bundle-files';
import { decodeImageFile } from './node-env';

export interface ExportCheck {
  kind: 'head' | 'complete';
  dir: string;
  n: number;
  accuracy: number;
  appAccuracy: number;
  sameTop: number;
  maxAbsDiff: number;
}

export interface TestSet {
  files: string[];
  x: Float32Array;
  labels: Int32Array;
}

export async function exportAndCheck(dir: string, head: TrainedHead, classes: string[], ex: Extractor, metrics: HeadMetrics, complete: boolean, test: TestSet): Promise<ExportCheck> {
  if (complete && !ex.layersModel) throw new Error(`${ex.spec.id} is a graph model: only layers-model extractors can be exported as one complete model.`);
  const files = await buildModelBundle({
    head,
    classNames: classes,
    extractor: ex.spec,
    extractorKey: ex.key,
    metrics,
    tfjsScript: await tfjsScriptBytes(),
    complete: complete ? { extractor: ex.layersModel! } : null,
  });
  await writeBundle(dir, files);
  const model = await tf.loadLayersModel(diskModel(path.join(dir, 'model', 'model.json')));
  const n = test.labels.length;
  const c = classes.length;
  const app = predictHead(head, test.x, n);
  const got = new Float32Array(n * c);
  const batch = 8;
  for (let i = 0; i < n; i += batch) {
    const rows = Math.min(batch, n - i);
    const pixels = complete ? await Promise.all(test.files.slice(i, i + rows).map((f) => decodeImageFile(f))) : [];
    const input = complete
      ? tf.tidy(() => tf.stack(pixels.map((p) => imageToPixels(p, ex.spec.inputSize))))
      : tf.tensor2d(test.x.subarray(i * head.inputDim, (i + rows) * head.inputDim), [rows, head.inputDim]);
    const out = model.predict(input) as tf.Tensor;
    got.set(await out.data(), i * c);
    tf.dispose([input, out]);
  }
  model.dispose();
  const a = argmaxRows(app, c);
  const b = argmaxRows(got, c);
  let maxAbsDiff = 0;
  for (let i = 0; i < app.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(app[i]! - got[i]!));
  let sameTop = 0;
  let right = 0;
  let appRight = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) sameTop++;
    if (b[i] === test.labels[i]) right++;
    if (a[i] === test.labels[i]) appRight++;
  }
  return { kind: complete ? 'complete' : 'head', dir: path.resolve(dir), n, accuracy: right / n, appAccuracy: appRight / n, sameTop, maxAbsDiff };
}
