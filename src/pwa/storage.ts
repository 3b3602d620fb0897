// Storage usage (projects, samples, the app shell and the model cache all count against the
// origin's quota) and persistence, so the browser does not evict a user's work under pressure.

export interface StorageReport {
  usageBytes: number;
  quotaBytes: number;
  /** Chromium's breakdown: Cache Storage (app shell + models) and IndexedDB (projects). */
  cachesBytes: number | null;
  indexedDbBytes: number | null;
  persisted: boolean | null;
}

export async function storageReport(): Promise<StorageReport | null> {
  if (!navigator.storage?.estimate) return null;
  const est = (await navigator.storage.estimate()) as StorageEstimate & { usageDetails?: Record<string, number> };
  const persisted = navigator.storage.persisted ? await navigator.storage.persisted().catch(() => null) : null;
  return {
    usageBytes: est.usage ?? 0,
    quotaBytes: est.quota ?? 0,
    cachesBytes: est.usageDetails ? (est.usageDetails.caches ?? 0) : null,
    indexedDbBytes: est.usageDetails ? (est.usageDetails.indexedDB ?? 0) : null,
    persisted,
  };
}

let persistRequest: Promise<boolean> | null = null;

/**
 * Asks the browser to keep this origin's storage (navigator.storage.persist()). Call it after the
 * first real save; repeated calls share one request. Resolves whether storage is persistent.
 * Chromium decides from engagement (installed, bookmarked, notifications) without a dialog.
 */
export function requestPersistence(): Promise<boolean> {
  if (!navigator.storage?.persist) return Promise.resolve(false);
  persistRequest ??= (async () => {
    if (await navigator.storage.persisted()) return true;
    return navigator.storage.persist();
  })().catch(() => false);
  const p = persistRequest;
  // A refusal is not final (the user may install the app later): allow asking again.
  void p.then((ok) => {
    if (!ok) persistRequest = null;
  });
  return p;
}
