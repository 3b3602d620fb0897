// Thin worker: all logic lives in service.ts.
import { serveWorker } from '../shared/worker-host';
import { embedHandlers } from './service';

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], embedHandlers);
