// A small in-memory Web Locks manager for unit tests (Node has no navigator.locks): exclusive
// locks, first come first served, `ifAvailable` answers null when taken, a `signal` aborts a wait.
import type { LockManagerLike } from '../../src/state/tab-locks';

export class FakeLocks implements LockManagerLike {
  private held = new Set<string>();
  private waiting = new Map<string, (() => void)[]>();
  /** Every request made, in order. */
  requests: { name: string; ifAvailable: boolean }[] = [];

  async request<T>(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: { name: string } | null) => Promise<T>,
  ): Promise<T> {
    this.requests.push({ name, ifAvailable: options.ifAvailable === true });
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(name) ?? [];
        const grant = () => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          queue.splice(queue.indexOf(grant), 1);
          reject(new DOMException('The request was aborted.', 'AbortError'));
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
        this.waiting.set(name, queue);
      });
    } else this.held.add(name);
    try {
      return await callback({ name });
    } finally {
      const next = this.waiting.get(name)?.shift();
      if (next) next(); // handed straight to the next waiter: still held
      else this.held.delete(name);
    }
  }
}

