// Training and prediction handlers of the model worker: the head is trained on cached embeddings
// (no image is touched), then kept in the worker so each frame is embedded and classified in one
// round trip.
import { GlimpseError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import { fitHead } from './fit';
import { predictHead, type TrainedHead } from './head';

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
}

export const trainHandlers: Record<'train' | 'setHead', Handler> = {
  train: async (payload, { progress, signal }) => {
    const req = payload as TrainPayload;
    const fit = await fitHead({ ids: req.ids, labels: req.labels, x: req.x, dim: req.dim }, req.numClasses, req.settings, {
      signal,
      onEpoch: (r) => progress(r),
      ...(req.recipe ? { recipe: req.recipe } : {}),
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
