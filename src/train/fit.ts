// The one training recipe shared by the app's training worker and `npm run eval`: stable
// stratified validation split by sample id, the head trained with early stopping on it, and
// validation metrics. Whatever the app does, eval measures.
import { stratifiedSplit } from '../dataset/split';
import { GlimpseError } from '../shared/errors';
import { predictHead, trainHead, trainTeachableMachineHead, type EpochReport, type HeadSettings, type TrainedHead } from './head';
import { argmaxRows, computeMetrics, type Metrics } from './metrics';

export interface LabelledVectors {
  ids: readonly string[];
  /** Class index per row, 0..numClasses-1. */
  labels: ArrayLike<number>;
  /** Packed rows, ids.length x dim. */
  x: Float32Array;
  dim: number;
}

export interface FitResult {
  head: TrainedHead;
  validation: Metrics | null;
  /** Row indices (into the input) of the validation set, with their predictions. */
  validationRows: Int32Array;
  validationPred: Int32Array;
  validationProbs: Float32Array;
  trainMs: number;
}

export type HeadRecipe = 'default' | 'tm';

function gather(data: LabelledVectors, rows: readonly number[]): { x: Float32Array; y: Int32Array; n: number; d: number } {
  const d = data.dim;
  const x = new Float32Array(rows.length * d);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.labels[r]!;
  });
  return { x, y, n: rows.length, d };
}

export async function fitHead(
  data: LabelledVectors,
  numClasses: number,
  settings: HeadSettings,
  opts: { recipe?: HeadRecipe; onEpoch?: (r: EpochReport) => void; signal?: AbortSignal } = {},
): Promise<FitResult> {
  const n = data.ids.length;
  if (n < 2) throw new GlimpseError('invalid-input', 'Add at least two samples before training.');
  const present = new Set(Array.from({ length: n }, (_, i) => data.labels[i]!));
  if (present.size < 2) throw new GlimpseError('invalid-input', 'Training needs samples in at least two classes.');
  const items = data.ids.map((id, row) => ({ id, classId: String(data.labels[row]), row }));
  const { train, validation } = stratifiedSplit(items, settings.validationShare);
  const trainSet = gather(data, train.map((t) => t.row));
  const valRows = validation.map((v) => v.row);
  const valSet = valRows.length > 0 ? gather(data, valRows) : undefined;
  const t0 = performance.now();
  const common = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}) };
  const head =
    opts.recipe === 'tm'
      ? await trainTeachableMachineHead(trainSet, numClasses, { ...common, seed: settings.seed, ...(valSet ? { validation: valSet } : {}) })
      : await trainHead(trainSet, numClasses, settings, { ...common, ...(valSet ? { validation: valSet } : {}) });
  const trainMs = performance.now() - t0;
  let metrics: Metrics | null = null;
  let pred: Int32Array = new Int32Array(0);
  let probs: Float32Array = new Float32Array(0);
  if (valSet) {
    probs = predictHead(head, valSet.x, valSet.n);
    pred = argmaxRows(probs, numClasses);
    metrics = computeMetrics(valSet.y, pred, numClasses);
  }
  return { head, validation: metrics, validationRows: Int32Array.from(valRows), validationPred: pred, validationProbs: probs, trainMs };
}
