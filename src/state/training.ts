// Training and prediction for the current project: gathers cached embeddings from the store
// (waiting for the background re-embedding of samples made by another extractor, reembed.ts),
// trains in the worker with live progress, saves the head, and keeps it loaded in the worker for
// prediction. Nothing is re-embedded when retraining: only samples without an embedding for the
// current extractor go to the worker, and a head only ever sees one extractor key.
import { useLiveQuery } from 'dexie-react-hooks';
import { create } from 'zustand';
import type { EpochReport, HeadSettings } from '../train/head-types';
import { defaultHeadSettings } from '../train/head-types';
import type { Metrics } from '../train/metrics';
import { GlimpseError, serializeError, type SerializedError } from '../shared/errors';
import { embedBridge, useEngine } from './engine';
import { repo } from './repo';
import { syncTunedModel } from './finetune';
import { getInsightSettings, prepareAugmentation } from './insight';
import { whenReembedded } from './reembed';
import { withProjectLock } from './tab-locks';
import { streamAndTrain } from './train-stream';
export { LARGE_SET_PATIENCE, LARGE_SET_ROWS } from '../train/fit-plan';

export type { EpochReport, HeadSettings, Metrics };

export interface TrainingOutcome {
  headId: string;
  classIds: string[];
  classNames: string[];
  validation: Metrics | null;
  /** Validation samples with their predicted class index and confidence. */
  reviewed: { sampleId: string; trueIndex: number; predIndex: number; confidence: number }[];
  trainMs: number;
  bestEpoch: number;
  nTrain: number;
  /** Augmentation-variant embeddings among the training rows (0 when augmentation is off). */
  nAugmented: number;
  extractorKey: string;
  /** Reading the rows from IndexedDB and sending them to the worker (the fit may start before); 0 for a stored head. */
  readMs: number;
  /** Rows read from IndexedDB for this training (the worker held the others); 0 for a stored head. */
  rowsRead: number;
}

export interface TrainingState {
  /** 'waiting': another tab is training this project; this one starts when it finishes. */
  phase:
    | 'idle'
    | 'waiting'
    | 'preparing'
    | 'embedding'
    | 'augmenting'
    | 'training'
    | 'done'
    | 'error'
    | 'cancelled';
  history: EpochReport[];
  maxEpochs: number;
  embedProgress: { done: number; total: number } | null;
  outcome: TrainingOutcome | null;
  error: SerializedError | null;
  quarantined: number;
  /**
   * The last training of this tab used a class-balanced subsample (dataset/subsample.ts): `used`
   * of the `of` samples with an embedding. Null: every sample.
   */
  subsampled: { used: number; of: number } | null;
  settings: HeadSettings;
  /** The project the phase, history and outcome above belong to (charts never show another's). */
  projectId: string | null;
  /** The head loaded in the worker, for the project it belongs to. */
  loadedHead: {
    projectId: string;
    headId: string;
    classIds: string[];
    classNames: string[];
  } | null;
}

export const useTraining = create<TrainingState>(() => ({
  phase: 'idle',
  history: [],
  maxEpochs: 0,
  embedProgress: null,
  outcome: null,
  error: null,
  quarantined: 0,
  subsampled: null,
  settings: defaultHeadSettings(),
  projectId: null,
  loadedHead: null,
}));

let controller: AbortController | null = null;

export function setHeadSettings(patch: Partial<HeadSettings>): void {
  const next = { ...useTraining.getState().settings, ...patch };
  if (patch.kind && patch.kind !== useTraining.getState().settings.kind) {
    Object.assign(next, defaultHeadSettings(patch.kind), patch);
  }
  useTraining.setState({ settings: next });
}

export function cancelTraining(): void {
  controller?.abort();
}

export async function trainProject(projectId: string): Promise<void> {
  const engine = useEngine.getState();
  if (engine.status !== 'ready' || !engine.extractor) {
    useTraining.setState({
      phase: 'error',
      error: { code: 'internal', message: 'The model is still loading; train again in a moment.' },
    });
    return;
  }
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  const settings = useTraining.getState().settings;
  useTraining.setState({
    phase: 'preparing',
    projectId,
    outcome: null,
    history: [],
    error: null,
    maxEpochs: settings.epochs,
    embedProgress: null,
    subsampled: null,
  });
  try {
    // One tab trains a project at a time (tab-locks.ts): a second tab says so and waits.
    await withProjectLock(projectId, 'train', () => trainLocked(projectId, settings, signal), {
      signal,
      onWait: (here) => {
        if (!here) useTraining.setState({ phase: 'waiting' });
      },
    });
  } catch (err) {
    // Lets go of rows staged for a training that will not run (unless a newer training, which
    // stages its own, replaced this one).
    if (controller?.signal === signal) {
      void embedBridge()
        .call('stageRows', { start: { rows: 0, dim: 1 }, ids: [], x: new Float32Array(0) })
        .catch(() => undefined);
    }
    const e = serializeError(err);
    useTraining.setState({
      phase: e.code === 'cancelled' ? 'cancelled' : 'error',
      error: e.code === 'cancelled' ? null : e,
    });
  } finally {
    useTraining.setState({ embedProgress: null });
  }
}

