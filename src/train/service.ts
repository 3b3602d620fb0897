// Training and prediction handlers of the model worker: the head is trained on cached embeddings
// (no image is touched), then kept in the worker so each frame is embedded and classified in one
// round trip.
import { GlimpseError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import { fitHead } from './fit';
import { predictHead, type TrainedHead } from './head';
import { pcaMap, umapMap } from './map';

export interface HeadHolder {
  head: TrainedHead | null;
  extractorKey: string | null;
}

export const activeHead: HeadHolder = { head: null, extractorKey: null };

export interface TrainPayload {
  ids: string[];
  labels: Int32Array;
  x: Float32Array;
  dim: number;
  numClasses: number;
  settings: import('./head').HeadSettings;
  recipe?: import('./fit').HeadRecipe;
  /** Cached augmentation variants (training rows only; fitHead keeps validation clean). */
  augment?: { ids: string[]; x: Float32Array };
}

export interface MapPayload {
  x: Float32Array;
  n: number;
  dim: number;
  method: 'pca' | 'umap';
  seed: number;
}

export const trainHandlers: Record<'train' | 'setHead' | 'scoreAll' | 'map', Handler> = {
  scoreAll: async (payload) => {
    const { x, n, extractorKey } = payload as { x: Float32Array; n: number; extractorKey: string };
    const head = activeHead.head;
    if (!head || activeHead.extractorKey !== extractorKey) {
      throw new GlimpseError('invalid-input', 'Train the model first: the review needs a classifier for the current extractor.');
    }
    const probs = predictHead(head, x, n);
    return { data: { probs, numClasses: head.numClasses }, transfer: [probs.buffer] };
  },
  map: async (payload, { progress, signal }) => {
    const req = payload as MapPayload;
    const t0 = performance.now();
    const xy =
      req.method === 'pca'
        ? pcaMap(req.x, req.n, req.dim)
        : await umapMap(req.x, req.n, req.dim, {
            seed: req.seed,
            onEpoch: (epoch, total) => {
              progress({ epoch, total });
              return signal.aborted;
            },
          });
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    return { data: { xy, ms: performance.now() - t0 }, transfer: [xy.buffer] };
  },
  train: async (payload, { progress, signal }) => {
    const req = payload as TrainPayload;
    const fit = await fitHead({ ids: req.ids, labels: req.labels, x: req.x, dim: req.dim }, req.numClasses, req.settings, {
      signal,
      onEpoch: (r) => progress(r),
      ...(req.recipe ? { recipe: req.recipe } : {}),
      ...(req.augment ? { augment: req.augment } : {}),
    });
    const confidence = new Float32Array(fit.validationPred.length);
    fit.validationPred.forEach((p, i) => {
      confidence[i] = fit.validationProbs[i * req.numClasses + p]!;
    });
    return {
      data: {
        head: fit.head,
        validation: fit.validation,
        validationIds: Array.from(fit.validationRows, (r) => req.ids[r]!),
        validationPred: fit.validationPred,
        validationConfidence: confidence,
        trainMs: fit.trainMs,
        nTrain: fit.nTrain,
        nAugmented: fit.nAugmented,
      },
    };
  },
  setHead: async (payload) => {
    const { head, extractorKey } = payload as HeadHolder;
    activeHead.head = head;
    activeHead.extractorKey = extractorKey;
    return { data: { ok: true } };
  },
};

/** Class probabilities of one embedding under the active head. */
export function classifyEmbedding(embedding: Float32Array, extractorKey: string): Float32Array {
  const head = activeHead.head;
  if (!head) throw new GlimpseError('invalid-input', 'Train the model first: there is no trained classifier yet.');
  if (activeHead.extractorKey !== extractorKey) {
    throw new GlimpseError('invalid-input', 'The trained classifier belongs to another feature extractor: train again.');
  }
  return predictHead(head, embedding, 1);
}
