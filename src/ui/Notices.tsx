import { useEngine } from '../state/engine';
import { acknowledgeEviction, dismissPersistNotice, useEviction } from '../state/eviction';
import { exportProject, useExport } from '../state/export';
import { useCurrentProjectId, useEvictionMarker, useProjects } from '../state/projects';

export function Notices() {
  const notice = useEngine((s) => s.notice);
  const error = useEngine((s) => s.error);
  const missing = useEviction((s) => s.missing);
  const persistDenied = useEviction((s) => s.persistDenied);
  const projects = useProjects();
  const projectId = useCurrentProjectId();
  const exporting = useExport((s) => s.busy === 'export-project');
  useEvictionMarker();
  if (!notice && !error && !missing && !persistDenied) return null;
  return (
    <div className="notices">
      {missing && (
        <div className="notice notice-error" role="alert" data-testid="eviction-report" data-count={missing.count}>
          <span>
            {missing.names.length > 0
              ? `${missing.count === 1 ? 'A project' : `${missing.count} projects`} that ${missing.count === 1 ? 'was' : 'were'} on this device ${missing.count === 1 ? 'is' : 'are'} gone: ${missing.names.map((n) => `“${n}”`).join(', ')}.`
              : `${missing.count === 1 ? 'A project' : `${missing.count} projects`} that ${missing.count === 1 ? 'was' : 'were'} on this device ${missing.count === 1 ? 'is' : 'are'} gone.`}{' '}
            The browser deleted this site’s stored data (storage was not persistent and space ran low, or the data was
            cleared). Glimpse cannot bring {missing.count === 1 ? 'it' : 'them'} back; if you exported{' '}
            {missing.count === 1 ? 'it' : 'them'}, use “Import project” under “Export and import”.
          </span>
          <button type="button" className="link-button" data-testid="eviction-ack" disabled={!projects} onClick={() => projects && acknowledgeEviction(projects)}>
            I understand
          </button>
        </div>
      )}
      {persistDenied && (
        <div className="notice" role="status" data-testid="persist-denied">
          <span>
            This browser did not grant persistent storage, so it may delete your projects when space runs low. Export
            your projects now and then to keep a copy (installing Glimpse as an app often makes storage persistent).
          </span>
          <button
            type="button"
            className="link-button"
            data-testid="persist-export"
            disabled={!projectId || exporting}
            onClick={() => projectId && void exportProject(projectId, { includeEmbeddings: true, includeHead: true })}
          >
            Export this project
          </button>
          <button type="button" className="link-button" onClick={dismissPersistNotice}>
            Dismiss
          </button>
        </div>
      )}
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
