// Training and prediction requests of the model worker: the head is trained on cached embeddings
// (no image is touched), then kept in the worker so each frame is embedded and classified in one
// round trip. The GPU policy (recovery; heads use no extractor weights) is handlers.ts's.
import { GlimpseError } from '../shared/errors';
import { fitHead } from '../train/fit';
import { predictHead, type TrainedHead } from '../train/head';
import { pcaMap, umapMap } from '../train/map';
import { reviewRows } from '../train/review';
import { RowStage } from '../train/row-stage';
import { nextMacrotask } from '../train/head-util';
import { pageHelperFor } from './page-helper';
import { keepResident, residentFor, residentOrNew, dropResident } from './resident';
import type { Requests } from './protocol';
import type { WorkMap } from './policy';

interface HeadHolder {
  head: TrainedHead | null;
  extractorKey: string | null;
}

const activeHead: HeadHolder = { head: null, extractorKey: null };

/** Rows of the next staged training, as the pages arrive. */
let stage: RowStage | null = null;
/** Whose rows the stage holds, when the page said (they are kept after the fit). */
let stageOf: { projectId: string; extractorKey: string } | null = null;

/** Class probabilities of one embedding under the active head. */
export function classifyEmbedding(embedding: Float32Array, extractorKey: string): Float32Array {
  const head = activeHead.head;
  if (!head) throw new GlimpseError('invalid-input', 'Train the model first: there is no trained classifier yet.');
  if (activeHead.extractorKey !== extractorKey) {
    throw new GlimpseError('invalid-input', 'The trained classifier belongs to another feature extractor: train again.');
  }
  return predictHead(head, embedding, 1);
}

/** `wait`, or a 'cancelled' error as soon as the request is cancelled (rows that never come). */
function untilCancelled(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new GlimpseError('cancelled', 'Cancelled.'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new GlimpseError('cancelled', 'Cancelled.'));
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export const trainHandlers: Pick<WorkMap<Requests>, 'train' | 'setHead' | 'scoreAll' | 'map' | 'stageRows' | 'holdRows' | 'review'> = {
  stageRows: async ({ start, ids, x, at, retain }) => {
    if (start) {
      // A fit still waiting for the rows of the set this one replaces will never get them.
      stage?.close(new GlimpseError('internal', 'The staged rows were replaced: train again.'));
      stage = new RowStage(start.ids ?? start.rows, start.dim);
      stageOf = start.project ?? null;
      const held = start.project && start.ids ? residentFor(start.project.projectId, start.project.extractorKey, start.dim) : null;
      // Rows still held from the last training are placed now: only the others are sent.
      const have = held ? stage.fill((id) => {
        const r = held.rowOf(id);
        return r < 0 ? null : held.row(r);
      }) : undefined;
      // The stage owns the rows now (one copy); the next fit keeps its set in their place.
      if (start.project) dropResident();
      return { data: { rows: stage.rows, ...(have ? { have } : {}) } };
    }
    if (!stage) throw new GlimpseError('internal', 'No staged training set: train again.');
    if (retain) return { data: { rows: stage.retain(retain) } };
    return { data: { rows: stage.append(ids, x, at) } };
  },
  scoreAll: async ({ x, n, extractorKey }) => {
    const head = activeHead.head;
    if (!head || activeHead.extractorKey !== extractorKey) {
      throw new GlimpseError('invalid-input', 'Train the model first: the review needs a classifier for the current extractor.');
    }
    const probs = predictHead(head, x, n);
    return { data: { probs, numClasses: head.numClasses }, transfer: [probs.buffer] };
  },
  map: async (req, { progress, signal }) => {
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
  train: async (req, { progress, signal }) => {
    let x = req.x;
    if (req.staged) {
      if (!stage) throw new GlimpseError('internal', 'The staged training rows are gone (the worker restarted?): train again.');
      if (stage.dim !== req.dim) throw new GlimpseError('internal', 'The staged rows have another size: train again.');
      // Kept (not taken) until the fit ends: a retry of this request after a lost GPU context reads them again.
      x = stage.view(req.ids);
    }
    const staged = req.staged ? stage : null;
    const pageHelper = pageHelperFor((req.ids.length + (req.augment?.ids.length ?? 0)) * req.dim);
    const fit = await fitHead({ ids: req.ids, labels: req.labels, x, dim: req.dim }, req.numClasses, req.settings, {
      ...(pageHelper ? { pageHelper } : {}),
      signal,
      onEpoch: (r) => progress(r),
      ...(req.recipe ? { recipe: req.recipe } : {}),
      ...(req.augment ? { augment: req.augment } : {}),
      ...(staged ? { whenRows: (rows: readonly number[] | null) => untilCancelled(staged.whenRows(rows), signal) } : {}),
    }).finally(() => pageHelper?.stop());
    if (staged && stage === staged) {
      // The rows trained on stay in the worker for the review and the next training.
      const kept = staged.complete();
      if (kept && stageOf && req.extractorKey === stageOf.extractorKey) keepResident(stageOf.projectId, stageOf.extractorKey, req.dim, kept.ids, kept.x);
      stage = null;
      stageOf = null;
    }
    const confidence = new Float32Array(fit.validationPred.length);
    fit.validationPred.forEach((p, i) => {
      confidence[i] = fit.validationProbs[i * req.numClasses + p]!;
    });
    // The head just trained predicts from now on; the app stores a copy (no round trip back in).
    if (req.extractorKey !== null) {
      activeHead.head = fit.head;
      activeHead.extractorKey = req.extractorKey;
    }
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
  holdRows: async ({ projectId, extractorKey, dim, ids, x, more }) => {
    const held = residentOrNew(projectId, extractorKey, dim);
    if (more !== undefined) held.reserve(ids.length + more);
    const ok = held.add(ids, x);
    return { data: { rows: held.rows, held: ok } };
  },
  review: async (req) => {
    const head = activeHead.head;
    if (!head || activeHead.extractorKey !== req.extractorKey || head.numClasses !== req.numClasses) {
      throw new GlimpseError('invalid-input', 'Train the model first: the review needs a classifier for the current extractor.');
    }
    const held = residentFor(req.projectId, req.extractorKey, req.dim);
    const missing = held ? req.ids.filter((id) => held.rowOf(id) < 0) : [...req.ids];
    if (missing.length > 0 || !held) return { data: { missing, items: [] } };
    const items = await reviewRows({
      ids: req.ids,
      labels: req.labels,
      dim: req.dim,
      numClasses: req.numClasses,
      pack: (ids) => held.pack(ids),
      predict: (x, n) => predictHead(head, x, n),
      unsureBelow: req.unsureBelow,
      limit: req.limit,
      pause: nextMacrotask,
    });
    return { data: { missing: [], items } };
  },
  setHead: async ({ head, extractorKey }) => {
    activeHead.head = head;
    activeHead.extractorKey = extractorKey;
    return { data: { ok: true } };
  },
};
