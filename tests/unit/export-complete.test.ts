// The complete model on real photos: a head trained by the app's recipe on a few flower photos
// per class with the default extractor (Inception-v3 2015 to mixed_8), exported as one model
// from pixels to probabilities, read back with plain tf.loadLayersModel, classifies the held-out
// photos exactly as the app does (same top class, same accuracy, max |diff| <= 1e-4). Then both
// bundles' own Node example runs in a fresh process (plain @tensorflow/tfjs, nothing registered)
// and reproduces the app's probabilities. ResNet-50 (caffe preprocessing: the BGR convolution)
// is checked the same way on a smaller set.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskModel, tfjsScriptBytes, writeBundle } from '../../scripts/lib/bundle-files';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, resolveModelPath, sharedRoot } from '../../scripts/lib/node-env';
import type { Extractor } from '../../src/embed/extractor';
import { imageToPixels } from '../../src/embed/preprocess';
import { buildModelBundle } from '../../src/export/model-bundle';
import { fitHead } from '../../src/train/fit';
import { defaultHeadSettings, predictHead, type TrainedHead } from '../../src/train/head';
import { argmaxRows } from '../../src/train/metrics';

const FLOWERS = path.join(sharedRoot, 'datasets', 'flower_photos');
// Inside the repository so the examples' imports (@tensorflow/tfjs, jpeg-js, pngjs) resolve.
const dir = path.join(repoRoot, '.cache', `test-complete-${process.pid}`);

function photos(classes: string[], from: number, count: number): { file: string; label: number }[] {
  return classes.flatMap((c, label) =>
    fs
      .readdirSync(path.join(FLOWERS, c))
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort()
      .slice(from, from + count)
      .map((f) => ({ file: path.join(FLOWERS, c, f), label })),
  );
}

async function embedAll(ex: Extractor, files: string[]): Promise<Float32Array> {
  const d = ex.spec.embeddingDim;
  const x = new Float32Array(files.length * d);
  for (let i = 0; i < files.length; i += 4) {
    const px = await Promise.all(files.slice(i, i + 4).map((f) => decodeImageFile(f)));
    (await ex.embed(px)).embeddings.forEach((e, k) => x.set(e, (i + k) * d));
  }
  return x;
}

async function trainOn(ex: Extractor, train: { file: string; label: number }[], numClasses: number): Promise<TrainedHead> {
  const x = await embedAll(ex, train.map((t) => t.file));
  const fit = await fitHead({ ids: train.map((t) => t.file), labels: Int32Array.from(train.map((t) => t.label)), x, dim: ex.spec.embeddingDim }, numClasses, defaultHeadSettings());
  return fit.head;
}

async function completeProbs(modelJson: string, ex: Extractor, files: string[]): Promise<Float32Array> {
  const model = await tf.loadLayersModel(diskModel(modelJson));
  const parts: Float32Array[] = [];
  for (let i = 0; i < files.length; i += 4) {
    const px = await Promise.all(files.slice(i, i + 4).map((f) => decodeImageFile(f)));
    const input = tf.tidy(() => tf.stack(px.map((p) => imageToPixels(p, ex.spec.inputSize))));
    const out = model.predict(input) as tf.Tensor;
    parts.push((await out.data()) as Float32Array);
    tf.dispose([input, out]);
  }
  model.dispose();
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

/** The bundle's own Node example in a fresh process: plain @tensorflow/tfjs, nothing registered. */
async function runExample(bundle: string, files: string[], extra: string[] = []): Promise<number[][]> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(bundle, 'example', 'classify.mjs'), '--json', ...extra, ...files], { timeout: 240_000, maxBuffer: 1 << 24 });
  return (JSON.parse(stdout.trim().split('\n').pop()!) as { probabilities: number[] }[]).map((r) => r.probabilities);
}

