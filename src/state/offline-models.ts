// "Available offline" per extractor and "Download for offline use", from the window. The model
// cache and the code that fills it belong to src/embed/fetch-cache.ts (the same function the
// embedding worker loads models with), so a download here is exactly what a load would have
// cached, and a model cached by a load shows up here.
import { create } from 'zustand';
import { downloadModelFiles, modelCacheStatus, type DownloadProgress, type ModelCacheStatus } from '../embed/fetch-cache';
import type { ExtractorSpec } from '../embed/specs';
import { serializeError } from '../shared/errors';

export type { DownloadProgress, ModelCacheStatus };

export interface ModelOfflineView {
  status: ModelCacheStatus | null;
  download: DownloadProgress | null;
  error: string | null;
}

export const useModelOffline = create<Record<string, ModelOfflineView>>(() => ({}));

const controllers = new Map<string, AbortController>();

/** The same resolution as the worker's: spec URLs are relative to the app's folder. */
function resolver(): (u: string) => string {
  const base = new URL('./', location.href);
  return (u) => new URL(u, base).toString();
}

function patch(id: string, p: Partial<ModelOfflineView>): void {
  useModelOffline.setState((s) => ({ [id]: { status: null, download: null, error: null, ...s[id], ...p } }));
}

export async function refreshModelStatus(specs: readonly ExtractorSpec[]): Promise<void> {
  const resolve = resolver();
  await Promise.all(
    specs.map(async (spec) => {
      try {
        patch(spec.id, { status: await modelCacheStatus(spec, resolve) });
      } catch (err) {
        patch(spec.id, { error: serializeError(err).message });
      }
    }),
  );
}

/** Downloads every file of the extractor into the model cache, with progress. */
export async function downloadForOffline(spec: ExtractorSpec): Promise<void> {
  if (controllers.has(spec.id)) return;
  const controller = new AbortController();
  controllers.set(spec.id, controller);
  patch(spec.id, { error: null, download: { doneFiles: 0, totalFiles: 0, loadedBytes: 0 } });
  try {
    await downloadModelFiles(spec, resolver(), { signal: controller.signal, onProgress: (p) => patch(spec.id, { download: p }) });
  } catch (err) {
    const e = serializeError(err);
    if (e.code !== 'cancelled') patch(spec.id, { error: e.message });
  } finally {
    controllers.delete(spec.id);
    patch(spec.id, { download: null });
    await refreshModelStatus([spec]);
  }
}

export function cancelDownload(id: string): void {
  controllers.get(id)?.abort();
}
