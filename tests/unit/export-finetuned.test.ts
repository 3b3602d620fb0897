// A model bundle with a fine-tuned network: the fine-tuned top-layer weights travel in
// extractor-finetuned/ (manifest + float32 bin), metadata says so, and the bundle's own Node
// example writes them into the extractor it loads: its embedding equals the fine-tuned network's,
// not the shipped one's.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractorKey, findExtractor, type ExtractorSpec } from '../../src/embed/specs';
import { buildModelBundle, FINE_TUNED_MANIFEST, FINE_TUNED_WEIGHTS } from '../../src/export/model-bundle';
import { defaultHeadSettings, trainHead } from '../../src/train/head';
import { repoRoot } from '../../scripts/lib/node-env';
import { diskModel, tfjsScriptBytes } from '../../scripts/lib/bundle-files';
import { predictHead } from '../../src/train/head';
import { releaseSplit, splitForFineTune } from '../../src/train/finetune';

// Inside the repository so the example's imports (@tensorflow/tfjs, jpeg-js, pngjs) resolve.
const dir = path.join(repoRoot, '.cache', `test-bundle-${process.pid}`);

function tiny(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  const top = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'top_a', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(c1) as tf.SymbolicTensor;
  const pool = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(top) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: pool });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  fs.mkdirSync(dir, { recursive: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('model bundle with a fine-tuned network', () => {
  it('carries the fine-tuned weights and the Node example applies them', async () => {
    const model = tiny();
    // The "shipped" extractor on disk.
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        const w = a.weightData as ArrayBuffer;
        fs.mkdirSync(path.join(dir, 'ext'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'ext', 'weights.bin'), new Uint8Array(w));
        fs.writeFileSync(path.join(dir, 'ext', 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const spec: ExtractorSpec = { ...findExtractor('resnet50-imagenet'), id: 'tiny', version: '1', modelUrl: 'ext/model.json', inputSize: 6, preprocessing: 'unit', embeddingOutput: 'pool', embeddingDim: 4, fineTuneFrom: 'top_a' };
    const tuned = [
      { name: 'top_a/kernel', shape: [3, 3, 4, 4], data: Float32Array.from({ length: 144 }, (_, i) => Math.sin(i) * 0.3) },
      { name: 'top_a/bias', shape: [4], data: Float32Array.from([0.1, -0.2, 0.3, 0.05]) },
    ];
    const rows = 12;
    const head = await trainHead({ x: Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(i)), y: Int32Array.from({ length: rows }, (_, i) => i % 2), n: rows, d: 4 }, 2, { ...defaultHeadSettings(), epochs: 3 });
    const files = await buildModelBundle({ head, classNames: ['a', 'b'], extractor: spec, extractorKey: extractorKey(spec), fineTuned: { fromLayer: 'top_a', weights: tuned }, tfjsScript: await tfjsScriptBytes() });
    const meta = JSON.parse(new TextDecoder().decode(files['metadata.json'])) as { extractor: { fineTuned: { fromLayer: string; manifest: string; weights: string; count: number } } };
    expect(meta.extractor.fineTuned).toMatchObject({ fromLayer: 'top_a', manifest: FINE_TUNED_MANIFEST, weights: FINE_TUNED_WEIGHTS, count: 2 });
    expect(files[FINE_TUNED_WEIGHTS]!.byteLength).toBe((144 + 4) * 4);
    expect(new TextDecoder().decode(files['README.md'])).toContain('Fine-tuned for this project');
    for (const [rel, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), bytes);
    }

    // What the bundle's example computes for an image.
    const example = (await import(path.join(dir, 'example', 'classify.mjs'))) as {
      loadMetadata(d?: string): Promise<unknown>;
      loadExtractor(meta: unknown, where: string, dir: string): Promise<(x: unknown) => { data(): Promise<Float32Array>; dispose(): void }>;
      toPixels(img: { width: number; height: number; data: Uint8Array }, size: number): { dispose(): void };
      mapValues(x: unknown, ex: unknown): { dispose(): void };
    };
    const m = (await example.loadMetadata(dir)) as { extractor: unknown };
    const embed = await example.loadExtractor(m, path.join(dir, 'ext', 'model.json'), dir);
    const pixels = Uint8Array.from({ length: 6 * 6 * 4 }, (_, i) => (i * 37) % 256);
    const px = example.toPixels({ width: 6, height: 6, data: pixels }, 6);
    const x = example.mapValues(px, m.extractor);
    const out = embed(x);
    const got = await out.data();
    tf.dispose([out as unknown as tf.Tensor, x as unknown as tf.Tensor, px as unknown as tf.Tensor]);

    // The same image through our model, shipped and then with the fine-tuned weights.
    const input = tf.tidy(() => tf.div(tf.slice(tf.tensor3d(pixels, [6, 6, 4], 'int32'), [0, 0, 0], [6, 6, 3]).toFloat(), 255).expandDims(0));
    const shipped = (model.predict(input) as tf.Tensor).dataSync();
    const shippedTop = model.getLayer('top_a').getWeights().map((w) => w.clone());
    model.getLayer('top_a').setWeights(tuned.map((w) => tf.tensor(w.data, w.shape)));
    const fine = (model.predict(input) as tf.Tensor).dataSync();
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    expect(diff(got, fine)).toBeLessThan(1e-5);
    expect(diff(got, shipped)).toBeGreaterThan(1e-3);

    // The complete model carries the fine-tuned weights itself: pixels in, the fine-tuned
    // network's head probabilities out, and the model it was built from keeps its own weights.
    model.getLayer('top_a').setWeights(shippedTop);
    // As in the worker after a fine-tuning session: the top layers were applied again (more
    // inbound nodes), which must not confuse the export.
    releaseSplit(splitForFineTune(model, 'top_a', 'pool'));
    const complete = await buildModelBundle({ head, classNames: ['a', 'b'], extractor: spec, extractorKey: extractorKey(spec), fineTuned: { fromLayer: 'top_a', weights: tuned }, tfjsScript: await tfjsScriptBytes(), complete: { extractor: model } });
    expect(complete[FINE_TUNED_WEIGHTS]).toBeUndefined();
    const cdir = path.join(dir, 'complete');
    for (const [rel, bytes] of Object.entries(complete)) {
      fs.mkdirSync(path.dirname(path.join(cdir, rel)), { recursive: true });
      fs.writeFileSync(path.join(cdir, rel), bytes);
    }
    const loaded = await tf.loadLayersModel(diskModel(path.join(cdir, 'model', 'model.json')));
    const rgb = tf.tidy(() => tf.slice(tf.tensor3d(pixels, [6, 6, 4], 'int32'), [0, 0, 0], [6, 6, 3]).toFloat().expandDims(0));
    const probs = (loaded.predict(rgb) as tf.Tensor).dataSync();
    expect(diff(probs, predictHead(head, Float32Array.from(fine), 1))).toBeLessThan(1e-5);
    expect(diff((model.predict(input) as tf.Tensor).dataSync(), shipped)).toBe(0);
  });
});
