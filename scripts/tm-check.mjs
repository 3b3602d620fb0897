/* global tf, tmImage */
// Does Teachable Machine's image library run a Glimpse complete-model export, and name the same
// top class? One-off check, not part of npm test (the library is not a dependency):
//   npm pack @teachablemachine/image@0.8.5 && tar xzf teachablemachine-image-0.8.5.tgz
//   node scripts/tm-check.mjs <bundle dir> package/dist/teachablemachine-image.min.js <photo>...
// In Chromium (TM's predict() draws on a canvas), every file served from memory, nothing else
// reachable: tf.min.js from the bundle, TM's library, tmImage.load('tm/model.json', metadata)
// then predict(img), against plain tf.loadLayersModel('model/model.json') on the example page's
// own crop + bilinear resize of the same decoded image.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [bundle, tmLib, ...photos] = process.argv.slice(2);
const ORIGIN = 'http://tm-check.test';
const types = { html: 'text/html', js: 'text/javascript', json: 'application/json', bin: 'application/octet-stream', jpg: 'image/jpeg', jpeg: 'image/jpeg' };
const files = new Map([
  ['/tm.min.js', fs.readFileSync(tmLib)],
  ['/index.html', Buffer.from('<!doctype html><script src="/example/tf.min.js"></script><script src="/tm.min.js"></script>')],
]);
for (const rel of ['example/tf.min.js', 'metadata.json', 'model/model.json', 'model/weights.bin', 'tm/model.json']) files.set('/' + rel, fs.readFileSync(path.join(bundle, rel)));
photos.forEach((p, i) => files.set(`/photo${i}.jpg`, fs.readFileSync(p)));

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.route('**/*', (route) => {
  const url = new URL(route.request().url());
  const body = url.origin === ORIGIN ? files.get(url.pathname) : undefined;
  if (!body) return route.abort('internetdisconnected');
  return route.fulfill({ body, contentType: types[url.pathname.split('.').pop()] ?? 'application/octet-stream' });
});
page.on('console', (m) => m.type() === 'error' && console.error('page:', m.text()));
await page.goto(`${ORIGIN}/index.html`);
const result = await page.evaluate(async (n) => {
  const meta = await (await fetch('/metadata.json')).json();
  const tmModel = await tmImage.load('/tm/model.json', '/metadata.json');
  const plain = await tf.loadLayersModel('/model/model.json');
  const size = meta.imageSize;
  const out = [];
  for (let i = 0; i < n; i++) {
    const img = new Image();
    img.src = `/photo${i}.jpg`;
    await img.decode();
    const tmPred = await tmModel.predict(img);
    const probs = tf.tidy(() => {
      const px = tf.browser.fromPixels(img);
      const [h, w] = px.shape;
      const side = Math.min(w, h);
      let x = tf.cast(tf.slice(px, [Math.floor((h - side) / 2), Math.floor((w - side) / 2), 0], [side, side, 3]), 'float32');
      if (side !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
      return Array.from(plain.predict(tf.expandDims(x, 0)).dataSync());
    });
    const tmProbs = tmPred.map((p) => p.probability);
    const top = (a) => a.indexOf(Math.max(...a));
    out.push({ tmTop: meta.labels[top(tmProbs)], plainTop: meta.labels[top(probs)], maxDiff: Math.max(...probs.map((p, k) => Math.abs(p - tmProbs[k]))) });
  }
  return { backend: tf.getBackend(), tfjs: tf.version.tfjs, out };
}, photos.length);
await browser.close();
const same = result.out.filter((r) => r.tmTop === r.plainTop).length;
console.log(JSON.stringify(result.out));
console.log(`@teachablemachine/image load()+predict() on ${photos.length} photos (TF.js ${result.tfjs}, ${result.backend}): same top class as plain tf.loadLayersModel on ${same}/${photos.length}; max |diff| of probabilities ${Math.max(...result.out.map((r) => r.maxDiff)).toFixed(4)}`);
