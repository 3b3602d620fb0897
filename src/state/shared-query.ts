// One live query shared by every component that asks for the same thing: useLiveQuery runs its
// query once per component, so three panels showing a project's class counts would count every
// class three times on each change (at 50,000 samples that is what the first view waited for).
// Here the first subscriber starts one Dexie liveQuery per key, later ones read its latest value,
// and the last one to leave stops it.
import { liveQuery, type Subscription } from '../store/live';
import { useCallback, useSyncExternalStore } from 'react';

interface Entry<T> {
  value: T | undefined;
  listeners: Set<() => void>;
  sub: Subscription | null;
}

export function sharedLiveQuery<T>(query: (key: string) => Promise<T>) {
  const entries = new Map<string, Entry<T>>();
  const entry = (key: string): Entry<T> => {
    let e = entries.get(key);
    if (!e) {
      e = { value: undefined, listeners: new Set(), sub: null };
      entries.set(key, e);
    }
    return e;
  };
  const subscribe = (key: string, onChange: () => void): (() => void) => {
    const e = entry(key);
    e.listeners.add(onChange);
    if (!e.sub) {
      e.sub = liveQuery(() => query(key)).subscribe({
        next: (v) => {
          e.value = v;
          for (const l of [...e.listeners]) l();
        },
        // A failed query keeps the last value (as useLiveQuery does without an error boundary).
        error: () => undefined,
      });
    }
    return () => {
      e.listeners.delete(onChange);
      if (e.listeners.size === 0) {
        e.sub?.unsubscribe();
        entries.delete(key);
      }
    };
  };
  /** The query's latest value for `key` (undefined while loading; null key: `whenNull`). */
  return function useShared<N>(key: string | null, whenNull: N): T | N | undefined {
    const sub = useCallback((onChange: () => void) => (key === null ? () => undefined : subscribe(key, onChange)), [key]);
    const get = useCallback(() => (key === null ? whenNull : entries.get(key)?.value), [key, whenNull]);
    return useSyncExternalStore(sub, get);
  };
}
