// The head bundle in Node: TF.js's own loader reads model/model.json + weights.bin with nothing
// registered (built-in layers only) and gives the app's predictions (predictHead) within 1e-5;
// metadata says what the example needs (Teachable Machine's fields included); the example page
// loads TF.js from the bundle and names no server; the example script parses.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { findExtractor, extractorKey } from '../../src/embed/specs';
import { buildModelBundle, zipBundle } from '../../src/export/model-bundle';
import { predictHead, trainHead, defaultHeadSettings, type TrainedHead } from '../../src/train/head';
import { tfjsScriptBytes } from '../../scripts/lib/bundle-files';

let tfjsScript: Uint8Array;

const spec = findExtractor('resnet50-imagenet');
const D = spec.embeddingDim;

function data(n: number, k: number, seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < D; j++) x[i * D + j] = Math.max(0, rnd() * 2 - 1 + (j % k === y[i] ? 1.5 : 0)) * (1 + (j % 7));
  }
  return { x, y, n, d: D };
}

function fromBundle(files: Record<string, Uint8Array>): tf.io.IOHandler {
  const json = JSON.parse(new TextDecoder().decode(files['model/model.json'])) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const w = files['model/weights.bin']!;
  return tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer });
}

describe('model bundle', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    tfjsScript = await tfjsScriptBytes();
  });

  for (const kind of ['softmax', 'mlp'] as const) {
    it(`${kind}: tf.loadLayersModel on the exported files predicts what the app predicts (1e-5)`, async () => {
      const train = data(60, 3, 7);
      const settings = { ...defaultHeadSettings(kind), epochs: kind === 'mlp' ? 5 : 20 };
      const head: TrainedHead = await trainHead(train, 3, settings);
      const before = tf.memory().numTensors;
      const files = await buildModelBundle({ head, classNames: ['a', '<b>', 'c'], extractor: spec, extractorKey: extractorKey(spec), metrics: null, projectName: 'P', tfjsScript });
      expect(tf.memory().numTensors).toBe(before);
      // Through a real zip, the way the app downloads it.
      const unzipped = unzipSync(zipBundle(files));
      const model = await tf.loadLayersModel(fromBundle(unzipped));
      const test = data(20, 3, 99);
      const expected = predictHead(head, test.x, test.n);
      const got = tf.tidy(() => (model.predict(tf.tensor2d(test.x, [test.n, D])) as tf.Tensor).dataSync());
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - got[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
      model.dispose();
      // Only TF.js's own layer classes: nothing to register before loading.
      const classes = [...new TextDecoder().decode(unzipped['model/model.json']).matchAll(/"class_name":"(\w+)"/g)].map((m) => m[1]);
      expect(classes).toContain('LayerNormalization');
      expect(classes.every((c) => tf.serialization.SerializationMap.getMap().classNameMap[c!] !== undefined)).toBe(true);
      expect(classes.some((c) => /glimpse/i.test(c!))).toBe(false);
      const meta = JSON.parse(new TextDecoder().decode(unzipped['metadata.json'])) as { labels: string[]; extractor: Record<string, unknown>; training: { kind: string }; app: { version: string }; kind: string; imageSize: number; modelName: string; tfjsVersion: string; packageName: string; timeStamp: string; userMetadata: object };
      expect(meta.labels).toEqual(['a', '<b>', 'c']);
      expect(meta).toMatchObject({ kind: 'head', imageSize: 224, modelName: 'P', tfjsVersion: tf.version.tfjs, packageName: 'glimpse', userMetadata: {} });
      expect(Number.isNaN(Date.parse(meta.timeStamp))).toBe(false);
      expect(meta.extractor).toMatchObject({ id: 'resnet50-imagenet', key: extractorKey(spec), inputSize: 224, preprocessing: 'caffe', embeddingOutput: 'avg_pool', embeddingDim: 2048, format: 'layers-model' });
      expect(meta.training.kind).toBe(kind);
      expect(meta.app.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Object.keys(unzipped).sort()).toEqual(['README.md', 'example/classify.mjs', 'example/index.html', 'example/package.json', 'example/tf.min.js', 'metadata.json', 'model/model.json', 'model/weights.bin']);
      const page = new TextDecoder().decode(unzipped['example/index.html']);
      expect(page).not.toMatch(/innerHTML/);
      expect(page).toContain('<script src="tf.min.js"></script>');
      expect(Buffer.compare(unzipped['example/tf.min.js']!, tfjsScript)).toBe(0);
      // No file names a server: no absolute http(s) URL anywhere in the text files.
      for (const [name, bytes] of Object.entries(unzipped)) {
        if (name.endsWith('.bin') || name.endsWith('tf.min.js')) continue;
        expect(new TextDecoder().decode(bytes), name).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      }
    });
  }

  it('refuses a head trained on another extractor', async () => {
    const head = await trainHead(data(20, 2, 3), 2, { ...defaultHeadSettings(), epochs: 2 });
    await expect(buildModelBundle({ head, classNames: ['a', 'b'], extractor: spec, extractorKey: 'other@1/unit/299', tfjsScript })).rejects.toThrow(/not of resnet50/);
  });

  it('ships an example script that Node can parse', async () => {
    const head = await trainHead(data(20, 2, 3), 2, { ...defaultHeadSettings(), epochs: 2 });
    const files = await buildModelBundle({ head, classNames: ['a', 'b'], extractor: spec, extractorKey: extractorKey(spec), tfjsScript });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glimpse-example-'));
    const file = path.join(dir, 'classify.mjs');
    fs.writeFileSync(file, files['example/classify.mjs']!);
    const { execFileSync } = await import('node:child_process');
    execFileSync(process.execPath, ['--check', file]);
    fs.rmSync(dir, { recursive: true });
  });
});
