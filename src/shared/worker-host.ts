// The worker side of the bridge: dispatches typed requests to handlers, one at a time per call id,
// with progress messages and cancellation through an AbortSignal per call.
//
// A protocol is an interface of request kinds, each with its request, result and progress types
// (see src/worker/protocol.ts). A handler map has exactly one handler per kind, typed by it, so a
// handler never casts its payload: the one unchecked step is reading a message off the port.
import { serializeError } from './errors';
import type { Protocol, ToWorker } from './worker-messages';

export type { Protocol };

export interface HandlerContext<P> {
  signal: AbortSignal;
  progress: (data: P, transfer?: Transferable[]) => void;
}

/** A handler's answer: the result, and the buffers to transfer with it. */
export interface Reply<T> {
  data: T;
  transfer?: Transferable[];
}

export type HandlerOf<E extends { req: unknown; res: unknown; progress: unknown }> = (
  req: E['req'],
  ctx: HandlerContext<E['progress']>,
) => Promise<Reply<E['res']>>;

/** One handler per request kind of protocol R. */
export type HandlerMap<R extends Protocol<R>> = { [K in keyof R]: HandlerOf<R[K]> };

/** A handler with its protocol erased: what the port dispatches to. */
type AnyHandler = (req: unknown, ctx: HandlerContext<unknown>) => Promise<Reply<unknown>>;

interface Port {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
}

/** Messages the host reads; the kind is checked against the handler map before dispatch. */
type Incoming = ToWorker<Record<string, { req: unknown; res: unknown; progress: unknown }>>;
type Call = Extract<Incoming, { cancel?: undefined }>;

function lookup<R extends Protocol<R>>(handlers: HandlerMap<R>, kind: string | undefined): AnyHandler | undefined {
  if (kind === undefined || !Object.prototype.hasOwnProperty.call(handlers, kind)) return undefined;
  // The message names its kind; the handler of that kind reads the payload that kind carries.
  return (handlers as unknown as Record<string, AnyHandler>)[kind];
}

/**
 * Serves `handlers` on `port`. `extra` answers kinds outside the map (e.g. test hooks that are
 * loaded only when asked for); it resolves to undefined for an unknown kind.
 */
export function serveWorker<R extends Protocol<R>>(port: Port, handlers: HandlerMap<R>, extra?: (kind: string) => Promise<AnyHandler | undefined>): void {
  const running = new Map<number, AbortController>();
  const unknownKind = (msg: Call) =>
    port.postMessage({ id: msg.id, kind: 'error', error: { code: 'internal', message: `Unknown request ${String(msg.type)}` } });
  const run = (msg: Call, handler: AnyHandler) => {
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
  };
  port.addEventListener('message', (ev: MessageEvent) => {
    const msg = ev.data as Incoming;
    if (msg.cancel) {
      running.get(msg.id)?.abort();
      return;
    }
    const handler = lookup(handlers, msg.type);
    if (handler) run(msg, handler);
    else if (extra) {
      extra(msg.type).then(
        (h) => (h ? run(msg, h) : unknownKind(msg)),
        (err: unknown) => port.postMessage({ id: msg.id, kind: 'error', error: serializeError(err) }),
      );
    } else unknownKind(msg);
  });
}

/** Erases a handler map's protocol for `extra` (the map itself stays checked against its protocol). */
export function anyHandler<R extends Protocol<R>>(handlers: HandlerMap<R>, kind: string): AnyHandler | undefined {
  return lookup(handlers, kind);
}
