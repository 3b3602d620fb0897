import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './ui/styles.css';
import { installBenchHooks } from './state/bench-hooks';
import { registerServiceWorker } from './pwa/register';

if (new URLSearchParams(location.search).has('bench')) installBenchHooks();
// Offline support and update prompts; registers after the page has loaded (production only).
registerServiceWorker();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
