// The one training recipe shared by the app's training worker and `npm run eval`: stable
// stratified validation split by sample id, the head trained with early stopping on it, and
// validation metrics. Whatever the app does, eval measures.
import type { LabelledSet } from '../dataset/labelled-set';
import { GlimpseError } from '../shared/errors';
import { DEFAULT_HEAD_SETTINGS, predictHead, trainTeachableMachineHead, type EpochReport, type HeadSettings, type TrainedHead } from './head';
import { argmaxRows, computeMetrics, type Metrics } from './metrics';
import { fitSplit, LARGE_SET_PATIENCE, LARGE_SET_ROWS } from './fit-plan';
import { rowScale, rowScales } from './head-util';
import { trainHeadOnRows } from './head-train';
import type { PageHelper } from './head-paged';
import type { RowPart, RowSet } from './head-types';
import { mulberry32 } from '../shared/rng';

/** Cached variant embeddings of some samples, packed: row r belongs to sample `ids[r]`. */
export interface AugmentedVectors {
  ids: readonly string[];
  x: Float32Array;
}

/**
 * The rows fitHead reads: a LabelledSet (dataset/labelled-set.ts) without its class count (given
 * separately), with labels in any array-like (eval passes plain arrays).
 */
export type LabelledVectors = Omit<LabelledSet, 'numClasses' | 'labels' | 'ids'> & { ids: readonly string[]; labels: ArrayLike<number> };

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

export { LARGE_SET_PATIENCE, LARGE_SET_ROWS, MAX_VALIDATION_ROWS } from './fit-plan';



/** Row indices into `augment` of the variants of the given samples, with those samples' labels. */
function variantRows(data: LabelledVectors, rows: readonly number[], augment: AugmentedVectors | undefined): { rows: number[]; labels: number[] } {
  const out = { rows: [] as number[], labels: [] as number[] };
  if (!augment || augment.ids.length === 0) return out;
  const labelOf = new Map(rows.map((r) => [data.ids[r]!, data.labels[r]!]));
  augment.ids.forEach((id, r) => {
    const label = labelOf.get(id);
    if (label === undefined) return;
    out.rows.push(r);
    out.labels.push(label);
  });
  return out;
}

/** Unit-length factors of the sample rows and of the augmentation rows, computed once per fit. */
interface Scales {
  data: Float64Array | null;
  augment: Float64Array | null;
}

/** The rows (null: all), then the augmentation variants of exactly those rows' samples, labelled like them. */
function trainingRows(data: LabelledVectors, rows: readonly number[] | null, augment: AugmentedVectors | undefined, scales: Scales): RowSet {
  const base = rows ?? Array.from({ length: data.ids.length }, (_, i) => i);
  const extra = variantRows(data, base, augment);
  const parts: RowPart[] = [{ x: data.x, rows, scale: scales.data }];
  if (augment && extra.rows.length > 0) parts.push({ x: augment.x, rows: extra.rows, scale: scales.augment });
  const n = base.length + extra.rows.length;
  const y = new Int32Array(n);
  base.forEach((r, i) => (y[i] = data.labels[r]!));
  y.set(extra.labels, base.length);
  return { parts, y, n, d: data.dim };
}

/** predictHead on rows of data.x, copied a chunk at a time (no copy of the whole set). */
function predictRows(head: TrainedHead, data: LabelledVectors, rows: readonly number[]): Float32Array {
  const d = data.dim;
  const k = head.numClasses;
  const chunk = Math.min(rows.length, PREDICT_CHUNK_ROWS);
  const buf = new Float32Array(chunk * d);
  const out = new Float32Array(rows.length * k);
  for (let start = 0; start < rows.length; start += chunk) {
    const count = Math.min(chunk, rows.length - start);
    for (let i = 0; i < count; i++) {
      const r = rows[start + i]!;
      buf.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    }
    out.set(predictHead(head, buf.subarray(0, count * d), count), start * k);
  }
  return out;
}

/** Validation rows predicted per call of predictHead (128 x 2048 floats = 1 MiB of copies). */
const PREDICT_CHUNK_ROWS = 128;

