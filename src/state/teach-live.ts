// Teach while previewing: during live prediction, a key or tap on a class adds the frame just
// predicted to that class ("that was wrong, it is X"), and the head retrains in the background.
// trainProject loads the new head into the worker before it returns, so the next live frame is
// predicted by it. Several frames taught during one training run coalesce into one more run.
import { create } from 'zustand';
import { clearImportSummary, importCaptured, useImport } from './importer';
import { trainProject, useTraining } from './training';

export interface TeachLiveState {
  /** Frames added from the preview in this session. */
  added: number;
  /** What the last teach did, for the preview's status line. */
  status: 'idle' | 'saving' | 'training' | 'done' | 'error';
  lastClassName: string | null;
  message: string | null;
}

export const useTeachLive = create<TeachLiveState>(() => ({
  added: 0,
  status: 'idle',
  lastClassName: null,
  message: null,
}));

function importIdle(): Promise<void> {
  return new Promise((resolve) => {
    if (!useImport.getState().running) return resolve();
    const unsubscribe = useImport.subscribe((s) => {
      if (s.running) return;
      unsubscribe();
      resolve();
    });
  });
}

let again = false;
let running: Promise<void> | null = null;

/** Retrains now, or once more after the run in progress (never two runs at once). */
function retrain(projectId: string): Promise<void> {
  again = true;
  if (running) return running;
  running = (async () => {
    while (again) {
      again = false;
      useTeachLive.setState({ status: 'training' });
      await trainProject(projectId);
    }
  })().finally(() => {
    running = null;
  });
  return running;
}

/** Adds one previewed frame to a class, then retrains the head in the background. */
export async function teachFrame(
  projectId: string,
  classId: string,
  className: string,
  frame: Blob,
): Promise<void> {
  const before = useImport.getState();
  // A taught frame is not an import the user started: its summary is cleared afterwards unless
  // an import's summary was already showing.
  const quiet = !before.running && before.outcome === null;
  const n = useTeachLive.getState().added + 1;
  useTeachLive.setState({ added: n, status: 'saving', lastClassName: className, message: null });
  const file = new File([frame], `preview-${n}.jpg`, { type: frame.type || 'image/jpeg' });
  importCaptured(classId, file, 'webcam', n);
  await importIdle();
  const after = useImport.getState();
  const saved = after.done > 0 && after.failed === 0;
  if (quiet) clearImportSummary();
  if (!saved) {
    useTeachLive.setState({
      status: 'error',
      message:
        after.duplicates > 0
          ? 'That frame is already saved in this class.'
          : 'The frame could not be saved.',
    });
    return;
  }
  await retrain(projectId);
  const t = useTraining.getState();
  useTeachLive.setState(
    t.phase === 'done'
      ? { status: 'done', message: null }
      : { status: 'error', message: t.error?.message ?? 'Training stopped.' },
  );
}
