// Batch norms folded at load (src/embed/fold-bn.ts) vs the network as shipped, on WASM in one
// process, the two interleaved (this machine's load moves separate runs by 2x): batch-1 forward ms.
// Usage: npx tsx scripts/bench-fold.ts resnet50-imagenet   (or inception-v3-nsfwjs)
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadNodeExtractor } from './lib/node-env';
const id = process.argv[2]!;
await initNodeBackend('wasm');
const on = await loadNodeExtractor(id);
const off = await loadNodeExtractor(id, { foldBatchNorms: false });
const x = tf.randomUniform([1, on.spec.inputSize, on.spec.inputSize, 3]) as tf.Tensor4D;
const t: Record<string, number[]> = { on: [], off: [] };
for (let i = 0; i < 12; i++) for (const [k, ex] of [['off', off], ['on', on]] as const) {
  const t0 = performance.now(); const y = ex.embedTensor(x); await y.data(); y.dispose(); t[k]!.push(performance.now() - t0);
}
const s = (a: number[]) => { const b = a.slice(2).sort((p, q) => p - q); return `min ${b[0]!.toFixed(0)} median ${b[b.length >> 1]!.toFixed(0)}`; };
console.log(`${id} wasm batch 1 ms: folded ${s(t.on!)} | unfolded ${s(t.off!)} (folded ${on.foldedBatchNorms})`);
