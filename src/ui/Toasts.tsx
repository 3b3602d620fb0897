import { dismissToast, runUndo, useSession } from '../state/session';

/** Short confirmations at the bottom of the screen; "Undo" stays for about ten seconds. */
export function Toasts() {
  const toasts = useSession((s) => s.toasts);
  const reload = useSession((s) => s.reloadRequired);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {reload && (
        <div className="toast toast-error" role="alert" data-testid="reload-banner">
          <span className="toast-message">{reload}</span>
          <button type="button" className="button" onClick={() => location.reload()}>
            Reload
          </button>
        </div>
      )}
      {toasts.map((t) => (
        <div
          key={t.id}
          className={`toast${t.kind === 'error' ? ' toast-error' : ''}`}
          data-testid="toast"
          data-kind={t.kind}
        >
          <span className="toast-message">{t.message}</span>
          {t.undo && (
            <button
              type="button"
              className="button"
              data-testid="toast-undo"
              onClick={() => void runUndo(t.id)}
            >
              Undo
            </button>
          )}
          <button
            type="button"
            className="link-button"
            aria-label="Dismiss message"
            onClick={() => dismissToast(t.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
