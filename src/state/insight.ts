// "Seeing why": the per-project insight settings (confidence threshold for "not sure",
// augmentation on/off), the review queue (hardest samples, with relabel/delete) and the embedding
// map (PCA at once, then UMAP with a fixed seed, both computed in the model worker). The pure
// logic lives in train/threshold.ts, train/review.ts and train/map.ts.
import { useLiveQuery } from 'dexie-react-hooks';
import { create } from 'zustand';
import { AUGMENT_VARIANTS, augmentKey } from '../embed/augment-recipe';
import { rankForReview, type ReviewReason } from '../train/review';
import {
  decide,
  suggestThreshold,
  thresholdStats,
  type Decision,
  type ThresholdSuggestion,
} from '../train/threshold';
import { selectClasses } from '../dataset/labelled-set';
import { GlimpseError, serializeError } from '../shared/errors';
import { embedSamples } from './embed-samples';
import { embedBridge, useEngine } from './engine';
import { repo } from './repo';

export type { Decision, ReviewReason, ThresholdSuggestion };
export { decide, thresholdStats };

export const VARIANTS_PER_SAMPLE = AUGMENT_VARIANTS.length;
export const MAP_SEED = 7;

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
    progress: 0,
    ms: null,
    error: null,
    projectId: null,
  },
}));

async function currentSet(projectId: string) {
  const ex = useEngine.getState().extractor;
  if (!ex) throw new GlimpseError('internal', 'The model is still loading.');
  const set = await repo().embeddings.loadTrainingSet(projectId, ex.key, { expectedDim: ex.dim });
  return { set, extractorKey: ex.key };
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
    const { set, extractorKey } = await currentSet(projectId);
    const rows = selectClasses(set, classIds);
    const { ids, labels, x } = rows;
    const { probs, numClasses } = await embedBridge().call('scoreAll', {
      x: x.slice(),
      n: ids.length,
      extractorKey,
    });
    const items = rankForReview(
      { ids, labels, x, dim: rows.dim, numClasses, probs },
      { unsureBelow: unsureBelow > 0 ? unsureBelow : 0.5, limit: 60 },
    );
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
    const { set } = await currentSet(projectId);
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
