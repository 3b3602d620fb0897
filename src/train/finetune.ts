// Fine-tuning, the second stage of transfer learning: after the head has converged on cached
// embeddings, unfreeze the top of the extractor (from spec.fineTuneFrom, e.g. ResNet-50's last
// stage from `res5a_branch2a`) and train it with the head at a low learning rate, with early
// stopping on validation loss.
//
// The efficient design: the frozen part never changes, so its output (the tensor entering the
// first unfrozen layer) is computed once per image (`bottom`) and training runs only the top +
// head on those activations. The top is rebuilt as its own model over the same layer objects, so
// it shares their weights: training changes the top layers in place and nothing else. Batch
// normalisation runs in inference mode (moving statistics stay as trained on ImageNet; small
// batches would wreck them) and only trainable weights of the top layers and the head are updated.
// Every step runs inside tf.tidy / optimizer.minimize; snapshots and the optimizer are disposed.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import { mulberry32, seededShuffle } from '../shared/rng';
import type { TrainedHead } from './head';
import { l2NormalizeTensor } from './head-predict';

export { FINE_TUNE_RECIPE } from './finetune-recipe';
export { giveUnitScales, releaseSplit, splitForFineTune, type FineTuneSplit } from './finetune-split';
import { giveUnitScales, type FineTuneSplit } from './finetune-split';

export interface ActivationSet {
  /** n activations packed, each activationShape in size. */
  x: Float32Array;
  y: Int32Array;
  n: number;
}

/**
 * How the top is trained. The defaults are the recipe measured in the README ("Fine-tuning"):
 * without label smoothing and augmentation the starting head already fits the training photos
 * (training loss 0.02 in the first epoch), so the unfrozen block gets almost no gradient.
 */
export interface FineTuneOptions {
  /** Peak learning rate of the unfrozen block (Adam). */
  learningRate?: number;
  /** Peak learning rate of the head, trained jointly (Adam): higher than the block's. */
  headLearningRate?: number;
  /** Linear warm-up over this many epochs (fractions allowed), then cosine decay to zero at `epochs`. */
  warmupEpochs?: number;
  schedule?: 'constant' | 'cosine';
  /** Label smoothing of the training loss (validation loss is plain cross-entropy). */
  labelSmoothing?: number;
  /** Augmentation of the cached activations, per training row and epoch (seeded): a horizontal
   * flip of the activation map (about what flipping the photo does) and a shift of up to `shift`
   * cells each way (zeros come in). */
  augment?: { flip: boolean; shift: number };
  /** Dropout on the embedding before the head, training only. */
  dropout?: number;
  /** Validation (and embedActivations callers that ask) average the photo and its flip. */
  flipTest?: boolean;
  epochs?: number;
  batchSize?: number;
  /** Epochs without a validation improvement before stopping. */
  patience?: number;
  seed?: number;
  signal?: AbortSignal;
  onEpoch?: (r: { epoch: number; loss: number; valLoss?: number; valAccuracy?: number }) => void;
}

export interface FineTuneResult {
  history: { epoch: number; loss: number; valLoss?: number; valAccuracy?: number }[];
  /** Validation loss and accuracy before the first step (the head alone on the frozen network). */
  initial: { valLoss: number; valAccuracy: number } | null;
  /** The best trained epoch on validation (higher accuracy, or the same accuracy and a lower
   * loss); the top holds its weights. Without validation, the last epoch. */
  bestEpoch: number;
  /** Whether that epoch beats the starting head (the head alone on the shipped network) on
   * validation by the same rule; true without validation (nothing to compare with). The app keeps
   * the fine-tuned network only when it does. */
  beatsHead: boolean;
  /** The head after fine-tuning, on the raw embedding (standardisation folded in). */
  kernel: Float32Array;
  bias: Float32Array;
  numClasses: number;
}

/** Softmax head with its standardisation folded into the weights: logits = emb W' + b'. */
export function foldHead(head: TrainedHead): { kernel: Float32Array; bias: Float32Array } {
  const layer = head.layers[0];
  if (head.kind !== 'softmax' || head.layers.length !== 1 || !layer)
    throw new GlimpseError(
      'invalid-input',
      'Fine-tuning starts from the softmax head; train with the default head first.',
    );
  const { inDim, outDim } = layer;
  const kernel = new Float32Array(inDim * outDim);
  const bias = Float32Array.from(layer.bias);
  for (let j = 0; j < inDim; j++) {
    const s = head.invStd[j]!;
    const m = head.mean[j]!;
    for (let c = 0; c < outDim; c++) {
      const w = layer.kernel[j * outDim + c]! * s;
      kernel[j * outDim + c] = w;
      bias[c]! -= m * w;
    }
  }
  return { kernel, bias };
}

