import { useEffect } from 'react';
import { useClasses, useSelectedClassId } from '../state/classes';
import { importCaptured } from '../state/importer';
import { useCurrentProjectId } from '../state/projects';
import { useSession, showToast } from '../state/session';
import { ClassList } from './ClassList';
import { ImportPanel } from './ImportPanel';
import { ProjectBar } from './ProjectBar';
import { ReembedStatus } from './ReembedStatus';
import { TeachCamera } from './TeachCamera';
import { TrainPanel } from './TrainPanel';
import { PredictPanel } from './PredictPanel';
import { ReviewPanel } from './ReviewPanel';
import { MapPanel } from './MapPanel';

/** "Teach": projects, classes and their samples, the import queue, and the training slot. */
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
      <div className="teach-grid">
        <ClassList projectId={projectId} selectedClassId={selected?.id ?? null} />
        <section className="panel" aria-labelledby="capture-title">
          <h2 id="capture-title">Webcam and clipboard</h2>
          <p className="muted small">
            Photos go to the selected class. Paste an image (Ctrl+V / ⌘V) anywhere on this tab to
            add it too.
          </p>
          <TeachCamera classId={selected?.id ?? null} className={selected?.name ?? null} />
        </section>
      </div>
      <TrainPanel projectId={projectId} />
      <PredictPanel
        projectId={projectId}
        colors={Object.fromEntries((classes ?? []).map((c) => [c.id, c.color]))}
      />
      <ReviewPanel projectId={projectId} />
      <MapPanel projectId={projectId} />
    </div>
  );
}
