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
import { embedBridge, useEngine } from './engine';
import { repo } from './repo';
import { withProjectLock } from './tab-locks';
import { useTraining } from './training';

export type { FineTuneEpoch };

/** Activation memory a session may hold in the worker: 192 MiB (ResNet-50: about 250 images). */
export const FINE_TUNE_BUDGET_BYTES = 192 * 1024 * 1024;
export const FINE_TUNE_LEARNING_RATE = 1e-4;
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

export interface FineTuneState {
  /** 'waiting': another tab is training or fine-tuning this project. */
  phase: 'idle' | 'waiting' | 'preparing' | 'activations' | 'training' | 'saving' | 'done' | 'error' | 'cancelled';
  projectId: string | null;
  progress: { done: number; total: number } | null;
  history: FineTuneEpoch[];
  epochs: number;
  error: SerializedError | null;
  /** The fine-tuned model prediction uses now (for the loaded head), if any. */
  active: (TunedSummary & { projectId: string }) | null;
}

export const useFineTune = create<FineTuneState>(() => ({
  phase: 'idle',
  projectId: null,
  progress: null,
  history: [],
  epochs: 4,
  error: null,
  active: null,
}));

let controller: AbortController | null = null;

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

function summarise(row: { id: string; headId: string; fromLayer: string; createdAt: number; metrics: unknown }): TunedSummary {
  const m = (row.metrics ?? {}) as Partial<TunedSummary>;
  return {
    id: row.id,
    headId: row.headId,
    fromLayer: row.fromLayer,
    createdAt: row.createdAt,
    before: m.before ?? null,
    after: m.after ?? null,
    bestEpoch: m.bestEpoch ?? 0,
    epochs: m.epochs ?? m.history?.length ?? 0,
    nTrain: m.nTrain ?? 0,
    nValidation: m.nValidation ?? 0,
    history: m.history ?? [],
  };
}

/**
 * Makes the worker predict with the fine-tuned model of this head, or with the shipped network
 * when there is none (or headId is null). Called whenever a head is loaded or trained.
 */
export async function syncTunedModel(projectId: string, headId: string | null): Promise<void> {
  const key = useEngine.getState().extractor?.key;
  const row = headId ? await repo().tuned.forHead(headId) : undefined;
  if (!row || row.extractorKey !== key) {
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
      head: row.head as never,
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
  const extractor = engine.extractor;
  const key = extractor.key;
  const epochs = useFineTune.getState().epochs;
  useFineTune.setState({ phase: 'preparing', projectId, progress: null, history: [], error: null });
  const bridge = embedBridge();
  let started = false;
  try {
    // One tab trains a project at a time (tab-locks.ts): fine-tuning shares training's lock.
    await withProjectLock(projectId, 'train', async () => {
      useFineTune.setState({ phase: 'preparing' });
      const r = repo();
      // Another tab may have trained a newer head while this one waited: start from that one.
      if ((await r.heads.latestFor(projectId, key))?.id !== loaded.headId) {
        throw new GlimpseError('invalid-input', 'A newer head was trained (in another tab) meanwhile; fine-tune again to start from it.');
      }
      const set = await r.embeddings.loadTrainingSet(projectId, key, { expectedDim: extractor.dim });
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
        { epochs, learningRate: FINE_TUNE_LEARNING_RATE, batchSize: 16, patience: 2 },
        {
          signal,
          onProgress: (e) => useFineTune.setState((s) => ({ history: [...s.history, e], progress: { done: e.epoch, total: epochs } })),
        },
      );
      useFineTune.setState({ phase: 'saving', progress: null });
      const best = res.history[res.bestEpoch - 1];
      const metrics = {
        history: res.history,
        bestEpoch: res.bestEpoch,
        epochs: res.history.length,
        before: res.initial?.valAccuracy ?? info.headValAccuracy,
        after: res.bestEpoch > 0 ? (best?.valAccuracy ?? null) : (res.initial?.valAccuracy ?? null),
        nTrain: res.nTrain,
        nValidation: res.nValidation,
        trainMs: res.trainMs,
        learningRate: FINE_TUNE_LEARNING_RATE,
      };
      await r.tuned.save(projectId, {
        headId: loaded.headId,
        extractorKey: key,
        fromLayer: res.model.fromLayer,
        labels: loaded.classIds,
        classNames: loaded.classNames,
        weights: res.model.weights,
        head: res.model.head,
        metrics,
      });
      await syncTunedModel(projectId, loaded.headId);
      useFineTune.setState({ phase: 'done' });
    }, {
      signal,
      onWait: (here) => {
        if (!here) useFineTune.setState({ phase: 'waiting' });
      },
    });
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
  useFineTune.setState({ phase: 'idle', history: [] });
}
