// Thin worker: the handlers are composed in handlers.ts. Test and bench hooks (debug-handlers.ts)
// are a separate chunk, fetched only when one of their kinds is asked for.
import { anyHandler, serveWorker } from '../shared/worker-host';
import { DEBUG_KINDS } from './debug-protocol';
import { handlers } from './handlers';
import { setEventSink } from './runtime';

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], handlers, async (kind) => {
  if (!DEBUG_KINDS.includes(kind)) return undefined;
  const { debugHandlers } = await import('./debug-handlers');
  return anyHandler(debugHandlers, kind);
});
// Unsolicited notices (GPU recovery): id 0 is never a call id, so the bridge ignores them.
setEventSink((data) => self.postMessage({ id: 0, kind: 'event', data }));
