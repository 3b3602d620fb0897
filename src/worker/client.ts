// The app's handle on the model worker (types only from the worker's modules).
import { WorkerBridge } from '../shared/worker-bridge';
import type { DebugRequests } from './debug-protocol';
import type { Requests, WorkerEvent } from './protocol';

export type EmbedBridge = WorkerBridge<Requests>;

/** `onEvent` receives the worker's own notices (e.g. it recovered from a lost GPU context). */
export function createEmbedBridge(onEvent?: (e: WorkerEvent) => void): EmbedBridge {
  return new WorkerBridge<Requests>(() => {
    const worker = new Worker(new URL('./embed.worker.ts', import.meta.url), { type: 'module', name: 'glimpse-embed' });
    if (onEvent) {
      worker.addEventListener('message', (ev: MessageEvent) => {
        const msg = ev.data as { id?: number; kind?: string; data?: WorkerEvent };
        if (msg.kind === 'event' && msg.data) onEvent(msg.data);
      });
    }
    return worker;
  }, 'The embedding worker');
}

/** The test and bench hooks of the same worker (only the ?bench=1 hooks use them). */
export function debugCalls(bridge: EmbedBridge) {
  return bridge.extended<DebugRequests>();
}
