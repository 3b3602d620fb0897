// The trained head as data: the shape train/ produces, store/ keeps, export/ writes and the worker
// predicts with, and the checks that turn an untrusted value (a stored row of any schema version,
// an archive's JSON) back into it. It lives here because store/ may not import train/: the store
// validates what it reads into these types, so no reader casts.
import { GlimpseError } from './errors';

export type HeadKind = 'softmax' | 'mlp';

export interface HeadSettings {
  kind: HeadKind;
  /** Maximum epochs; with full batch an epoch is one optimiser step (one L-BFGS iteration). */
  epochs: number;
  /** Rows per optimiser step; 0 = full batch. */
  batchSize: number;
  /** Adam step size; the full-batch softmax head uses L-BFGS with a line search instead. */
  learningRate: number;
  /** mlp only. */
  hiddenUnits: number;
  /** mlp only: share of hidden units dropped at train time. */
  dropout: number;
  /** Weight decay on kernels: adds l2/2 * ||W||^2 to the mean loss. */
  l2: number;
  /** Used by callers to split off validation data. */
  validationShare: number;
  /** Epochs without a validation-loss improvement before stopping; 0 = off. */
  earlyStoppingPatience: number;
  /** Balanced class weights in the loss (each class contributes the same total weight). */
  classWeighting: boolean;
  seed: number;
  /** Scale each embedding to unit L2 length first. Absent in settings saved before it existed: on. */
  normalizeRows?: boolean;
}

/** The defaults (train/head-types.ts says how each was chosen). */
export const DEFAULT_HEAD_SETTINGS: HeadSettings = Object.freeze({
  kind: 'softmax',
  epochs: 100,
  batchSize: 0,
  learningRate: 1e-3,
  hiddenUnits: 128,
  dropout: 0.25,
  l2: 1e-2,
  validationShare: 0.2,
  earlyStoppingPatience: 0,
  classWeighting: true,
  seed: 1,
  normalizeRows: true,
}) as HeadSettings;

