import * as Popover from '@radix-ui/react-popover';
import { BACKEND_ORDER, savePreferences, startEngine, useEngine, type BackendName } from '../state/engine';
import { extractorChoices } from '../state/catalog';
import { PwaSettings } from './PwaSettings';
import { PwaStatus } from './PwaStatus';

/** Forcing a backend the automatic choice skipped is usually much slower: say so. */
function BackendHint({ forced }: { forced: BackendName | null }) {
  if (forced !== 'cpu' && forced !== 'webgl' && forced !== 'webgpu') return null;
  return (
    <p className="small" data-testid="backend-hint">
      {forced === 'cpu'
        ? 'Plain JavaScript (CPU) is typically 15–20× slower than WASM here: each prediction takes seconds.'
        : `Without a real graphics card ${forced.toUpperCase()} runs on a software GPU, typically 15–20× slower than WASM.`}{' '}
      Automatic picks the fastest backend that works on this device.
    </p>
  );
}

export function Header() {
  const { status, backend, extractor, progress, forcedBackend, requestedExtractor, integrity, loadMs } = useEngine();
  const loading = status === 'loading';
  const pct = progress && progress.totalFiles > 0 ? progress.doneFiles / progress.totalFiles : null;

  return (
    <header className="header">
      <div className="brand">
        <img src="./icon.svg" alt="" width={28} height={28} />
        <span>Glimpse</span>
      </div>
      <div className="status" aria-live="polite" data-testid="engine-status" data-status={status} data-backend={backend?.name ?? ''} data-extractor={extractor?.id ?? ''} data-extractor-key={extractor?.key ?? ''}
        // The model files' check (tests and benchmarks read it): files, bytes and time spent hashing.
        data-verified-files={integrity?.verifiedFiles ?? 0}
        data-verified-bytes={integrity?.verifiedBytes ?? 0}
        data-hash-ms={integrity ? Math.round(integrity.hashMs) : ''}
        data-load-ms={loadMs === null ? '' : Math.round(loadMs)}
        data-repaired={integrity?.repaired.join(' ') ?? ''}
      >
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
      {/* Radix popover: Esc and a click outside close it; focus returns to the button. */}
      <Popover.Root>
        <Popover.Trigger asChild>
          <button type="button" className="button" data-testid="settings-toggle">
            Settings
          </button>
        </Popover.Trigger>
        <Popover.Portal>
        <Popover.Content data-testid="settings-panel" className="settings" aria-label="Engine settings" align="end" sideOffset={6} collisionPadding={8}>
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
          <BackendHint forced={forcedBackend} />
          <p className="muted small">Add <code>?backend=wasm</code> or <code>?extractor=resnet50-imagenet</code> to the address to force a choice.</p>
          <PwaSettings />
        </Popover.Content>
        </Popover.Portal>
      </Popover.Root>
    </header>
  );
}
