// trainHead (packed rows) and trainHeadOnRows (rows picked out of the caller's arrays, fitHead):
// checks the input, standardises the features, keeps the data on the backend for the whole run and
// hands it to an optimiser:
// - softmax, full batch (the default): L-BFGS (head-lbfgs.ts), deterministic, 10-30 iterations;
// - mlp, or any mini-batch run: Adam with hand-written gradients (head-adam.ts).
// Everything it creates on the backend is disposed before it returns or throws.

import * as tf from '@tensorflow/tfjs';
import { balancedClassWeights } from '../dataset/classWeights';
import { GlimpseError } from '../shared/errors';
import { runAdam } from './head-adam';
import {
  disposeData,
  paramList,
  Progress,
  uploadData,
  type DataTensors,
  type Params,
} from './head-data';
import { runLbfgs, tensorObjective } from './head-lbfgs';
import {
  FULL_PASSES_AFTER_WARM_START,
  everyNth,
  pagedObjective,
  pagedTrain,
  restandardise,
  warmStart,
  type PageHelper,
  type PagedTrain,
} from './head-paged';
import { PAGED_MIN_VALUES, usesLbfgs, warmStride } from './fit-plan';
import {
  checkData,
  checkRows,
  checkSettings,
  rowsOf,
  type DenseWeights,
  type EpochReport,
  type HeadData,
  type HeadSettings,
  type RowPart,
  type RowSet,
  type TrainedHead,
  type TrainHeadOptions,
} from './head-types';
import { rowScales, standardisation, throwIfCancelled } from './head-util';

/** The optimiser a run uses: L-BFGS needs a deterministic full-batch loss (no dropout, no batches). */
export function headOptimizer(s: HeadSettings, n: number): 'lbfgs' | 'adam' {
  return usesLbfgs(s, n) ? 'lbfgs' : 'adam';
}

export async function trainHead(
  train: HeadData,
  numClasses: number,
  settings: HeadSettings,
  opts: TrainHeadOptions = {},
): Promise<TrainedHead> {
  checkSettings(settings);
  checkData(train, numClasses, 'training', undefined, false); // standardisation checks the values
  if (opts.validation) checkData(opts.validation, numClasses, 'validation', train.d, false);
  // Unit-length rows are read through per-row factors: no scaled copy of the data is made.
  const normalize = settings.normalizeRows !== false;
  const rows = (data: HeadData) => rowsOf(data, normalize ? rowScales(data.x, data.d) : null);
  const { validation, ...rest } = opts;
  return trainHeadOnRows(rows(train), numClasses, settings, {
    ...rest,
    ...(validation ? { validation: rows(validation) } : {}),
  });
}

/**
 * trainHead on rows read where they lie (fitHead: the split's rows of the caller's arrays, with
 * their unit-length factors when settings.normalizeRows is on; the head then says inputNorm 'l2').
 * `vectors`: scratch vectors an L-BFGS run takes from and returns to (runs of one fit share them).
 */
