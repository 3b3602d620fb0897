// Test and bench hooks of the model worker. Not part of the app's protocol (protocol.ts): the
// worker loads their handlers (debug-handlers.ts) only when one of these kinds is first asked
// for, and only the ?bench=1 hooks (state/bench-hooks.ts, itself loaded on demand) ask.

export interface ProfileResult {
  backend: string;
  extractor: string;
  /** Multiply-adds per image (null for graph models, where layers are not visible). */
  macsPerImage: number | null;
  /** Multiply-adds per second of a 512^3 matrix product on this backend. */
  matmulMacsPerS: number;
  /** ms per image of the network alone (preprocessed input), by batch size, in this worker. */
  embedMsPerImage: Record<number, number>;
  /**
   * With helper lanes (lanes.ts): every lane at once at the best batch. embedMsPerImage is the
   * network's time per image of all lanes together (1 / images per second), matmulMacsPerS the sum
   * of the lanes' rates measured at the same time (all cores). null with one lane.
   */
  allLanes: { lanes: number; batch: number; embedMsPerImage: number; matmulMacsPerS: number } | null;
}

export interface DebugRequests {
  /** Network ms/image by batch, multiply-adds, the backend's multiply-add rate (npm run bench). */
  profile: { req: { batches: number[]; repeats: number }; res: ProfileResult; progress: never };
  /** Tests: the next batch for a helper lane kills that worker mid-call; false when none is running. */
  debugCrashHelper: { req: Record<string, never>; res: { armed: boolean }; progress: never };
  /**
   * Tests: loses the GPU context after `afterMs`, as the next GPU work starts (`onNextWork`), or
   * when training reports epoch `atEpoch`.
   */
  debugLoseContext: { req: { afterMs?: number; onNextWork?: boolean; atEpoch?: number }; res: { backend: string; scheduled: boolean }; progress: never };
}

export const DEBUG_KINDS: readonly string[] = ['profile', 'debugCrashHelper', 'debugLoseContext'] satisfies (keyof DebugRequests)[];
