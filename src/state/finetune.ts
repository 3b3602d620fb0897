// Fine-tuning, the optional second stage after the head (issue 7 item 2): the worker unfreezes the
// extractor's top layers (spec.fineTuneFrom) and trains them with a softmax head at a low learning
// rate, early stopping on the head's validation split. Images go to the worker a few at a time
// (their frozen-part activations stay there, capped by a memory budget); each epoch reports
// progress; cancel works at any step. The result (top weights + head) is saved with the project
// (store/tuned.ts) and the worker predicts with it for this project only.
import { create } from 'zustand';
import type { FineTuneEpoch, ImageInput } from '../worker/protocol';
import { BUILTIN_EXTRACTORS, fineTuneSupport as specSupport } from '../embed/specs';
import { selectClasses } from '../dataset/labelled-set';
import { GlimpseError, serializeError, type SerializedError } from '../shared/errors';
import { FINE_TUNE_RECIPE } from '../train/finetune-recipe';
import { embedBridge, useEngine } from './engine';
import { repo } from './repo';
import type { TunedMetrics } from '../store/restore';
import { withProjectLock } from './tab-locks';
import { useTraining } from './training';

export type { FineTuneEpoch };

/** Activation memory a session may hold in the worker: 192 MiB (ResNet-50: about 250 images). */
export const FINE_TUNE_BUDGET_BYTES = 192 * 1024 * 1024;
const ADD_CHUNK = 4;

export interface TunedSummary {
  id: string;
  headId: string;
  fromLayer: string;
  createdAt: number;
  /** Validation accuracy of the head on the frozen network, and of the fine-tuned model. */
  before: number | null;
  after: number | null;
  bestEpoch: number;
  epochs: number;
  nTrain: number;
  nValidation: number;
  history: FineTuneEpoch[];
}

/**
 * What the last run decided, by validation: the fine-tuned network is kept only when an epoch
 * beat the head alone (higher validation accuracy, or the same and a lower validation loss);
 * otherwise nothing is saved and predictions stay as they were.
 */
export interface FineTuneOutcome {
  projectId: string;
  /** Validation accuracy of the head alone on the shipped network (null: no validation samples). */
  before: number | null;
  /** Validation accuracy of the epoch kept, or the best epoch's when none was kept. */
  after: number | null;
  kept: 'fine-tuned' | 'head';
  /** What predictions use when the head was kept: the head alone, or an earlier fine-tuned network. */
  stillTuned: boolean;
  bestEpoch: number;
  epochs: number;
  /** The user kept the fine-tuned network although it did not beat the head alone. */
  byUser: boolean;
}

export interface FineTuneState {
  /** 'waiting': another tab is training or fine-tuning this project. */
  phase: 'idle' | 'waiting' | 'preparing' | 'activations' | 'training' | 'saving' | 'done' | 'error' | 'cancelled';
  projectId: string | null;
  progress: { done: number; total: number } | null;
  history: FineTuneEpoch[];
  epochs: number;
  error: SerializedError | null;
  /** The decision of the last finished run. */
  outcome: FineTuneOutcome | null;
  /** The fine-tuned model prediction uses now (for the loaded head), if any. */
  active: (TunedSummary & { projectId: string }) | null;
}

export const useFineTune = create<FineTuneState>(() => ({
  phase: 'idle',
  projectId: null,
  progress: null,
  history: [],
  epochs: FINE_TUNE_RECIPE.epochs,
  error: null,
  outcome: null,
  active: null,
}));

let controller: AbortController | null = null;
/** The last run's fine-tuned network when it was not kept (until the next run or a head change). */
let unkept: { projectId: string; headId: string; save: () => Promise<void> } | null = null;

/** Keeps the last run's fine-tuned network although it did not beat the head alone on validation. */
export async function keepFineTunedAnyway(projectId: string): Promise<void> {
  const run = unkept;
  const outcome = useFineTune.getState().outcome;
  const loaded = useTraining.getState().loadedHead;
  if (!run || run.projectId !== projectId || !outcome || loaded?.headId !== run.headId) return;
  unkept = null;
  useFineTune.setState({ phase: 'saving', projectId });
  try {
    await run.save();
    useFineTune.setState({ phase: 'done', outcome: { ...outcome, kept: 'fine-tuned', byUser: true, stillTuned: false } });
  } catch (err) {
    useFineTune.setState({ phase: 'error', error: serializeError(err) });
  }
}

/** Whether "Use it anyway" has a network to keep for this project's loaded head. */
export function canKeepAnyway(projectId: string, headId: string | undefined): boolean {
  return !!unkept && unkept.projectId === projectId && unkept.headId === headId;
}

export function setFineTuneEpochs(epochs: number): void {
  if (Number.isInteger(epochs) && epochs >= 1 && epochs <= 50) useFineTune.setState({ epochs });
}

