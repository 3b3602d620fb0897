// The one protocol between the app and the model worker: every request kind with its request,
// result and progress types. The worker's handler map (handlers.ts) is typed by it, and so is the
// app's bridge (client.ts). Types and plain data only: the app imports this file, never the
// worker's code. Test and bench hooks are not part of it (debug-protocol.ts).
import type { ReviewItem } from '../train/review';
import type { BackendChoice, BackendName } from '../embed/backend';
import type { ClassScore } from '../embed/extractor';
import type { ExtractorSpec } from '../embed/specs';
import type { IntegrityReport } from '../embed/model-files';
import type { CompleteExportRequest } from '../export/complete-handler';
import type { LabelledSet } from '../dataset/labelled-set';
import type { AugmentItemResult, EmbedItemResult, ExtractorInfo, ImageInput } from '../embed/types';
import type { SerializedError } from '../shared/errors';
import type { EpochReport, HeadSettings, TrainedHead } from '../train/head';
import type { HeadRecipe } from '../train/fit';
import type { Metrics } from '../train/metrics';

export type { AugmentItemResult, EmbedItemResult, ExtractorInfo, ImageInput };

export interface InitRequest {
  extractorId: string;
  /** The spec itself, for a model the user loaded from files (builtin ids are looked up). */
  spec?: ExtractorSpec;
  /** Used when the requested extractor cannot be loaded (e.g. the network is down). */
  fallbackId?: string;
  backend?: BackendName;
  /** Base URL that spec-relative model paths resolve against. */
  baseUrl: string;
  /** Embedding workers on WASM (lanes.ts); default from the cores. Takes effect at the first init. */
  lanes?: number;
}

export interface InitResult {
  backend: BackendChoice;
  extractor: ExtractorInfo;
  /** Set when the requested extractor failed and the fallback was loaded instead. */
  fallback?: { requestedId: string; reason: SerializedError };
  loadMs: number;
  warmupMs: number;
  /** What checking the model's files against its manifest found (absent: it has no manifest). */
  integrity?: IntegrityReport;
}

export interface ClassifyResult {
  top: ClassScore[];
  embedding: Float32Array;
  width: number;
  height: number;
  ms: number;
}

/** Samples' cached embeddings with their labels, and the head settings to fit on them. */
export interface TrainRequest extends LabelledSet {
  settings: HeadSettings;
  /**
   * The extractor that made these embeddings: the worker keeps the trained head as the one it
   * predicts with, for this extractor, so the head never travels back in. null: not kept (bench).
   */
  extractorKey: string | null;
  recipe?: HeadRecipe;
  /** Cached augmentation variants: row r belongs to sample ids[r]; used for training rows only. */
  augment?: { ids: string[]; x: Float32Array };
  /**
   * The rows are sent a page at a time (stageRows): x is empty and the staged rows (which must be
   * exactly `ids`) are trained on. When the stage announced its ids, the request may come before
   * the last page: the fit waits for the rows it needs (fit-plan.ts rowsBeforeWarmStart first).
   */
  staged?: boolean;
}

export interface ReviewRequest {
  projectId: string;
  extractorKey: string;
  dim: number;
  ids: string[];
  labels: Int32Array;
  numClasses: number;
  unsureBelow: number;
  limit: number;
}

/**
 * A page of training rows for the next staged train request. `start` begins a new set: of `rows`
 * rows whose pages come in order, or of exactly `ids` (in training order) whose pages say where
 * each row goes (`at`, positions in `ids`). `retain` replaces the set by these rows of it (all
 * staged) in this order: what the page ended up with when announced rows turned out unreadable.
 */
export interface StageRowsRequest {
  /**
   * `project`: whose rows these are. Rows the worker still holds of that project and key (from its
   * last training, worker/resident.ts) are placed at once and the reply says which (`have`): only
   * the others need sending. After the fit the worker holds this set in their place.
   */
  start?: { rows: number; dim: number; ids?: string[]; project?: { projectId: string; extractorKey: string } };
  ids: string[];
  x: Float32Array;
  at?: Int32Array;
  retain?: string[];
}

export interface TrainResponse {
  head: TrainedHead;
  validation: Metrics | null;
  validationIds: string[];
  validationPred: Int32Array;
  validationConfidence: Float32Array;
  trainMs: number;
  nTrain: number;
  nAugmented: number;
}

export interface PredictResult {
  probs: Float32Array;
  ms: number;
}

export interface MapRequest {
  /** Packed embeddings, n x dim. */
  x: Float32Array;
  n: number;
  dim: number;
  method: 'pca' | 'umap';
  seed: number;
}

/** One trainable weight of a fine-tuned top, by variable name. */
export interface TunedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A project's fine-tuned model: the top layers' weights and the head trained with them. */
export interface TunedModel {
  id: string;
  extractorKey: string;
  fromLayer: string;
  weights: TunedWeight[];
  head: TrainedHead;
}

/** Every sample's cached embedding: the softmax head fine-tuning starts from is fitted on them. */
export interface FineTuneStartRequest extends LabelledSet {
  settings: HeadSettings;
  extractorKey: string;
  /** Activation memory the session may hold. */
  budgetBytes: number;
}

export interface FineTuneStartResult {
  fromLayer: string;
  activationShape: number[];
  bytesPerImage: number;
  /** Images that fit in budgetBytes. */
  maxImages: number;
  /** The head's validation split (early stopping watches these samples). */
  validationIds: string[];
  /** Validation accuracy of that head on the frozen network. */
  headValAccuracy: number | null;
}

