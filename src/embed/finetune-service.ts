// Fine-tuning in the embedding worker, and the weights prediction runs with.
//
// The extractor's top layers (from spec.fineTuneFrom) are trained in place, so the one model in
// the worker has at any moment either its shipped weights ('base') or a project's fine-tuned ones.
// Every request that embeds for storage (embed, classify, augment, profile) runs with the base
// weights; prediction for a project with a fine-tuned model runs with that model's weights; a
// mode lock makes requests that want other weights wait, so an import never stores an embedding
// made by fine-tuned weights. Swapping writes the top's variables (ResNet-50 res5: 15 M numbers),
// so it happens only when the mode changes, never per frame.
//
// A fine-tuning session keeps the frozen part's activations of a capped number of images
// (ftStart reserves budgetBytes; ResNet-50 needs 784 KiB per image), then trains with
// train/finetune.ts: tf.tidy per step, the optimizer disposed, early stopping on validation.
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../capture/decode';
import { GlimpseError, serializeError } from '../shared/errors';
import type { Handler } from '../shared/worker-host';
import { fitHead } from '../train/fit';
import { predictHead } from '../train/head';
import {
  bottomActivations,
  fineTune,
  readTopWeights,
  releaseSplit,
  splitForFineTune,
  tunedHead,
  writeTopWeights,
  type ActivationSet,
  type FineTuneSplit,
  type NamedWeight,
} from '../train/finetune';
import type { TrainedHead } from '../train/head';
import type { Extractor } from './extractor';
import { imagesToBatch } from './preprocess';
import type { FineTuneStartRequest, FineTuneStartResult, FineTuneRunResult, ImageInput, Requests, TunedModel } from './protocol';

type GetExtractor = () => Extractor;

interface ModelState {
  model: tf.LayersModel;
  split: FineTuneSplit;
  /** The shipped values of the top's trainable weights, taken before anything was changed. */
  base: NamedWeight[] | null;
}

let state: ModelState | null = null;
/** Which weights the top holds: 'base', a tuned model's id, or 'training'. */
let mode = 'base';
let holders = 0;
let waiters: (() => void)[] = [];
let tuned: TunedModel | null = null;

interface Session {
  ex: Extractor;
  head: TrainedHead;
  size: number;
  capacity: number;
  train: ActivationSet;
  val: ActivationSet;
}
let session: Session | null = null;

/** Whether (and why not) the loaded extractor can be fine-tuned. */
export function fineTuneSupport(ex: Extractor): { ok: true } | { ok: false; reason: string } {
  if (!ex.layersModel) {
    return { ok: false, reason: `${ex.spec.name} is a graph model: its layers and weights are frozen into the graph, so it cannot be fine-tuned.` };
  }
  if (!ex.spec.fineTuneFrom) return { ok: false, reason: `${ex.spec.name} names no layers to unfreeze, so it cannot be fine-tuned.` };
  return { ok: true };
}

function modelState(ex: Extractor): ModelState {
  const support = fineTuneSupport(ex);
  if (!support.ok) throw new GlimpseError('invalid-input', support.reason);
  const model = ex.layersModel!;
  if (state?.model !== model) {
    // A new model (another extractor, or a reload after a lost GPU): it holds its shipped weights.
    // The old one was disposed by its reload; this frees the top layers the old split held.
    if (state) releaseSplit(state.split);
    state = { model, split: splitForFineTune(model, ex.spec.fineTuneFrom!, ex.spec.embeddingOutput), base: null };
    mode = 'base';
  }
  return state;
}

async function apply(ex: Extractor, want: string): Promise<void> {
  const st = modelState(ex);
  if (mode === want) return;
  if (want === 'base') {
    if (st.base) writeTopWeights(st.split, st.base);
  } else if (want !== 'training') {
    if (!tuned || tuned.id !== want) throw new GlimpseError('internal', 'That fine-tuned model is not loaded.');
    st.base ??= await readTopWeights(st.split);
    writeTopWeights(st.split, tuned.weights);
  } else {
    st.base ??= await readTopWeights(st.split);
    if (mode !== 'base') writeTopWeights(st.split, st.base);
  }
  mode = want;
}

