import { useEffect, useRef, useState } from 'react';
import { clearExportStatus, exportCompleteModel, exportModel, exportProject, importDatasetFolder, importDatasetZip, importProject, useExport } from '../state/export';

/** Model export, project archive export/import and dataset import for the open project. */
export function ExportPanel({ projectId }: { projectId: string }) {
  const { busy, message, error, progress, toolsOpen, focusRequest } = useExport();
  const [withModel, setWithModel] = useState(true);
  const exportModelButton = useRef<HTMLButtonElement>(null);
  // "Export this model…" in the training results: open here and put focus on "Export model".
  // Only for a request made while mounted: a panel mounted later must not take the focus.
  const handledRequest = useRef(focusRequest);
  useEffect(() => {
    if (focusRequest === handledRequest.current) return;
    handledRequest.current = focusRequest;
    exportModelButton.current?.scrollIntoView({ block: 'nearest' });
    exportModelButton.current?.focus();
  }, [focusRequest]);
  const projectInput = useRef<HTMLInputElement>(null);
  const datasetInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const take = (input: HTMLInputElement): File[] => {
    const files = Array.from(input.files ?? []);
    input.value = '';
    return files;
  };

  return (
    <div className="export-panel" data-testid="export-panel" data-busy={busy ?? ''}>
      {/* Closed at first: a new project has nothing to export, and on a phone these seven
          actions would push Gather below the first screen. */}
      <details
        className="project-tools"
        data-testid="export-tools"
        open={toolsOpen}
        onToggle={(e) => {
          const open = e.currentTarget.open;
          if (open !== useExport.getState().toolsOpen) useExport.setState({ toolsOpen: open });
        }}
      >
        <summary>Export and import</summary>
        <div className="tool-groups">
          <div className="tool-group" role="group" aria-labelledby="tools-export">
            <span className="tool-label" id="tools-export">
              Export
            </span>
            <button ref={exportModelButton} type="button" className="button" disabled={busy !== null} data-testid="export-model" onClick={() => void exportModel(projectId)}>
              Export model
            </button>
            <button type="button" className="button" disabled={busy !== null} data-testid="export-complete" onClick={() => void exportCompleteModel(projectId)}>
              Export complete model
            </button>
            <button
              type="button"
              className="button"
              disabled={busy !== null}
              data-testid="export-project"
              onClick={() => void exportProject(projectId, { includeEmbeddings: withModel, includeHead: withModel })}
            >
              Export project
            </button>
            <label className="small export-option">
              <input type="checkbox" checked={withModel} onChange={(e) => setWithModel(e.target.checked)} data-testid="export-with-model" /> with embeddings and model
            </label>
          </div>
          <div className="tool-group" role="group" aria-labelledby="tools-import">
            <span className="tool-label" id="tools-import">
              Import
            </span>
            <button type="button" className="button" disabled={busy !== null} data-testid="import-project" onClick={() => projectInput.current?.click()}>
              Import project…
            </button>
            <button type="button" className="button" disabled={busy !== null} data-testid="import-dataset" onClick={() => datasetInput.current?.click()}>
              Import dataset (.zip)…
            </button>
            <button type="button" className="button" disabled={busy !== null} data-testid="import-dataset-folder" onClick={() => folderInput.current?.click()}>
              Import dataset folder…
            </button>
          </div>
        </div>
      </details>
      <div hidden>
        <input
          ref={projectInput}
          type="file"
          accept=".zip,application/zip"
          hidden
          data-testid="import-project-input"
          onChange={(e) => {
            const [file] = take(e.currentTarget);
            if (file) void importProject(file);
          }}
        />
        <input
          ref={datasetInput}
          type="file"
          accept=".zip,application/zip"
          hidden
          data-testid="import-dataset-input"
          onChange={(e) => {
            const [file] = take(e.currentTarget);
            if (file) void importDatasetZip(file);
          }}
        />
        <input
          ref={folderInput}
          type="file"
          hidden
          multiple
          data-testid="import-dataset-folder-input"
          {...{ webkitdirectory: '' }}
          onChange={(e) => void importDatasetFolder(take(e.currentTarget))}
        />
      </div>
      <div aria-live="polite">
        {busy && (
          <p className="small muted" role="status" data-testid="export-busy">
            {busy === 'export-complete' ? (progress ?? 'Building the complete model…') : busy === 'export-model' ? 'Writing the model…' : busy === 'export-project' ? 'Packing the project…' : busy === 'import-project' ? 'Checking the archive…' : 'Reading the dataset…'}
          </p>
        )}
        {message && (
          <p className="small" role="status" data-testid="export-message">
            {message}
          </p>
        )}
        {error && (
          <p className="error-text export-error" role="alert" data-testid="export-error">
            {error}{' '}
            <button type="button" className="button small" onClick={clearExportStatus}>
              Dismiss
            </button>
          </p>
        )}
      </div>
    </div>
  );
}
