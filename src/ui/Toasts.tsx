import { dismissToast, runUndo, useSession } from '../state/session';

/** Short confirmations at the bottom of the screen; "Undo" stays for about ten seconds. */
export function Toasts() {
  const toasts = useSession((s) => s.toasts);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
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
