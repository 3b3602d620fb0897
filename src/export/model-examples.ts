// The standalone examples shipped inside a model export. They use nothing from Glimpse: plain
// TF.js (the page loads tf.min.js from the bundle itself, so it needs no network; Node uses the
// npm package with the pure-JS decoders jpeg-js and pngjs), so a user can copy them into their
// own project. Both follow metadata.json: a 'complete' model takes the cropped, resized 0-255
// pixels; a 'head' model takes the embedding of the extractor it names (from extractor/ in the
// bundle folder unless told otherwise). Labels are shown with textContent, never as HTML.

export const EXAMPLE_PACKAGE_JSON = `${JSON.stringify(
  {
    name: 'glimpse-model-example',
    private: true,
    type: 'module',
    description: 'Classify images with a model exported from Glimpse, using plain @tensorflow/tfjs.',
    scripts: { classify: 'node classify.mjs' },
    dependencies: { '@tensorflow/tfjs': '4.22.0', 'jpeg-js': '^0.4.4', pngjs: '^7.0.0' },
    optionalDependencies: { '@tensorflow/tfjs-backend-wasm': '4.22.0' },
  },
  null,
  2,
)}\n`;

export const EXAMPLE_NODE = String.raw`#!/usr/bin/env node
// Classify images with a model exported from Glimpse, in Node, with plain @tensorflow/tfjs.
//
//   cd example && npm install
//   node classify.mjs photo1.jpg photo2.png            # top label and all scores
//   node classify.mjs --json photo.jpg                 # machine-readable
//   node classify.mjs --extractor ./resnet/model.json photo.jpg   # head bundles: the extractor
//                                                                  # (default: ../extractor/model.json)
//
// Steps (see ../metadata.json): decode -> centre crop -> resize (bilinear, half-pixel centres) ->
// 0-255 pixels -> complete model (model/model.json) -> probabilities. A head bundle instead maps
// the values for its extractor, runs it, and feeds the embedding to the head (model/model.json).
// Decoding uses jpeg-js / pngjs; browsers decode JPEG with libjpeg-turbo, whose IDCT differs by a
// grey level here and there, so scores can differ from the app's in the third decimal. EXIF
// orientation is not applied here: rotate such photos upright first.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';


const here = path.dirname(fileURLToPath(import.meta.url));
export const bundleDir = path.resolve(here, '..');

/** A tf.io handler for model.json + weight files on disk (plain tfjs has no file:// loader). */
export function fileHandler(modelJsonPath) {
  return {
    async load() {
      const json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8'));
      const dir = path.dirname(modelJsonPath);
      const weightSpecs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) buffers.push(await fs.readFile(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return { modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy };
    },
  };
}

/**
 * Plain tfjs runs on its pure-JS CPU backend in Node (ResNet-50: tens of seconds an image). When
 * the optional @tensorflow/tfjs-backend-wasm is installed, it is used instead (about a second).
 */
export async function pickBackend() {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dist + path.sep);
    if (await tf.setBackend('wasm')) return tf.getBackend();
  } catch {
    // not installed: stay on the CPU backend
  }
  await tf.setBackend('cpu');
  return tf.getBackend();
}

const source = (where) => (/^https?:\/\//.test(where) ? where : fileHandler(path.resolve(where)));

export async function loadMetadata(dir = bundleDir) {
  return JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'));
}

/** The head: raw embedding [n, dim] -> probabilities [n, labels]. */
export function loadHead(dir = bundleDir) {
  return tf.loadLayersModel(fileHandler(path.join(dir, 'model', 'model.json')));
}

/** The feature extractor named in metadata.json: image batch -> embeddings [n, dim]. */
export async function loadExtractor(meta, where = path.join(bundleDir, meta.extractor.bundlePath), dir = bundleDir) {
  const ex = meta.extractor;
  let run;
  if (ex.format === 'graph-model') {
    const model = await tf.loadGraphModel(source(where));
    run = (x) => (ex.embeddingOutput ? model.execute(x, ex.embeddingOutput) : model.predict(x));
  } else {
    const model = await tf.loadLayersModel(source(where));
    if (ex.fineTuned) await applyFineTuned(model, ex.fineTuned, dir);
    const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(ex.embeddingOutput).output });
    run = (x) => sub.predict(x);
  }
  return (x) => tf.tidy(() => tf.reshape(run(x), [x.shape[0], -1]));
}

/** The project's fine-tuned top layers (metadata.extractor.fineTuned): written into the extractor by saved weight name. */
export async function applyFineTuned(model, fineTuned, dir = bundleDir) {
  const manifest = JSON.parse(await fs.readFile(path.join(dir, fineTuned.manifest), 'utf8'));
  const bin = await fs.readFile(path.join(dir, fineTuned.weights));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  for (const e of manifest.weights) {
    const v = byName.get(e.name);
    if (!v) throw new Error('The extractor has no weight ' + e.name + ': is it the model this bundle was fine-tuned from?');
    tf.tidy(() => v.write(tf.tensor(new Float32Array(buf, e.offset, e.length), e.shape)));
  }
}

/** JPEG or PNG bytes -> { width, height, data: RGBA }. */
export function decodeImage(bytes, name = 'image') {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const d = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return { width: d.width, height: d.height, data: d.data };
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const d = PNG.sync.read(Buffer.from(bytes));
    return { width: d.width, height: d.height, data: new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.length) };
  }
  throw new Error(name + ': only JPEG and PNG are decoded by this example');
}

/** RGBA pixels -> [1, size, size, 3] float 0-255: centre crop, bilinear resize (half-pixel centres). */
export function toPixels(img, size) {
  return tf.tidy(() => {
    const { width, height } = img;
    const rgb = tf.slice(tf.tensor3d(img.data, [height, width, 4], 'int32'), [0, 0, 0], [height, width, 3]);
    const side = Math.min(width, height);
    const top = Math.floor((height - side) / 2);
    const left = Math.floor((width - side) / 2);
    let x = tf.cast(tf.slice(rgb, [top, left, 0], [side, side, 3]), 'float32');
    if (side !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    return tf.expandDims(x, 0);
  });
}

/** 0-255 pixels -> the extractor's value range (head bundles; a complete model does this itself). */
export function mapValues(pixels, ex) {
  return tf.tidy(() => {
    let x = pixels;
    if (ex.preprocessing === 'unit') x = tf.div(x, 255);
    else if (ex.preprocessing === 'signed') x = tf.sub(tf.div(x, 127.5), 1);
    else if (ex.preprocessing === 'caffe') x = tf.sub(tf.reverse(x, -1), tf.tensor1d([103.939, 116.779, 123.68]));
    else throw new Error('unknown preprocessing ' + ex.preprocessing);
    return x;
  });
}

/**
 * pixels [n, size, size, 3] (0-255) -> probabilities [n, labels]: the complete model directly; a
 * head bundle through its extractor (where: path or URL of the extractor's model.json).
 */
export async function loadClassifier(meta, { dir = bundleDir, extractor } = {}) {
  const model = await tf.loadLayersModel(fileHandler(path.join(dir, 'model', 'model.json')));
  if (meta.kind === 'complete') return (pixels) => model.predict(pixels);
  const embed = await loadExtractor(meta, extractor ?? path.join(dir, meta.extractor.bundlePath), dir);
  return (pixels) => tf.tidy(() => model.predict(embed(mapValues(pixels, meta.extractor))));
}

export async function classifyFile(file, { meta, classify }) {
  const img = decodeImage(new Uint8Array(await fs.readFile(file)), path.basename(file));
  const pixels = toPixels(img, meta.imageSize);
  const out = classify(pixels);
  const probabilities = Array.from(await out.data());
  tf.dispose([pixels, out]);
  const best = probabilities.indexOf(Math.max(...probabilities));
  return { file, label: meta.labels[best], index: best, probabilities };
}

async function main(argv) {
  const files = [];
  let json = false;
  let extractor;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--extractor') extractor = argv[++i];
    else files.push(argv[i]);
  }
  if (files.length === 0) {
    console.error('usage: node classify.mjs [--json] [--extractor <model.json path or URL>] image...');
    process.exitCode = 2;
    return;
  }
  await pickBackend();
  const meta = await loadMetadata();
  const classify = await loadClassifier(meta, { extractor });
  const results = [];
  for (const f of files) {
    const r = await classifyFile(f, { meta, classify });
    results.push({ file: r.file, label: r.label, index: r.index, labels: meta.labels, probabilities: r.probabilities });
    if (!json) console.log(f + ': ' + r.label + ' (' + (100 * r.probabilities[r.index]).toFixed(1) + '%)');
  }
  if (json) console.log(JSON.stringify(results));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
`;