export interface EpochReport {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface DenseWeights {
  /** Row-major [inDim, outDim]. */
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  outDim: number;
}

export interface TrainedHead {
  kind: HeadKind;
  inputDim: number;
  numClasses: number;
  /** 'l2': each embedding is scaled to unit length before anything else. Absent: used as is. */
  inputNorm?: 'l2';
  /** Feature scaling computed on the train set: x' = (x - mean) * invStd (mean = 0 for the mlp). */
  mean: Float32Array;
  invStd: Float32Array;
  /** 1 layer (softmax) or 2 (mlp: ReLU hidden, then softmax). */
  layers: DenseWeights[];
  settings: HeadSettings;
  history: EpochReport[];
  /** 1-based epoch whose weights were kept. */
  bestEpoch: number;
}

export interface Metrics {
  /** Share of samples predicted correctly; 0 when there are no samples (see `n`). */
  accuracy: number;
  /** Recall per class; null for a class with no true samples (nothing to be right about). */
  perClass: (number | null)[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  n: number;
}

export const MAX_HEAD_DIM = 65_536;
export const MAX_HEAD_CLASSES = 100_000;
export const MAX_HISTORY = 100_000;

function invalid(message: string): GlimpseError {
  return new GlimpseError('invalid-input', message);
}

export const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export function checkSettings(s: HeadSettings): void {
  if (s.kind !== 'softmax' && s.kind !== 'mlp') throw invalid(`Unknown head kind: ${String(s.kind)}.`);
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw invalid(`Epochs must be a positive whole number, got ${s.epochs}.`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 0)
    throw invalid(`Batch size must be 0 (full batch) or a positive whole number, got ${s.batchSize}.`);
  if (!(s.learningRate > 0) || !Number.isFinite(s.learningRate)) throw invalid(`Learning rate must be positive, got ${s.learningRate}.`);
  if (s.kind === 'mlp' && (!Number.isInteger(s.hiddenUnits) || s.hiddenUnits < 1))
    throw invalid(`Hidden units must be a positive whole number, got ${s.hiddenUnits}.`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw invalid(`Dropout must be in [0, 1), got ${s.dropout}.`);
  if (!(s.l2 >= 0) || !Number.isFinite(s.l2)) throw invalid(`L2 must be zero or positive, got ${s.l2}.`);
  if (!Number.isInteger(s.earlyStoppingPatience) || s.earlyStoppingPatience < 0)
    throw invalid(`Early-stopping patience must be a whole number >= 0, got ${s.earlyStoppingPatience}.`);
  if (!Number.isFinite(s.seed)) throw invalid(`Seed must be a number, got ${s.seed}.`);
}

/** Validated settings with only the known fields (nothing else from an untrusted value is kept). */
export function restoreSettings(raw: unknown): HeadSettings {
  const s = record(raw);
  if (!s) throw invalid('The head has no settings.');
  return checkedSettings(s);
}

function checkedSettings(s: Record<string, unknown>): HeadSettings {
  const { kind, epochs, batchSize, learningRate, hiddenUnits, dropout, l2, validationShare, earlyStoppingPatience, classWeighting, seed, normalizeRows } = s;
  const settings = { kind, epochs, batchSize, learningRate, hiddenUnits, dropout, l2, validationShare, earlyStoppingPatience, classWeighting, seed } as HeadSettings;
  checkSettings(settings);
  if (typeof hiddenUnits !== 'number' || !Number.isFinite(hiddenUnits)) throw invalid('hidden units must be a number.');
  if (normalizeRows !== undefined && typeof normalizeRows !== 'boolean') throw invalid('normalizeRows must be true or false.');
  if (typeof classWeighting !== 'boolean') throw invalid('classWeighting must be true or false.');
  if (typeof validationShare !== 'number' || !(validationShare >= 0 && validationShare < 1)) throw invalid('bad validation share.');
  return normalizeRows === undefined ? settings : { ...settings, normalizeRows };
}

/** A validated training history (each epoch's numbers finite; validation fields optional). */
export function restoreHistory(raw: unknown): EpochReport[] {
  if (!Array.isArray(raw) || raw.length > MAX_HISTORY) throw invalid('The head’s training history is malformed.');
  return raw.map((r: unknown) => {
    const o = record(r);
    if (!o) throw invalid('The head’s training history is malformed.');
    const num = (k: string, optional: boolean): number | undefined => {
      const v = o[k];
      if (v === undefined && optional) return undefined;
      if (!isFiniteNumber(v)) throw invalid(`The head’s training history has a bad “${k}”.`);
      return v;
    };
    const e: EpochReport = { epoch: num('epoch', false)!, loss: num('loss', false)!, accuracy: num('accuracy', false)! };
    const vl = num('valLoss', true);
    const va = num('valAccuracy', true);
    if (vl !== undefined) e.valLoss = vl;
    if (va !== undefined) e.valAccuracy = va;
    return e;
  });
}

export interface LayerShape {
  inDim: number;
  outDim: number;
}

/** The head's description without its numbers: kind, sizes and layer shapes that fit together. */
export function checkHeadShape(o: Record<string, unknown>): { kind: HeadKind; inputDim: number; numClasses: number; shapes: LayerShape[] } {
  if (o.kind !== 'softmax' && o.kind !== 'mlp') throw invalid('The head has an unknown kind.');
  if (!isInt(o.inputDim, 1, MAX_HEAD_DIM)) throw invalid('The head has an invalid input size.');
  if (!isInt(o.numClasses, 2, MAX_HEAD_CLASSES)) throw invalid('The head has an invalid number of classes.');
  const expected = o.kind === 'softmax' ? 1 : 2;
  if (!Array.isArray(o.layers) || o.layers.length !== expected) throw invalid(`A ${o.kind} head must have ${expected} layer(s).`);
  const shapes = (o.layers as unknown[]).map((l) => {
    const s = record(l);
    if (!s || !isInt(s.inDim, 1, MAX_HEAD_DIM) || !isInt(s.outDim, 1, MAX_HEAD_DIM)) throw invalid('The head has a malformed layer.');
    return { inDim: s.inDim, outDim: s.outDim };
  });
  shapes.forEach((s, i) => {
    if (s.inDim !== (i === 0 ? o.inputDim : shapes[i - 1]!.outDim)) throw invalid('The head’s layer sizes do not fit together.');
  });
  if (shapes[shapes.length - 1]!.outDim !== o.numClasses) throw invalid('The head’s output size does not match its number of classes.');
  if (o.inputNorm !== undefined && o.inputNorm !== 'l2') throw invalid('The head has an unknown input normalisation.');
  if (!isInt(o.bestEpoch, 0, MAX_HISTORY)) throw invalid('The head has an invalid best epoch.');
  return { kind: o.kind, inputDim: o.inputDim, numClasses: o.numClasses, shapes };
}

/**
 * Numbers as a Float32Array of exactly `length` finite values. Rows keep Float32Arrays, but a
 * value can come back as an ArrayBuffer or a plain array (older rows, other structured-clone
 * paths); anything else is malformed.
 */
export function restoreFloats(raw: unknown, length: number, what: string): Float32Array {
  let v: Float32Array;
  if (raw instanceof Float32Array) v = raw;
  else if (raw instanceof ArrayBuffer && raw.byteLength % 4 === 0) v = new Float32Array(raw);
  else if (Array.isArray(raw) && raw.every((x) => typeof x === 'number')) v = Float32Array.from(raw as number[]);
  else throw invalid(`${what} is not a list of numbers.`);
  if (v.length !== length) throw invalid(`${what} has ${v.length} values; expected ${length}.`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw invalid(`${what} contains NaN or Infinity.`);
  return v;
}

/** A head held as a value (a stored row, a worker message): every field checked, arrays typed. */
export function restoreHead(raw: unknown): TrainedHead {
  const o = record(raw);
  if (!o) throw invalid('The head is not an object.');
  const { kind, inputDim, numClasses, shapes } = checkHeadShape(o);
  // Heads stored before their settings were kept with them: the defaults of their kind.
  const settings = o.settings === undefined ? { ...DEFAULT_HEAD_SETTINGS, kind } : restoreSettings(o.settings);
  if (settings.kind !== kind) throw invalid('The head’s settings are for another kind of head.');
  const layersRaw = o.layers as Record<string, unknown>[];
  return {
    kind,
    ...(o.inputNorm === 'l2' ? { inputNorm: 'l2' as const } : {}),
    inputDim,
    numClasses,
    mean: restoreFloats(o.mean, inputDim, 'The head’s mean'),
    invStd: restoreFloats(o.invStd, inputDim, 'The head’s scale'),
    layers: shapes.map((s, i) => ({
      inDim: s.inDim,
      outDim: s.outDim,
      kernel: restoreFloats(layersRaw[i]!.kernel, s.inDim * s.outDim, `Layer ${i + 1}’s kernel`),
      bias: restoreFloats(layersRaw[i]!.bias, s.outDim, `Layer ${i + 1}’s bias`),
    })),
    settings,
    history: o.history === undefined ? [] : restoreHistory(o.history),
    bestEpoch: o.bestEpoch as number,
  };
}

/** Validation metrics sized for numClasses. */
export function restoreMetrics(raw: unknown, numClasses: number): Metrics {
  const m = record(raw);
  const bad = () => invalid('The validation metrics are malformed.');
  if (!m || !isFiniteNumber(m.accuracy) || !isInt(m.n, 0, Number.MAX_SAFE_INTEGER)) throw bad();
  if (!Array.isArray(m.perClass) || m.perClass.length !== numClasses || !m.perClass.every((x) => x === null || isFiniteNumber(x))) throw bad();
  if (!Array.isArray(m.confusion) || m.confusion.length !== numClasses) throw bad();
  for (const row of m.confusion as unknown[]) {
    if (!Array.isArray(row) || row.length !== numClasses || !row.every((x) => isInt(x, 0, Number.MAX_SAFE_INTEGER))) throw bad();
  }
  return {
    accuracy: m.accuracy,
    perClass: [...(m.perClass as (number | null)[])],
    confusion: (m.confusion as number[][]).map((r) => [...r]),
    n: m.n,
  };
}
