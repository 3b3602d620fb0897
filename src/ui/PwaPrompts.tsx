import { useEffect, useState } from 'react';
import { applyUpdate, reloadForNewVersion } from '../pwa/register';
import { usePwa } from '../pwa/status';
import { useEngine } from '../state/engine';

const READY_MS = 10_000;

/**
 * Service-worker prompts below the header: "Update available" (the page is never reloaded unless
 * the user asks), a chunk that this version can no longer load, the model missing offline, and a
 * short-lived "ready offline" note after the first install (its own line rather than the shared
 * toast stack, which is for the results of the user's own actions).
 */
export function PwaPrompts() {
  const { updateWaiting, updating, chunkError, offlineReady, offline } = usePwa();
  const error = useEngine((s) => s.error);
  const [later, setLater] = useState(false);
  const [readyDismissed, setReadyDismissed] = useState(false);
  const readyShown = offlineReady && !readyDismissed;

  useEffect(() => {
    if (!offlineReady) return;
    const t = setTimeout(() => setReadyDismissed(true), READY_MS);
    return () => clearTimeout(t);
  }, [offlineReady]);

  // The worker's own message says "you are offline" when model.json is missing; a missing shard
  // arrives as a generic fetch error, so say it here too.
  const modelMissingOffline = offline && error?.code === 'model-fetch-failed' && !/offline/i.test(error.message);

  if (!chunkError && !(updateWaiting && !later) && !modelMissingOffline && !readyShown) return null;
  return (
    <div className="notices">
      {readyShown && (
        <div className="notice" role="status" data-testid="offline-ready">
          <span>Ready to work offline: Glimpse is saved on this device. Models are kept once loaded; Settings shows which.</span>
          <button type="button" className="link-button" onClick={() => setReadyDismissed(true)}>
            Dismiss
          </button>
        </div>
      )}
      {chunkError && (
        <div className="notice notice-error" role="alert" data-testid="chunk-error">
          <span>A new version of Glimpse is available and part of this one can no longer be loaded. Reload to continue; your projects are kept.</span>
          <button type="button" className="button" onClick={reloadForNewVersion}>
            Reload
          </button>
        </div>
      )}
      {updateWaiting && !later && !chunkError && (
        <div className="notice" role="status" data-testid="update-prompt">
          <span>Update available — a new version of Glimpse is ready. Reload when it suits you; your projects are kept.</span>
          <span className="row">
            <button type="button" className="button" data-testid="update-reload" disabled={updating} onClick={applyUpdate}>
              {updating ? 'Reloading…' : 'Reload'}
            </button>
            <button type="button" className="link-button" data-testid="update-later" onClick={() => setLater(true)}>
              Later
            </button>
          </span>
        </div>
      )}
      {modelMissingOffline && (
        <div className="notice notice-error" role="alert" data-testid="model-offline-missing">
          <span>You are offline and this model isn&apos;t downloaded yet. Connect once to download it, or choose a model marked “Available offline” in Settings.</span>
        </div>
      )}
    </div>
  );
}