/** Runs `run` while the top holds the weights `want`; other modes wait until it is done. */
async function withWeights<T>(ex: Extractor | null, want: string, run: () => Promise<T>): Promise<T> {
  const relevant = ex !== null && fineTuneSupport(ex).ok;
  if (!relevant) return run();
  while (holders > 0 && (mode !== want || want === 'training')) {
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
  holders++;
  try {
    await apply(ex, want);
    return await run();
  } finally {
    holders--;
    if (holders === 0) {
      const w = waiters;
      waiters = [];
      w.forEach((resolve) => resolve());
    }
  }
}

/** Wraps a handler that embeds for storage: it always sees the shipped weights. */
export function withBaseWeights(getExtractor: () => Extractor | null, handler: Handler): Handler {
  return (payload, ctx) => withWeights(getExtractor(), 'base', () => handler(payload, ctx));
}

/**
 * Wraps the predict handler: with a fine-tuned model for the loaded extractor, embeds with its
 * weights and classifies with its head; otherwise the plain handler with the shipped weights.
 */
export function withTunedPrediction(getExtractor: () => Extractor | null, handler: Handler): Handler {
  return async (payload, ctx) => {
    const ex = getExtractor();
    const model = tuned;
    if (!ex || !model || model.extractorKey !== ex.key) return withWeights(ex, 'base', () => handler(payload, ctx));
    const { image } = payload as Requests['predict']['req'];
    const t0 = performance.now();
    const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
    return withWeights(ex, model.id, async () => {
      const { embeddings } = await ex.embed([pixels]);
      const probs = predictHead(model.head, embeddings[0]!, 1);
      return { data: { probs, ms: performance.now() - t0 }, transfer: [probs.buffer] };
    });
  };
}

async function start(ex: Extractor, req: FineTuneStartRequest): Promise<FineTuneStartResult> {
  const st = modelState(ex);
  if (req.extractorKey !== ex.key) throw new GlimpseError('invalid-input', 'The model changed since these embeddings were made; train again.');
  session = null;
  // The head fine-tuning starts from: softmax, fitted on the training rows only (no refit), so
  // early stopping on the validation rows is honest (as npm run eval --finetune does).
  const fit = await fitHead({ ids: req.ids, labels: req.labels, x: req.x, dim: req.dim }, req.numClasses, { ...req.settings, kind: 'softmax' }, { refit: false });
  const shape = st.split.activationShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const bytesPerImage = size * 4;
  const capacity = Math.max(2, Math.floor(req.budgetBytes / bytesPerImage));
  const empty = (): ActivationSet => ({ x: new Float32Array(0), y: new Int32Array(0), n: 0 });
  session = { ex, head: fit.head, size, capacity, train: empty(), val: empty() };
  return {
    fromLayer: ex.spec.fineTuneFrom!,
    activationShape: shape,
    bytesPerImage,
    maxImages: capacity,
    validationIds: Array.from(fit.validationRows, (r) => req.ids[r]!),
    headValAccuracy: fit.validation?.accuracy ?? null,
  };
}

function append(set: ActivationSet, x: Float32Array, y: number, size: number): ActivationSet {
  // Grows by doubling: the session never holds more than its capacity of images.
  let buf = set.x;
  let labels = set.y;
  if ((set.n + 1) * size > buf.length) {
    const grown = new Float32Array(Math.max(size, buf.length * 2));
    grown.set(buf.subarray(0, set.n * size));
    buf = grown;
    const l = new Int32Array(Math.max(1, labels.length * 2));
    l.set(labels.subarray(0, set.n));
    labels = l;
  }
  buf.set(x, set.n * size);
  labels[set.n] = y;
  return { x: buf, y: labels, n: set.n + 1 };
}

async function add(images: ImageInput[], labels: Int32Array, validation: boolean[], signal: AbortSignal): Promise<{ added: number; failed: number }> {
  const s = session;
  if (!s) throw new GlimpseError('internal', 'No fine-tuning session: start one first.');
  const st = modelState(s.ex);
  let added = 0;
  let failed = 0;
  for (let i = 0; i < images.length; i++) {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    if (s.train.n + s.val.n >= s.capacity) {
      failed++;
      continue;
    }
    const image = images[i]!;
    try {
      const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
      const batch = imagesToBatch([pixels], s.ex.spec.inputSize, s.ex.spec.preprocessing);
      let acts: Float32Array;
      try {
        // The frozen part never changes, whatever weights the top holds.
        acts = await bottomActivations(st.split, batch);
      } finally {
        batch.dispose();
      }
      if (validation[i]) s.val = append(s.val, acts, labels[i]!, s.size);
      else s.train = append(s.train, acts, labels[i]!, s.size);
      added++;
    } catch (err) {
      if (serializeError(err).code === 'cancelled') throw err;
      failed++;
    }
  }
  return { added, failed };
}

async function runSession(req: Requests['ftRun']['req'], signal: AbortSignal, onEpoch: (e: FineTuneRunResult['history'][number]) => void): Promise<FineTuneRunResult> {
  const s = session;
  if (!s) throw new GlimpseError('internal', 'No fine-tuning session: start one first.');
  if (s.train.n < 2) throw new GlimpseError('invalid-input', 'Fine-tuning needs at least two training images.');
  const st = modelState(s.ex);
  return withWeights(s.ex, 'training', async () => {
    const t0 = performance.now();
    try {
      const res = await fineTune(st.split, s.head, s.train, s.val.n > 0 ? s.val : null, {
        epochs: req.epochs,
        learningRate: req.learningRate,
        batchSize: req.batchSize,
        patience: req.patience,
        signal,
        onEpoch,
      });
      const weights = await readTopWeights(st.split);
      const model: TunedModel = {
        id: `tuned-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        extractorKey: s.ex.key,
        fromLayer: s.ex.spec.fineTuneFrom!,
        weights,
        head: tunedHead(res, s.head),
      };
      return { model, history: res.history, bestEpoch: res.bestEpoch, initial: res.initial, nTrain: s.train.n, nValidation: s.val.n, trainMs: performance.now() - t0 };
    } finally {
      // The shipped weights go back whatever happened (cancel, error); the mode says so.
      if (st.base) writeTopWeights(st.split, st.base);
      mode = 'base';
    }
  });
}

export function fineTuneHandlers(getExtractor: GetExtractor): Record<'ftStart' | 'ftAdd' | 'ftRun' | 'ftEnd' | 'setTuned', Handler> {
  return {
    ftStart: async (payload) => ({ data: await start(getExtractor(), payload as FineTuneStartRequest) }),
    ftAdd: async (payload, { signal }) => {
      const { images, labels, validation } = payload as Requests['ftAdd']['req'];
      return { data: await add(images, labels, validation, signal) };
    },
    ftRun: async (payload, { signal, progress }) => {
      const data = await runSession(payload as Requests['ftRun']['req'], signal, (e) => progress(e));
      return { data, transfer: data.model.weights.map((w) => w.data.buffer) };
    },
    ftEnd: async () => {
      session = null;
      return { data: { ok: true } };
    },
    setTuned: async (payload) => {
      const { model } = payload as Requests['setTuned']['req'];
      // The weights themselves are written lazily, by the next request that wants other ones; a
      // prediction in flight with the old model finishes with it.
      tuned = model;
      return { data: { ok: true } };
    },
  };
}
