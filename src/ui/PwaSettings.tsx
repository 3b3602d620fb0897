import { useEffect, useState } from 'react';
import { cancelDownload, downloadForOffline, refreshModelStatus, useModelOffline, type ModelOfflineView } from '../state/offline-models';
import { checkForUpdate } from '../pwa/register';
import { APP_VERSION, usePwa } from '../pwa/status';
import { requestPersistence, storageReport, type StorageReport } from '../pwa/storage';
import { extractorChoices } from '../state/catalog';
import { useEngine } from '../state/engine';
import { CustomModel } from './CustomModel';
import { bytes } from './format';

function describe(v: ModelOfflineView | undefined): string {
  if (!v?.status) return 'Checking…';
  const s = v.status;
  if (s.complete) return `Available offline (${bytes(s.cachedBytes)})`;
  if (s.cachedFiles === 0) return 'Not downloaded';
  return `Partly downloaded (${s.cachedFiles} of ${s.totalFiles} files)`;
}

/** Settings: offline availability per extractor, storage usage and persistence, version. */
export function PwaSettings() {
  const specs = extractorChoices();
  const models = useModelOffline();
  const engineStatus = useEngine((s) => s.status);
  const offline = usePwa((s) => s.offline);
  const supported = usePwa((s) => s.supported);
  const [storage, setStorage] = useState<StorageReport | null>(null);
  const downloading = Object.values(models).filter((m) => m.download).length;

  useEffect(() => {
    // Re-check after a model load (the worker caches what it loads) and after downloads.
    void refreshModelStatus(extractorChoices());
  }, [engineStatus]);

  useEffect(() => {
    let live = true;
    void storageReport().then(async (r) => {
      if (!live) return;
      setStorage(r);
      // Work has been saved: ask the browser to keep it (see requestPersistence).
      if (r && r.persisted === false && (r.indexedDbBytes ?? r.usageBytes) > 0) {
        const persisted = await requestPersistence();
        if (live && persisted) setStorage({ ...r, persisted });
      }
    });
    return () => {
      live = false;
    };
  }, [downloading, engineStatus]);

  return (
    <>
      <fieldset className="settings-box" data-testid="offline-models">
        <legend>Offline</legend>
        {!supported && <p className="muted small">Offline support needs the production build over HTTPS (or localhost).</p>}
        <ul className="bars">
          {specs.map((spec) => {
            const v = models[spec.id];
            const d = v?.download;
            return (
              <li key={spec.id} data-testid="model-offline" data-extractor={spec.id} data-available={String(!!v?.status?.complete)}>
                <div>
                  <strong>{spec.name}</strong>
                </div>
                {spec.optIn && (
                  <p className="muted small wrap-anywhere span-all" data-testid="opt-in-note">
                    {spec.note} Nothing is requested from there unless you press Download or choose it as the feature extractor.
                  </p>
                )}
                <div className="row small">
                  <span data-testid="model-offline-state">{d ? `Downloading ${d.doneFiles} of ${d.totalFiles || '…'} files (${bytes(d.loadedBytes)})` : describe(v)}</span>
                  {d && <progress max={d.totalFiles || 1} value={d.doneFiles} aria-label={`Download of ${spec.name}`} data-testid="model-download-progress" />}
                  {d ? (
                    <button type="button" className="link-button" onClick={() => cancelDownload(spec.id)}>
                      Cancel
                    </button>
                  ) : (
                    !v?.status?.complete && (
                      <button type="button" className="button small-button" data-testid="model-download" disabled={offline} title={offline ? 'You are offline' : undefined} onClick={() => void downloadForOffline(spec)}>
                        {spec.optIn ? 'Download from TF Hub' : 'Download for offline use'}
                      </button>
                    )
                  )}
                </div>
                {v?.error && (
                  <div className="small error-text wrap-anywhere span-all" role="alert">
                    {v.error}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      </fieldset>
      <CustomModel />
      <p className="small" data-testid="storage-usage">
        {storage ? (
          <>
            Storage used: {bytes(storage.usageBytes)} of {bytes(storage.quotaBytes)}
            {storage.cachesBytes !== null && ` (app and models ${bytes(storage.cachesBytes)}, projects ${bytes(storage.indexedDbBytes ?? 0)})`}.{' '}
            {storage.persisted ? (
              'Kept by the browser (persistent).'
            ) : (
              <>
                The browser may clear it when space runs low.{' '}
                <button
                  type="button"
                  className="link-button"
                  data-testid="storage-persist"
                  onClick={() => void requestPersistence().then((persisted) => setStorage({ ...storage, persisted }))}
                >
                  Ask to keep it
                </button>
              </>
            )}
          </>
        ) : (
          'Storage usage is not available in this browser.'
        )}
      </p>
      <p className="muted small">
        Version <span data-testid="app-version">{APP_VERSION}</span>{' '}
        {supported && (
          <button type="button" className="link-button" disabled={offline} onClick={() => void checkForUpdate()}>
            Check for updates
          </button>
        )}
      </p>
    </>
  );
}
