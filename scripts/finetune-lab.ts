// Fine-tuning recipe lab (issue 18): the frozen part's activations of every photo of a dataset are
// computed once and cached as float16 under .cache/finetune-lab/, then recipes are tried on them
// (src/train/finetune.ts with FINE_TUNE_RECIPE, overridden by a JSON object), reporting validation
// (the head's 20 % split of the training files) and test (eval's 20 % held-out split) accuracy,
// the test also with flip averaging, and time per epoch. Decide by validation, not test.
//   npx tsx scripts/finetune-lab.ts acts flower_photos
//   npx tsx scripts/finetune-lab.ts run flower_photos '{"augment":null,"epochs":6}'
// The float16 cache rounds activations (about 3 significant digits): numbers differ slightly from
// `npm run eval -- --finetune`, which computes them in float32 each run.
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { listImageFolder } from './lib/dataset-files';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, sharedRoot } from './lib/node-env';
import { FINE_TUNE_RECIPE, bottomActivations, embedActivations, fineTune, splitForFineTune, tunedHead, type ActivationSet, type FineTuneOptions } from '../src/train/finetune';
import { imagesToBatch } from '../src/embed/preprocess';
import { stratifiedSplit } from '../src/dataset/split';
import { defaultHeadSettings, predictHead } from '../src/train/head';
import { fitHead } from '../src/train/fit';
import { argmaxRows } from '../src/train/metrics';

const [command, datasetArg, json = '{}', extractorId = 'inception-v3-2015-mixed8'] = process.argv.slice(2);
if ((command !== 'acts' && command !== 'run') || !datasetArg) throw new Error('usage: finetune-lab.ts acts|run <dataset> [json options] [extractor]');
const dataset: string = datasetArg;
const cacheDir = (d: string, e: string) => path.join(repoRoot, '.cache', 'finetune-lab', `${e}-${d}`);
await initNodeBackend();
const ex = await loadNodeExtractor(extractorId);
const split = splitForFineTune(ex.layersModel!, ex.spec.fineTuneFrom!, ex.spec.embeddingOutput);