export const EXAMPLE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Glimpse model – example</title>
<!-- Serve the bundle folder over HTTP (e.g. "python3 -m http.server" in it) and open
     /example/index.html. Everything it loads is in the bundle: TF.js (tf.min.js next to this page),
     metadata.json and the model. Head bundles also need the extractor in ../extractor/, or
     ?extractor=<url of its model.json>. -->
<script src="tf.min.js"></script>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  img { max-width: 100%; max-height: 20rem; display: block; margin: 1rem 0; }
  li.top { font-weight: bold; }
</style>
</head>
<body>
<h1>Classify an image</h1>
<p id="status">Loading the model…</p>
<input type="file" id="file" accept="image/*" disabled>
<img id="preview" alt="">
<ol id="results"></ol>
<script type="module">
const status = document.getElementById('status');
const meta = await (await fetch('../metadata.json')).json();
const size = meta.imageSize;
const model = await tf.loadLayersModel('../model/model.json');
// pixels [1, size, size, 3] (0-255) -> probabilities
let predict = (pixels) => model.predict(pixels);
if (meta.kind !== 'complete') {
  // A head bundle: run the extractor, then the head on its embedding.
  const ex = meta.extractor;
  const extractorUrl = new URLSearchParams(location.search).get('extractor') || '../' + ex.bundlePath;
  let run;
  if (ex.format === 'graph-model') {
    const net = await tf.loadGraphModel(extractorUrl);
    run = (x) => (ex.embeddingOutput ? net.execute(x, ex.embeddingOutput) : net.predict(x));
  } else {
    const net = await tf.loadLayersModel(extractorUrl);
    if (ex.fineTuned) {
      // This project's fine-tuned top layers, written into the extractor by saved weight name.
      const manifest = await (await fetch('../' + ex.fineTuned.manifest)).json();
      const buf = await (await fetch('../' + ex.fineTuned.weights)).arrayBuffer();
      const byName = new Map(net.weights.map((w) => [w.originalName, w]));
      for (const e of manifest.weights) tf.tidy(() => byName.get(e.name).write(tf.tensor(new Float32Array(buf, e.offset, e.length), e.shape)));
    }
    const sub = tf.model({ inputs: net.inputs, outputs: net.getLayer(ex.embeddingOutput).output });
    run = (x) => sub.predict(x);
  }
  const mapValues = (x) => {
    if (ex.preprocessing === 'unit') return tf.div(x, 255);
    if (ex.preprocessing === 'signed') return tf.sub(tf.div(x, 127.5), 1);
    return tf.sub(tf.reverse(x, -1), tf.tensor1d([103.939, 116.779, 123.68]));
  };
  predict = (pixels) => model.predict(tf.reshape(run(mapValues(pixels)), [1, -1]));
}

