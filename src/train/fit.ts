// The one training recipe shared by the app's training worker and `npm run eval`: stable
// stratified validation split by sample id, the head trained with early stopping on it, and
// validation metrics. Whatever the app does, eval measures.
import { stratifiedSplit } from '../dataset/split';
import { GlimpseError } from '../shared/errors';
import { predictHead, trainHead, trainTeachableMachineHead, type EpochReport, type HeadSettings, type TrainedHead } from './head';
import { argmaxRows, computeMetrics, type Metrics } from './metrics';
import { trainingVariants, type AugmentedVectors } from './augment';

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
  /** Training rows, augmentation variants included. */
  nTrain: number;
  /** Of which augmentation variants (only of training samples, never of validation ones). */
  nAugmented: number;
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

/** The rows, plus the augmentation variants of exactly those rows' samples, labelled like them. */
function withVariants(data: LabelledVectors, rows: readonly number[], augment: AugmentedVectors | undefined): { x: Float32Array; y: Int32Array; n: number; d: number } {
  const base = gather(data, rows);
  if (!augment || augment.ids.length === 0) return base;
  const labelOf = new Map(rows.map((r) => [data.ids[r]!, data.labels[r]!]));
  const extra = trainingVariants(augment, new Set(labelOf.keys()), data.dim);
  const x = new Float32Array(base.x.length + extra.x.length);
  x.set(base.x);
  x.set(extra.x, base.x.length);
  const y = new Int32Array(base.n + extra.n);
  y.set(base.y);
  y.set(augment.ids.filter((id) => labelOf.has(id)).map((id) => labelOf.get(id)!), base.n);
  return { x, y, n: base.n + extra.n, d: data.dim };
}

export async function fitHead(
  data: LabelledVectors,
  numClasses: number,
  settings: HeadSettings,
  opts: { recipe?: HeadRecipe; onEpoch?: (r: EpochReport) => void; signal?: AbortSignal; refit?: boolean; augment?: AugmentedVectors } = {},
): Promise<FitResult> {
  const n = data.ids.length;
  if (n < 2) throw new GlimpseError('invalid-input', 'Add at least two samples before training.');
  const present = new Set(Array.from({ length: n }, (_, i) => data.labels[i]!));
  if (present.size < 2) throw new GlimpseError('invalid-input', 'Training needs samples in at least two classes.');
  const items = data.ids.map((id, row) => ({ id, classId: String(data.labels[row]), row }));
  const { train, validation } = stratifiedSplit(items, settings.validationShare);
  const trainSet = withVariants(data, train.map((t) => t.row), opts.augment);
  const nAugmented = trainSet.n - train.length;
  const valRows = validation.map((v) => v.row);
  const valSet = valRows.length > 0 ? gather(data, valRows) : undefined;
  const t0 = performance.now();
  const common = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}) };
  const allRows = Array.from({ length: n }, (_, i) => i);
  if (opts.recipe === 'tm') {
    // The Teachable-Machine-style baseline has no early stopping: it trains on every row.
    const head = await trainTeachableMachineHead(gather(data, allRows), numClasses, { ...common, seed: settings.seed });
    return { head, validation: null, validationRows: new Int32Array(0), validationPred: new Int32Array(0), validationProbs: new Float32Array(0), trainMs: performance.now() - t0, nTrain: n, nAugmented: 0 };
  }
  const selected = await trainHead(trainSet, numClasses, settings, { ...common, ...(valSet ? { validation: valSet } : {}) });
  let metrics: Metrics | null = null;
  let pred: Int32Array = new Int32Array(0);
  let probs: Float32Array = new Float32Array(0);
  if (valSet) {
    probs = predictHead(selected, valSet.x, valSet.n);
    pred = argmaxRows(probs, numClasses);
    metrics = computeMetrics(valSet.y, pred, numClasses);
  }
  let head = selected;
  if (valSet && (opts.refit ?? true)) {
    // The validation rows measured the recipe and chose the stopping point; the model the user
    // keeps is then fitted on every sample with that budget (as retrain.py-style tools do after
    // model selection). Validation metrics above describe a model that never saw those rows.
    const final = await trainHead(withVariants(data, allRows, opts.augment), numClasses, { ...settings, epochs: Math.max(1, selected.bestEpoch), earlyStoppingPatience: 0 }, opts.signal ? { signal: opts.signal } : {});
    head = { ...final, history: selected.history, bestEpoch: selected.bestEpoch };
  }
  const trainMs = performance.now() - t0;
  return { head, validation: metrics, validationRows: Int32Array.from(valRows), validationPred: pred, validationProbs: probs, trainMs, nTrain: trainSet.n, nAugmented };
}
