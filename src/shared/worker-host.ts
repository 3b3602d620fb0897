// The worker side of the bridge: dispatches typed requests to handlers, one at a time per call id,
// with progress messages and cancellation through an AbortSignal per call.
import { serializeError } from './errors';

export type Handler = (
  payload: unknown,
  ctx: { signal: AbortSignal; progress: (data: unknown, transfer?: Transferable[]) => void },
) => Promise<{ data: unknown; transfer?: Transferable[] }>;

interface Port {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
}

export function serveWorker(port: Port, handlers: Record<string, Handler>): void {
  const running = new Map<number, AbortController>();
  port.addEventListener('message', (ev: MessageEvent) => {
    const msg = ev.data as { id: number; type?: string; payload?: unknown; cancel?: boolean };
    if (msg.cancel) {
      running.get(msg.id)?.abort();
      return;
    }
    const handler = msg.type ? handlers[msg.type] : undefined;
    if (!handler) {
      port.postMessage({ id: msg.id, kind: 'error', error: { code: 'internal', message: `Unknown request ${String(msg.type)}` } });
      return;
    }
    const controller = new AbortController();
    running.set(msg.id, controller);
    const progress = (data: unknown, transfer: Transferable[] = []) => port.postMessage({ id: msg.id, kind: 'progress', data }, transfer);
    handler(msg.payload, { signal: controller.signal, progress })
      .then(({ data, transfer }) => port.postMessage({ id: msg.id, kind: 'result', data }, transfer ?? []))
      .catch((err: unknown) => {
        const error = controller.signal.aborted ? { code: 'cancelled', message: 'Cancelled.' } : serializeError(err);
        port.postMessage({ id: msg.id, kind: 'error', error });
      })
      .finally(() => running.delete(msg.id));
  });
}
