// Times trainHead on 1000 x 2048 x 10 synthetic embeddings (target: well under 500 ms on WASM).
//
//   npx tsx scripts/head-timing.ts                  # wasm, softmax head (the default)
//   npx tsx scripts/head-timing.ts --backend cpu    # the pure-JS backend
//   npx tsx scripts/head-timing.ts --mlp --tm       # also the mlp head and the Teachable Machine baseline
//   npx tsx scripts/head-timing.ts --runs 15        # more runs (min is the best guess on a busy machine)
//
// The data imitate pooled CNN embeddings: ReLU of (class prototype + shared low-rank "nuisance"
// such as lighting/background + noise), so features are non-negative and strongly correlated.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mulberry32 } from '../src/shared/rng';
import {
  defaultHeadSettings,
  predictHead,
  trainHead,
  trainTeachableMachineHead,
  type HeadData,
  type HeadSettings,
  type TrainedHead,
} from '../src/train/head';

const args = process.argv.slice(2);
const backend = args.includes('--backend')
  ? (args[args.indexOf('--backend') + 1] ?? 'wasm')
  : 'wasm';
const N = 1000;
const D = 2048;
const K = 10;
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5;

function embeddingLike(n: number, seed: number): HeadData {
  const factors = 32;
  const shape = mulberry32(7);
  const gauss = (next: () => number) =>
    Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
  const base = Float32Array.from({ length: D }, () => 0.3 * Math.abs(gauss(shape)));
  const protos = Array.from({ length: K }, () =>
    base.map((b) => b + (shape() < 0.15 ? 0.15 * gauss(shape) : 0)),
  );
  const loadings = Float32Array.from({ length: D * factors }, () => 0.15 * gauss(shape));
  const next = mulberry32(seed);
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  const z = new Float32Array(factors);
  for (let i = 0; i < n; i++) {
    const c = i % K;
    y[i] = c;
    for (let l = 0; l < factors; l++) z[l] = gauss(next);
    const proto = protos[c] as Float32Array;
    for (let j = 0; j < D; j++) {
      let v = (proto[j] as number) + 0.3 * gauss(next);
      for (let l = 0; l < factors; l++)
        v += (loadings[j * factors + l] as number) * (z[l] as number);
      x[i * D + j] = Math.max(0, v);
    }
  }
  return { x, y, n, d: D };
}

function accuracy(head: TrainedHead, data: HeadData): number {
  const p = predictHead(head, data.x, data.n);
  let correct = 0;
  for (let i = 0; i < data.n; i++) {
    let best = 0;
    for (let j = 1; j < K; j++)
      if ((p[i * K + j] as number) > (p[i * K + best] as number)) best = j;
    if (best === data.y[i]) correct++;
  }
  return correct / data.n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Wall-clock and process CPU time (user + system; close to wall time on an idle machine). */
async function time(
  label: string,
  train: HeadData,
  test: HeadData,
  s: HeadSettings,
  validation: HeadData | undefined,
  runs = RUNS,
) {
  const wall: number[] = [];
  const cpu: number[] = [];
  let head: TrainedHead | undefined;
  for (let r = 0; r < runs; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    head = await trainHead(train, K, s, validation ? { validation } : {});
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1000);
  }
  const h = head as TrainedHead;
  const fmt = (xs: number[]) =>
    `first ${xs[0]?.toFixed(0).padStart(5)}  median ${median(xs).toFixed(0).padStart(5)}  min ${Math.min(
      ...xs,
    )
      .toFixed(0)
      .padStart(5)} ms`;
  console.log(
    `${label.padEnd(34)} wall: ${fmt(wall)} | cpu: ${fmt(cpu)} | epochs ${h.history.length} (best ${h.bestEpoch}), test acc ${accuracy(h, test).toFixed(3)}`,
  );
}

async function main() {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} is not available`);
  await tf.ready();
  console.log(
    `backend ${tf.getBackend()}; ${N} x ${D} x ${K}; ${RUNS} runs each (first run includes kernel warm-up)`,
  );
  const train = embeddingLike(N, 1);
  const val = embeddingLike(250, 2);
  const test = embeddingLike(2000, 3);
  const tensorsBefore = tf.memory().numTensors;
  const softmax = defaultHeadSettings('softmax');
  await time('softmax (default), no validation', train, test, softmax, undefined);
  await time('softmax (default), 250 validation', train, test, softmax, val);
  if (args.includes('--mlp'))
    await time('mlp (default), 250 validation', train, test, defaultHeadSettings('mlp'), val, 2);
  if (args.includes('--tm')) {
    const t0 = performance.now();
    const head = await trainTeachableMachineHead(train, K, { validation: val });
    console.log(
      `${'Teachable Machine baseline'.padEnd(34)} wall: ${(performance.now() - t0).toFixed(0)} ms, test acc ${accuracy(head, test).toFixed(3)}`,
    );
  }
  console.log(`tensors before ${tensorsBefore}, after ${tf.memory().numTensors}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
