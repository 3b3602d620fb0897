// "Seeing why": the per-project insight settings (confidence threshold for "not sure",
// augmentation on/off), the review queue (hardest samples, with relabel/delete) and the embedding
// map (PCA at once, then UMAP with a fixed seed, both computed in the model worker). The pure
// logic lives in train/threshold.ts, train/review.ts and train/map.ts.
import { useLiveQuery } from 'dexie-react-hooks';
import { create } from 'zustand';
import { AUGMENT_VARIANTS, augmentKey } from '../embed/augment-recipe';
import type { ReviewReason } from '../train/review';
import { reviewQueue } from './review-queue';
import {
  decide,
  suggestThreshold,
  thresholdStats,
  type Decision,
  type ThresholdSuggestion,
} from '../train/threshold';
import { GlimpseError, serializeError } from '../shared/errors';
import { embedSamples } from './embed-samples';
import { embedBridge, useEngine } from './engine';
import { repo } from './repo';

export type { Decision, ReviewReason, ThresholdSuggestion };
export { decide, thresholdStats };

export const VARIANTS_PER_SAMPLE = AUGMENT_VARIANTS.length;
export const MAP_SEED = 7;
/**
 * The map shows at most this many samples (every n-th row in training order, so each class keeps
 * its share): UMAP of 10,000 points took 100 s here, and an SVG of tens of thousands of points
 * would not stay responsive. The panel says how many of how many it shows.
 */
export const MAP_MAX_POINTS = 2000;

export interface InsightSettings {
  /** Top score below which a prediction shows as "not sure"; 0 = always name a class. */
  threshold: number;
  /** Train on augmentation variants too. */
  augment: boolean;
}

const DEFAULTS: InsightSettings = { threshold: 0, augment: false };

function readSettings(raw: Record<string, unknown> | undefined): InsightSettings {
  const t = raw?.threshold;
  return {
    threshold: typeof t === 'number' && t >= 0 && t <= 1 ? t : DEFAULTS.threshold,
    augment: raw?.augment === true,
  };
}

/** The project's insight settings (defaults while loading). */
export function useInsightSettings(projectId: string | null): InsightSettings {
  const row = useLiveQuery(
    () => (projectId ? repo().projects.get(projectId) : undefined),
    [projectId],
  );
  return readSettings(row?.settings);
}

export async function getInsightSettings(projectId: string): Promise<InsightSettings> {
  return readSettings((await repo().projects.get(projectId))?.settings);
}

export async function setInsightSettings(
  projectId: string,
  patch: Partial<InsightSettings>,
): Promise<void> {
  const row = await repo().projects.get(projectId);
  if (!row) return;
  await repo().projects.setSettings(projectId, { ...row.settings, ...patch });
}

/** Samples with cached augmentation variants for the current extractor. */
export function useAugmentCount(projectId: string | null): number | undefined {
  const key = useEngine((s) => s.extractor?.key ?? null);
  return useLiveQuery(
    async () => (projectId && key ? repo().augments.count(projectId, augmentKey(key)) : 0),
    [projectId, key],
  );
}

/** Threshold suggested from validation predictions (95 % of the kept ones right). */
export function suggestFromValidation(
  reviewed: readonly { trueIndex: number; predIndex: number; confidence: number }[],
): ThresholdSuggestion | null {
  return suggestThreshold(
    reviewed.map((r) => r.confidence),
    reviewed.map((r) => r.trueIndex === r.predIndex),
  );
}

// ---- augmentation ------------------------------------------------------------------------------

/**
 * Computes the variants of samples that have none yet for this extractor (in the worker, from the
 * original image; samples whose original was dropped are skipped), then returns all cached ones.
 */
