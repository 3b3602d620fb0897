// Handlers of the test and bench hooks (debug-protocol.ts), loaded by the worker with a dynamic
// import the first time one is asked for. profile runs under the same GPU policy as the app's
// requests (shipped weights, recovery); the others only arm a fault.
import { armTestLoss } from '../embed/gpu-watchdog';
import { armHelperCrash } from '../embed/lanes';
import type { DebugRequests } from './debug-protocol';
import { applyPolicy, type PolicyMap, type WorkMap } from './policy';
import { profileExtractor } from './profile';
import { readyExtractor } from './runtime';

const work: WorkMap<DebugRequests> = {
  profile: async ({ batches, repeats }) => ({ data: await profileExtractor(readyExtractor(), batches, repeats) }),
  debugCrashHelper: async () => ({ data: { armed: armHelperCrash() } }),
  debugLoseContext: async (when) => ({ data: armTestLoss(when) }),
};

const policy: PolicyMap<DebugRequests> = {
  profile: { run: 'gpu', what: 'profiling', weights: 'base', retry: 'request' },
  debugCrashHelper: { run: 'none', why: 'arms a fault in a helper lane' },
  debugLoseContext: { run: 'none', why: 'arms a fault; the loss happens during later work' },
};

export const debugHandlers = applyPolicy(work, policy);