async function acts(): Promise<void> {
  const dir = path.join(sharedRoot, 'datasets', dataset);
  const out = cacheDir(dataset, extractorId);
  const listed = await listImageFolder(dir, console.warn);
  const size = split.activationShape.reduce((a, b) => a * b, 1);
  await fs.mkdir(out, { recursive: true });
  const fh = await fs.open(path.join(out, 'x.f16'), 'a');
  const done = (await fh.stat()).size / (size * 2);
  console.log(dataset, listed.files.length, 'files, shape', split.activationShape, 'already', done);
  const t0 = performance.now();
  const B = 4;
  for (let i = done; i < listed.files.length; i += B) {
    const chunk = listed.files.slice(i, i + B);
    const px = await Promise.all(chunk.map((f) => decodeImageFile(f.file)));
    const input = imagesToBatch(px, ex.spec.inputSize, ex.spec.preprocessing);
    const a = await bottomActivations(split, input);
    input.dispose();
    const h = new Uint16Array(a.length);
    // float16 (round to nearest): halves the cache
    const f32 = new Float32Array(1); const u32 = new Uint32Array(f32.buffer);
    for (let k = 0; k < a.length; k++) { f32[0] = a[k]!; const x = u32[0]!; const s = (x >>> 16) & 0x8000; let e = ((x >>> 23) & 0xff) - 127 + 15; let m = x & 0x7fffff;
      if (e <= 0) { h[k] = s; continue; } if (e >= 31) { h[k] = s | 0x7c00; continue; }
      m += 0x1000; if (m & 0x800000) { m = 0; e++; if (e >= 31) { h[k] = s | 0x7c00; continue; } } h[k] = s | (e << 10) | (m >>> 13); }
    await fh.write(Buffer.from(h.buffer));
    if ((i / B) % 10 === 0) console.log(`${i + chunk.length}/${listed.files.length} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await fh.close();
  await fs.writeFile(path.join(out, 'index.json'), JSON.stringify({ shape: split.activationShape, files: listed.files.map((f) => f.id), classes: listed.classes }));
  console.log('done', ((performance.now() - t0) / 1000).toFixed(0), 's');
}

async function run(): Promise<void> {
  const opts = { ...FINE_TUNE_RECIPE, ...(JSON.parse(json) as FineTuneOptions) };
  const dir = cacheDir(dataset, extractorId);
  const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as { shape: number[]; files: string[]; classes: string[] };
  const size = index.shape.reduce((a, b) => a * b, 1);
  const raw = await fs.readFile(path.join(dir, 'x.f16'));
  const h = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  function f16(v: number): number { const s = v & 0x8000 ? -1 : 1; const e = (v >> 10) & 31; const m = v & 1023; if (e === 0) return s * m * 2 ** -24; if (e === 31) return s * Infinity; return s * (1 + m / 1024) * 2 ** (e - 15); }
  const lut = new Float32Array(65536); for (let i = 0; i < 65536; i++) lut[i] = f16(i);
  const all = new Float32Array(h.length); for (let i = 0; i < h.length; i++) all[i] = lut[h[i]!]!;
  const files = index.files.map((id, row) => ({ id, classId: id.split('/')[0]!, row }));
  const classes = index.classes;
  const hold = stratifiedSplit(files, 0.2, 'holdout:');
  const set = (rows: number[]): ActivationSet => { const x = new Float32Array(rows.length * size); rows.forEach((r, i) => x.set(all.subarray(r * size, (r + 1) * size), i * size)); return { x, y: Int32Array.from(rows, (r) => classes.indexOf(files[r]!.classId)), n: rows.length }; };
  const trainRows = hold.train.map((t) => t.row);
  const testRows = hold.validation.map((t) => t.row);
  const trAll = set(trainRows);
  const te = set(testRows);
  const dim = ex.spec.embeddingDim;
  const t0 = performance.now();
  const trEmb = await embedActivations(split, trAll);
  const teEmb = await embedActivations(split, te);
  console.log(`embeddings ${Math.round(performance.now() - t0)} ms`);
  const ids = trainRows.map((r) => files[r]!.id);
  const settings = defaultHeadSettings('softmax');
  const full = await fitHead({ ids, labels: trAll.y, x: trEmb, dim }, classes.length, settings);
  const sel = await fitHead({ ids, labels: trAll.y, x: trEmb, dim }, classes.length, settings, { refit: false });
  const acc = (p: Float32Array, y: Int32Array) => { const a = argmaxRows(p, classes.length); let r = 0; a.forEach((v, i) => { if (v === y[i]) r++; }); return r / y.length; };
  console.log(`head alone (refit): test ${acc(predictHead(full.head, teEmb, te.n), te.y).toFixed(4)}; starting head: val ${sel.validation?.accuracy.toFixed(4)} test ${acc(predictHead(sel.head, teEmb, te.n), te.y).toFixed(4)}`);
  const isVal = new Set(sel.validationRows);
  const tr = set(trainRows.filter((_, i) => !isVal.has(i)));
  const va = set(trainRows.filter((_, i) => isVal.has(i)));
  console.log(`train ${tr.n} val ${va.n} test ${te.n}; options ${JSON.stringify(opts)}`);
  const t1 = performance.now();
  const res = await fineTune(split, sel.head, tr, va, { ...opts, onEpoch: (r) => console.log(`  epoch ${r.epoch}: loss ${r.loss.toFixed(4)} val loss ${r.valLoss?.toFixed(4)} val acc ${r.valAccuracy?.toFixed(4)} (${Math.round(performance.now() - t1)} ms) rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`) });
  console.log(`  initial val loss ${res.initial?.valLoss.toFixed(4)} val acc ${res.initial?.valAccuracy.toFixed(4)}; best epoch ${res.bestEpoch}`);
  const head = tunedHead(res, sel.head);
  const p = predictHead(head, await embedActivations(split, te), te.n);
  const flipped = { ...te, x: new Float32Array(te.x.length) };
  const [H, W, C] = index.shape as [number, number, number];
  for (let n = 0; n < te.n; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) flipped.x.set(te.x.subarray(((n * H + y) * W + (W - 1 - x)) * C, ((n * H + y) * W + (W - 1 - x)) * C + C), ((n * H + y) * W + x) * C);
  const pf = predictHead(head, await embedActivations(split, flipped), te.n);
  const avg = p.map((v, i) => (v + pf[i]!) / 2);
  console.log(`RESULT ${dataset} ${json}: best ${res.bestEpoch} (beats the head alone: ${res.beatsHead}) val ${res.history[res.bestEpoch - 1]?.valAccuracy?.toFixed(4)} test ${acc(p, te.y).toFixed(4)} test+flip ${acc(avg, te.y).toFixed(4)} | ${Math.round((performance.now() - t1) / res.history.length)} ms/epoch, tensors ${tf.memory().numTensors}`);
}

await (command === 'acts' ? acts() : run());
