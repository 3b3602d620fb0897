import { useEffect, type MouseEvent } from 'react';
import { useClasses, useSelectedClassId } from '../state/classes';
import { importCaptured } from '../state/importer';
import { useCurrentProjectId } from '../state/projects';
import { useSession, showToast } from '../state/session';
import { ClassList } from './ClassList';
import { ImportPanel } from './ImportPanel';
import { ProjectBar } from './ProjectBar';
import { ReembedStatus } from './ReembedStatus';
import { TrainPanel } from './TrainPanel';
import { PredictPanel } from './PredictPanel';
import { ReviewPanel } from './ReviewPanel';
import { MapPanel } from './MapPanel';

const COLUMNS = [
  { id: 'gather', label: 'Gather' },
  { id: 'train', label: 'Train' },
  { id: 'preview', label: 'Preview' },
] as const;

/**
 * "Teach": the project bar, then Gather | Train | Preview side by side on wide screens (stacked
 * in that order on a phone, with a sticky bar to jump between them), then the review queue and
 * the embedding map one click away.
 */
export function TeachView({ active }: { active: boolean }) {
  const loaded = useSession((s) => s.loaded);
  const loadError = useSession((s) => s.loadError);
  const projectId = useCurrentProjectId();
  const classes = useClasses(projectId);
  const chosen = useSelectedClassId();
  // The selected class, or the first one: webcam frames and pastes always have a home.
  const selected = classes?.find((c) => c.id === chosen) ?? classes?.[0] ?? null;

  useEffect(() => {
    if (!active) return;
    const onPaste = (e: ClipboardEvent) => {
      const files = Array.from(e.clipboardData?.files ?? []).filter((f) =>
        f.type.startsWith('image/'),
      );
      if (files.length === 0) return;
      e.preventDefault();
      if (!selected) {
        showToast('Add a class first, then paste images into it.', { kind: 'error' });
        return;
      }
      files.forEach((f) => importCaptured(selected.id, f, 'paste'));
      showToast(
        `Pasted ${files.length} image${files.length === 1 ? '' : 's'} into “${selected.name}”.`,
      );
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [active, selected]);

  if (loadError) {
    return (
      <p className="notice notice-error" role="alert" data-testid="projects-error">
        Your projects could not be opened: {loadError}
      </p>
    );
  }
  if (!loaded || !projectId) {
    return (
      <p className="muted" role="status">
        Opening your projects…
      </p>
    );
  }

  return (
    <div className="teach" data-testid="teach-view">
      <ProjectBar />
      <ImportPanel />
      <ReembedStatus projectId={projectId} />
      <nav className="jump" aria-label="Jump to" data-testid="jump-nav">
        {COLUMNS.map((c) => (
          <a key={c.id} href={`#col-${c.id}`} onClick={(e) => jumpTo(e, c.id)}>
            {c.label}
          </a>
        ))}
      </nav>
      <div className="workspace" data-testid="workspace">
        <div className="column" id="col-gather" data-testid="col-gather">
          <ClassList projectId={projectId} selectedClassId={selected?.id ?? null} />
        </div>
        <div className="column" id="col-train" data-testid="col-train">
          <TrainPanel projectId={projectId} />
        </div>
        <div className="column column-sticky" id="col-preview" data-testid="col-preview">
          <PredictPanel key={projectId} projectId={projectId} classes={classes ?? []} />
        </div>
      </div>
      <div className="more">
        <details data-testid="more-review">
          <summary>Review hard samples</summary>
          <ReviewPanel projectId={projectId} />
        </details>
        <details data-testid="more-map">
          <summary>Embedding map</summary>
          <MapPanel projectId={projectId} />
        </details>
      </div>
    </div>
  );
}

/** Scrolls to a column without writing the hash (the hash names the tab: #teach / #what). */
function jumpTo(e: MouseEvent, id: string): void {
  e.preventDefault();
  const el = document.getElementById(`col-${id}`);
  el?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  el?.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
}
