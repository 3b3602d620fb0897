import { memo, useState } from 'react';
import { cancelImport, clearImportSummary, useImport, type ImportError } from '../state/importer';
import { dropOriginals, useCurrentProjectId } from '../state/projects';

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The failed files (up to MAX_LISTED_ERRORS): re-rendered only when the list itself changes. */
const ErrorList = memo(function ErrorList({ errors }: { errors: ImportError[] }) {
  return (
    <ul data-testid="import-errors">
      {errors.map((e, i) => (
        <li key={i} data-testid="import-error" data-code={e.code} data-name={e.name}>
          <strong className="import-error-name">{e.name}</strong>: {e.message}
        </li>
      ))}
    </ul>
  );
});

/**
 * Progress of the import queue as a summary (done/total, rate, time left, cancel), never a row per
 * queued file, and the files that failed.
 */
export function ImportPanel() {
  const s = useImport();
  const projectId = useCurrentProjectId();
  const [dropping, setDropping] = useState<'no' | 'confirm' | 'busy'>('no');
  if (!s.running && s.outcome === null) return null;
  const processed = s.done + s.failed + s.duplicates;
  const full = !s.running && s.stopCode === 'quota-exceeded';
  const title = s.running
    ? s.waitingForTab
      ? 'Waiting for another tab…'
      : s.waitingForModel
        ? 'Waiting for the model to load…'
        : 'Adding images…'
    : s.outcome === 'cancelled'
      ? 'Import cancelled'
      : s.outcome === 'stopped'
        ? 'Import stopped'
        : 'Import finished';

  return (
    <section
      className="panel import-panel"
      aria-labelledby="import-title"
      data-testid="import-panel"
    >
      <h2 id="import-title" className="import-title">
        {title}
      </h2>
      <div
        role="status"
        aria-live="polite"
        data-testid="import-status"
        data-running={s.running}
        data-done={s.done}
        data-failed={s.failed}
        data-duplicates={s.duplicates}
        data-total={s.total}
        data-outcome={s.outcome ?? ''}
      >
        <progress
          max={Math.max(1, s.total)}
          value={processed}
          aria-label="Import progress"
          className="import-progress"
        />
        <p className="small">
          <strong data-testid="import-counts">
            {processed} / {s.total}
          </strong>{' '}
          processed · {s.done} saved
          {s.duplicates > 0 && ` · ${s.duplicates} already saved, skipped`}
          {s.failed > 0 && <span className="error-text"> · {s.failed} failed</span>}
          {s.running && s.rate !== null && ` · ${s.rate.toFixed(1)} images/s`}
          {s.running && s.etaS !== null && ` · about ${duration(s.etaS)} left`}
          {s.skipped > 0 && ` · ${s.skipped} non-image file${s.skipped === 1 ? '' : 's'} skipped`}
        </p>
        {s.running && s.waitingForTab && (
          <p className="small" data-testid="import-waiting">
            Another tab is importing into this project. These images are added as soon as it
            finishes (or press Cancel).
          </p>
        )}
        {s.stopReason && (
          <p className="error-text" data-testid="import-stop-reason" data-code={s.stopCode ?? ''}>
            {s.stopReason}
          </p>
        )}
      </div>
      {full && projectId && (
        <div className="row" role="group" aria-label="Make room" data-testid="storage-full-actions">
          <span className="small">
            To make room: export the project (Export, above), delete samples you do not need, or
          </span>
          {dropping === 'confirm' ? (
            <>
              <button
                type="button"
                className="button danger"
                data-testid="drop-originals-confirm"
                onClick={() => {
                  setDropping('busy');
                  void dropOriginals(projectId).finally(() => setDropping('no'));
                }}
              >
                Drop originals
              </button>
              <button type="button" className="button" onClick={() => setDropping('no')}>
                Keep them
              </button>
            </>
          ) : (
            <button
              type="button"
              className="button"
              data-testid="drop-originals"
              disabled={dropping === 'busy'}
              title="The original files are deleted; thumbnails and embeddings stay, so the project still trains. Then drop the same files again to add the rest."
              onClick={() => setDropping('confirm')}
            >
              Drop originals, keep thumbnails + embeddings
            </button>
          )}
        </div>
      )}
      <div className="row">
        {s.running ? (
          <button
            type="button"
            className="button"
            data-testid="import-cancel"
            onClick={cancelImport}
          >
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="button"
            data-testid="import-close"
            onClick={clearImportSummary}
          >
            Close
          </button>
        )}
      </div>
      {s.errors.length > 0 && (
        <details open={s.errors.length <= 10} className="import-errors">
          <summary>
            {s.failed} file{s.failed === 1 ? '' : 's'} could not be added
          </summary>
          <ErrorList errors={s.errors} />
          {s.failed > s.errors.length && (
            <p className="small muted">
              The first {s.errors.length} are listed; all {s.failed} are counted above.
            </p>
          )}
        </details>
      )}
    </section>
  );
}
