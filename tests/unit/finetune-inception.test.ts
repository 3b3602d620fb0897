// Fine-tuning Inception-v3's mixed9+mixed10 (nsfwjs weights) on WASM: its batch normalisations
// have no scale, which TF.js cannot differentiate as is (finetune.ts gives them a constant one);
// one epoch runs, and after release + dispose no tensor is left.
import * as tf from '@tensorflow/tfjs';
import { it, expect } from 'vitest';
import { initNodeBackend, loadNodeExtractor } from '../../scripts/lib/node-env';
import { fineTune, releaseSplit, splitForFineTune, embedActivations } from '../../src/train/finetune';
import { trainHead, defaultHeadSettings } from '../../src/train/head';
it('inception-v3 (nsfwjs) fine-tunes from conv2d_77 on WASM and leaves nothing behind', async () => {
  await initNodeBackend('wasm');
  const loaded = tf.memory().numTensors;
  const ex = await loadNodeExtractor('inception-v3-nsfwjs');
  const split = splitForFineTune(ex.layersModel!, 'conv2d_77', 'flatten_1');
  const size = split.activationShape.reduce((a, b) => a * b, 1);
  const n = 4;
  const set = { x: Float32Array.from({ length: n * size }, (_, i) => Math.abs(Math.sin(i))), y: Int32Array.from([0, 1, 0, 1]), n };
  const emb = await embedActivations(split, set);
  const head = await trainHead({ x: emb, y: set.y, n, d: 2048 }, 2, { ...defaultHeadSettings(), epochs: 2 });
  const res = await fineTune(split, head, set, null, { epochs: 1, batchSize: 2 });
  expect(res.history).toHaveLength(1);
  expect(Number.isFinite(res.history[0]!.loss)).toBe(true);
  const emb2 = await embedActivations(split, set);
  releaseSplit(split);
  ex.dispose();
  expect(emb2.length).toBe(n * 2048);
  expect(tf.memory().numTensors).toBe(loaded);
}, 300000);
