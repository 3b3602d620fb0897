// The GPU policy of the model worker, applied in one place to every request: each request kind
// declares (handlers.ts) whether it runs on the backend, which weights the extractor's top must
// hold for it (weights.ts), and whether a lost GPU context retries the whole request or each item.
//
// After a lost WebGL context a read never returns, so GPU work runs under guardGpu() (it rejects
// on a loss or a stall); after a loss the worker reloads backend and model once (runtime.ts) and
// retries. The lock is taken per attempt, after any recovery, so a retry applies its weights to
// the reloaded model; the stall watchdog starts once the lock is held, so waiting for another
// request's weights never counts as a hung GPU.
import { gpuGeneration, guardGpu, isGpuLossError, testLossPoint } from '../embed/gpu-watchdog';
import { GlimpseError } from '../shared/errors';
import type { HandlerContext, HandlerMap, Protocol, Reply } from '../shared/worker-host';
import type { TunedModel } from './protocol';
import { currentExtractor, reloadAfterLoss } from './runtime';
import { withWeights, type WeightsWanted } from './weights';

/** What a request's work gets besides its payload. */
export interface WorkContext<P> extends HandlerContext<P> {
  /** Runs one item's GPU work under the loss recovery (requests whose policy retries items). */
  gpu: <T>(run: () => Promise<T>) => Promise<T>;
  /** The fine-tuned model whose weights the top holds for this request (null: shipped weights). */
  tuned: TunedModel | null;
}

export type WorkMap<R extends Protocol<R>> = { [K in keyof R]: (req: R[K]['req'], ctx: WorkContext<R[K]['progress']>) => Promise<Reply<R[K]['res']>> };

/**
 * How a request kind runs:
 * - `none`: no backend work (bookkeeping, plain-JS maths); `why` says so.
 * - `gpu`, retry `request`: the whole request is guarded and, after a loss, run again; with
 *   `epochOf`, progress beats the stall watchdog and a retry's repeated epochs are not re-reported.
 * - `gpu`, retry `item`: the weights are held for the whole request; the work guards each item
 *   (ctx.gpu), so items already reported are not redone after a loss.
 */
export type Policy<P> =
  | { run: 'none'; why: string }
  | { run: 'gpu'; what: string; weights: WeightsWanted | 'any'; retry: 'request'; epochOf?: (p: P) => number }
  | { run: 'gpu'; what: string; weights: WeightsWanted | 'any'; retry: 'item' };

export type PolicyMap<R extends Protocol<R>> = { [K in keyof R]: Policy<R[K]['progress']> };

let recovering: Promise<void> | null = null;

/** One recovery at a time; callers that saw the same loss share it. */
function recoverGpu(seenGeneration: number, reason: string): Promise<void> {
  if (recovering) return recovering;
  if (gpuGeneration() !== seenGeneration) return Promise.resolve();
  recovering = reloadAfterLoss(reason).finally(() => {
    recovering = null;
  });
  return recovering;
}

/** Runs `attempt` under the loss watchdog; after a loss it recovers and retries once. */
export async function withGpuRecovery<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  if (recovering) await recovering;
  const seen = gpuGeneration();
  try {
    return await attempt();
  } catch (err) {
    if (!isGpuLossError(err)) throw err;
    await recoverGpu(seen, err.detail ?? err.message);
  }
  const retried = gpuGeneration();
  try {
    return await attempt();
  } catch (err) {
    if (!isGpuLossError(err)) throw err;
    await recoverGpu(retried, err.detail ?? err.message).catch(() => {});
    throw new GlimpseError('gpu-context-lost', `The graphics context was lost twice while ${what}. Try again.`, err.detail);
  }
}

function held<T>(weights: WeightsWanted | 'any', run: (tuned: TunedModel | null) => Promise<T>): Promise<T> {
  return weights === 'any' ? run(null) : withWeights(currentExtractor(), weights, run);
}

const unguarded = <T>(run: () => Promise<T>) => run();

function applyOne<Q, P, S>(policy: Policy<P>, work: (req: Q, ctx: WorkContext<P>) => Promise<Reply<S>>): (req: Q, ctx: HandlerContext<P>) => Promise<Reply<S>> {
  if (policy.run === 'none') return (req, ctx) => work(req, { ...ctx, gpu: unguarded, tuned: null });
  const { what, weights } = policy;
  if (policy.retry === 'item') {
    const gpu = <T>(run: () => Promise<T>) => withGpuRecovery(what, () => guardGpu(run));
    return (req, ctx) => held(weights, (tuned) => work(req, { ...ctx, gpu, tuned }));
  }
  const { epochOf } = policy;
  return (req, ctx) => {
    // A retry after a lost context starts again at epoch 1: report only epochs not reported yet.
    let last = 0;
    return withGpuRecovery(what, () =>
      held(weights, (tuned) =>
        guardGpu((beat) =>
          work(req, {
            ...ctx,
            gpu: unguarded,
            tuned,
            progress: (data, transfer) => {
              beat();
              if (!epochOf) return ctx.progress(data, transfer);
              const epoch = epochOf(data);
              if (epoch <= last) return;
              last = epoch;
              ctx.progress(data, transfer);
              testLossPoint({ epoch });
            },
          }),
        ),
      ),
    );
  };
}

/** The handler map of a protocol: each kind's work under that kind's policy. */
export function applyPolicy<R extends Protocol<R>>(work: WorkMap<R>, policy: PolicyMap<R>): HandlerMap<R> {
  const out: Partial<HandlerMap<R>> = {};
  for (const kind of Object.keys(work) as (keyof R)[]) out[kind] = applyOne(policy[kind], work[kind]);
  // Every kind of `work` (a complete WorkMap<R>) was set above.
  return out as HandlerMap<R>;
}
