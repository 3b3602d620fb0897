// The comparison baseline of `npm run bench`: what TF.js examples do — the model on the main
// thread, `tf.browser.fromPixels` from an <img>, `model.predict` one image at a time, with TF.js's
// default WASM thread count (hardwareConcurrency / 2 on a cross-origin-isolated page). It runs on
// WASM, not TF.js's default pick (WebGL/WebGPU), because on this machine those are software GPUs
// 30-50x slower: a WebGL baseline would flatter the app.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { CAFFE_MEAN_BGR } from '../src/embed/preprocess';

interface RunArgs {
  modelUrl: string;
  embeddingLayer: string;
  inputSize: number;
  preprocessing: 'unit' | 'signed' | 'caffe';
  urls: string[];
}

async function run(a: RunArgs): Promise<{ ms: number; n: number; backend: string; loadMs: number; threads: number }> {
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd });
  await tf.setBackend('wasm');
  const l0 = performance.now();
  const full = await tf.loadLayersModel(a.modelUrl);
  const model = tf.model({ inputs: full.inputs, outputs: full.getLayer(a.embeddingLayer).output });
  const loadMs = performance.now() - l0;
  const t0 = performance.now();
  for (const url of a.urls) {
    const img = new Image();
    img.src = url;
    await img.decode();
    const out = tf.tidy(() => {
      let x = tf.image.resizeBilinear(tf.browser.fromPixels(img).toFloat(), [a.inputSize, a.inputSize]);
      if (a.preprocessing === 'unit') x = x.div(255);
      else if (a.preprocessing === 'signed') x = x.div(127.5).sub(1);
      else x = tf.reverse(x, -1).sub(tf.tensor1d([...CAFFE_MEAN_BGR]));
      return model.predict(x.expandDims(0)) as tf.Tensor;
    });
    await out.data();
    out.dispose();
  }
  const ms = performance.now() - t0;
  full.dispose();
  return { ms, n: a.urls.length, backend: tf.getBackend(), loadMs, threads: getThreadsCount() };
}

(window as unknown as { __baseline: { run: typeof run } }).__baseline = { run };