export async function trainHeadOnRows(
  train: RowSet,
  numClasses: number,
  settings: HeadSettings,
  opts: Omit<TrainHeadOptions, 'validation'> & {
    validation?: RowSet;
    vectors?: Float64Array[];
    /** Rows x features above which L-BFGS evaluates a page at a time (tests lower it). */
    pagedMinValues?: number;
    /** Rows of a paged fit's warm-start subset (default WARM_START_ROWS; tests lower it). */
    warmRows?: number;
    /**
     * Resolves once the rows of these parts (null: of every part) hold their values: rows still
     * arriving (state/training.ts streams them from IndexedDB while the warm start runs). A fit
     * with a warm start asks first for the warm-start subset and the validation rows only, then
     * for everything; any other fit asks for everything before it reads a value.
     */
    whenRows?: (parts: readonly RowPart[] | null) => Promise<void>;
    /** A second thread for the passes over every row of a paged fit (not its warm start). */
    pageHelper?: PageHelper;
  } = {},
): Promise<TrainedHead> {
  checkSettings(settings);
  checkRows(train, numClasses, 'training', undefined, false); // standardisation checks the values
  if (opts.validation) checkRows(opts.validation, numClasses, 'validation', train.d);
  const normalize = settings.normalizeRows !== false;
  const s: HeadSettings = { ...settings, normalizeRows: normalize };
  const yieldEvery = Math.max(1, Math.floor(opts.yieldEvery ?? 1));
  throwIfCancelled(opts.signal);

  const lbfgs = headOptimizer(s, train.n) === 'lbfgs';
  // Large sets are evaluated a page at a time from where their rows lie (head-paged.ts), after a
  // warm start on every m-th row: only those rows and the validation rows are needed before it.
  const paged =
    lbfgs &&
    (train.n + (opts.validation?.n ?? 0)) * train.d > (opts.pagedMinValues ?? PAGED_MIN_VALUES);
  const stride = paged ? warmStride(train.n, opts.warmRows) : 0;
  const subset = stride > 0 ? everyNth(train, stride) : null;
  const center = s.kind === 'softmax';
  await opts.whenRows?.(subset ? [...subset.parts, ...(opts.validation?.parts ?? [])] : null);
  throwIfCancelled(opts.signal);
  // The subset's own standardisation for the warm start; the head keeps the training set's.
  const subsetStd = subset ? standardisation(subset, center) : null;
  let { mean, invStd } = subsetStd ?? standardisation(train, center);
  const classWeights = s.classWeighting
    ? balancedClassWeights(train.y, numClasses)
    : new Float32Array(numClasses).fill(1);
  const sizes = s.kind === 'mlp' ? [train.d, s.hiddenUnits, numClasses] : [train.d, numClasses];

  let trainT: DataTensors | undefined;
  let valT: DataTensors | undefined;
  let layers: DenseWeights[];
  const hasValidation = opts.validation !== undefined;
  const common = { signal: opts.signal, yieldEvery, settings: s };
  let history: EpochReport[];
  let bestEpoch: number;
  try {
    const miniBatches = s.batchSize > 0 && s.batchSize < train.n;
    if (!paged) {
      trainT = uploadData(train, numClasses, mean, invStd, classWeights, miniBatches);
      if (opts.validation)
        valT = uploadData(opts.validation, numClasses, mean, invStd, classWeights, false);
    }
    if (lbfgs) {
      const progress = new Progress<Float64Array>(
        hasValidation,
        s.earlyStoppingPatience,
        opts.onEpoch,
        () => {},
      );
      const base = { ...common, d: train.d, numClasses, progress };
      // The passes over every row need the rows as pages and the helper's half: both are made as
      // soon as every row is there, while the warm start still runs (the helper builds its pages
      // on the other core). They do not depend on the standardisation.
      const early = subset
        ? (async () => {
            await opts.whenRows?.(null);
            return pagedTrain(train, classWeights, numClasses, opts.pageHelper);
          })()
        : null;
      early?.catch(() => undefined); // awaited after the warm start
      let prepared: PagedTrain | null = null;
      let objectiveMade = false;
      try {
        // A large set starts from the optimum of a subset (warmStart): far fewer passes over all rows.
        const warm = subset
          ? await warmStart(subset, opts.validation, mean, invStd, classWeights, numClasses, base)
          : null;
        let init: typeof warm = null;
        if (warm) {
          prepared = await early;
          throwIfCancelled(opts.signal);
          const from = { mean, invStd };
          ({ mean, invStd } = standardisation(train, center));
          init = { ...warm, theta: restandardise(warm.theta, from, { mean, invStd }, numClasses) };
        }
        const objective = paged
          ? pagedObjective(
              train,
              opts.validation,
              mean,
              invStd,
              classWeights,
              numClasses,
              undefined,
              opts.pageHelper,
              prepared ?? undefined,
            )
          : tensorObjective(trainT!, valT, train.d, numClasses);
        objectiveMade = true;
        try {
          if (init) progress.restartPatience(init.epochs);
          const { kernel, bias } = await runLbfgs({
            ...base,
            objective,
            vectors: init ? [] : (opts.vectors ?? []), // the warm start's best vector must stay as it is
            // After a warm start, at most FULL_PASSES_AFTER_WARM_START iterations over every row.
            ...(init
              ? {
                  init: init.theta,
                  epochOffset: init.epochs,
                  settings: { ...s, epochs: Math.min(s.epochs, FULL_PASSES_AFTER_WARM_START) },
                }
              : {}),
          });
          layers = [{ kernel, bias, inDim: train.d, outDim: numClasses }];
        } finally {
          objective.dispose();
        }
        ({ history, bestEpoch } = progress);
      } finally {
        // The pages made for passes that never ran (the warm start failed or was cancelled).
        if (!objectiveMade)
          void early?.then(
            (p) => p.dispose(),
            () => undefined,
          );
      }
    } else {
      if (!trainT) throw new GlimpseError('internal', 'Mini-batch training without uploaded rows.');
      const progress = new Progress<Params>(
        hasValidation,
        s.earlyStoppingPatience,
        opts.onEpoch,
        (p) => tf.dispose(paramList(p)),
      );
      try {
        const params = await runAdam({ ...common, train: trainT, val: valT, sizes, progress });
        try {
          layers = await readLayers(params, sizes);
        } finally {
          tf.dispose(paramList(params));
        }
        ({ history, bestEpoch } = progress);
      } finally {
        progress.dispose();
      }
    }
  } finally {
    disposeData(trainT);
    disposeData(valT);
  }
  if (
    bestEpoch === 0 ||
    !layers.every((l) => l.kernel.every(Number.isFinite) && l.bias.every(Number.isFinite))
  ) {
    throw new GlimpseError('internal', 'Training diverged. Try a smaller learning rate.');
  }
  return {
    kind: s.kind,
    inputDim: train.d,
    numClasses,
    ...(normalize ? { inputNorm: 'l2' as const } : {}),
    mean,
    invStd,
    layers,
    settings: s,
    history,
    bestEpoch,
  };
}

async function readLayers(p: Params, sizes: number[]): Promise<DenseWeights[]> {
  const layers: DenseWeights[] = [];
  for (let l = 0; l < p.kernels.length; l++) {
    layers.push({
      kernel: Float32Array.from(await (p.kernels[l] as tf.Tensor2D).data()),
      bias: Float32Array.from(await (p.biases[l] as tf.Tensor1D).data()),
      inDim: sizes[l] as number,
      outDim: sizes[l + 1] as number,
    });
  }
  return layers;
}