/** Centre crop over the short side, bilinear resize with half-pixel centres: 0-255 floats. */
function toPixels(image) {
  return tf.tidy(() => {
    const [height, width] = image.shape;
    const side = Math.min(width, height);
    let x = tf.cast(tf.slice(image, [Math.floor((height - side) / 2), Math.floor((width - side) / 2), 0], [side, side, 3]), 'float32');
    if (side !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    return tf.expandDims(x, 0);
  });
}

async function classify(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const probs = tf.tidy(() => predict(toPixels(tf.browser.fromPixels(bitmap))).dataSync());
  bitmap.close();
  const list = document.getElementById('results');
  list.replaceChildren();
  const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]);
  order.forEach((i, rank) => {
    const li = document.createElement('li');
    li.textContent = meta.labels[i] + ': ' + (100 * probs[i]).toFixed(1) + '%';
    if (rank === 0) li.className = 'top';
    list.append(li);
  });
}

const input = document.getElementById('file');
input.disabled = false;
status.textContent = 'Ready: pick an image. Labels: ' + meta.labels.join(', ');
input.addEventListener('change', async () => {
  const file = input.files && input.files[0];
  if (!file) return;
  const preview = document.getElementById('preview');
  URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  try {
    await classify(file);
    status.textContent = 'Classified ' + file.name + '.';
  } catch (err) {
    status.textContent = 'Could not classify: ' + (err && err.message ? err.message : String(err));
  }
});
</script>
</body>
</html>
`;

export function bundleReadme(meta: Record<string, unknown>): string {
  const m = meta as {
    kind: 'complete' | 'head';
    labels: string[];
    imageSize: number;
    projectName: string | null;
    preprocessing: string[];
    extractor: { name: string; key: string; appModelUrl: string; embeddingDim: number; embeddingOutput: string; fineTuned?: { fromLayer: string; count: number } | null };
  };
  const ft = m.extractor.fineTuned;
  const complete = m.kind === 'complete';
  const parts = complete
    ? `One TF.js layers model, \`model/model.json\` + \`model/weights.bin\`: RGB pixels in (float32
\`[n, ${m.imageSize}, ${m.imageSize}, 3]\`, values 0-255, the image centre-cropped and resized), one
probability per label out, in the order of \`labels\` in \`metadata.json\`. Inside it: the value
mapping for the extractor, ${m.extractor.name} (\`${m.extractor.key}\`) up to its embedding layer
\`${m.extractor.embeddingOutput}\`${ft ? `, **fine-tuned for this project** from \`${ft.fromLayer}\` on` : ''}, and the
head trained in Glimpse. It uses TF.js's own layers only: \`tf.loadLayersModel\` reads it with
nothing registered, in a browser and in Node.