export interface FineTuneEpoch {
  epoch: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface FineTuneRunResult {
  model: TunedModel;
  history: FineTuneEpoch[];
  /** The best trained epoch (its weights are in `model`). */
  bestEpoch: number;
  /** Whether it beats the head alone on validation (train/finetune.ts). */
  beatsHead: boolean;
  initial: { valLoss: number; valAccuracy: number } | null;
  nTrain: number;
  nValidation: number;
  trainMs: number;
}


export interface Requests {
  init: { req: InitRequest; res: InitResult; progress: { phase: string; loadedBytes: number; doneFiles: number; totalFiles: number } };
  classify: { req: { image: ImageInput; topK: number }; res: ClassifyResult; progress: never };
  embed: { req: { images: ImageInput[]; thumbnails: boolean }; res: { done: number; failed: number }; progress: EmbedItemResult };
  train: { req: TrainRequest; res: TrainResponse; progress: EpochReport };
  stageRows: { req: StageRowsRequest; res: { rows: number; have?: Uint8Array }; progress: never };
  /** Adds rows of a project to the ones the worker holds (worker/resident.ts); held: false when over its limit. */
  holdRows: {
    /** more: rows still to come after these (room is made for all at once). */
    req: { projectId: string; extractorKey: string; dim: number; ids: string[]; x: Float32Array; more?: number };
    res: { rows: number; held: boolean };
    progress: never;
  };
  /**
   * The review queue of the held rows `ids` (labels: class positions of the active head): scored
   * by the active head and ranked against the class centres (train/review.ts), the hardest
   * `limit`. `missing`: ids the worker does not hold (send them with holdRows, then ask again).
   */
  review: { req: ReviewRequest; res: { missing: string[]; items: ReviewItem[] }; progress: never };
  /** A stored head to predict with (after a reload or a project switch); a trained one is kept already. */
  setHead: { req: { head: TrainedHead | null; extractorKey: string | null }; res: { ok: true }; progress: never };
  predict: { req: { image: ImageInput }; res: PredictResult; progress: never };
  /** Class probabilities of the active head for packed embeddings (review queue). */
  scoreAll: { req: { x: Float32Array; n: number; extractorKey: string }; res: { probs: Float32Array; numClasses: number }; progress: never };
  /** 2-D embedding map, coordinates in [0,1], n x 2. */
  map: { req: MapRequest; res: { xy: Float32Array; ms: number }; progress: { epoch: number; total: number } };
  /** Embeddings of the deterministic augmentation variants of each image. */
  augment: { req: { images: ImageInput[] }; res: { done: number; failed: number }; progress: AugmentItemResult };
  /** Fine-tuning, step 1: fit the starting head, split, reserve activation memory. */
  ftStart: { req: FineTuneStartRequest; res: FineTuneStartResult; progress: never };
  /** Step 2 (repeated): images through the frozen part; their activations stay in the worker. */
  ftAdd: { req: { images: ImageInput[]; labels: Int32Array; validation: boolean[] }; res: { added: number; failed: number }; progress: never };
  /** Step 3: train the top + head; one progress message per epoch. */
  ftRun: { req: { epochs: number; learningRate: number; batchSize: number; patience: number }; res: FineTuneRunResult; progress: FineTuneEpoch };
  /** One model from pixels to probabilities (extractor + head), zipped with its examples. */
  exportComplete: { req: CompleteExportRequest; res: { zip: Blob; bytes: number }; progress: { phase: 'build' | 'weights' | 'zip'; doneBytes: number; totalBytes: number } };
  /** Frees the session's activations (after a run, a cancel or an error). */
  ftEnd: { req: Record<string, never>; res: { ok: true }; progress: never };
  /** The fine-tuned model prediction uses (null: the extractor as shipped). */
  /**
   * The fine-tuned model prediction uses: one sent whole (a project's, read from the store), none,
   * or `keep`: the model the worker's last ftRun made, under the id it was saved with. The worker
   * already holds that one, so saving a run never sends its weights back.
   */
  setTuned: { req: { model: TunedModel | null } | { keep: string; id: string }; res: { ok: true }; progress: never };
  /** numTensors includes the helper lanes' tensors; lanes = workers embedding now (1 + ready helpers). */
  /** Loads the ImageNet labeller for "What is this?" ahead of the first question (view opened). */
  prepareLabeller: { req: Record<string, never>; res: { ok: true }; progress: never };
  memory: { req: Record<string, never>; res: { numTensors: number; numBytes: number; backend: string; lanes: number; helperBatches: number; wasmHeapBytes: number }; progress: never };
}

/** Messages the worker sends on its own (not replies): `{ id: 0, kind: 'event', data }`. */
export type WorkerEvent =
  | { type: 'gpu-recovered'; lostBackend: string; backend: BackendChoice; reason: string; message: string }
  | { type: 'gpu-recovery-failed'; lostBackend: string; reason: string; message: string };

export type RequestKind = keyof Requests;
/** The request, result and progress types of one kind. */
export type Req<K extends RequestKind> = Requests[K]['req'];
export type Res<K extends RequestKind> = Requests[K]['res'];
export type Progress<K extends RequestKind> = Requests[K]['progress'];

export type { CompleteExportRequest };
