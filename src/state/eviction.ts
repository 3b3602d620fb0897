// Eviction (issue 21, part 4). Browsers may delete an origin's IndexedDB and Cache Storage under
// storage pressure unless storage is persistent. Two things follow:
//  - when persistence is refused while there is work to lose, the app says so once (ever, on this
//    device) and offers a project export;
//  - a project deleted behind the app's back is reported at start, never shown as silently empty.
//    A small marker outside IndexedDB lists the projects that have classes: localStorage keeps
//    their names (Chromium's quota eviction leaves localStorage alone), and a cookie keeps their
//    number (cookies are not quota-managed storage anywhere, so they outlive an eviction that takes
//    localStorage too, as Firefox's does). A project in the marker but not in the database is gone.
// Deleting a project in the app, or clearing the site's data in the browser (which takes the
// marker too), is not reported.
import { create } from 'zustand';
import { requestPersistence } from '../pwa/storage';
import type { ProjectRow } from './repo';

const MARKER_KEY = 'glimpse.projectsKept';
const COOKIE = 'glimpse_projects';
const NOTICE_KEY = 'glimpse.persistNoticeShown';

export interface KeptProject {
  id: string;
  name: string;
}

export interface EvictionState {
  /** Projects the marker lists that the database no longer has (null: none, or acknowledged). */
  missing: { count: number; names: string[] } | null;
  /** Persistence was refused while there is work to lose; shown once. */
  persistDenied: boolean;
}

export const useEviction = create<EvictionState>(() => ({ missing: null, persistDenied: false }));

/** Projects worth reporting if they disappear: those with at least one class. */
export function keptProjects(list: readonly ProjectRow[]): KeptProject[] {
  return list.filter((p) => p.classOrder.length > 0).map((p) => ({ id: p.id, name: p.name }));
}

/**
 * What the marker lists that the database lacks. `marker` null: no names, only the cookie's
 * count (localStorage went too); then every project counted is missing when the database has none
 * worth keeping.
 */
export function missingFrom(marker: KeptProject[] | null, cookieCount: number, present: readonly ProjectRow[]): { count: number; names: string[] } | null {
  const ids = new Set(present.map((p) => p.id));
  if (marker) {
    const gone = marker.filter((p) => !ids.has(p.id));
    return gone.length > 0 ? { count: gone.length, names: gone.map((p) => p.name) } : null;
  }
  const kept = keptProjects(present).length;
  return cookieCount > kept ? { count: cookieCount - kept, names: [] } : null;
}

function readMarker(): KeptProject[] | null {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(MARKER_KEY) ?? 'null');
    if (!Array.isArray(raw)) return null;
    return raw.flatMap((p: unknown) => {
      const o = p as Partial<KeptProject> | null;
      return o && typeof o.id === 'string' && typeof o.name === 'string' ? [{ id: o.id, name: o.name }] : [];
    });
  } catch {
    return null;
  }
}

function cookiePath(): string {
  return new URL('./', location.href).pathname;
}

function readCookieCount(): number {
  const m = /(?:^|;\s*)glimpse_projects=(\d+)/.exec(typeof document === 'undefined' ? '' : document.cookie);
  return m ? Number(m[1]) : 0;
}

function writeMarker(kept: KeptProject[]): void {
  try {
    localStorage.setItem(MARKER_KEY, JSON.stringify(kept));
  } catch {
    // a full or disabled localStorage: the cookie still counts
  }
  if (typeof document !== 'undefined') document.cookie = `${COOKIE}=${kept.length}; Max-Age=${400 * 24 * 3600}; Path=${cookiePath()}; SameSite=Strict`;
}

let checked = false;
let asked = false;

/**
 * At start, with the database's projects: reports projects that are gone (until acknowledged, so
 * a reload reports them again), then keeps the marker in step. Called before anything is written.
 */
export function checkEviction(list: readonly ProjectRow[]): void {
  const missing = missingFrom(readMarker(), readCookieCount(), list);
  checked = true;
  useEviction.setState({ missing });
  if (!missing) writeMarker(keptProjects(list));
  void askPersistence(list);
}

/** The project list changed (live query): the marker follows, unless a loss is still unread. */
export function projectsChanged(list: readonly ProjectRow[]): void {
  if (!checked || useEviction.getState().missing) return;
  writeMarker(keptProjects(list));
  void askPersistence(list);
}

/** The user read the report: the marker now lists what is there. */
export function acknowledgeEviction(list: readonly ProjectRow[]): void {
  useEviction.setState({ missing: null });
  writeMarker(keptProjects(list));
}

async function askPersistence(list: readonly ProjectRow[]): Promise<void> {
  if (asked || keptProjects(list).length === 0) return;
  asked = true;
  const persisted = await requestPersistence();
  // Asked once a visit (installing the app may change the answer later); said only once ever.
  if (persisted) return;
  try {
    if (localStorage.getItem(NOTICE_KEY)) return;
    localStorage.setItem(NOTICE_KEY, String(Date.now()));
  } catch {
    return; // no localStorage to remember "said once": better unsaid than said on every visit
  }
  useEviction.setState({ persistDenied: true });
}

export function dismissPersistNotice(): void {
  useEviction.setState({ persistDenied: false });
}
