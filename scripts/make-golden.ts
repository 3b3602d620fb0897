// Writes tests/fixtures/golden/inception-v3-2015-mixed8-daisy.json: the bundled Inception-v3's
// embedding of one real photo, computed on TF.js's plain-JS CPU backend (a reference the WASM and
// GPU kernels are checked against). Run: npx tsx scripts/make-golden.ts
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, sharedRoot } from './lib/node-env';

const PHOTO = 'flower_photos/daisy/' + fs.readdirSync(path.join(sharedRoot, 'datasets', 'flower_photos', 'daisy')).sort()[0];

await initNodeBackend('cpu');
const ex = await loadNodeExtractor('inception-v3-2015-mixed8');
const r = await ex.embed([await decodeImageFile(path.join(sharedRoot, 'datasets', PHOTO))]);
const vector = Array.from(r.embeddings[0]!, (v) => Number(v.toPrecision(7)));
const out = path.join(repoRoot, 'tests', 'fixtures', 'golden', 'inception-v3-2015-mixed8-daisy.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ extractor: ex.key, backend: 'cpu', photo: PHOTO, vector }) + '\n');
ex.dispose();
console.log(`wrote ${out} (${vector.length} values)`);