/** One row's transform: flip the map left-right, then shift it by (dy, dx) cells (zeros come in). */
interface RowTransform {
  flip: boolean;
  dy: number;
  dx: number;
}

/** Copies activation `src` ([H, W, C]) into `dst`, transformed. */
export function transformActivation(src: Float32Array, dst: Float32Array, shape: readonly number[], t: RowTransform): void {
  const [h, w, c] = shape as [number, number, number];
  if (shape.length !== 3) {
    dst.set(src);
    return;
  }
  dst.fill(0);
  for (let y = 0; y < h; y++) {
    const sy = y + t.dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      let sx = x + t.dx;
      if (sx < 0 || sx >= w) continue;
      if (t.flip) sx = w - 1 - sx;
      const from = (sy * w + sx) * c;
      dst.set(src.subarray(from, from + c), (y * w + x) * c);
    }
  }
}

function batchTensor(
  set: ActivationSet,
  rows: readonly number[],
  size: number,
  shape: number[],
  transforms?: readonly (RowTransform | null)[],
): tf.Tensor {
  const buf = new Float32Array(rows.length * size);
  rows.forEach((r, i) => {
    const src = set.x.subarray(r * size, (r + 1) * size);
    const t = transforms?.[i];
    if (t) transformActivation(src, buf.subarray(i * size, (i + 1) * size), shape, t);
    else buf.set(src, i * size);
  });
  return tf.tensor(buf, [rows.length, ...shape]);
}

