// The training rows of a project, from IndexedDB to the worker a page at a time (never all in
// this window at once), and the fit started as early as it can be: a large fit (train/fit-plan.ts)
// needs only its validation rows and its warm-start subset before its warm start, so those are
// read first and the fit starts on them while the rest of the rows are read and staged. Reading
// 50,000 rows from IndexedDB takes ~10 s here and the warm start ~5-8 s: they overlap.
import { MAX_TRAINING_ROWS, trainingSubsample } from '../dataset/subsample';
import { GlimpseError } from '../shared/errors';
import type { TrainingStream } from '../store/embeddings';
import { rowsBeforeWarmStart } from '../train/fit-plan';
import type { HeadSettings } from '../train/head-types';
import type { TrainResponse } from '../worker/protocol';
import { embedBridge } from './engine';
import { repo } from './repo';

/** Staged pages the worker may not have taken yet (it takes them between fit iterations). */
const PAGES_IN_FLIGHT = 3;

/** The rows a train request names: ids, their labels (positions among the used classes). */
export interface LabelledRows {
  ids: string[];
  labels: Int32Array;
  numClasses: number;
  /** The used classes' ids and names, in the project's class order. */
  classIds: string[];
  classNames: string[];
}

/** Rows labelled by their classes' positions among the classes (in project order) they use. */
function labelRows(
  ids: readonly string[],
  classIds: readonly string[],
  classes: readonly { id: string; name: string }[],
): LabelledRows {
  const present = new Set(classIds);
  const used = classes.filter((c) => present.has(c.id));
  const index = new Map(used.map((c, i) => [c.id, i]));
  return {
    ids: [...ids],
    labels: Int32Array.from(classIds, (c) => index.get(c) ?? -1),
    numClasses: used.length,
    classIds: used.map((c) => c.id),
    classNames: used.map((c) => c.name),
  };
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export interface StreamedFit {
  set: TrainingStream;
  rows: LabelledRows;
  res: TrainResponse;
  /** From the first read to the last page staged (the fit may have started before). */
  readMs: number;
  /** Rows read from IndexedDB (the others were held by the worker from its last training). */
  rowsRead: number;
  subsampled: { used: number; of: number } | null;
}

/**
 * Stages the project's rows for `extractorKey` in the worker and trains on them: `fit(rows,
 * signal)` sends the train request (staged: true). It is called once the rows the fit needs
 * first are staged, or after the last page when the fit needs every row at once. If some planned
 * rows turn out unreadable (or are deleted meanwhile), an early fit is cancelled, the worker keeps
 * only the rows read, and the fit runs again on them.
 */
export async function streamAndTrain(opts: {
  projectId: string;
  extractorKey: string;
  dim: number;
  settings: HeadSettings;
  /** Samples of the augmentation variants the fit gets (one entry a variant), if any. */
  augmentIds: readonly string[];
  signal: AbortSignal;
  fit: (rows: LabelledRows, signal: AbortSignal) => Promise<TrainResponse>;
}): Promise<StreamedFit> {
  const { projectId, extractorKey, dim, settings, signal } = opts;
  const bridge = embedBridge();
  const classes = await repo().classes.list(projectId);
  const readStart = performance.now();
  let subsampled: StreamedFit['subsampled'] = null;
  let planned: LabelledRows | null = null;
  let first: Uint8Array | null = null;
  let firstLeft = 0;
  let early: Promise<TrainResponse> | null = null;
  const earlyAbort = new AbortController();
  const stopEarly = () => earlyAbort.abort();
  signal.addEventListener('abort', stopEarly, { once: true });
  const inFlight: Promise<unknown>[] = [];
  /** Positions of the planned rows the worker holds already (not read, not sent). */
  let have: Uint8Array | null = null;
  let rowsRead = 0;
  const startEarly = () => {
    if (early || !planned) return;
    early = opts.fit(planned, earlyAbort.signal);
    early.catch(() => undefined);
  };
  try {
    const set = await repo().embeddings.streamTrainingSet(
      projectId,
      extractorKey,
      {
        expectedDim: dim,
        select: (ids, classIds) => {
          const picked = trainingSubsample(ids, classIds, MAX_TRAINING_ROWS);
          if (picked) subsampled = { used: picked.length, of: ids.length };
          return picked;
        },
        onPlan: async (_rows, ids, classIds) => {
          planned = labelRows(ids, classIds, classes);
          const staged = await bridge.call('stageRows', {
            start: { rows: ids.length, dim, ids: [...ids], project: { projectId, extractorKey } },
            ids: [],
            x: new Float32Array(0),
          });
          have = staged.have ?? null;
        },
        skip: () => have,
        first: () => {
          if (!planned || planned.numClasses < 2) return null;
          const rows = rowsBeforeWarmStart(planned.ids, planned.labels, settings, { dim, augmentIds: opts.augmentIds });
          if (!rows) return null;
          first = new Uint8Array(planned.ids.length);
          for (const r of rows) first[r] = 1;
          firstLeft = rows.filter((r) => !have?.[r]).length;
          // Every row it needs first is held by the worker already: it starts now.
          if (firstLeft === 0) startEarly();
          return rows;
        },
      },
      async (page) => {
        if (signal.aborted) throw new GlimpseError('cancelled', 'Cancelled.');
        rowsRead += page.ids.length;
        const staged = bridge.call('stageRows', { ids: page.ids, x: page.x, at: page.at }, { transfer: [page.x.buffer] });
        staged.catch(() => undefined); // awaited below; not unhandled meanwhile
        inFlight.push(staged);
        if (inFlight.length >= PAGES_IN_FLIGHT) await inFlight.shift();
        if (first) for (const r of page.at) firstLeft -= first[r]!;
        // Messages keep their order: the worker has every page sent so far before this request.
        if (first && firstLeft === 0) startEarly();
      },
    );
    await Promise.all(inFlight.splice(0));
    const readMs = performance.now() - readStart;
    const rows = labelRows(set.ids, set.classIds, classes);
    if (rows.numClasses < 2) {
      throw new GlimpseError('invalid-input', 'Add images to at least two classes before training.');
    }
    const plannedRows = planned as LabelledRows | null;
    let res: TrainResponse;
    if (early && plannedRows && sameIds(plannedRows.ids, rows.ids)) {
      res = await early;
    } else {
      if (early) {
        // Rows it waits for will not come: cancel it, keep the rows that came, train on them.
        earlyAbort.abort();
        await (early as Promise<TrainResponse>).catch(() => undefined);
      }
      if (!plannedRows || !sameIds(plannedRows.ids, rows.ids)) {
        await bridge.call('stageRows', { retain: rows.ids, ids: [], x: new Float32Array(0) });
      }
      res = await opts.fit(rows, signal);
    }
    return { set, rows, res, readMs, rowsRead, subsampled };
  } catch (err) {
    earlyAbort.abort();
    throw err;
  } finally {
    signal.removeEventListener('abort', stopEarly);
  }
}
