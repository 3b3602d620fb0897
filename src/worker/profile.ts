// `profile` for `npm run bench`: network ms/image by batch in this worker, the multiply-adds per
// image and the multiply-add rate of a large product; with helper lanes (lanes.ts) also the same
// measurements on every lane at once, for the machine's throughput and the floor from all cores.
import * as tf from '@tensorflow/tfjs';
import type { Extractor } from '../embed/extractor';
import { countMacs, measureMatmulRate, timeNetwork } from '../embed/flops';
import { helperLanes } from '../embed/lanes';
import type { ProfileResult } from './debug-protocol';

export async function profileExtractor(ex: Extractor, batches: number[], repeats: number): Promise<ProfileResult> {
  const s = ex.spec.inputSize;
  const net = (batch: number) => timeNetwork((x) => ex.embedTensor(x), s, batch, repeats);
  const embedMsPerImage: Record<number, number> = {};
  for (const b of batches) embedMsPerImage[b] = await net(b);
  const matmulMacsPerS = await measureMatmulRate();
  const helpers = helperLanes();
  let allLanes: ProfileResult['allLanes'] = null;
  if (helpers.length > 0) {
    const batch = Number(Object.entries(embedMsPerImage).sort((a, b) => a[1] - b[1])[0]![0]);
    // The helpers' requests go out first: this worker's own run blocks its thread, and the
    // windows must overlap for the sum to mean "all cores at once".
    const helperNets = helpers.map((h) => h.profile(batch, repeats, false));
    const nets = [await net(batch), ...(await Promise.all(helperNets)).map((r) => r.msPerImage)];
    const helperRates = helpers.map((h) => h.profile(batch, 0, true));
    const rates = [await measureMatmulRate(), ...(await Promise.all(helperRates)).map((r) => r.matmulMacsPerS)];
    const imagesPerS = nets.reduce((sum, ms) => sum + 1000 / ms, 0);
    allLanes = { lanes: nets.length, batch, embedMsPerImage: 1000 / imagesPerS, matmulMacsPerS: rates.reduce((a, b) => a + b, 0) };
  }
  return {
    backend: tf.getBackend(),
    extractor: ex.spec.id,
    macsPerImage: ex.layersModel ? countMacs(ex.layersModel, ex.spec.embeddingOutput) : null,
    matmulMacsPerS,
    embedMsPerImage,
    allLanes,
  };
}