/** Learning-rate factor at `step` of `total`: linear warm-up, then cosine decay (or constant). */
export function scheduleFactor(step: number, total: number, warmup: number, schedule: 'constant' | 'cosine'): number {
  if (warmup > 0 && step < warmup) return (step + 1) / warmup;
  if (schedule === 'constant' || total <= warmup) return 1;
  const progress = Math.min(1, (step - warmup) / (total - warmup));
  return 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** Trains the top + head in place; the top layers end with the best epoch's weights. */
export async function fineTune(
  split: FineTuneSplit,
  head: TrainedHead,
  train: ActivationSet,
  validation: ActivationSet | null,
  opts: FineTuneOptions = {},
): Promise<FineTuneResult> {
  const lr = opts.learningRate ?? 1e-4;
  const headLr = opts.headLearningRate ?? lr;
  const epochs = opts.epochs ?? 10;
  const batchSize = opts.batchSize ?? 16;
  const patience = opts.patience ?? 2;
  const smoothing = opts.labelSmoothing ?? 0;
  const dropout = opts.dropout ?? 0;
  const seed = opts.seed ?? 1;
  giveUnitScales(split);
  const shape = split.activationShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const numClasses = head.numClasses;
  const folded = foldHead(head);
  // Inside tidy: tf.variable() keeps its own reference, the initial tensors are released.
  const W = tf.tidy(() =>
    tf.variable(tf.tensor2d(folded.kernel, [head.inputDim, numClasses]), true),
  );
  const b = tf.tidy(() => tf.variable(tf.tensor1d(folded.bias), true));
  const topVars = split.topLayers.flatMap((l) =>
    l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
  );
  const vars = [...topVars, W, b];
  const blockOpt = tf.train.adam(lr);
  const headOpt = tf.train.adam(headLr);
  const setRates = (f: number) => {
    (blockOpt as unknown as { learningRate: number }).learningRate = lr * f;
    (headOpt as unknown as { learningRate: number }).learningRate = headLr * f;
  };
  // A head trained on unit-length embeddings gets them here too (the folded weights expect them).
  const embed = (x: tf.Tensor) => {
    const e = split.top.apply(x, { training: false }) as tf.Tensor2D;
    return head.inputNorm === 'l2' ? l2NormalizeTensor(e) : e;
  };
  const logits = (x: tf.Tensor) => tf.add(tf.matMul(embed(x), W), b);
  const flipAll = (n: number) => Array.from({ length: n }, () => ({ flip: true, dy: 0, dx: 0 }));
  // WebGPU's synchronous read goes through an OffscreenCanvas (slow in a browser, missing in Node).
  const evaluate = async (set: ActivationSet): Promise<{ loss: number; accuracy: number }> => {
    let loss = 0;
    let right = 0;
    for (let i = 0; i < set.n; i += batchSize) {
      const rows = Array.from({ length: Math.min(batchSize, set.n - i) }, (_, k) => i + k);
      const [l, pred] = tf.tidy(() => {
        let p = tf.softmax(logits(batchTensor(set, rows, size, shape)));
        if (opts.flipTest) p = tf.div(tf.add(p, tf.softmax(logits(batchTensor(set, rows, size, shape, flipAll(rows.length))))), 2);
        const y = tf.oneHot(tf.tensor1d(rows.map((r) => set.y[r]!), 'int32'), numClasses);
        // Cross-entropy of the (averaged) probabilities.
        const ce = tf.neg(tf.sum(tf.mul(y, tf.log(tf.maximum(p, 1e-12)))));
        return [ce, tf.argMax(p, 1)];
      });
      // WebGPU reads asynchronously; elsewhere the read stays synchronous, so the evaluation never
      // yields to other work between batches (as before the WebGPU eval needed this).
      const asyncRead = tf.getBackend() === 'webgpu';
      loss += (asyncRead ? await l.data() : l.dataSync())[0]!;
      const p = asyncRead ? await pred.data() : pred.dataSync();
      rows.forEach((r, k) => {
        if (p[k] === set.y[r]) right++;
      });
      tf.dispose([l, pred]);
    }
    return { loss: loss / set.n, accuracy: right / set.n };
  };
  // Higher validation accuracy wins; at equal accuracy, the lower validation loss.
  const better = (a: { loss: number; accuracy: number }, than: { loss: number; accuracy: number }) =>
    a.accuracy > than.accuracy + 1e-9 || (Math.abs(a.accuracy - than.accuracy) <= 1e-9 && a.loss < than.loss);
  const snapshot = () => tf.tidy(() => vars.map((v) => v.clone()));
  const start = validation ? await evaluate(validation) : null;
  // The best trained epoch (the starting weights are never kept by fine-tuning itself: whether the
  // result beats them is reported as beatsHead, and the caller decides).
  let best = { loss: Infinity, accuracy: -1 };
  let bestWeights: tf.Tensor[] | null = null;
  let bestEpoch = 0;
  const history: FineTuneResult['history'] = [];
  const stepsPerEpoch = Math.ceil(train.n / batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  const warmupSteps = Math.round((opts.warmupEpochs ?? 0) * stepsPerEpoch);
  const schedule = opts.schedule ?? 'constant';
  const aug = opts.augment;
  const rand = mulberry32(seed * 7919 + 17);
  const topNames = new Set(topVars.map((v) => v.name));
  let step = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      if (opts.signal?.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
      const order = seededShuffle(
        Array.from({ length: train.n }, (_, i) => i),
        seed * 1000 + epoch,
      );
      let total = 0;
      for (let i = 0; i < order.length; i += batchSize) {
        const rows = order.slice(i, i + batchSize);
        const transforms = aug
          ? rows.map(() => ({
              flip: aug.flip && rand() < 0.5,
              dy: Math.floor(rand() * (2 * aug.shift + 1)) - aug.shift,
              dx: Math.floor(rand() * (2 * aug.shift + 1)) - aug.shift,
            }))
          : undefined;
        const dropSeed = Math.floor(rand() * 2 ** 31);
        setRates(scheduleFactor(step, totalSteps, warmupSteps, schedule));
        step++;
        const cost = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const x = batchTensor(train, rows, size, shape, transforms);
            const y = tf.oneHot(tf.tensor1d(rows.map((r) => train.y[r]!), 'int32'), numClasses);
            let e: tf.Tensor = embed(x);
            if (dropout > 0) e = tf.dropout(e, dropout, undefined, dropSeed);
            const z = tf.add(tf.matMul(e, W), b);
            return tf.losses.softmaxCrossEntropy(y, z, undefined, smoothing) as tf.Scalar;
          }, vars);
          type Grads = Parameters<typeof blockOpt.applyGradients>[0];
          const blockGrads: Record<string, tf.Tensor> = {};
          const headGrads: Record<string, tf.Tensor> = {};
          for (const [name, g] of Object.entries(grads)) (topNames.has(name) ? blockGrads : headGrads)[name] = g;
          if (Object.keys(blockGrads).length > 0) blockOpt.applyGradients(blockGrads as Grads);
          headOpt.applyGradients(headGrads as Grads);
          return value;
        });
        total += (await cost.data())[0]! * rows.length;
        cost.dispose();
        await new Promise((r) => setTimeout(r, 0));
      }
      const report: FineTuneResult['history'][number] = {
        epoch,
        loss: total / Math.max(1, train.n),
      };
      let v: { loss: number; accuracy: number } | null = null;
      if (validation) {
        v = await evaluate(validation);
        report.valLoss = v.loss;
        report.valAccuracy = v.accuracy;
      }
      history.push(report);
      opts.onEpoch?.(report);
      if (!v) continue;
      if (better(v, best)) {
        best = v;
        bestEpoch = epoch;
        tf.dispose(bestWeights ?? []);
        bestWeights = snapshot();
      } else if (epoch - bestEpoch >= patience) {
        break;
      }
    }
    if (bestWeights) vars.forEach((v, i) => v.assign(bestWeights![i]!));
    else bestEpoch = history.length;
    return {
      history,
      initial: start ? { valLoss: start.loss, valAccuracy: start.accuracy } : null,
      bestEpoch,
      beatsHead: !start || (bestWeights !== null && better(best, start)),
      kernel: (await W.data()) as Float32Array,
      bias: (await b.data()) as Float32Array,
      numClasses,
    };
  } finally {
    tf.dispose(bestWeights ?? []);
    blockOpt.dispose();
    headOpt.dispose();
    W.dispose();
    b.dispose();
  }
}

