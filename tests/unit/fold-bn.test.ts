// Batch norms folded into their convolutions at load (src/embed/fold-bn.ts), on TF.js's WASM
// backend (the app's backend without a GPU; ten times faster here than the CPU backend) with the
// real weights: the folded network gives the unfolded one's embeddings and classes, folds the
// frozen part only (fine-tuning's top keeps its batch norms), and leaves nothing behind.
// Measured here (two photos): max |diff| 6e-7 (nsfwjs) and 7e-6 (ResNet-50), cosine 1.0000000.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, sharedRoot } from '../../scripts/lib/node-env';
import { foldBatchNorms } from '../../src/embed/fold-bn';

const sample = (synset: string) => {
  const dir = path.join(sharedRoot, 'datasets', 'imagenet-sample', synset);
  return path.join(dir, fs.readdirSync(dir)[0]!);
};

function compare(a: Float32Array, b: Float32Array): { cosine: number; maxDiff: number } {
  let dot = 0, na = 0, nb = 0, maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  }
  return { cosine: dot / Math.sqrt(na * nb), maxDiff };
}

beforeAll(async () => {
  await initNodeBackend('wasm');
});

describe('batch norms folded at load', () => {
  // nsfwjs: 94 conv+BN+ReLU blocks; mixed9 and mixed10's 18 (from conv2d_77, fine-tuned) stay.
  // ResNet-50: 53 conv+BN; res5's 10 (from res5a_branch2a, fine-tuned) stay.
  it.each([
    ['inception-v3-nsfwjs', 76],
    ['resnet50-imagenet', 43],
  ])('%s: same embeddings and classes as unfolded (WASM)', async (id, folds) => {
    const before = tf.memory().numTensors;
    const images = await Promise.all([decodeImageFile(sample('n01443537')), decodeImageFile(sample('n11939491'))]);
    const plain = await loadNodeExtractor(id, { foldBatchNorms: false });
    const a = await plain.embed(images, { topK: 3 });
    plain.dispose();
    const folded = await loadNodeExtractor(id, { foldBatchNorms: true });
    expect(folded.foldedBatchNorms).toBe(folds);
    const b = await folded.embed(images, { topK: 3 });
    // Weights as shipped: what fine-tuning and the export read is untouched by the fold.
    const names = folded.layersModel!.weights.length;
    expect(names).toBe(folded.layersModel!.getWeights().length);
    folded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < images.length; i++) {
      const { cosine, maxDiff } = compare(a.embeddings[i]!, b.embeddings[i]!);
      console.log(`${id} image ${i}: cosine ${cosine.toFixed(7)}, max |diff| ${maxDiff.toExponential(2)}`);
      expect(cosine).toBeGreaterThanOrEqual(0.9999);
      expect(maxDiff).toBeLessThan(1e-4);
    }
    expect(b.top?.map((t) => t.map((c) => c.index))).toEqual(a.top?.map((t) => t.map((c) => c.index)));
  }, 300000);

  it('folds every block without a cut, and undo() gives the layers their own ops back', async () => {
    const ex = await loadNodeExtractor('inception-v3-nsfwjs', { foldBatchNorms: false });
    const model = ex.layersModel!;
    const before = tf.memory().numTensors;
    const fold = foldBatchNorms(model); // no cut: every block folds
    expect(fold.batchNorms).toBe(94);
    expect(fold.activations).toBe(94);
    const patched = model.layers.filter((l) => Object.prototype.hasOwnProperty.call(l, 'call'));
    expect(patched).toHaveLength(94 * 3);
    expect(tf.memory().numTensors).toBe(before + 94 * 2); // a folded kernel and bias per block
    fold.undo();
    expect(model.layers.filter((l) => Object.prototype.hasOwnProperty.call(l, 'call'))).toHaveLength(0);
    expect(tf.memory().numTensors).toBe(before);
    ex.dispose();
  });
});
