// Fine-tuning requests of the model worker (ftStart, ftAdd, ftRun, ftEnd, setTuned).
//
// A fine-tuning session keeps the frozen part's activations of a capped number of images
// (ftStart reserves budgetBytes; ResNet-50 needs 784 KiB per image), then trains with
// train/finetune.ts: tf.tidy per step, the optimizer disposed, early stopping on validation.
// Which weights the top holds, and the GPU-loss recovery, are handlers.ts's policy: ftRun runs
// with the 'training' weights, and after a lost context a retry finds the reloaded model here
// (the session keeps plain arrays and the extractor's key, never the model).
import { decodeImage } from '../capture/decode';
import { imagesToBatch } from '../embed/preprocess';
import type { Extractor } from '../embed/extractor';
import { GlimpseError, serializeError } from '../shared/errors';
import { fitHead } from '../train/fit';
import type { TrainedHead } from '../train/head';
import { FINE_TUNE_RECIPE, bottomActivations, fineTune, readTopWeights, tunedHead, type ActivationSet } from '../train/finetune';
import type { FineTuneRunResult, FineTuneStartRequest, FineTuneStartResult, ImageInput, Req, Requests, TunedModel } from './protocol';
import type { WorkMap } from './policy';
import { readyExtractor } from './runtime';
import { modelSplit, restoreBaseWeights, setTunedModel } from './weights';

type FineTuneKinds = 'ftStart' | 'ftAdd' | 'ftRun' | 'ftEnd' | 'setTuned';

interface Session {
  extractorKey: string;
  head: TrainedHead;
  size: number;
  capacity: number;
  train: ActivationSet;
  val: ActivationSet;
}
let session: Session | null = null;
/** The model the last ftRun made: kept (setTuned `keep`) once the app has saved it. */
let lastRun: TunedModel | null = null;

/** The loaded extractor, which must still be the one the session started with. */
function sessionExtractor(s: Session): Extractor {
  const ex = readyExtractor();
  if (ex.key !== s.extractorKey) throw new GlimpseError('invalid-input', 'The model changed since fine-tuning started; start again.');
  return ex;
}

async function start(ex: Extractor, req: FineTuneStartRequest): Promise<FineTuneStartResult> {
  const st = modelSplit(ex);
  if (req.extractorKey !== ex.key) throw new GlimpseError('invalid-input', 'The model changed since these embeddings were made; train again.');
  session = null;
  lastRun = null;
  // The head fine-tuning starts from: softmax, fitted on the training rows only (no refit), so
  // early stopping on the validation rows is honest (as npm run eval --finetune does).
  const fit = await fitHead({ ids: req.ids, labels: req.labels, x: req.x, dim: req.dim }, req.numClasses, { ...req.settings, kind: 'softmax' }, { refit: false });
  const shape = st.split.activationShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const bytesPerImage = size * 4;
  const capacity = Math.max(2, Math.floor(req.budgetBytes / bytesPerImage));
  const empty = (): ActivationSet => ({ x: new Float32Array(0), y: new Int32Array(0), n: 0 });
  session = { extractorKey: ex.key, head: fit.head, size, capacity, train: empty(), val: empty() };
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

/** Each image through the frozen part; `guard` runs each image's GPU work under the loss recovery. */
async function add(
  req: Req<'ftAdd'>,
  signal: AbortSignal,
  guard: <T>(run: () => Promise<T>) => Promise<T>,
): Promise<{ added: number; failed: number }> {
  const s = session;
  if (!s) throw new GlimpseError('internal', 'No fine-tuning session: start one first.');
  const { images, labels, validation } = req;
  let added = 0;
  let failed = 0;
  for (let i = 0; i < images.length; i++) {
    if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
    if (s.train.n + s.val.n >= s.capacity) {
      failed++;
      continue;
    }
    const image: ImageInput = images[i]!;
    try {
      const { pixels } = await decodeImage(new Uint8Array(image.bytes), image.type, image.name);
      const acts = await guard(async () => {
        const ex = sessionExtractor(s);
        const batch = imagesToBatch([pixels], ex.spec.inputSize, ex.spec.preprocessing);
        try {
          // The frozen part never changes, whatever weights the top holds.
          return await bottomActivations(modelSplit(ex).split, batch);
        } finally {
          batch.dispose();
        }
      });
      if (validation[i]) s.val = append(s.val, acts, labels[i]!, s.size);
      else s.train = append(s.train, acts, labels[i]!, s.size);
      added++;
    } catch (err) {
      const code = serializeError(err).code;
      if (code === 'cancelled' || code === 'gpu-context-lost') throw err;
      failed++;
    }
  }
  return { added, failed };
}

/** Trains the top + head; runs while the top holds the 'training' weights (handlers.ts). */
async function runSession(req: Req<'ftRun'>, signal: AbortSignal, onEpoch: (e: FineTuneRunResult['history'][number]) => void): Promise<FineTuneRunResult> {
  const s = session;
  if (!s) throw new GlimpseError('internal', 'No fine-tuning session: start one first.');
  if (s.train.n < 2) throw new GlimpseError('invalid-input', 'Fine-tuning needs at least two training images.');
  const ex = sessionExtractor(s);
  const st = modelSplit(ex);
  const t0 = performance.now();
  try {
    const res = await fineTune(st.split, s.head, s.train, s.val.n > 0 ? s.val : null, {
      ...FINE_TUNE_RECIPE,
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
      extractorKey: ex.key,
      fromLayer: ex.spec.fineTuneFrom!,
      weights,
      head: tunedHead(res, s.head),
    };
    lastRun = model;
    return { model, history: res.history, bestEpoch: res.bestEpoch, beatsHead: res.beatsHead, initial: res.initial, nTrain: s.train.n, nValidation: s.val.n, trainMs: performance.now() - t0 };
  } finally {
    // The shipped weights go back whatever happened (cancel, error).
    restoreBaseWeights(ex);
  }
}

export const fineTuneHandlers: Pick<WorkMap<Requests>, FineTuneKinds> = {
  ftStart: async (req) => ({ data: await start(readyExtractor(), req) }),
  ftAdd: async (req, { signal, gpu }) => ({ data: await add(req, signal, gpu) }),
  ftRun: async (req, { signal, progress }) => {
    // Copied to the app (which stores them), not transferred: the worker keeps the model it made.
    return { data: await runSession(req, signal, (e) => progress(e)) };
  },
  ftEnd: async () => {
    session = null;
    return { data: { ok: true } };
  },
  setTuned: async (req) => {
    if ('keep' in req) {
      if (lastRun?.id !== req.keep) throw new GlimpseError('internal', 'That fine-tuning run is no longer held by the worker.');
      setTunedModel({ ...lastRun, id: req.id });
      lastRun = null;
    } else setTunedModel(req.model);
    return { data: { ok: true } };
  },
};