beforeAll(async () => {
  await initNodeBackend('wasm');
  fs.mkdirSync(dir, { recursive: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('complete model export (real photos)', () => {
  it('Inception-v3 mixed_8: the complete model classifies held-out photos as the app does, and both bundles run in plain TF.js', async () => {
    const classes = ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'];
    const ex = await loadNodeExtractor('inception-v3-2015-mixed8');
    const head = await trainOn(ex, photos(classes, 0, 5), classes.length);
    const test = photos(classes, 40, 4); // held out: never seen by the head
    const files = test.map((t) => t.file);
    const app = predictHead(head, await embedAll(ex, files), files.length);

    const tensors = tf.memory().numTensors;
    const common = { head, classNames: classes, extractor: ex.spec, extractorKey: ex.key, projectName: 'flowers', tfjsScript: await tfjsScriptBytes() };
    const complete = await buildModelBundle({ ...common, complete: { extractor: ex.layersModel! } });
    expect(tf.memory().numTensors).toBe(tensors); // the extractor keeps its weights, nothing leaks
    const completeDir = path.join(dir, 'complete');
    await writeBundle(completeDir, complete);
    const meta = JSON.parse(new TextDecoder().decode(complete['metadata.json'])) as Record<string, unknown>;
    expect(meta).toMatchObject({ kind: 'complete', labels: classes, imageSize: 299, modelName: 'flowers', packageName: 'glimpse', tfjsVersion: tf.version.tfjs });

    const got = await completeProbs(path.join(completeDir, 'model', 'model.json'), ex, files);
    const c = classes.length;
    const appTop = argmaxRows(app, c);
    const gotTop = argmaxRows(got, c);
    const acc = (top: Int32Array) => test.filter((t, i) => top[i] === t.label).length / test.length;
    console.log(`complete model vs app on ${test.length} held-out photos: accuracy ${acc(gotTop)} vs ${acc(appTop)}, max |diff| ${maxDiff(got, app).toExponential(2)}`);
    expect(Array.from(gotTop)).toEqual(Array.from(appTop));
    expect(acc(gotTop)).toBe(acc(appTop));
    expect(acc(appTop)).toBeGreaterThanOrEqual(0.5); // real features: far above chance (0.2) with 5 photos a class
    expect(maxDiff(got, app)).toBeLessThanOrEqual(1e-4);

    // Both bundles' examples in a fresh Node process, on two of the held-out photos.
    const two = [files[0]!, files[files.length - 1]!];
    const appTwo = [0, files.length - 1].map((i) => Array.from(app.subarray(i * c, (i + 1) * c)));
    const viaComplete = await runExample(completeDir, two);
    const headDir = path.join(dir, 'head');
    await writeBundle(headDir, await buildModelBundle(common));
    const viaHead = await runExample(headDir, two, ['--extractor', resolveModelPath(ex.spec.modelUrl)]);
    viaComplete.forEach((p, i) => expect(maxDiff(p, appTwo[i]!)).toBeLessThanOrEqual(1e-4));
    viaHead.forEach((p, i) => expect(maxDiff(p, appTwo[i]!)).toBeLessThanOrEqual(1e-4));
    ex.dispose();
  }, 600_000);

  it('ResNet-50 (caffe preprocessing as a BGR convolution): the complete model gives the app’s probabilities', async () => {
    const classes = ['daisy', 'roses', 'sunflowers'];
    const ex = await loadNodeExtractor('resnet50-imagenet');
    const head = await trainOn(ex, photos(classes, 0, 3), classes.length);
    const files = photos(classes, 40, 1).map((t) => t.file);
    const app = predictHead(head, await embedAll(ex, files), files.length);
    const bundle = await buildModelBundle({ head, classNames: classes, extractor: ex.spec, extractorKey: ex.key, tfjsScript: await tfjsScriptBytes(), complete: { extractor: ex.layersModel! } });
    await writeBundle(path.join(dir, 'resnet'), bundle);
    expect(new TextDecoder().decode(bundle['model/model.json'])).toContain('"name":"glimpse_bgr"');
    const got = await completeProbs(path.join(dir, 'resnet', 'model', 'model.json'), ex, files);
    expect(maxDiff(got, app)).toBeLessThanOrEqual(1e-4);
    ex.dispose();
  }, 600_000);
});
