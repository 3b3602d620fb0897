// The model worker's GPU policy (src/worker/policy.ts), applied to every request in one place: a
// lost context reloads the runtime once and retries the request (or only the item that was lost),
// a retry never re-reports epochs already reported, a second loss gives up with a clear error, and
// requests without backend work are never retried.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GlimpseError } from '../../src/shared/errors';

const runtime = vi.hoisted(() => ({ reloads: 0 }));

vi.mock('../../src/worker/runtime', () => ({
  currentExtractor: () => null,
  readyExtractor: () => {
    throw new Error('not used');
  },
  reloadAfterLoss: async () => {
    runtime.reloads++;
  },
}));

const { applyPolicy } = await import('../../src/worker/policy');

type P = {
  fit: { req: { losses: number }; res: { epochs: number }; progress: { epoch: number } };
  items: { req: { n: number; lossAt: number[] }; res: { done: number[] }; progress: never };
  count: { req: Record<string, never>; res: { n: number }; progress: never };
};

const lost = () => new GlimpseError('gpu-context-lost', 'The graphics context was lost while Glimpse was computing.', 'test');

function build() {
  let fitAttempts = 0;
  const itemAttempts = new Map<number, number>();
  const handlers = applyPolicy<P>(
    {
      fit: async ({ losses }, { progress }) => {
        const attempt = ++fitAttempts;
        for (let epoch = 1; epoch <= 3; epoch++) {
          progress({ epoch });
          if (attempt <= losses && epoch === 2) throw lost();
        }
        return { data: { epochs: 3 } };
      },
      items: async ({ n, lossAt }, { gpu }) => {
        const done: number[] = [];
        for (let i = 0; i < n; i++) {
          done.push(
            await gpu(async () => {
              const a = (itemAttempts.get(i) ?? 0) + 1;
              itemAttempts.set(i, a);
              if (lossAt.includes(i) && a === 1) throw lost();
              return i;
            }),
          );
        }
        return { data: { done } };
      },
      count: async () => {
        throw lost();
      },
    },
    {
      fit: { run: 'gpu', what: 'fitting', weights: 'any', retry: 'request', epochOf: (p) => p.epoch },
      items: { run: 'gpu', what: 'embedding', weights: 'base', retry: 'item' },
      count: { run: 'none', why: 'bookkeeping' },
    },
  );
  return { handlers, attempts: () => fitAttempts, itemAttempts };
}

const ctx = (progress: (p: { epoch: number }) => void = () => {}) => ({ signal: new AbortController().signal, progress });

afterEach(() => {
  runtime.reloads = 0;
});

describe('worker GPU policy', () => {
  it('a loss reloads once and retries the request; epochs already reported are not reported again', async () => {
    const { handlers, attempts } = build();
    const seen: number[] = [];
    const r = await handlers.fit({ losses: 1 }, ctx((p) => seen.push(p.epoch)));
    expect(r.data).toEqual({ epochs: 3 });
    expect(attempts()).toBe(2);
    expect(runtime.reloads).toBe(1);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('a second loss gives up with an error that names the work', async () => {
    const { handlers } = build();
    await expect(handlers.fit({ losses: 2 }, ctx())).rejects.toMatchObject({ code: 'gpu-context-lost', message: 'The graphics context was lost twice while fitting. Try again.' });
    expect(runtime.reloads).toBe(2);
  });

  it('item requests retry only the item that was lost', async () => {
    const { handlers, itemAttempts } = build();
    const r = await handlers.items({ n: 4, lossAt: [2] }, { signal: new AbortController().signal, progress: () => {} });
    expect(r.data.done).toEqual([0, 1, 2, 3]);
    expect([...itemAttempts.entries()]).toEqual([[0, 1], [1, 1], [2, 2], [3, 1]]);
    expect(runtime.reloads).toBe(1);
  });

  it('requests without backend work are never retried', async () => {
    const { handlers } = build();
    await expect(handlers.count({}, { signal: new AbortController().signal, progress: () => {} })).rejects.toMatchObject({ code: 'gpu-context-lost' });
    expect(runtime.reloads).toBe(0);
  });
});
