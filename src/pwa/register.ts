// Service-worker registration and the update flow (DESIGN.md 10: never reload under the user).
//
// - First install: the worker precaches the app shell and claims the page -> "ready offline".
// - Update: a new worker installs and waits. We only show "Update available". When the user
//   accepts, we post SKIP_WAITING to the waiting worker and reload once it controls the page
//   (controllerchange). Nothing else ever reloads the page: a controller change started by
//   another tab only marks the state, and a chunk that fails to load asks for a reload.
import { Workbox } from 'workbox-window';
import { watchBrowser } from './browser';
import { usePwa } from './status';

const UPDATE_CHECK_MS = 60 * 60 * 1000;

let wb: Workbox | null = null;
let reloadWhenControlled = false;

function canRegister(): boolean {
  return import.meta.env.PROD && typeof navigator !== 'undefined' && 'serviceWorker' in navigator && window.isSecureContext;
}

/** Registers ./sw.js (built by vite-plugin-pwa) after the page has loaded. */
export function registerServiceWorker(): void {
  watchBrowser();
  if (!canRegister()) return;
  usePwa.setState({ supported: true });
  const sw = navigator.serviceWorker;

  sw.addEventListener('controllerchange', () => {
    usePwa.setState({ controlled: !!sw.controller });
    // Only the user's "Reload" reloads; a worker activated by another tab does not.
    if (reloadWhenControlled) {
      reloadWhenControlled = false;
      location.reload();
    }
  });

  wb = new Workbox(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL });
  wb.addEventListener('activated', (event) => {
    usePwa.setState({ controlled: !!sw.controller });
    if (!event.isUpdate && !event.isExternal) usePwa.setState({ offlineReady: true });
  });

  const start = () => {
    wb?.register()
      .then((reg) => {
        usePwa.setState({ controlled: !!sw.controller });
        if (!reg) return;
        watchForWaiting(reg);
        // Browsers check on navigation; a tab left open for days checks now and then too.
        setInterval(() => void checkForUpdate(), UPDATE_CHECK_MS);
      })
      .catch((err: unknown) => usePwa.setState({ error: `Offline support is unavailable: ${String(err)}` }));
  };
  // Registration fetches the worker and the precache; let the app load its model first.
  if (document.readyState === 'complete') start();
  else window.addEventListener('load', start, { once: true });
}

/**
 * "Update available" whenever a new worker is installed and waiting while an old one controls the
 * page. Watched on the registration itself rather than through workbox-window's `waiting` event,
 * which stops listening after the first update it attributes to another tab.
 */
function watchForWaiting(reg: ServiceWorkerRegistration): void {
  const check = () => {
    if (reg.waiting && navigator.serviceWorker.controller) usePwa.setState({ updateWaiting: true });
  };
  const track = (worker: ServiceWorker | null) => worker?.addEventListener('statechange', check);
  check();
  track(reg.installing);
  reg.addEventListener('updatefound', () => track(reg.installing));
}

/** Asks the server for a newer worker (no-op offline or without a registration). */
export async function checkForUpdate(): Promise<void> {
  if (!wb || navigator.onLine === false) return;
  try {
    await wb.update();
  } catch {
    // A failed check (network flake) is retried on the next navigation or interval.
  }
}

/** The user accepted "Update available": activate the waiting worker, then reload once. */
export function applyUpdate(): void {
  if (!wb || !usePwa.getState().updateWaiting) {
    location.reload();
    return;
  }
  usePwa.setState({ updating: true });
  reloadWhenControlled = true;
  // The worker built by vite-plugin-pwa (registerType 'prompt') calls skipWaiting() on this message.
  wb.messageSkipWaiting();
}

/** The fix offered for a chunk-load failure: take a waiting update if any, else a plain reload. */
export function reloadForNewVersion(): void {
  if (usePwa.getState().updateWaiting) applyUpdate();
  else location.reload();
}
