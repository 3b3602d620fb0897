// What travels over a worker's port, for any protocol R (request kind -> { req, res, progress }):
// the window's bridge (worker-bridge.ts) writes ToWorker and reads FromWorker; the worker's host
// (worker-host.ts) the other way round. Types only.
import type { SerializedError } from './errors';

/** Shape every protocol has: request kind -> { req, res, progress }. */
export type Protocol<R> = { [K in keyof R]: { req: unknown; res: unknown; progress: unknown } };

/** A call of one kind with that kind's payload, or the cancellation of a running call. */
export type ToWorker<R extends Protocol<R>> =
  | { [K in keyof R & string]: { id: number; type: K; payload: R[K]['req']; cancel?: undefined } }[keyof R & string]
  | { id: number; cancel: true; type?: undefined };

/** Progress, the result or the error of call `id`; id 0 carries the worker's own events. */
export type FromWorker<R extends Protocol<R>, E = unknown> =
  | { [K in keyof R & string]: { id: number; kind: 'progress'; data: R[K]['progress'] } | { id: number; kind: 'result'; data: R[K]['res'] } }[keyof R & string]
  | { id: number; kind: 'error'; error: SerializedError }
  | { id: 0; kind: 'event'; data: E };