\`tm/model.json\` is the same model (it reads the same \`model/weights.bin\`) for Teachable
Machine's image library: \`tmImage.load('tm/model.json', 'metadata.json')\` then
\`model.predict(imageElement)\`. That library crops and resizes on a canvas and feeds
pixel / 127 - 1, which this variant's first layer maps back to 0-255. Its canvas resize is not
the bilinear resize described here, so its scores differ a little from the app's (checked on 5
flower photos: the same top label on all 5, probabilities within 0.002).`
    : `A classifier head trained in Glimpse, \`model/model.json\` + \`model/weights.bin\`, a TF.js
layers model of TF.js's own layers (\`tf.loadLayersModel\` reads it with nothing registered):
an embedding of ${m.extractor.embeddingDim} numbers in, one probability per label out, in the
order of \`labels\` in \`metadata.json\`. The row normalisation and standardisation are layers of
the model: feed it the raw embedding.

The embedding comes from the extractor ${m.extractor.name} (\`${m.extractor.key}\`, layer
\`${m.extractor.embeddingOutput}\`), which is **not** in this bundle: copy its \`model.json\` and
weight files into \`extractor/\` here (in the Glimpse app they are served at
\`${m.extractor.appModelUrl}\`), or point the examples at it. "Export complete model" in Glimpse
writes one model with the extractor inside instead.${ft ? `
**Fine-tuned for this project**: the extractor's layers from \`${ft.fromLayer}\` on were trained
further; their ${ft.count} weights are in \`extractor-finetuned/\` (\`manifest.json\` +
\`weights.bin\`) and both examples write them into the extractor after loading it. The head expects
embeddings of the fine-tuned network.` : ''}`;
  return `# Glimpse model${m.projectName ? `: ${m.projectName}` : ''}

${parts}

Labels: ${m.labels.map((l) => JSON.stringify(l)).join(', ')}

Preprocessing, in order:
${m.preprocessing.map((s) => `- ${s}`).join('\n')}

## Use it (no network needed)

- **Web page**: serve this folder over HTTP (\`python3 -m http.server\` or any static server) and
  open \`example/index.html\`. TF.js is \`example/tf.min.js\` in this bundle.${complete ? '' : `
  Add \`?extractor=<url of model.json>\` if the extractor is not in \`extractor/\`.`}
- **Node**: \`cd example && npm install && node classify.mjs photo.jpg\` (\`--json\` for
  machine-readable output${complete ? '' : ', `--extractor <path or URL>` for the extractor\'s model.json'}).
  It uses the npm packages \`@tensorflow/tfjs\`, \`jpeg-js\` and \`pngjs\`.

\`metadata.json\` also holds the training settings and the validation metrics.
`;
}
