// Thin worker: all logic lives in service.ts.
import { serveWorker } from '../shared/worker-host';
import { embedHandlers, setEventSink } from './service';

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], embedHandlers);
// Unsolicited notices (GPU recovery): id 0 is never a call id, so the bridge ignores them.
setEventSink((data) => self.postMessage({ id: 0, kind: 'event', data }));
