// The per-project locks of two tabs (src/state/tab-locks.ts) against a small in-memory Web Locks
// manager: exclusive, first come first served, `ifAvailable` answers null when taken, a `signal`
// aborts a wait. Each "tab" in a test is just a caller with its own callbacks.
import { describe, expect, it } from 'vitest';
import { lockName, withLock, withProjectLock } from '../../src/state/tab-locks';
import { FakeLocks } from './fake-locks';

/** A promise with its resolve function, to hold a lock until the test lets go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('tab locks', () => {
  it('names one lock per project and task', () => {
    expect(lockName('p1', 'train')).toBe('glimpse-project-p1-train');
    expect(lockName('p1', 'import')).toBe('glimpse-project-p1-import');
    expect(lockName('p2', 'train')).not.toBe(lockName('p1', 'train'));
  });

  it('runs at once when the lock is free, without calling onWait', async () => {
    const locks = new FakeLocks();
    const waits: boolean[] = [];
    const v = await withProjectLock('p', 'train', async () => 42, { locks, onWait: (h) => waits.push(h) });
    expect(v).toBe(42);
    expect(waits).toEqual([]);
    expect(locks.requests).toEqual([{ name: 'glimpse-project-p-train', ifAvailable: true }]);
  });

  it('a second tab waits, says so once, and runs after the first lets go', async () => {
    const locks = new FakeLocks();
    const order: string[] = [];
    const a = gate();
    const tabA = withProjectLock('p', 'train', async () => {
      order.push('A start');
      await a.promise;
      order.push('A end');
    }, { locks });
    await tick();
    const waits: boolean[] = [];
    const tabB = withProjectLock('p', 'train', async () => {
      order.push('B start');
      return 'B';
    }, { locks, onWait: (here) => waits.push(here) });
    await tick();
    expect(order).toEqual(['A start']);
    // The first tab (a different module instance in a real browser) holds it: "another tab" is
    // what a second tab sees; in one module the lock is held here, which onWait reports as true.
    expect(waits).toEqual([true]);
    a.open();
    await tabA;
    expect(await tabB).toBe('B');
    expect(order).toEqual(['A start', 'A end', 'B start']);
  });

  it('different projects and tasks never wait for each other', async () => {
    const locks = new FakeLocks();
    const a = gate();
    const held = withProjectLock('p', 'train', () => a.promise, { locks });
    await tick();
    const waits: string[] = [];
    await withProjectLock('q', 'train', async () => undefined, { locks, onWait: () => waits.push('q') });
    await withProjectLock('p', 'import', async () => undefined, { locks, onWait: () => waits.push('import') });
    expect(waits).toEqual([]);
    a.open();
    await held;
  });

  it('reports another holder as not here', async () => {
    const locks = new FakeLocks();
    const a = gate();
    // Another tab: it takes the lock through the manager directly, not through this module.
    const other = locks.request('glimpse-project-p-import', {}, () => a.promise);
    await tick();
    const waits: boolean[] = [];
    const mine = withProjectLock('p', 'import', async () => 'ran', { locks, onWait: (h) => waits.push(h) });
    await tick();
    expect(waits).toEqual([false]);
    a.open();
    await other;
    expect(await mine).toBe('ran');
  });

  it('aborting the signal while waiting rejects as cancelled and never runs the task', async () => {
    const locks = new FakeLocks();
    const a = gate();
    const other = locks.request('glimpse-project-p-train', {}, () => a.promise);
    await tick();
    const controller = new AbortController();
    let ran = false;
    const mine = withProjectLock('p', 'train', async () => {
      ran = true;
    }, { locks, signal: controller.signal });
    await tick();
    controller.abort();
    await expect(mine).rejects.toMatchObject({ code: 'cancelled' });
    a.open();
    await other;
    // The lock is free again for the next caller (the aborted wait left no holder behind).
    await expect(withProjectLock('p', 'train', async () => 'next', { locks })).resolves.toBe('next');
    expect(ran).toBe(false);
  });

  it('an already aborted signal runs nothing', async () => {
    const locks = new FakeLocks();
    const controller = new AbortController();
    controller.abort();
    await expect(withLock('x', async () => 1, { locks, signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(locks.requests).toEqual([]);
  });

  it('a failing task rejects with its own error and frees the lock', async () => {
    const locks = new FakeLocks();
    await expect(withLock('x', async () => Promise.reject(new Error('boom')), { locks })).rejects.toThrow('boom');
    await expect(withLock('x', async () => 'free', { locks, onWait: () => { throw new Error('waited'); } })).resolves.toBe('free');
  });

  it('without Web Locks the task just runs', async () => {
    await expect(withProjectLock('p', 'train', async () => 'alone', { locks: null })).resolves.toBe('alone');
  });
});