/** trainProject's work, run while this tab holds the project's training lock. */
async function trainLocked(
  projectId: string,
  settings: HeadSettings,
  signal: AbortSignal,
): Promise<void> {
  useTraining.setState({ phase: 'preparing' });
  // Read after the wait: the extractor may have been switched meanwhile.
  const engine = useEngine.getState();
  if (engine.status !== 'ready' || !engine.extractor) {
    throw new GlimpseError('invalid-input', 'The model is still loading; train again in a moment.');
  }
  const extractorKey = engine.extractor.key;
  const r = repo();
  // Samples without an embedding for this extractor (after a switch) are re-embedded in the
  // background (reembed.ts): wait for that, showing its progress, then train on this key only.
  // Counted first (two index counts; reading 50,000 keys twice took ~0.8 s); the keys only when
  // something is missing.
  const cov = (await r.embeddings.lacksKey(projectId, extractorKey))
    ? await r.embeddings.coverage(projectId, extractorKey)
    : null;
  if (cov && cov.missing.length > 0) {
    useTraining.setState({
      phase: 'embedding',
      embedProgress: { done: cov.withKey, total: cov.total },
    });
    await whenReembedded(projectId, extractorKey, signal, (done, total) =>
      useTraining.setState({ embedProgress: { done, total } }),
    );
  }
  // Augmentation variants first: the fit may start while the rows are still being read.
  let augment: { ids: string[]; x: Float32Array } | undefined;
  if ((await getInsightSettings(projectId)).augment) {
    useTraining.setState({ phase: 'augmenting' });
    augment = await prepareAugmentation(projectId, extractorKey, engine.extractor.dim, signal, (done, total) =>
      useTraining.setState({ embedProgress: { done, total } }),
    );
    useTraining.setState({ phase: 'preparing', embedProgress: null });
  }
  // The embeddings go to the worker a page at a time (train-stream.ts); a large fit starts on the
  // rows it needs first while the others are read. Above MAX_TRAINING_ROWS only a class-balanced
  // subsample of them is read and sent.
  const bridge = embedBridge();
  const { set, rows, res, readMs, rowsRead, subsampled } = await streamAndTrain({
    projectId,
    extractorKey,
    dim: engine.extractor.dim,
    settings,
    augmentIds: augment?.ids ?? [],
    signal,
    fit: (rows, fitSignal) => {
      useTraining.setState({ phase: 'training', embedProgress: null });
      // The variants travel once: a second fit (after unreadable rows) gets a copy.
      const variants = augment ? { ids: augment.ids, x: augment.x.slice() } : undefined;
      return bridge.call(
        'train',
        {
          extractorKey,
          ids: rows.ids,
          labels: rows.labels,
          x: new Float32Array(0),
          staged: true,
          dim: engine.extractor!.dim,
          numClasses: rows.numClasses,
          settings,
          ...(variants ? { augment: variants } : {}),
        },
        {
          signal: fitSignal,
          onProgress: (e) => useTraining.setState((s) => ({ history: [...s.history, e] })),
          transfer: variants ? [variants.x.buffer] : [],
        },
      );
    },
  });
  useTraining.setState({ quarantined: set.quarantined, subsampled });
  const { classIds, classNames } = rows;
  const labelOf = new Map(rows.ids.map((id, i) => [id, rows.labels[i]!]));
  const reviewed = res.validationIds.map((sampleId, i) => ({
    sampleId,
    trueIndex: labelOf.get(sampleId)!,
    predIndex: res.validationPred[i]!,
    confidence: res.validationConfidence[i]!,
  }));
  // The worker already predicts with the head it trained; if storing it fails, the worker goes
  // back to the stored head so that what predicts is what is saved. The validation rows are
  // saved with the head, so that after a reload the confusion matrix cells and the
  // misclassified list still lead to their samples.
  const row = await r.heads
    .save(projectId, {
      extractorKey,
      labels: classIds,
      classNames,
      head: res.head,
      metrics: {
        validation: res.validation,
        trainMs: res.trainMs,
        settings,
        reviewed,
        nTrain: res.nTrain,
        nAugmented: res.nAugmented,
      },
    })
    .catch(async (err: unknown) => {
      await loadLatestHead(projectId).catch(() => false);
      throw err;
    });
  await syncTunedModel(projectId, row.id);
  const outcome: TrainingOutcome = {
    headId: row.id,
    classIds,
    classNames,
    validation: res.validation,
    reviewed,
    trainMs: res.trainMs,
    bestEpoch: res.head.bestEpoch,
    nTrain: res.nTrain,
    nAugmented: res.nAugmented,
    extractorKey,
    readMs,
    rowsRead,
  };
  useTraining.setState({
    phase: 'done',
    outcome,
    loadedHead: { projectId, headId: row.id, classIds, classNames },
  });
}