/** One trainable weight of the unfrozen top, by its variable name (e.g. "res5a_branch2a/kernel"). */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface LayerVariableLike {
  /** The weight's name in the saved model ("res5a_branch2a/kernel"); `name` gets a suffix when
   * the same model is loaded twice in one page, this does not. */
  originalName: string;
  val: tf.Variable;
}

function topVariables(split: FineTuneSplit): LayerVariableLike[] {
  return split.topLayers.flatMap((l) => l.trainableWeights as unknown as LayerVariableLike[]);
}

/** Copies of the top's trainable weights (what a fine-tuned model stores). */
export async function readTopWeights(split: FineTuneSplit): Promise<NamedWeight[]> {
  const out: NamedWeight[] = [];
  for (const v of topVariables(split)) {
    out.push({ name: v.originalName, shape: [...v.val.shape], data: Float32Array.from(await v.val.data()) });
  }
  return out;
}

/** Writes weights into the top's variables by name; every trainable weight must be given. */
export function writeTopWeights(split: FineTuneSplit, weights: readonly NamedWeight[]): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const vars = topVariables(split);
  for (const v of vars) {
    const w = byName.get(v.originalName);
    const shape = v.val.shape;
    if (!w || w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]) || w.data.length !== v.val.size) {
      throw new GlimpseError('model-invalid', `The fine-tuned weights do not fit this model (${v.originalName}).`);
    }
  }
  for (const v of vars) {
    const w = byName.get(v.originalName)!;
    tf.tidy(() => v.val.assign(tf.tensor(w.data, w.shape)));
  }
}

/** The fine-tuned softmax head as a TrainedHead on raw embeddings (no standardisation). */
export function tunedHead(res: FineTuneResult, base: TrainedHead): TrainedHead {
  const inDim = base.inputDim;
  return {
    kind: 'softmax',
    inputDim: inDim,
    numClasses: res.numClasses,
    ...(base.inputNorm ? { inputNorm: base.inputNorm } : {}),
    mean: new Float32Array(inDim),
    invStd: new Float32Array(inDim).fill(1),
    layers: [{ kernel: res.kernel, bias: res.bias, inDim, outDim: res.numClasses }],
    settings: base.settings,
    // The per-epoch record of fine-tuning is kept with the fine-tuned model, not here.
    history: [],
    bestEpoch: res.bestEpoch,
  };
}

/** Embeddings of precomputed activations through the (fine-tuned) top, in batches. */
export async function embedActivations(
  split: FineTuneSplit,
  set: { x: Float32Array; n: number },
  batchSize = 16,
): Promise<Float32Array> {
  const shape = split.activationShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  for (let i = 0; i < set.n; i += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, set.n - i) }, (_, k) => i + k);
    const out = tf.tidy(
      () =>
        split.top.predict(
          batchTensor({ x: set.x, y: new Int32Array(0), n: set.n }, rows, size, shape),
        ) as tf.Tensor,
    );
    parts.push((await out.data()) as Float32Array);
    out.dispose();
  }
  const dim = parts[0] ? parts[0].length / Math.min(batchSize, set.n) : 0;
  const x = new Float32Array(set.n * dim);
  let o = 0;
  for (const p of parts) {
    x.set(p, o);
    o += p.length;
  }
  return x;
}

/** Runs the frozen part once per image: the activations fine-tuning trains on. */
export async function bottomActivations(
  split: FineTuneSplit,
  batch: tf.Tensor4D,
): Promise<Float32Array> {
  const out = split.bottom.predict(batch) as tf.Tensor;
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}
