// The typed message protocol between the app and the embedding worker. Only types and plain data:
// the client imports this file, never the worker's code.
import type { SerializedError } from '../shared/errors';
import type { BackendChoice, BackendName } from './backend';
import type { ClassScore } from './extractor';
import type { EpochReport, HeadSettings, TrainedHead } from '../train/head';
import type { HeadRecipe } from '../train/fit';
import type { Metrics } from '../train/metrics';

export interface ExtractorInfo {
  id: string;
  name: string;
  key: string;
  dim: number;
  inputSize: number;
  hasClassifier: boolean;
}

export interface InitRequest {
  extractorId: string;
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
}

export interface ImageInput {
  id: string;
  bytes: ArrayBuffer;
  type: string;
  name: string;
}

export interface ClassifyResult {
  top: ClassScore[];
  embedding: Float32Array;
  width: number;
  height: number;
  ms: number;
}

export interface EmbedItemResult {
  id: string;
  embedding?: Float32Array;
  thumbnail?: Blob;
  width?: number;
  height?: number;
  error?: SerializedError;
}

/** Samples' cached embeddings with their labels, and the head settings to fit on them. */
export interface LabelledEmbeddings {
  ids: string[];
  labels: Int32Array;
  x: Float32Array;
  dim: number;
  numClasses: number;
  settings: HeadSettings;
}

export interface TrainRequest extends LabelledEmbeddings {
  recipe?: HeadRecipe;
  /** Cached augmentation variants: row r belongs to sample ids[r]; used for training rows only. */
  augment?: { ids: string[]; x: Float32Array };
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

export interface ProfileResult {
  backend: string;
  extractor: string;
  /** Multiply-adds per image (null for graph models, where layers are not visible). */
  macsPerImage: number | null;
  /** Multiply-adds per second of a 512^3 matrix product on this backend. */
  matmulMacsPerS: number;
  /** ms per image of the network alone (preprocessed input), by batch size, in this worker. */
  embedMsPerImage: Record<number, number>;
  /**
   * With helper lanes (lanes.ts): every lane at once at the best batch. embedMsPerImage is the
   * network's time per image of all lanes together (1 / images per second), matmulMacsPerS the sum
   * of the lanes' rates measured at the same time (all cores). null with one lane.
   */
  allLanes: { lanes: number; batch: number; embedMsPerImage: number; matmulMacsPerS: number } | null;
}

export interface MapRequest {
  /** Packed embeddings, n x dim. */
  x: Float32Array;
  n: number;
  dim: number;
  method: 'pca' | 'umap';
  seed: number;
}

export interface AugmentItemResult {
  id: string;
  /** count x dim variant embeddings, in AUGMENT_VARIANTS order. */
  vectors?: Float32Array;
  count?: number;
  error?: SerializedError;
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
export interface FineTuneStartRequest extends LabelledEmbeddings {
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
  bestEpoch: number;
  initial: { valLoss: number; valAccuracy: number } | null;
  nTrain: number;
  nValidation: number;
  trainMs: number;
}

/** Everything the complete-model export needs besides the worker's own extractor. */
export interface CompleteExportRequest {
  head: TrainedHead;
  classNames: string[];
  classIds: string[];
  extractorKey: string;
  metrics: { validation: Metrics | null; trainMs: number; settings?: HeadSettings } | null;
  projectName: string;
  /** The project's fine-tuned top (replaces those weights in the written model), or null. */
  fineTuned: { fromLayer: string; weights: TunedWeight[]; metrics?: unknown } | null;
  /** tf.min.js for the bundle's offline example page. */
  tfjsScript: Uint8Array;
}

export interface Requests {
  init: { req: InitRequest; res: InitResult; progress: { phase: string; loadedBytes: number; doneFiles: number; totalFiles: number } };
  classify: { req: { image: ImageInput; topK: number }; res: ClassifyResult; progress: never };
  embed: { req: { images: ImageInput[]; thumbnails: boolean }; res: { done: number; failed: number }; progress: EmbedItemResult };
  train: { req: TrainRequest; res: TrainResponse; progress: EpochReport };
  setHead: { req: { head: TrainedHead | null; extractorKey: string | null }; res: { ok: true }; progress: never };
  predict: { req: { image: ImageInput }; res: PredictResult; progress: never };
  profile: { req: { batches: number[]; repeats: number }; res: ProfileResult; progress: never };
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
  setTuned: { req: { model: TunedModel | null }; res: { ok: true }; progress: never };
  /** numTensors includes the helper lanes' tensors; lanes = workers embedding now (1 + ready helpers). */
  memory: { req: Record<string, never>; res: { numTensors: number; numBytes: number; backend: string; lanes: number; helperBatches: number }; progress: never };
  /** Tests: the next batch for a helper lane kills that worker mid-call; false when none is running. */
  debugCrashHelper: { req: Record<string, never>; res: { armed: boolean }; progress: never };
  /**
   * Test hook (reached only through the ?bench=1 hooks): loses the GPU context after `afterMs`, as
   * the next GPU work starts (`onNextWork`), or when training reports epoch `atEpoch`.
   */
  debugLoseContext: { req: { afterMs?: number; onNextWork?: boolean; atEpoch?: number }; res: { backend: string; scheduled: boolean }; progress: never };
}

/** Messages the worker sends on its own (not replies): `{ id: 0, kind: 'event', data }`. */
export type WorkerEvent =
  | { type: 'gpu-recovered'; lostBackend: string; backend: BackendChoice; reason: string; message: string }
  | { type: 'gpu-recovery-failed'; lostBackend: string; reason: string; message: string };

export type RequestType = keyof Requests;

export type ToWorker =
  | { id: number; type: RequestType; payload: unknown }
  | { id: number; cancel: true };

export type FromWorker =
  | { id: number; kind: 'progress'; data: unknown }
  | { id: number; kind: 'result'; data: unknown }
  | { id: number; kind: 'error'; error: SerializedError };
