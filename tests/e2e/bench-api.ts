// The ?bench=1 hooks as the tests and the bench scripts see them: the one BenchApi type (from the
// app's own src/state/bench-hooks.ts, so a changed hook breaks the build, not a run) and calls
// into the page that are typed by it.
import type { Page } from '@playwright/test';
import type { BenchApi } from '../../src/state/bench-hooks';

export type { BenchApi };

/** The page's window with the hooks installed (main.tsx installs them with ?bench=1, on demand). */
export type BenchWindow = { __glimpseBench?: BenchApi };

/** Waits until the hooks are installed and the model is ready. */
export async function waitForBench(page: Page, timeoutMs = 300_000): Promise<void> {
  await page.waitForFunction(() => (window as unknown as BenchWindow).__glimpseBench?.ready(), null, { timeout: timeoutMs, polling: 500 });
}

/** Calls hook `name` in the page with `args` and returns its (awaited) result. */
export function benchCall<K extends keyof BenchApi>(page: Page, name: K, ...args: Parameters<BenchApi[K]>): Promise<Awaited<ReturnType<BenchApi[K]>>> {
  return page.evaluate(
    ([n, a]) => {
      const api = (window as unknown as BenchWindow).__glimpseBench;
      if (!api) throw new Error('The bench hooks are not installed (open the page with ?bench=1).');
      // The hook named n, called with the arguments typed for it by benchCall's signature.
      return (api[n] as (...x: unknown[]) => unknown)(...a);
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<BenchApi[K]>>>;
}