export function cancelFineTune(): void {
  controller?.abort();
}

/** Whether the extractor can be fine-tuned, and in words why not. */
export function fineTuneSupport(extractorId: string | undefined): { ok: boolean; reason: string } {
  return specSupport(BUILTIN_EXTRACTORS.find((s) => s.id === extractorId));
}

/** Rows to fine-tune on within `max` images: validation first (up to a third), then training rows class by class. */
export function pickRows(ids: string[], classIds: string[], validation: Set<string>, max: number): { id: string; val: boolean }[] {
  const val = ids.filter((id) => validation.has(id)).slice(0, Math.floor(max / 3));
  const byClass = new Map<string, string[]>();
  ids.forEach((id, i) => {
    if (validation.has(id)) return;
    const list = byClass.get(classIds[i]!) ?? [];
    list.push(id);
    byClass.set(classIds[i]!, list);
  });
  const train: string[] = [];
  const lists = [...byClass.values()];
  for (let k = 0; train.length < max - val.length && lists.some((l) => k < l.length); k++) {
    for (const l of lists) if (k < l.length && train.length < max - val.length) train.push(l[k]!);
  }
  return [...val.map((id) => ({ id, val: true })), ...train.map((id) => ({ id, val: false }))];
}

function summarise(row: { id: string; headId: string; fromLayer: string; createdAt: number; metrics: TunedMetrics }): TunedSummary {
  const m = row.metrics;
  return {
    id: row.id,
    headId: row.headId,
    fromLayer: row.fromLayer,
    createdAt: row.createdAt,
    before: m.before,
    after: m.after,
    bestEpoch: m.bestEpoch,
    epochs: m.epochs,
    nTrain: m.nTrain,
    nValidation: m.nValidation,
    history: m.history,
  };
}

/**
 * Makes the worker predict with the fine-tuned model of this head, or with the shipped network
 * when there is none (or headId is null). Called whenever a head is loaded or trained.
 */
export async function syncTunedModel(projectId: string, headId: string | null): Promise<void> {
  const key = useEngine.getState().extractor?.key;
  const row = headId ? await repo().tuned.forHead(headId) : undefined;
  if (!row?.head || row.extractorKey !== key) {
    await embedBridge().call('setTuned', { model: null });
    useFineTune.setState({ active: null });
    return;
  }
  await embedBridge().call('setTuned', {
    model: {
      id: row.id,
      extractorKey: row.extractorKey,
      fromLayer: row.fromLayer,
      weights: row.weights.map((w) => ({ name: w.name, shape: w.shape, data: w.data })),
      head: row.head,
    },
  });
  useFineTune.setState({ active: { ...summarise(row), projectId } });
}

async function imageOf(id: string): Promise<ImageInput | null> {
  const s = await repo().samples.get(id);
  if (!s?.blob) return null;
  return { id: s.id, bytes: await s.blob.arrayBuffer(), type: s.type, name: s.name };
}

