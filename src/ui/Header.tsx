import { useState } from 'react';
import { BACKEND_ORDER, savePreferences, startEngine, useEngine, type BackendName } from '../state/engine';
import { extractorChoices } from '../state/catalog';
import { PwaSettings } from './PwaSettings';
import { PwaStatus } from './PwaStatus';

export function Header() {
  const { status, backend, extractor, progress, forcedBackend, requestedExtractor } = useEngine();
  const [open, setOpen] = useState(false);
  const loading = status === 'loading';
  const pct = progress && progress.totalFiles > 0 ? progress.doneFiles / progress.totalFiles : null;

  return (
    <header className="header">
      <div className="brand">
        <img src="./icon.svg" alt="" width={28} height={28} />
        <span>Glimpse</span>
      </div>
      <div className="status" aria-live="polite" data-testid="engine-status" data-status={status} data-backend={backend?.name ?? ''} data-extractor={extractor?.id ?? ''}>
        {loading && (
          <span className="status-item">
            Loading model{progress ? ` (${progress.phase.replace(/^model:/, '')})` : ''}…
            {pct !== null && <progress max={1} value={pct} aria-label="Model download progress" />}
          </span>
        )}
        {backend && (
          <span className="status-item" title={backend.attempts.map((a) => `${a.name}: ${a.reason}`).join('\n')}>
            Backend: <strong data-testid="backend-name">{backend.name.toUpperCase()}</strong>
            {backend.forced ? ' (forced)' : ''} <span className="muted">{backend.detail}</span>
          </span>
        )}
        {extractor && (
          <span className="status-item">
            Model: <strong data-testid="extractor-name">{extractor.name}</strong>
          </span>
        )}
        {status === 'error' && <span className="status-item error-text">Model not loaded</span>}
        <PwaStatus />
      </div>
      <button type="button" className="button" data-testid="settings-toggle" aria-expanded={open} aria-controls="settings-panel" onClick={() => setOpen((o) => !o)}>
        Settings
      </button>
      {open && (
        <section id="settings-panel" className="settings" aria-label="Engine settings">
          <label>
            Backend
            <select
              value={forcedBackend ?? 'auto'}
              disabled={loading}
              onChange={(e) => {
                const value = e.target.value === 'auto' ? null : (e.target.value as BackendName);
                savePreferences({ backend: value });
                void startEngine({ backend: value, extractor: requestedExtractor });
              }}
            >
              <option value="auto">Automatic (fastest real device)</option>
              {BACKEND_ORDER.map((b) => (
                <option key={b} value={b}>
                  {b.toUpperCase()}
                </option>
              ))}
            </select>
          </label>
          <label>
            Feature extractor
            <select
              value={extractor?.id ?? requestedExtractor}
              disabled={loading}
              onChange={(e) => {
                savePreferences({ extractor: e.target.value });
                void startEngine({ backend: forcedBackend, extractor: e.target.value });
              }}
            >
              {extractorChoices().map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <p className="muted small">Add <code>?backend=wasm</code> or <code>?extractor=resnet50-imagenet</code> to the address to force a choice.</p>
          <PwaSettings />
        </section>
      )}
    </header>
  );
}
