// Ephemeral PWA state: network, install, service-worker update and chunk-load failures. The UI
// reads it through usePwa; nothing here is persisted.
import { create } from 'zustand';

export interface PwaState {
  /** A service worker can be used here (production build, secure context, supported browser). */
  supported: boolean;
  /** A service worker controls this page (its navigations and shell assets work offline). */
  controlled: boolean;
  /** navigator.onLine, kept current by the online/offline events. */
  offline: boolean;
  /** The browser offered installation (beforeinstallprompt) and the app is not installed. */
  installAvailable: boolean;
  /** Running as an installed app (display-mode standalone) or installed this session. */
  installed: boolean;
  /** A new version is installed and waiting; it takes over only when the user accepts. */
  updateWaiting: boolean;
  /** The user accepted the update; the page reloads once the new worker controls it. */
  updating: boolean;
  /** The app shell was cached for the first time this session ("ready offline"). */
  offlineReady: boolean;
  /** A lazily loaded chunk of this version could not be fetched (a newer deploy replaced it). */
  chunkError: boolean;
  /** Failure of registration or of the update, for the UI. */
  error: string | null;
}

export const usePwa = create<PwaState>(() => ({
  supported: false,
  controlled: typeof navigator !== 'undefined' && !!navigator.serviceWorker?.controller,
  offline: typeof navigator !== 'undefined' && navigator.onLine === false,
  installAvailable: false,
  installed: false,
  updateWaiting: false,
  updating: false,
  offlineReady: false,
  chunkError: false,
  error: null,
}));

/** Version shown to users: package version plus the build id when one was given. */
export const APP_VERSION = __APP_BUILD__ ? `${__APP_VERSION__} (${__APP_BUILD__})` : __APP_VERSION__;
