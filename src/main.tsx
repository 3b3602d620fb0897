import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './ui/styles.css';
import { registerServiceWorker } from './pwa/register';

// Bench and test hooks: a separate chunk, loaded only when the page is opened with ?bench=1.
if (new URLSearchParams(location.search).has('bench')) void import('./state/bench-hooks').then((m) => m.installBenchHooks());
// Offline support and update prompts; registers after the page has loaded (production only).
registerServiceWorker();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
