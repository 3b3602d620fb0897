// Projects: which one is open (remembered as the last-opened project in the settings table),
// live lists through Dexie live queries, and the project actions. Write policy (DESIGN.md 8):
// nothing is written until the first read of projects and settings has finished, so a slow or
// failing first load can never overwrite what is already stored.
import { useEffect, useRef } from 'react';
import { useLiveQuery } from 'dexie-react-hooks';
import { DEFAULT_EXTRACTOR_ID, extractorKey, findExtractor } from '../embed/specs';
import { findAnyExtractor } from './catalog';
import { GlimpseError, serializeError } from '../shared/errors';
import { RELOAD_MESSAGE } from '../store/errors';
import { checkEviction, projectsChanged } from './eviction';
import { onVersionChange } from '../store/repo';
import { readPreferences, useEngine } from './engine';
import { repo, type ProjectRow } from './repo';
import { attempt, selectClass, showToast, useSession } from './session';
import { withLock } from './tab-locks';

export const DEFAULT_PROJECT_NAME = 'My first project';
const LAST_PROJECT_KEY = 'lastProjectId';

/** The extractor a new project starts with: the one running now, else the preferred one. */
function currentExtractor(): { id: string; key: string } {
  const running = useEngine.getState().extractor;
  if (running) return { id: running.id, key: running.key };
  const spec = findAnyExtractor(readPreferences().extractor) ?? findExtractor(DEFAULT_EXTRACTOR_ID);
  return { id: spec.id, key: extractorKey(spec) };
}

/** Held while a tab picks or creates "the first project", so two tabs never both create it. */
const PROJECTS_LOCK = 'glimpse-projects-open';

/**
 * The most recently changed project, or a new default one when none is left. Under a lock shared
 * by the tabs: two tabs opened at once on an empty profile, or both showing a project that one of
 * them deletes, end up in the same new project instead of two "My first project"s.
 */
function firstOrNewProject(): Promise<ProjectRow> {
  return withLock(PROJECTS_LOCK, async () => {
    const first = (await repo().projects.list())[0];
    if (first) return first;
    const ex = currentExtractor();
    return repo().projects.create(DEFAULT_PROJECT_NAME, ex.id, ex.key);
  });
}

/** Projects this tab is deleting (it opens the next one itself). */
const deletingHere = new Set<string>();
/** Projects whose deletion elsewhere this tab is handling now. */
const handlingGone = new Set<string>();

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
  const id = list.find((p) => p.id === last)?.id ?? list[0]?.id ?? (await firstOrNewProject()).id;
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
  const loaded = useSession((s) => s.loaded);
  // Not before the first load (initProjects): that one opens the database while the version check
  // is listening, so a newer schema on disk reaches the reload banner instead of a query's error.
  // (Children's effects run before App's, so an ungated query here would open it first.)
  return useLiveQuery(() => (loaded ? repo().projects.list() : undefined), [loaded]);
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

/**
 * Two tabs, one project: the project list is a live query (Dexie tells every tab of the origin
 * about each committed write), so renames, new projects and deletions made in another tab show
 * here by themselves. When the open project disappears (deleted in another tab), this tab opens
 * another one and says so, instead of showing an empty project that refuses every write.
 */
export function useFollowProjects(): void {
  const loaded = useSession((s) => s.loaded);
  // Not before the first load: that one opens the database after initProjects is listening for
  // version changes (a newer schema on disk must reach the reload banner).
  const projects = useLiveQuery(() => (loaded ? repo().projects.list() : undefined), [loaded]);
  const id = useSession((s) => s.currentProjectId);
  /** Names of the projects seen in the list (a project just created here is not gone, only new). */
  const seen = useRef(new Map<string, string>());
  useEffect(() => {
    if (!loaded || !projects || !id) return;
    for (const p of projects) seen.current.set(p.id, p.name);
    if (projects.some((p) => p.id === id)) return;
    const name = seen.current.get(id);
    if (name !== undefined) void projectGone(id, name);
  }, [loaded, projects, id]);
}

async function projectGone(id: string, name: string): Promise<void> {
  if (deletingHere.has(id) || handlingGone.has(id)) return;
  handlingGone.add(id);
  try {
    // A list that lags behind is not a deletion: ask the database itself.
    const row = await attempt(() => repo().projects.get(id));
    if (row || useSession.getState().currentProjectId !== id) return;
    const next = await attempt(firstOrNewProject, 'Could not open another project');
    if (!next || useSession.getState().currentProjectId !== id) return;
    await switchProject(next.id);
    showToast(`The project “${name}” was deleted in another tab. Opened “${next.name}”.`);
  } finally {
    handlingGone.delete(id);
  }
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
  deletingHere.add(projectId);
  try {
    const before = await attempt(() => r.projects.get(projectId));
    const done = await attempt(async () => {
      await r.projects.delete(projectId);
      return true;
    }, 'Could not delete the project');
    if (!done) return;
    if (before) showToast(`Deleted “${before.name}”.`);
    if (useSession.getState().currentProjectId !== projectId) return;
    const next = await attempt(firstOrNewProject, 'Could not open another project');
    if (next) await switchProject(next.id);
    selectClass(null);
  } finally {
    deletingHere.delete(projectId);
  }
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
