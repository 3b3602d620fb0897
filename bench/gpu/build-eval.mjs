// Bundles `npm run eval` (scripts/eval.ts, the app's own modules) with TF.js's WebGPU backend and
// Dawn's navigator.gpu (bench/gpu/eval-gpu.ts) into one file for a machine without npm:
//
//   node bench/gpu/build-eval.mjs      -> .cache/eval-gpu/eval-gpu.mjs
//
// Run it from a checkout so that the bundle's repository root (two folders up) holds public/models:
//   GLIMPSE_DAWN_NODE=<dawn.node> <node 20> .cache/eval-gpu/eval-gpu.mjs --backend webgpu --train ... --finetune
// Without dawn.node (GLIMPSE_DAWN_NODE=off) the same bundle runs on wasm or cpu, which is how it is
// checked against `npm run eval` here. esbuild comes from the app's own devDependencies (Vite).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const out = path.join(repo, '.cache', 'eval-gpu', 'eval-gpu.mjs');

await esbuild.build({
  entryPoints: [path.join(here, 'eval-gpu.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  banner: {
    // CommonJS dependencies call require() for Node built-ins; the WASM backend's loader reads __dirname.
    js: [
      "import { createRequire as __cr } from 'node:module';",
      "import { fileURLToPath as __fu } from 'node:url';",
      "import { dirname as __dn } from 'node:path';",
      'const require = __cr(import.meta.url);',
      'const __filename = __fu(import.meta.url);',
      'const __dirname = __dn(__filename);',
    ].join(' '),
  },
  define: { 'process.env.GLIMPSE_DAWN_BUNDLE': '"1"' },
  logLevel: 'warning',
  legalComments: 'none',
});
console.log(`[build-eval] ${path.relative(repo, out)} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB)`);