/** Phases in which this tab is (or is about to be) training. */
export function isTrainingBusy(phase: TrainingState['phase']): boolean {
  return (
    phase === 'waiting' ||
    phase === 'preparing' ||
    phase === 'embedding' ||
    phase === 'augmenting' ||
    phase === 'training'
  );
}

/**
 * The id of the project's newest head for the extractor (null: none; undefined while loading).
 * A live query: it changes when any tab saves a head.
 */
export function useLatestHeadId(
  projectId: string,
  extractorKey: string | null,
): string | null | undefined {
  return useLiveQuery(
    async () =>
      extractorKey ? ((await repo().heads.latestFor(projectId, extractorKey))?.id ?? null) : null,
    [projectId, extractorKey],
  );
}

/**
 * Loads the project's newest head when it is not the one loaded: on opening a project, and when
 * another tab trained it (useLatestHeadId). Skipped while this tab trains it (its own head will
 * be the newest when it is done).
 */
export async function followLatestHead(projectId: string, latestHeadId: string | null): Promise<void> {
  const t = useTraining.getState();
  if (t.projectId === projectId && isTrainingBusy(t.phase)) return;
  const loaded = t.loadedHead;
  // Nothing loaded and nothing to load: keep what the panel shows (e.g. why training failed).
  if (loaded === null && latestHeadId === null) return;
  if (loaded?.projectId === projectId && loaded.headId === latestHeadId) return;
  await loadLatestHead(projectId);
}

/** Loads the project's latest head into the worker (after a reload: predict without retraining). */
export async function loadLatestHead(projectId: string): Promise<boolean> {
  const engine = useEngine.getState();
  if (!engine.extractor) return false;
  const row = await repo().heads.latestFor(projectId, engine.extractor.key);
  // A head the store could not restore (an older format, a damaged row) is not loaded: the project
  // shows as untrained, with the reason, and training again replaces it.
  if (!row?.head) {
    useTraining.setState({
      loadedHead: null,
      outcome: null,
      phase: 'idle',
      history: [],
      error: row?.problem ? { code: 'invalid-input', message: row.problem } : null,
      projectId,
    });
    await embedBridge().call('setHead', { head: null, extractorKey: null });
    await syncTunedModel(projectId, null);
    return false;
  }
  await embedBridge().call('setHead', { head: row.head, extractorKey: row.extractorKey });
  await syncTunedModel(projectId, row.id);
  const { metrics } = row;
  useTraining.setState({
    loadedHead: { projectId, headId: row.id, classIds: row.labels, classNames: row.classNames },
    outcome: null,
    projectId,
    phase: 'idle',
    history: row.head.history,
    error: null,
  });
  if (metrics.validation) {
    useTraining.setState({
      outcome: {
        headId: row.id,
        classIds: row.labels,
        classNames: row.classNames,
        validation: metrics.validation,
        // Heads saved before the validation rows were stored have none: their cells stay disabled.
        reviewed: metrics.reviewed,
        trainMs: metrics.trainMs,
        bestEpoch: row.head.bestEpoch,
        nTrain: metrics.nTrain,
        nAugmented: metrics.nAugmented,
        extractorKey: row.extractorKey,
        readMs: 0, // not stored with the head
        rowsRead: 0,
      },
    });
  }
  return true;
}

export interface Prediction {
  scores: { classId: string; name: string; score: number }[];
  ms: number;
}

/** Classifies one image (file, paste or webcam frame) with the loaded head. */
export async function predictImage(file: Blob, name = 'image'): Promise<Prediction> {
  const loaded = useTraining.getState().loadedHead;
  if (!loaded)
    throw new GlimpseError(
      'invalid-input',
      'Train the model first: there is no trained classifier yet.',
    );
  const bytes = await file.arrayBuffer();
  const res = await embedBridge().call(
    'predict',
    { image: { id: 'predict', bytes, type: file.type, name } },
    { transfer: [bytes] },
  );
  return {
    scores: loaded.classIds.map((classId, i) => ({
      classId,
      name: loaded.classNames[i]!,
      score: res.probs[i]!,
    })),
    ms: res.ms,
  };
}

/** Sample rows by id (for the confusion-matrix drill-down and the review list). */
export function useSamplesByIds(ids: readonly string[]) {
  return useLiveQuery(async () => {
    const rows = await Promise.all(ids.map((id) => repo().samples.get(id)));
    return rows.filter((r) => r !== undefined);
  }, [ids.join(',')]);
}
