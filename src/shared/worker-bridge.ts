// The window side of a worker: starts it lazily, matches replies to calls, forwards progress,
// cancels through AbortSignal, transfers buffers, and turns a dead worker into a clear error for
// every pending call (the next call starts a fresh worker).
import { GlimpseError, deserializeError } from './errors';
import type { FromWorker, Protocol, ToWorker } from './worker-messages';

export interface CallOptions<P> {
  signal?: AbortSignal;
  onProgress?: (p: P) => void;
  transfer?: Transferable[];
}

type Pending = {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: (p: unknown) => void;
  cleanup: () => void;
};

export class WorkerBridge<R extends Protocol<R>> {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly create: () => Worker;
  private readonly name: string;
  onCrash: ((err: GlimpseError) => void) | null = null;

  constructor(create: () => Worker, name: string) {
    this.create = create;
    this.name = name;
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = this.create();
    w.addEventListener('message', (ev: MessageEvent) => this.onMessage(ev.data as FromWorker<R>));
    w.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault();
      this.crash(`${this.name} stopped: ${ev.message || 'unknown error'}`);
    });
    w.addEventListener('messageerror', () => this.crash(`${this.name} sent a message that could not be read`));
    this.worker = w;
    return w;
  }

  private crash(message: string): void {
    const err = new GlimpseError('worker-crashed', message);
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.pending.clear();
    this.onCrash?.(err);
  }

  private onMessage(msg: FromWorker<R>): void {
    const p = this.pending.get(msg.id);
    if (!p || msg.kind === 'event') return;
    if (msg.kind === 'progress') {
      p.onProgress?.(msg.data);
      return;
    }
    this.pending.delete(msg.id);
    p.cleanup();
    if (msg.kind === 'result') p.resolve(msg.data);
    else p.reject(deserializeError(msg.error));
  }

  call<K extends keyof R & string>(type: K, payload: R[K]['req'], opts: CallOptions<R[K]['progress']> = {}): Promise<R[K]['res']> {
    if (opts.signal?.aborted) return Promise.reject(new GlimpseError('cancelled', 'Cancelled.'));
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const cancel: ToWorker<R> = { id, cancel: true };
      const onAbort = () => worker.postMessage(cancel);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress as ((p: unknown) => void) | undefined,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      });
      // { id, type: K, payload: R[K]['req'] }: the ToWorker member of kind K.
      worker.postMessage({ id, type, payload }, opts.transfer ?? []);
    });
  }

  /**
   * Calls of a second protocol X served by the same worker (test and bench hooks the worker loads
   * on demand): same worker, same pending calls, its own request types.
   */
  extended<X extends Protocol<X>>(): { call<K extends keyof X & string>(type: K, payload: X[K]['req'], opts?: CallOptions<X[K]['progress']>): Promise<X[K]['res']> } {
    const untyped = this as unknown as WorkerBridge<X>;
    return { call: (type, payload, opts) => untyped.call(type, payload, opts) };
  }

  terminate(): void {
    this.crash(`${this.name} was stopped`);
  }

  get started(): boolean {
    return this.worker !== null;
  }
}
