// Projects: which one is open (remembered as the last-opened project in the settings table),
// live lists through Dexie live queries, and the project actions. Write policy (DESIGN.md 8):
// nothing is written until the first read of projects and settings has finished, so a slow or
// failing first load can never overwrite what is already stored.
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect } from 'react';
import { DEFAULT_EXTRACTOR_ID, extractorKey, findExtractor } from '../embed/specs';
import { findAnyExtractor } from './catalog';
import { GlimpseError, serializeError } from '../shared/errors';
import { RELOAD_MESSAGE } from '../store/errors';
import { checkEviction, projectsChanged } from './eviction';
import { onVersionChange } from '../store/repo';
import { readPreferences, useEngine } from './engine';
import { repo, type ProjectRow } from './repo';
import { attempt, selectClass, showToast, useSession } from './session';

export const DEFAULT_PROJECT_NAME = 'My first project';
const LAST_PROJECT_KEY = 'lastProjectId';

/** The extractor a new project starts with: the one running now, else the preferred one. */
function currentExtractor(): { id: string; key: string } {
  const running = useEngine.getState().extractor;
  if (running) return { id: running.id, key: running.key };
  const spec = findAnyExtractor(readPreferences().extractor) ?? findExtractor(DEFAULT_EXTRACTOR_ID);
  return { id: spec.id, key: extractorKey(spec) };
}

let initializing: Promise<void> | null = null;
let watching = false;

const OUTDATED_MESSAGE =
  'Your projects were saved by a newer version of Glimpse (open in another tab or installed ' +
  'since). Reload this page to update; nothing was changed.';

/**
 * Two tabs, two schema versions (DESIGN.md "Reliability promises"): when another tab upgrades the
 * database, or it is already newer than this code, the store stops writing and this page asks the
 * user to reload (session.reloadRequired, shown as a banner).
 */
function watchVersionChanges(): void {
  if (watching) return;
  watching = true;
  onVersionChange((ev) => {
    if (ev.kind === 'blocked') {
      showToast('Close the other Glimpse tabs (or reload them) so this one can update your data.');
      return;
    }
    if (useSession.getState().reloadRequired) return;
    useSession.setState({
      reloadRequired: ev.kind === 'outdated' ? OUTDATED_MESSAGE : RELOAD_MESSAGE,
    });
  });
}

/** Reads the stored projects once and opens the last one (creating the first project if none). */
export function initProjects(): Promise<void> {
  watchVersionChanges();
  initializing ??= doInit().catch((err: unknown) => {
    initializing = null;
    useSession.setState({ loadError: serializeError(err).message });
  });
  return initializing;
}

async function doInit(): Promise<void> {
  const r = repo();
  const [list, last] = await Promise.all([
    r.projects.list(),
    r.settings.get<string | null>(LAST_PROJECT_KEY, null),
  ]);
  // First load complete: from here on writes are allowed. Projects deleted behind our back (the
  // browser evicted the data) are reported before the empty state could be mistaken for them.
  checkEviction(list);
  let id = list.find((p) => p.id === last)?.id ?? list[0]?.id ?? null;
  if (id === null) {
    const ex = currentExtractor();
    id = (await r.projects.create(DEFAULT_PROJECT_NAME, ex.id, ex.key)).id;
  }
  if (id !== last) await r.settings.set(LAST_PROJECT_KEY, id);
  useSession.setState({
    loaded: true,
    loadError: null,
    currentProjectId: id,
    selectedClassId: null,
  });
}

// ---- hooks -------------------------------------------------------------------------------------

/** All projects, most recently changed first (undefined while loading). */
export function useProjects(): ProjectRow[] | undefined {
  return useLiveQuery(() => repo().projects.list(), []);
}

/** Keeps the eviction marker in step with the project list (App mounts it once). */
export function useEvictionMarker(): void {
  const list = useProjects();
  const loaded = useSession((s) => s.loaded);
  useEffect(() => {
    if (list && loaded) projectsChanged(list);
  }, [list, loaded]);
}

export function useCurrentProjectId(): string | null {
  return useSession((s) => s.currentProjectId);
}

/** The open project's row (undefined while loading or when it was deleted elsewhere). */
export function useCurrentProject(): ProjectRow | undefined {
  const id = useCurrentProjectId();
  return useLiveQuery(() => (id ? repo().projects.get(id) : undefined), [id]);
}

// ---- actions -----------------------------------------------------------------------------------

function requireLoaded(): void {
  if (!useSession.getState().loaded) throw new Error('Projects are still loading.');
}

export async function switchProject(projectId: string): Promise<void> {
  requireLoaded();
  useSession.setState({ currentProjectId: projectId, selectedClassId: null });
  await attempt(
    () => repo().settings.set(LAST_PROJECT_KEY, projectId),
    'Could not remember the project',
  );
}

export async function createProject(name: string): Promise<ProjectRow | undefined> {
  requireLoaded();
  const ex = currentExtractor();
  const row = await attempt(
    () => repo().projects.create(name, ex.id, ex.key),
    'Could not create the project',
  );
  if (row) await switchProject(row.id);
  return row;
}

export async function renameProject(projectId: string, name: string): Promise<boolean> {
  requireLoaded();
  const ok = await attempt(async () => {
    await repo().projects.rename(projectId, name);
    return true;
  }, 'Could not rename');
  return ok === true;
}

export async function duplicateProject(projectId: string): Promise<ProjectRow | undefined> {
  requireLoaded();
  const row = await attempt(() => repo().projects.duplicate(projectId), 'Could not duplicate');
  if (row) {
    await switchProject(row.id);
    showToast(`Opened the copy “${row.name}”.`);
  }
  return row;
}

/** Deletes a project for good (the UI confirms first) and opens another one. */
export async function deleteProject(projectId: string): Promise<void> {
  requireLoaded();
  const r = repo();
  const before = await attempt(() => r.projects.get(projectId));
  const done = await attempt(async () => {
    await r.projects.delete(projectId);
    return true;
  }, 'Could not delete the project');
  if (!done) return;
  if (before) showToast(`Deleted “${before.name}”.`);
  if (useSession.getState().currentProjectId !== projectId) return;
  const rest = (await attempt(() => r.projects.list())) ?? [];
  const next = rest[0] ?? (await createProject(DEFAULT_PROJECT_NAME));
  if (next) await switchProject(next.id);
  selectClass(null);
}

/**
 * Frees space by dropping the project's original images; thumbnails and embeddings stay, so it
 * still shows and trains (the way out of a full disk). Resolves how many originals were dropped.
 */
export async function dropOriginals(projectId: string): Promise<number | undefined> {
  requireLoaded();
  const res = await attempt(async () => {
    try {
      return await repo().dropOriginals(projectId);
    } catch (err) {
      // Rewriting the rows needs a little room itself; deleting never does.
      if (serializeError(err).code !== 'quota-exceeded') throw err;
      throw new GlimpseError(
        'quota-exceeded',
        'There is not even room to rewrite the samples without their originals. Delete some ' +
          'samples first (deleting needs no space), or export the project, then try again.',
      );
    }
  }, 'Could not drop the originals');
  if (!res) return undefined;
  const mb = (res.bytesFreed / 2 ** 20).toFixed(1);
  showToast(
    res.samples === 0
      ? 'There were no original images left to drop.'
      : `Dropped ${res.samples} original image${res.samples === 1 ? '' : 's'} (${mb} MB); thumbnails and training data are kept.`,
  );
  return res.samples;
}
