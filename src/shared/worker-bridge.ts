// The window side of a worker: starts it lazily, matches replies to calls, forwards progress,
// cancels through AbortSignal, transfers buffers, and turns a dead worker into a clear error for
// every pending call (the next call starts a fresh worker).
import { GlimpseError, deserializeError, type SerializedError } from './errors';

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

type Spec<R> = { [K in keyof R]: { req: unknown; res: unknown; progress: unknown } };

export class WorkerBridge<R extends Spec<R>> {
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
    w.addEventListener('message', (ev: MessageEvent) => this.onMessage(ev.data as { id: number; kind: string; data?: unknown; error?: SerializedError }));
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

  private onMessage(msg: { id: number; kind: string; data?: unknown; error?: SerializedError }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.kind === 'progress') {
      p.onProgress?.(msg.data);
      return;
    }
    this.pending.delete(msg.id);
    p.cleanup();
    if (msg.kind === 'result') p.resolve(msg.data);
    else p.reject(deserializeError(msg.error ?? { code: 'internal', message: 'Unknown worker error' }));
  }

  call<K extends keyof R & string>(type: K, payload: R[K]['req'], opts: CallOptions<R[K]['progress']> = {}): Promise<R[K]['res']> {
    if (opts.signal?.aborted) return Promise.reject(new GlimpseError('cancelled', 'Cancelled.'));
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => worker.postMessage({ id, cancel: true });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress as ((p: unknown) => void) | undefined,
        cleanup: () => opts.signal?.removeEventListener('abort', onAbort),
      });
      worker.postMessage({ id, type, payload }, opts.transfer ?? []);
    });
  }

  terminate(): void {
    this.crash(`${this.name} was stopped`);
  }

  get started(): boolean {
    return this.worker !== null;
  }
}