export async function prepareAugmentation(
  projectId: string,
  extractorKey: string,
  dim: number,
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<{ ids: string[]; x: Float32Array }> {
  const r = repo();
  const key = augmentKey(extractorKey);
  const first = await r.augments.load(projectId, key, dim);
  if (first.missing.length === 0) return first;
  onProgress(0, first.missing.length);
  await embedSamples(first.missing, {
    kind: 'augment',
    storeKey: key,
    signal,
    onProgress: (p) => onProgress(p.handled, p.total),
  });
  return r.augments.load(projectId, key, dim);
}

// ---- review queue and map ----------------------------------------------------------------------

export interface ReviewEntry {
  sampleId: string;
  classId: string;
  predClassId: string;
  nearestClassId: string | null;
  confidence: number;
  labelProb: number;
  reasons: ReviewReason[];
}

export interface MapPoint {
  sampleId: string;
  classId: string;
  x: number;
  y: number;
}

export interface InsightState {
  review: {
    status: 'idle' | 'loading' | 'ready' | 'error';
    items: ReviewEntry[];
    classIds: string[];
    error: string | null;
    projectId: string | null;
  };
  map: {
    status: 'idle' | 'pca' | 'umap' | 'ready' | 'error';
    method: 'pca' | 'umap' | null;
    points: MapPoint[];
    /** Samples of the project with an embedding (points may be a subset, MAP_MAX_POINTS). */
    total: number;
    progress: number;
    ms: number | null;
    error: string | null;
    projectId: string | null;
  };
}

export const useInsight = create<InsightState>(() => ({
  review: { status: 'idle', items: [], classIds: [], error: null, projectId: null },
  map: {
    status: 'idle',
    method: null,
    points: [],
    total: 0,
    progress: 0,
    ms: null,
    error: null,
    projectId: null,
  },
}));

function runningExtractor() {
  const ex = useEngine.getState().extractor;
  if (!ex) throw new GlimpseError('internal', 'The model is still loading.');
  return ex;
}

/** Ranks the project's samples by how hard the trained head finds them. */
export async function loadReview(
  projectId: string,
  classIds: readonly string[],
  unsureBelow: number,
): Promise<void> {
  useInsight.setState((s) => ({
    review: { ...s.review, status: 'loading', error: null, projectId },
  }));
  try {
    // The worker ranks the rows it holds (review-queue.ts); the page keeps only the queue.
    const ex = runningExtractor();
    const items = await reviewQueue({
      projectId,
      extractorKey: ex.key,
      dim: ex.dim,
      classIds,
      unsureBelow: unsureBelow > 0 ? unsureBelow : 0.5,
      limit: 60,
    });
    useInsight.setState({
      review: {
        status: 'ready',
        projectId,
        classIds: [...classIds],
        error: null,
        items: items.map((it) => ({
          sampleId: it.id,
          classId: classIds[it.label]!,
          predClassId: classIds[it.pred]!,
          nearestClassId: it.nearestOther >= 0 ? classIds[it.nearestOther]! : null,
          confidence: it.confidence,
          labelProb: it.labelProb,
          reasons: it.reasons,
        })),
      },
    });
  } catch (err) {
    useInsight.setState((s) => ({
      review: { ...s.review, status: 'error', error: serializeError(err).message },
    }));
  }
}

/** Drops a sample from the shown queue (after relabel or delete). */
export function dismissReviewItem(sampleId: string): void {
  useInsight.setState((s) => ({
    review: { ...s.review, items: s.review.items.filter((i) => i.sampleId !== sampleId) },
  }));
}

let mapController: AbortController | null = null;

/** PCA map at once, then UMAP (fixed seed) replaces it when done. */
export async function computeMap(projectId: string, opts: { umap?: boolean } = {}): Promise<void> {
  mapController?.abort();
  const controller = new AbortController();
  mapController = controller;
  const signal = controller.signal;
  useInsight.setState((s) => ({
    map: { ...s.map, status: 'pca', error: null, progress: 0, projectId },
  }));
  try {
    // Every n-th row (in training order), read a page at a time: at most MAP_MAX_POINTS rows of
    // vectors are ever held here.
    const ex = runningExtractor();
    let stride = 1;
    let capacity = 0;
    let x = new Float32Array(0);
    const ids: string[] = [];
    const classIds: string[] = [];
    let candidateCount = 0;
    const streamed = await repo().embeddings.streamTrainingSet(
      projectId,
      ex.key,
      {
        expectedDim: ex.dim,
        // Only the every-stride-th rows are read from IndexedDB at all (50,000 samples: 2,000).
        select: (candidates) => {
          candidateCount = candidates.length;
          stride = Math.max(1, Math.ceil(candidates.length / MAP_MAX_POINTS));
          if (stride === 1) return null;
          const picked: number[] = [];
          for (let i = 0; i < candidates.length; i += stride) picked.push(i);
          return picked;
        },
        onPlan: (rows) => {
          capacity = rows;
          x = new Float32Array(capacity * ex.dim);
        },
      },
      (page) => {
        // Each row at its planned position, so the map's order does not depend on how rows were
        // stored (packs come first: store/packs.ts).
        page.ids.forEach((id, i) => {
          const at = page.at[i]!;
          if (at >= capacity) return;
          x.set(page.x.subarray(i * ex.dim, (i + 1) * ex.dim), at * ex.dim);
          ids[at] = id;
          classIds[at] = page.classIds[i]!;
        });
      },
    );
    // Rows found unreadable leave holes: close them up in order.
    let kept = 0;
    for (let at = 0; at < capacity; at++) {
      if (ids[at] === undefined) continue;
      if (kept !== at) {
        ids[kept] = ids[at]!;
        classIds[kept] = classIds[at]!;
        x.copyWithin(kept * ex.dim, at * ex.dim, (at + 1) * ex.dim);
      }
      kept++;
    }
    ids.length = kept;
    classIds.length = kept;
    const set = { ids, classIds, dim: ex.dim, x: x.slice(0, kept * ex.dim) };
    // Rows that were candidates (the unread ones were not checked; the read ones that were bad are not counted).
    const total = candidateCount - (capacity - streamed.ids.length);
    const n = set.ids.length;
    const toPoints = (xy: Float32Array): MapPoint[] =>
      set.ids.map((sampleId, i) => ({
        sampleId,
        classId: set.classIds[i]!,
        x: xy[i * 2]!,
        y: xy[i * 2 + 1]!,
      }));
    const pca = await embedBridge().call(
      'map',
      { x: set.x.slice(), n, dim: set.dim, method: 'pca', seed: MAP_SEED },
      { signal },
    );
    if (signal.aborted) return;
    const wantUmap = (opts.umap ?? true) && n >= 6;
    useInsight.setState((s) => ({
      map: {
        ...s.map,
        status: wantUmap ? 'umap' : 'ready',
        method: 'pca',
        total,
        points: toPoints(pca.xy),
        ms: pca.ms,
      },
    }));
    if (!wantUmap) return;
    const umap = await embedBridge().call(
      'map',
      { x: set.x, n, dim: set.dim, method: 'umap', seed: MAP_SEED },
      {
        signal,
        transfer: [set.x.buffer],
        onProgress: (p) =>
          useInsight.setState((s) => ({
            map: { ...s.map, progress: p.total > 0 ? p.epoch / p.total : 0 },
          })),
      },
    );
    if (signal.aborted) return;
    useInsight.setState((s) => ({
      map: {
        ...s.map,
        status: 'ready',
        method: 'umap',
        points: toPoints(umap.xy),
        ms: umap.ms,
        progress: 1,
      },
    }));
  } catch (err) {
    const e = serializeError(err);
    if (e.code === 'cancelled' || signal.aborted) return;
    useInsight.setState((s) => ({ map: { ...s.map, status: 'error', error: e.message } }));
  }
}

export function cancelMap(): void {
  mapController?.abort();
}
