// Browser signals that need no service worker: online/offline, the install prompt, and chunks of
// this version that can no longer be fetched after a newer deploy.
import { usePwa } from './status';

/** Chromium's install prompt event (not in TypeScript's DOM library). */
interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  readonly userChoice: Promise<{ outcome: 'accepted' | 'dismissed' }>;
}

let deferredPrompt: BeforeInstallPromptEvent | null = null;
let watching = false;

function isStandalone(): boolean {
  return window.matchMedia?.('(display-mode: standalone)').matches === true;
}

/** Starts listening once; safe to call again. */
export function watchBrowser(): void {
  if (watching || typeof window === 'undefined') return;
  watching = true;
  const setOffline = () => usePwa.setState({ offline: navigator.onLine === false });
  window.addEventListener('online', setOffline);
  window.addEventListener('offline', setOffline);
  setOffline();

  usePwa.setState({ installed: isStandalone() });
  window.addEventListener('beforeinstallprompt', (e) => {
    // Keep the browser's mini-infobar away; the header shows our own "Install" button.
    e.preventDefault();
    deferredPrompt = e as BeforeInstallPromptEvent;
    usePwa.setState({ installAvailable: true });
  });
  window.addEventListener('appinstalled', () => {
    deferredPrompt = null;
    usePwa.setState({ installAvailable: false, installed: true });
  });

  // Vite fires this when a dynamic import's chunk (or its CSS) fails to load: after a deploy the
  // old hashed file may be gone. Say so and offer a reload instead of a half-broken page.
  window.addEventListener('vite:preloadError', (e) => {
    e.preventDefault();
    usePwa.setState({ chunkError: true });
  });
  window.addEventListener('unhandledrejection', (e) => {
    const msg = e.reason instanceof Error ? e.reason.message : String(e.reason);
    if (/dynamically imported module|Importing a module script failed|error loading dynamically imported/i.test(msg)) {
      usePwa.setState({ chunkError: true });
    }
  });
}

/** Shows the browser's install dialog; resolves true when the user accepted. */
export async function promptInstall(): Promise<boolean> {
  const prompt = deferredPrompt;
  if (!prompt) return false;
  deferredPrompt = null; // a prompt event can be used once
  usePwa.setState({ installAvailable: false });
  await prompt.prompt();
  const { outcome } = await prompt.userChoice;
  return outcome === 'accepted';
}
