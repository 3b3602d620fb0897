import { useState } from 'react';
import {
  createProject,
  deleteProject,
  duplicateProject,
  renameProject,
  switchProject,
  useCurrentProject,
  useProjects,
} from '../state/projects';
import { ExportPanel } from './ExportPanel';
import { InlineEdit } from './InlineEdit';

type Mode = 'idle' | 'create' | 'rename' | 'confirm-delete';

/** Switch, create, rename, duplicate and delete projects. Everything is saved on this device. */
export function ProjectBar() {
  const projects = useProjects();
  const current = useCurrentProject();
  const [mode, setMode] = useState<Mode>('idle');
  const [newName, setNewName] = useState('');

  return (
    <section className="project-bar" aria-label="Project" data-testid="project-bar">
      <label className="project-select">
        Project{' '}
        <select
          data-testid="project-select"
          value={current?.id ?? ''}
          onChange={(e) => void switchProject(e.target.value)}
        >
          {!current && <option value="">Loading…</option>}
          {(projects ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>

      {mode === 'rename' && current ? (
        <InlineEdit
          value={current.name}
          label="Project name"
          testId="project-rename-input"
          onSave={(name) => renameProject(current.id, name)}
          onDone={() => setMode('idle')}
        />
      ) : mode === 'create' ? (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void createProject(newName || 'Untitled project').then((row) => {
              if (row) {
                setMode('idle');
                setNewName('');
              }
            });
          }}
        >
          <input
            autoFocus
            aria-label="New project name"
            data-testid="project-new-name"
            placeholder="Project name"
            maxLength={100}
            value={newName}
            onChange={(e) => setNewName(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setMode('idle');
            }}
          />
          <button type="submit" className="button primary">
            Create
          </button>
          <button type="button" className="button" onClick={() => setMode('idle')}>
            Cancel
          </button>
        </form>
      ) : mode === 'confirm-delete' && current ? (
        <div className="row confirm" role="alertdialog" aria-label="Confirm delete">
          <span>
            Delete “<span data-testid="project-delete-name">{current.name}</span>” with all its
            classes and samples? This cannot be undone.
          </span>
          <button
            type="button"
            className="button danger"
            data-testid="project-delete-confirm"
            autoFocus
            onClick={() => void deleteProject(current.id).then(() => setMode('idle'))}
          >
            Delete project
          </button>
          <button type="button" className="button" onClick={() => setMode('idle')}>
            Keep it
          </button>
        </div>
      ) : (
        <div className="row">
          <button
            type="button"
            className="button"
            data-testid="project-new"
            onClick={() => setMode('create')}
          >
            New project
          </button>
          <button
            type="button"
            className="button"
            disabled={!current}
            data-testid="project-rename"
            onClick={() => setMode('rename')}
          >
            Rename
          </button>
          <button
            type="button"
            className="button"
            disabled={!current}
            data-testid="project-duplicate"
            onClick={() => current && void duplicateProject(current.id)}
          >
            Duplicate
          </button>
          <button
            type="button"
            className="button danger"
            disabled={!current}
            data-testid="project-delete"
            onClick={() => setMode('confirm-delete')}
          >
            Delete…
          </button>
        </div>
      )}
      {current && <ExportPanel projectId={current.id} />}
    </section>
  );
}
