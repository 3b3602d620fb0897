import { useEngine } from '../state/engine';

export function Notices() {
  const notice = useEngine((s) => s.notice);
  const error = useEngine((s) => s.error);
  if (!notice && !error) return null;
  return (
    <div className="notices">
      {notice && (
        <div className="notice" role="status" data-testid="notice">
          <span>{notice}</span>
          <button type="button" className="link-button" onClick={() => useEngine.setState({ notice: null })}>
            Dismiss
          </button>
        </div>
      )}
      {error && (
        <div className="notice notice-error" role="alert" data-testid="error" data-code={error.code}>
          <span>{error.message}</span>
          <button type="button" className="link-button" onClick={() => useEngine.setState({ error: null })}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}
