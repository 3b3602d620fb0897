// Which weights the extractor's top layers hold: the shipped ones ('base'), a project's fine-tuned
// ones, or a fine-tuning run's ('training').
//
// The extractor's top layers (from spec.fineTuneFrom) are trained in place, so the one model in
// the worker has at any moment either its shipped weights or a fine-tuned model's. Every request
// that embeds for storage runs with the base weights; prediction for a project with a fine-tuned
// model runs with that model's weights; a mode lock makes requests that want other weights wait,
// so an import never stores an embedding made by fine-tuned weights. Swapping writes the top's
// variables (ResNet-50 res5: 15 M numbers), so it happens only when the mode changes, never per
// frame. The lock is taken for every request in one place (gpu.ts, by handlers.ts's policy).
import type * as tf from '@tensorflow/tfjs';
import type { Extractor } from '../embed/extractor';
import { fineTuneSupport } from '../embed/specs';
import { GlimpseError } from '../shared/errors';
import { readTopWeights, releaseSplit, splitForFineTune, writeTopWeights, type FineTuneSplit, type NamedWeight } from '../train/finetune';
import type { TunedModel } from './protocol';

interface ModelState {
  model: tf.LayersModel;
  split: FineTuneSplit;
  /** The shipped values of the top's trainable weights, taken before anything was changed. */
  base: NamedWeight[] | null;
}

/** What a request needs the top to hold: 'prediction' is the project's tuned model if it fits, else base. */
export type WeightsWanted = 'base' | 'prediction' | 'training';

let state: ModelState | null = null;
/** Which weights the top holds: 'base', a tuned model's id, or 'training'. */
let mode = 'base';
let holders = 0;
let waiters: (() => void)[] = [];
let tuned: TunedModel | null = null;

/** The fine-tuned model prediction uses (null: the extractor as shipped). Written lazily. */
export function setTunedModel(model: TunedModel | null): void {
  // The weights themselves are written by the next request that wants other ones; a prediction
  // in flight with the old model finishes with it.
  tuned = model;
}

/** Whether the loaded model can be fine-tuned: its own format decides (a graph model cannot). */
export function tunable(ex: Extractor): { ok: boolean; reason: string } {
  return fineTuneSupport(ex.spec, ex.layersModel ? 'layers-model' : 'graph-model');
}

/** The split of the loaded model into a frozen part and a trainable top (made once per model). */
export function modelSplit(ex: Extractor): ModelState {
  const support = tunable(ex);
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
  const st = modelSplit(ex);
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

/** After a fine-tuning run (finished, cancelled or failed): the shipped weights go back. */
export function restoreBaseWeights(ex: Extractor): void {
  const st = modelSplit(ex);
  if (st.base) writeTopWeights(st.split, st.base);
  mode = 'base';
}

/**
 * Runs `run` while the top holds the weights wanted; requests that want other weights wait until
 * it is done. `run` receives the tuned model whose weights are held (null: shipped weights).
 */
export async function withWeights<T>(ex: Extractor | null, wanted: WeightsWanted, run: (tuned: TunedModel | null) => Promise<T>): Promise<T> {
  if (ex === null || !tunable(ex).ok) return run(null);
  const model = wanted === 'prediction' && tuned && tuned.extractorKey === ex.key ? tuned : null;
  const want = model ? model.id : wanted === 'training' ? 'training' : 'base';
  while (holders > 0 && (mode !== want || want === 'training')) {
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
  holders++;
  try {
    await apply(ex, want);
    return await run(model);
  } finally {
    holders--;
    if (holders === 0) {
      const w = waiters;
      waiters = [];
      w.forEach((resolve) => resolve());
    }
  }
}