export async function fitHead(
  data: LabelledVectors,
  numClasses: number,
  settings: HeadSettings,
  opts: {
    recipe?: HeadRecipe;
    onEpoch?: (r: EpochReport) => void;
    signal?: AbortSignal;
    /** Refit on every row after validation (default: up to LARGE_SET_ROWS rows). */
    refit?: boolean;
    augment?: AugmentedVectors;
    /** Rows x features above which L-BFGS evaluates a page at a time (head-paged.ts; tests lower it). */
    pagedMinValues?: number;
    /** Rows of a large fit's warm-start subset (fit-plan.ts WARM_START_ROWS; tests lower it). */
    warmRows?: number;
    /**
     * Resolves once these rows of data.x (null: all) hold their values. Without it every row is
     * there from the start; with it the rows may still be arriving (the app streams a large set
     * from IndexedDB while the warm start runs on the rows fit-plan.ts rowsBeforeWarmStart names).
     */
    whenRows?: (rows: readonly number[] | null) => Promise<void>;
    /** A second thread for a large fit's passes over every row (head-paged.ts). */
    pageHelper?: PageHelper;
  } = {},
): Promise<FitResult> {
  const n = data.ids.length;
  if (n < 2) throw new GlimpseError('invalid-input', 'Add at least two samples before training.');
  const present = new Set(Array.from({ length: n }, (_, i) => data.labels[i]!));
  if (present.size < 2) throw new GlimpseError('invalid-input', 'Training needs samples in at least two classes.');
  const large = n > LARGE_SET_ROWS;
  const { train, validation: valRows } = fitSplit(data.ids, data.labels, settings.validationShare);
  const d = data.dim;
  const t0 = performance.now();
  const common = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}) };
  // Unit-length factors are computed for each row once its values are there (whenRows).
  const normalize = settings.normalizeRows !== false;
  const scales: Scales = {
    data: normalize ? new Float64Array(n) : null,
    augment: normalize && opts.augment && opts.augment.ids.length > 0 ? rowScales(opts.augment.x, d) : null,
  };
  const scaled = new Uint8Array(n);
  const whenRows = async (rows: readonly number[] | null): Promise<void> => {
    await opts.whenRows?.(rows);
    if (!scales.data) return;
    const fill = (r: number) => {
      if (scaled[r]) return;
      scales.data![r] = rowScale(data.x, r, d);
      scaled[r] = 1;
    };
    if (rows) rows.forEach(fill);
    else for (let r = 0; r < n; r++) fill(r);
  };
  if (opts.recipe === 'tm') {
    await whenRows(null);
    // The Teachable-Machine-style baseline has no early stopping: it trains on every row.
    const head = await trainTeachableMachineHead({ x: data.x, y: Int32Array.from(data.labels), n, d }, numClasses, { ...common, seed: settings.seed });
    return { head, validation: null, validationRows: new Int32Array(0), validationPred: new Int32Array(0), validationProbs: new Float32Array(0), trainMs: performance.now() - t0, nTrain: n, nAugmented: 0 };
  }
  // Training reads the split's rows where they lie, scaled to unit length through per-row factors
  // computed once here (not by each trainHead), and writes them standardised straight into the
  // backend's tensors: training makes no copy of the data set (fresh megabytes cost a worker that
  // has not trained yet more than the arithmetic does); the validation predictions copy their rows
  // a chunk at a time.
  const trainSet = trainingRows(data, train, opts.augment, scales);
  const nAugmented = trainSet.n - train.length;
  const valSet: RowSet | undefined = valRows.length > 0 ? { parts: [{ x: data.x, rows: valRows, scale: scales.data }], y: Int32Array.from(valRows, (r) => data.labels[r]!), n: valRows.length, d } : undefined;
  const vectors: Float64Array[] = []; // L-BFGS scratch, shared by the validation run and the refit
  const paging = {
    ...(opts.pagedMinValues !== undefined ? { pagedMinValues: opts.pagedMinValues } : {}),
    ...(opts.warmRows !== undefined ? { warmRows: opts.warmRows } : {}),
    ...(opts.pageHelper ? { pageHelper: opts.pageHelper } : {}),
  };
  // The parts trainHeadOnRows waits for, as rows of data.x (augmentation rows are all there).
  const whenParts = (parts: readonly RowPart[] | null) =>
    whenRows(parts ? parts.flatMap((p) => (p.x === data.x ? Array.from(p.rows ?? { length: n }, (r, i) => r ?? i) : [])) : null);
  const runSettings = large && settings.earlyStoppingPatience === 0 ? { ...settings, earlyStoppingPatience: LARGE_SET_PATIENCE } : settings;
  const selected = await trainHeadOnRows(trainSet, numClasses, runSettings, { ...common, ...paging, whenRows: whenParts, vectors, ...(valSet ? { validation: valSet } : {}) });
  let metrics: Metrics | null = null;
  let pred: Int32Array = new Int32Array(0);
  let probs: Float32Array = new Float32Array(0);
  if (valSet) {
    probs = predictRows(selected, data, valRows);
    pred = argmaxRows(probs, numClasses);
    metrics = computeMetrics(valSet.y, pred, numClasses);
  }
  let head = selected;
  if (valSet && (opts.refit ?? !large)) {
    // The validation rows measured the recipe and chose the stopping point; the model the user
    // keeps is then fitted on every sample with that budget (as retrain.py-style tools do after
    // model selection). Validation metrics above describe a model that never saw those rows.
    const all = trainingRows(data, null, opts.augment, scales);
    const final = await trainHeadOnRows(all, numClasses, { ...settings, epochs: Math.max(1, selected.bestEpoch), earlyStoppingPatience: 0 }, { vectors, ...paging, ...(opts.signal ? { signal: opts.signal } : {}) });
    head = { ...final, history: selected.history, bestEpoch: selected.bestEpoch };
  }
  const trainMs = performance.now() - t0;
  return { head, validation: metrics, validationRows: Int32Array.from(valRows), validationPred: pred, validationProbs: probs, trainMs, nTrain: trainSet.n, nAugmented };
}

/**
 * One small fitHead (60 synthetic rows of `dim` values, 3 classes, at most 10 iterations) whose
 * result is thrown away, for a worker that has just loaded its model and is idle: the first real
 * training then finds its JS compiled and the backend's kernels warm instead of paying for that
 * itself. Never rejects (a failed warm-up only means the first training is slower).
 */
export async function warmHeadTraining(dim: number): Promise<void> {
  const n = 60;
  const k = 3;
  const next = mulberry32(1);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < x.length; i++) x[i] = next() + (i % k === Math.floor(i / dim) % k ? 0.5 : 0);
  const labels = Int32Array.from({ length: n }, (_, i) => i % k);
  const ids = Array.from({ length: n }, (_, i) => `warm${i}`);
  try {
    await fitHead({ ids, labels, x, dim }, k, { ...DEFAULT_HEAD_SETTINGS, epochs: 10 });
  } catch {
    // Nothing to report: the next real training pays its own warm-up.
  }
}
