// Ephemeral session state of the "Teach" view: which project is open, which class is selected,
// and the toasts (with optional Undo) that confirm what just happened. Nothing here is persisted;
// the last-opened project id is saved by projects.ts through the settings table.
import { create } from 'zustand';
import { serializeError } from '../shared/errors';

export interface Toast {
  id: number;
  message: string;
  kind: 'info' | 'error';
  /** Shown as an "Undo" button; the toast closes when it runs. */
  undo?: () => Promise<void>;
}

export interface SessionState {
  /** True once the first read of projects and settings finished (nothing is written before). */
  loaded: boolean;
  /** Set when the first load failed (storage blocked, another tab upgraded): shown to the user. */
  loadError: string | null;
  currentProjectId: string | null;
  selectedClassId: string | null;
  /** The class whose card shows the teach webcam (one camera at a time), or null. */
  cameraClassId: string | null;
  toasts: Toast[];
  /**
   * Set when another tab moved the database to a newer schema (or it already was newer than this
   * page's code): this page no longer writes and asks the user to reload. Never cleared.
   */
  reloadRequired: string | null;
}

export const useSession = create<SessionState>(() => ({
  loaded: false,
  loadError: null,
  currentProjectId: null,
  selectedClassId: null,
  cameraClassId: null,
  toasts: [],
  reloadRequired: null,
}));

export const TOAST_MS = 10_000;
let nextToastId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();

export function dismissToast(id: number): void {
  const timer = timers.get(id);
  if (timer !== undefined) clearTimeout(timer);
  timers.delete(id);
  useSession.setState((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}

export function showToast(
  message: string,
  opts: Omit<Toast, 'id' | 'message'> = { kind: 'info' },
): number {
  const id = nextToastId++;
  const toast: Toast = { id, message, ...opts };
  // Keep the stack short: the newest five.
  useSession.setState((s) => ({ toasts: [...s.toasts.slice(-4), toast] }));
  timers.set(
    id,
    setTimeout(() => dismissToast(id), TOAST_MS),
  );
  return id;
}

export function showError(err: unknown, prefix = ''): void {
  const { message } = serializeError(err);
  showToast(prefix ? `${prefix}: ${message}` : message, { kind: 'error' });
}

/** Runs the toast's undo and closes it; a failing undo shows its own error. */
export async function runUndo(id: number): Promise<void> {
  const toast = useSession.getState().toasts.find((t) => t.id === id);
  dismissToast(id);
  if (!toast?.undo) return;
  try {
    await toast.undo();
    showToast('Restored.');
  } catch (err) {
    showError(err, 'Could not undo');
  }
}

/**
 * Runs an action and shows any failure as an error toast; resolves to undefined on failure (and
 * without running it once a reload is required).
 */
export async function attempt<T>(fn: () => Promise<T>, what?: string): Promise<T | undefined> {
  // After another tab upgraded the database this page must not write: say so instead (the store
  // refuses too; this just skips the round trip).
  const reload = useSession.getState().reloadRequired;
  if (reload) {
    showToast(reload, { kind: 'error' });
    return undefined;
  }
  try {
    return await fn();
  } catch (err) {
    showError(err, what);
    return undefined;
  }
}

export function selectClass(classId: string | null): void {
  useSession.setState({ selectedClassId: classId });
}

/** Opens the teach webcam on one class's card (and selects it), or closes it (null). */
export function openCameraFor(classId: string | null): void {
  useSession.setState(classId ? { cameraClassId: classId, selectedClassId: classId } : { cameraClassId: null });
}
