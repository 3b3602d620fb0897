// Classes and samples of the open project: live queries for the lists and counts, and the actions
// (add, rename, colour, reorder, delete with undo; delete and move samples). Names are plain
// text; the store checks them (1..100 characters) and the UI always renders them as text.
import { useLiveQuery } from 'dexie-react-hooks';
import { repo, type ClassRow, type SampleRow } from './repo';
import { attempt, selectClass, showToast, useSession } from './session';
import { sharedLiveQuery } from './shared-query';

// ---- hooks -------------------------------------------------------------------------------------

/** The project's classes in display order (undefined while loading). */
export function useClasses(projectId: string | null): ClassRow[] | undefined {
  return useLiveQuery(async () => (projectId ? repo().classes.list(projectId) : []), [projectId]);
}

const sharedCounts = sharedLiveQuery((projectId) => repo().samples.countsByClass(projectId));
const NO_COUNTS: Record<string, number> = {};

/**
 * Samples per class id (every class appears, 0 included). One query per project however many
 * components show the counts (shared-query.ts).
 */
export function useClassCounts(projectId: string | null): Record<string, number> | undefined {
  return sharedCounts(projectId, NO_COUNTS);
}

/**
 * The first `limit` samples of a class, oldest first (undefined while loading; [] while `enabled`
 * is false, e.g. while the grid is off screen). Only those rows are read, through an index: a
 * class of thousands costs one page. Rows carry blobs by reference (not read into memory).
 */
export function useSamplePage(
  classId: string,
  limit: number,
  enabled = true,
  offset = 0,
): SampleRow[] | undefined {
  return useLiveQuery(
    async () => (enabled ? repo().samples.pageByClass(classId, limit, offset) : []),
    [classId, limit, enabled, offset],
  );
}

export function useSelectedClassId(): string | null {
  return useSession((s) => s.selectedClassId);
}

// ---- class actions -----------------------------------------------------------------------------

/** "Class 1", "Class 2", ...: the first free default name. */
export function nextClassName(existing: readonly { name: string }[]): string {
  const taken = new Set(existing.map((c) => c.name));
  for (let i = existing.length + 1; ; i++) {
    if (!taken.has(`Class ${i}`)) return `Class ${i}`;
  }
}

export async function addClass(projectId: string, name: string): Promise<ClassRow | undefined> {
  const row = await attempt(() => repo().classes.add(projectId, name), 'Could not add the class');
  if (row) selectClass(row.id);
  return row;
}

export async function renameClass(classId: string, name: string): Promise<boolean> {
  const ok = await attempt(async () => {
    await repo().classes.rename(classId, name);
    return true;
  }, 'Could not rename');
  return ok === true;
}

export async function setClassColor(classId: string, color: string): Promise<void> {
  await attempt(() => repo().classes.setColor(classId, color), 'Could not change the colour');
}

/** Moves a class one place up (-1) or down (+1) in the project's order. */
export async function moveClass(projectId: string, classId: string, delta: -1 | 1): Promise<void> {
  await attempt(async () => {
    const ids = (await repo().classes.list(projectId)).map((c) => c.id);
    const from = ids.indexOf(classId);
    const to = from + delta;
    if (from < 0 || to < 0 || to >= ids.length) return;
    ids.splice(from, 1);
    ids.splice(to, 0, classId);
    await repo().classes.reorder(projectId, ids);
  }, 'Could not reorder');
}

/** Deletes the class with its samples; a toast offers Undo for about ten seconds. */
export async function deleteClass(classId: string): Promise<void> {
  const deleted = await attempt(() => repo().classes.delete(classId), 'Could not delete the class');
  if (!deleted) return;
  if (useSession.getState().selectedClassId === classId) selectClass(null);
  const n = deleted.samples.length;
  showToast(
    `Deleted class “${deleted.cls.name}”${n ? ` and its ${n} sample${n === 1 ? '' : 's'}` : ''}.`,
    {
      kind: 'info',
      undo: () => repo().classes.restoreDeleted(deleted),
    },
  );
}

// ---- sample actions ----------------------------------------------------------------------------

export async function deleteSamples(sampleIds: string[]): Promise<void> {
  if (sampleIds.length === 0) return;
  const deleted = await attempt(() => repo().samples.delete(sampleIds), 'Could not delete');
  if (!deleted) return;
  const n = deleted.samples.length;
  showToast(`Deleted ${n} sample${n === 1 ? '' : 's'}.`, {
    kind: 'info',
    undo: () => repo().samples.restore(deleted),
  });
}

export async function moveSamples(sampleIds: string[], toClassId: string): Promise<void> {
  if (sampleIds.length === 0) return;
  const moved = await attempt(() => repo().samples.move(sampleIds, toClassId), 'Could not move');
  if (moved !== undefined) showToast(`Moved ${moved} sample${moved === 1 ? '' : 's'}.`);
}
