// The real bundled models in Node (WASM backend): right ImageNet class, right shapes, no leaks.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Extractor } from '../../src/embed/extractor';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, sharedRoot } from '../../scripts/lib/node-env';

const sample = (synset: string) => {
  const dir = path.join(sharedRoot, 'datasets', 'imagenet-sample', synset);
  return path.join(dir, fs.readdirSync(dir)[0]!);
};

let resnet: Extractor;
beforeAll(async () => {
  await initNodeBackend('wasm');
  resnet = await loadNodeExtractor('resnet50-imagenet');
});
afterAll(() => resnet?.dispose());

describe('extractors on real weights', () => {
  it('ResNet-50 (float16 weights) names a goldfish and a daisy', async () => {
    const images = await Promise.all([decodeImageFile(sample('n01443537')), decodeImageFile(sample('n11939491'))]);
    const r = await resnet.embed(images, { topK: 5 });
    expect(r.embeddings.map((e) => e.length)).toEqual([2048, 2048]);
    expect(r.top?.[0]?.[0]).toMatchObject({ index: 1, label: 'goldfish' });
    expect(r.top?.[1]?.[0]).toMatchObject({ index: 985, label: 'daisy' });
    expect(r.top?.[0]).toHaveLength(5);
  });

  it('leaks no tensors across repeated embed calls', async () => {
    const img = await decodeImageFile(sample('n01443537'));
    await resnet.embed([img], { topK: 5 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await resnet.embed([img]);
      await resnet.embed([img], { topK: 3 });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('embeds with the real Inception-v3 2015 weights (1280-d, non-negative) and disposes cleanly', async () => {
    const before = tf.memory().numTensors;
    const ex = await loadNodeExtractor('inception-v3-2015-mixed8');
    const r = await ex.embed([await decodeImageFile(sample('n11939491'))]);
    expect(r.embeddings[0]).toHaveLength(1280);
    expect(Math.min(...r.embeddings[0]!)).toBeGreaterThanOrEqual(0);
    expect(r.top).toBeUndefined();
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