export async function fineTuneProject(projectId: string): Promise<void> {
  const engine = useEngine.getState();
  const loaded = useTraining.getState().loadedHead;
  const fail = (message: string) => useFineTune.setState({ phase: 'error', projectId, error: { code: 'invalid-input', message } });
  if (engine.status !== 'ready' || !engine.extractor) return fail('The model is still loading; try again in a moment.');
  const support = fineTuneSupport(engine.extractor.id);
  if (!support.ok) return fail(support.reason);
  if (!loaded || loaded.projectId !== projectId) return fail('Train the head first: fine-tuning starts from it.');
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  const key = engine.extractor.key;
  const dim = engine.extractor.dim;
  const epochs = useFineTune.getState().epochs;
  unkept = null;
  useFineTune.setState({ phase: 'preparing', projectId, progress: null, history: [], error: null, outcome: null });
  const bridge = embedBridge();
  let started = false;
  try {
    // One tab trains a project at a time (tab-locks.ts): fine-tuning shares training's lock.
    await withProjectLock(
      projectId,
      'train',
      async () => {
        useFineTune.setState({ phase: 'preparing' });
        const r = repo();
        // Another tab may have trained a newer head while this one waited: start from that one.
        if ((await r.heads.latestFor(projectId, key))?.id !== loaded.headId) {
          throw new GlimpseError('invalid-input', 'A newer head was trained (in another tab) meanwhile; fine-tune again to start from it.');
        }
        const set = await r.embeddings.loadTrainingSet(projectId, key, { expectedDim: dim });
        // The head's class order, so predictions keep their labels.
        const picked = selectClasses(set, loaded.classIds);
        const { ids, classIds, labels, x } = picked;
        const settings = useTraining.getState().settings;
        started = true;
        const info = await bridge.call(
          'ftStart',
          { extractorKey: key, ids, labels, x, dim: picked.dim, numClasses: picked.numClasses, settings, budgetBytes: FINE_TUNE_BUDGET_BYTES },
          { signal, transfer: [x.buffer] },
        );
        const rows = pickRows(ids, classIds, new Set(info.validationIds), info.maxImages);
        const label = new Map(ids.map((id, i) => [id, labels[i]!]));
        useFineTune.setState({ phase: 'activations', progress: { done: 0, total: rows.length } });
        for (let i = 0; i < rows.length; i += ADD_CHUNK) {
          if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
          const chunk = rows.slice(i, i + ADD_CHUNK);
          const images: ImageInput[] = [];
          const flags: boolean[] = [];
          const ys: number[] = [];
          for (const row of chunk) {
            const image = await imageOf(row.id);
            if (!image) continue; // originals dropped: only the embedding is left
            images.push(image);
            flags.push(row.val);
            ys.push(label.get(row.id)!);
          }
          if (images.length > 0) {
            await bridge.call('ftAdd', { images, labels: Int32Array.from(ys), validation: flags }, { signal, transfer: images.map((im) => im.bytes) });
          }
          useFineTune.setState({ progress: { done: Math.min(rows.length, i + ADD_CHUNK), total: rows.length } });
        }
        useFineTune.setState({ phase: 'training', progress: { done: 0, total: epochs } });
        const res = await bridge.call(
          'ftRun',
          { epochs, learningRate: FINE_TUNE_RECIPE.learningRate, batchSize: FINE_TUNE_RECIPE.batchSize, patience: FINE_TUNE_RECIPE.patience },
          {
            signal,
            onProgress: (e) => useFineTune.setState((s) => ({ history: [...s.history, e], progress: { done: e.epoch, total: epochs } })),
          },
        );
        const before = res.initial?.valAccuracy ?? null;
        const after = res.history[res.bestEpoch - 1]?.valAccuracy ?? null;
        const outcome: FineTuneOutcome = { projectId, before, after, kept: res.beatsHead ? 'fine-tuned' : 'head', stillTuned: false, bestEpoch: res.bestEpoch, epochs: res.history.length, byUser: false };
        const metrics: TunedMetrics = {
          history: res.history,
          bestEpoch: res.bestEpoch,
          epochs: res.history.length,
          before,
          after,
          nTrain: res.nTrain,
          nValidation: res.nValidation,
          trainMs: res.trainMs,
          learningRate: FINE_TUNE_RECIPE.learningRate,
          recipe: { ...FINE_TUNE_RECIPE, augment: { ...FINE_TUNE_RECIPE.augment } },
        };
        const save = async () => {
          const saved = await r.tuned.save(projectId, {
            headId: loaded.headId,
            extractorKey: key,
            fromLayer: res.model.fromLayer,
            labels: loaded.classIds,
            classNames: loaded.classNames,
            weights: res.model.weights,
            head: res.model.head,
            metrics,
          });
          // The worker keeps the model it just made (no weights sent back); should it no longer hold
          // it (another run since), the saved one is sent from the store.
          await bridge
            .call('setTuned', { keep: res.model.id, id: saved.id })
            .then(() => useFineTune.setState({ active: { ...summarise({ ...saved, metrics }), projectId } }))
            .catch(() => syncTunedModel(projectId, loaded.headId));
        };
        if (!res.beatsHead) {
          // No epoch beat the head alone on validation: nothing is saved, predictions stay as they
          // were; the user may still keep the fine-tuned network ("Use it anyway").
          const active = useFineTune.getState().active;
          outcome.stillTuned = !!active && active.projectId === projectId && active.headId === loaded.headId;
          unkept = { projectId, headId: loaded.headId, save };
          useFineTune.setState({ phase: 'done', progress: null, outcome });
          return;
        }
        useFineTune.setState({ phase: 'saving', progress: null });
        await save();
        useFineTune.setState({ phase: 'done', outcome });
      },
      {
        signal,
        onWait: (here) => {
          if (!here) useFineTune.setState({ phase: 'waiting' });
        },
      },
    );
  } catch (err) {
    const e = serializeError(err);
    useFineTune.setState({ phase: e.code === 'cancelled' ? 'cancelled' : 'error', error: e.code === 'cancelled' ? null : e, progress: null });
  } finally {
    if (started) await bridge.call('ftEnd', {}).catch(() => undefined);
  }
}

/** Drops the project's fine-tuned model: prediction goes back to the head on the shipped network. */
export async function discardFineTune(projectId: string): Promise<void> {
  await repo().tuned.deleteForProject(projectId);
  await syncTunedModel(projectId, null);
  useFineTune.setState({ phase: 'idle', history: [], outcome: null });
}
