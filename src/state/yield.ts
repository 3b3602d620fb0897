// Long loops on the main thread (thousands of dropped files) run in slices of a few milliseconds
// and give the browser the thread back in between, so input and painting never wait 50 ms.

/** Milliseconds of work per slice before yielding. */
export const SLICE_MS = 8;

/** Lets the browser run input, rendering and other tasks; resumes in a new task. */
export function yieldToMain(): Promise<void> {
  const s = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof s?.yield === 'function') return s.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Calls `fn` on each item, yielding to the browser whenever a slice has run SLICE_MS. */
export async function forEachSliced<T>(items: Iterable<T>, fn: (item: T) => void): Promise<void> {
  let sliceStart = performance.now();
  for (const item of items) {
    fn(item);
    if (performance.now() - sliceStart > SLICE_MS) {
      await yieldToMain();
      sliceStart = performance.now();
    }
  }
}
