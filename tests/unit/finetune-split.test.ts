// Every extractor spec with fineTuneFrom splits its real model there: bottom + top reproduce the
// embedding of the whole model (so fine-tuning starts from exactly the features the head saw),
// and once released and disposed, no weight of the model stays alive.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableExtractors, initNodeBackend, loadNodeExtractor } from '../../scripts/lib/node-env';
import { releaseSplit, splitForFineTune } from '../../src/train/finetune';
import type { ExtractorSpec } from '../../src/embed/specs';

let specs: ExtractorSpec[] = [];
beforeAll(async () => {
  await initNodeBackend('wasm');
  specs = (await availableExtractors()).filter((s) => s.fineTuneFrom);
});

describe('splitting real extractors for fine-tuning', () => {
  it('bottom then top equals the embedding, for every spec with fineTuneFrom', async () => {
    expect(specs.map((s) => s.id)).toContain('resnet50-imagenet');
    for (const spec of specs) {
      const loaded = tf.memory().numTensors;
      const ex = await loadNodeExtractor(spec.id);
      const before = tf.memory().numTensors;
      const split = splitForFineTune(ex.layersModel!, spec.fineTuneFrom!, spec.embeddingOutput);
      const s = spec.inputSize;
      const [whole, parts] = tf.tidy(() => {
        const x = tf.randomUniform([1, s, s, 3], -1, 1, 'float32', 5);
        return [ex.embedTensor(x as tf.Tensor4D), split.top.predict(split.bottom.predict(x) as tf.Tensor) as tf.Tensor];
      });
      const a = whole!.dataSync();
      const b = parts!.dataSync();
      expect(b.length).toBe(spec.embeddingDim);
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      expect(diff, spec.id).toBeLessThan(1e-4);
      expect(split.topLayers.length, spec.id).toBeGreaterThan(5);
      tf.dispose([whole!, parts!]);
      expect(tf.memory().numTensors).toBe(before);
      releaseSplit(split);
      ex.dispose();
      // The rebuilt top held its own reference to the layers: released, everything goes.
      expect(tf.memory().numTensors, spec.id).toBe(loaded);
    }
  }, 300_000);
});
