// npm run eval -- --extractor <id> --train <dir> --test <dir> [--json <file>] [--head default|tm]
// npm run eval -- --extractor <id> --data <dir> [--holdout 0.2]   (splits each class by stable hash)
// npm run eval -- --extractor <id> --test <imagenet-style dir>      (top-1/top-5 of the ImageNet classifier)
// --max-rows N: train on the class-balanced subsample of at most N training files that the app uses
//   above its training-row limit (src/dataset/subsample.ts), to measure what the subsample costs.
// --export <dir> (with --train or --data): writes the app's model bundle (the head alone; with
//   --complete one model from pixels to probabilities, extractor included) and checks it back with
//   plain tf.loadLayersModel on the test set (scripts/lib/eval-export.ts).
// --test alone: class folders are ImageNet synsets or label names; the class index always comes
//   from the model's own labels (scripts/lib/imagenet-index.ts). Class folders may be symbolic
//   links; an empty or unreadable set is an error (exit code 1).
// --augment: the training files also contribute their 5 deterministic variants (flip, 2 crops,
//   zoom, brighter; src/train/augment.ts), training rows only, exactly as the app does. Variant
//   embeddings are cached in .cache/embeddings/<key>#aug1.
// --finetune (layers-model extractors with fineTuneFrom): after the head, fine-tunes the top of the
//   network (src/train/finetune.ts) on the frozen part's activations, early stopping on the head's
//   validation split, and reports the test accuracy of the fine-tuned model as well. Activations
//   are held in memory (ResNet-50: 784 KiB per image): use --limit on large sets. Experiments:
//   --ft-json, --ft-from, --ft-grid (scripts/lib/eval-finetune.ts).
// --backend wasm|cpu|webgpu (default wasm, or GLIMPSE_BACKEND): webgpu only in the Dawn bundle
//   (node bench/gpu/build-eval.mjs, which imports bench/gpu/dawn-setup.ts first).
//
// Uses the app's own modules: specs, loader, preprocessing, extractor, split, head and metrics.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_EXTRACTOR_ID } from '../src/embed/specs';
import * as tf from '@tensorflow/tfjs';
import { stratifiedSplit } from '../src/dataset/split';
import { trainingSubsample } from '../src/dataset/subsample';
import type { Extractor } from '../src/embed/extractor';
import { defaultHeadSettings } from '../src/train/head';
import { fitHead, type HeadRecipe } from '../src/train/fit';
import { argmaxRows, computeMetrics } from '../src/train/metrics';
import { predictHead } from '../src/train/head';
import { EmbeddingCache, listImageFolder, type LabelledFile } from './lib/dataset-files';
import { decodeImageFile, initNodeBackend, withSyncReads, loadNodeExtractor, repoRoot, resolveModelPath } from './lib/node-env';
import { exportAndCheck } from './lib/eval-export';
import { imagenetTable, labelIndex } from './lib/imagenet-index';
import { isGlimpseError } from '../src/shared/errors';
import { AUGMENT_VARIANTS, augmentKey, augmentToBatch } from '../src/embed/augment';
import type { FineTuneOptions } from '../src/train/finetune';
import { runFineTune } from './lib/eval-finetune';

const { values: args } = parseArgs({
  options: {
    extractor: { type: 'string', default: DEFAULT_EXTRACTOR_ID },
    train: { type: 'string' },
    test: { type: 'string' },
    data: { type: 'string' },
    holdout: { type: 'string', default: '0.2' },
    json: { type: 'string' },
    head: { type: 'string', default: 'default' },
    kind: { type: 'string', default: 'softmax' },
    batch: { type: 'string', default: '8' },
    limit: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    // Overrides of the default head settings, for tuning experiments (the app uses the defaults).
    l2: { type: 'string' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    patience: { type: 'string' },
    'val-share': { type: 'string' },
    export: { type: 'string' },
    complete: { type: 'boolean', default: false },
    augment: { type: 'boolean', default: false },
    // Few-shot runs: keep only the first N training files of each class (the test set is untouched).
    'per-class': { type: 'string' },
    // The app's training-row limit forced lower (dataset/subsample.ts): trains on a class-balanced
    // subsample of at most N training files, as the app does above MAX_TRAINING_ROWS.
    'max-rows': { type: 'string' },
    finetune: { type: 'boolean', default: false },
    // Overrides of the app's recipe (src/train/finetune-recipe.ts), for experiments.
    'ft-lr': { type: 'string' },
    'ft-epochs': { type: 'string' },
    'ft-json': { type: 'string' },
    'ft-from': { type: 'string' },
    'ft-grid': { type: 'string' },
    // wasm (default), cpu, or webgpu (only in the Dawn bundle: node bench/gpu/build-eval.mjs).
    backend: { type: 'string', default: process.env.GLIMPSE_BACKEND ?? 'wasm' },
  },
});

const warnings: string[] = [];
const warn = (m: string) => {
  warnings.push(m);
  console.warn(`warning: ${m}`);
};
const log = (m: string) => {
  if (!args.quiet) console.log(m);
};

interface Embedded {
  file: LabelledFile;
  vector: Float32Array;
  top?: number[];
}

async function embedAll(ex: Extractor, files: LabelledFile[], wantTop: boolean): Promise<Embedded[]> {
  const cache = new EmbeddingCache(path.join(repoRoot, '.cache', 'embeddings'), ex.key);
  const out: Embedded[] = [];
  const todo: { file: LabelledFile; hash: string }[] = [];
  for (const file of files) {
    const hash = await EmbeddingCache.hashFile(file.file);
    const hit = wantTop ? null : await cache.get(hash, ex.spec.embeddingDim);
    if (hit) out.push({ file, vector: hit });
    else todo.push({ file, hash });
  }
  const batch = Math.max(1, Number(args.batch));
  const t0 = performance.now();
  let done = 0;
  for (let i = 0; i < todo.length; i += batch) {
    const chunk = todo.slice(i, i + batch);
    const decoded: { item: (typeof chunk)[number]; px: Awaited<ReturnType<typeof decodeImageFile>> }[] = [];
    for (const item of chunk) {
      try {
        decoded.push({ item, px: await decodeImageFile(item.file.file) });
      } catch (err) {
        warn(`${item.file.id}: ${isGlimpseError(err) ? err.message : String(err)}`);
      }
    }
    if (decoded.length === 0) continue;
    const r = await ex.embed(decoded.map((d) => d.px), wantTop ? { topK: 5 } : {});
    for (const [j, d] of decoded.entries()) {
      const vector = r.embeddings[j]!;
      await cache.put(d.item.hash, vector);
      const e: Embedded = { file: d.item.file, vector };
      if (r.top) e.top = r.top[j]!.map((t) => t.index);
      out.push(e);
    }
    done += decoded.length;
    if (!args.quiet && (done % 80 < batch || i + batch >= todo.length)) {
      const rate = done / ((performance.now() - t0) / 1000);
      process.stdout.write(`  embedded ${done}/${todo.length} (${rate.toFixed(1)} images/s)\n`);
    }
  }
  const order = new Map(files.map((f, i) => [f.id, i]));
  return out.sort((a, b) => order.get(a.file.id)! - order.get(b.file.id)!);
}

/** Variant embeddings of each file (count x dim), cached by file hash under the augment key. */
async function embedVariants(ex: Extractor, files: LabelledFile[]): Promise<{ ids: string[]; x: Float32Array }> {
  const count = AUGMENT_VARIANTS.length;
  const dim = ex.spec.embeddingDim;
  const cache = new EmbeddingCache(path.join(repoRoot, '.cache', 'embeddings'), augmentKey(ex.key));
  const ids: string[] = [];
  const parts: Float32Array[] = [];
  let computed = 0;
  const t0 = performance.now();
  for (const file of files) {
    const hash = await EmbeddingCache.hashFile(file.file);
    let v = await cache.get(hash, count * dim);
    if (!v) {
      try {
        const px = await decodeImageFile(file.file);
        const batch = augmentToBatch(px, ex.spec.inputSize, ex.spec.preprocessing);
        const out = ex.embedTensor(batch);
        batch.dispose();
        v = (await out.data()) as Float32Array;
        out.dispose();
        await cache.put(hash, v);
        computed++;
        if (!args.quiet && computed % 40 === 0) log(`  augmented ${computed} images (${(computed / ((performance.now() - t0) / 1000)).toFixed(1)} images/s)`);
      } catch (err) {
        warn(`${file.id} (augment): ${isGlimpseError(err) ? err.message : String(err)}`);
        continue;
      }
    }
    for (let c = 0; c < count; c++) ids.push(file.id);
    parts.push(v);
  }
  const x = new Float32Array(parts.length * count * dim);
  parts.forEach((p, i) => x.set(p, i * count * dim));
  return { ids, x };
}

/** The model's classifier labels, in output order (the map for --test comes from them). */
async function modelLabels(ex: Extractor): Promise<string[]> {
  const url = ex.spec.classifier?.labelsUrl;
  if (!url) throw new Error(`${ex.spec.id} has no ImageNet classifier: give --train too.`);
  return JSON.parse(await fs.readFile(resolveModelPath(url), 'utf8')) as string[];
}

function limitFiles(files: LabelledFile[]): LabelledFile[] {
  let out = files;
  if (args['per-class']) {
    const cap = Number(args['per-class']);
    const seen = new Map<string, number>();
    out = out.filter((f) => {
      const k = (seen.get(f.className) ?? 0) + 1;
      seen.set(f.className, k);
      return k <= cap;
    });
  }
  return args.limit ? out.slice(0, Number(args.limit)) : out;
}

async function main(): Promise<void> {
  if (!args.train && !args.data && !args.test) throw new Error('Give --test <dir> (with --train <dir>, or alone for ImageNet top-1/top-5), or --data <dir>.');
  // The folders first: a wrong path fails before the model loads.
  const imagenetOnly = !args.train && !args.data;
  const testListed = args.test ? await listImageFolder(args.test, warn) : null;
  const backend = await initNodeBackend(args.backend);
  const extractor = await loadNodeExtractor(args.extractor!);
  log(`extractor ${extractor.key}, backend ${backend}`);
  const result: Record<string, unknown> = { extractor: extractor.key, backend };

  if (imagenetOnly) {
    if (!extractor.hasClassifier) throw new Error(`${args.extractor} has no ImageNet classifier: give --train too.`);
    const index = labelIndex(await modelLabels(extractor), await imagenetTable());
    const unknown = new Set(testListed!.classes.filter((c) => index.indexOf(c) === undefined));
    for (const c of unknown) warn(`${c} names no class of ${args.extractor} (neither an ImageNet synset nor one of its labels): skipped`);
    const known = testListed!.files.filter((f) => !unknown.has(f.className));
    if (known.length === 0) throw new Error(`No test image in ${args.test} belongs to a class of ${args.extractor}: name the folders by ImageNet synset (n01443537) or by the model's label (goldfish).`);
    const embedded = await embedAll(extractor, limitFiles(known), true);
    if (embedded.length === 0) throw new Error(`None of the test images in ${args.test} could be decoded.`);
    let top1 = 0;
    let top5 = 0;
    const n = embedded.length;
    for (const e of embedded) {
      const truth = index.indexOf(e.file.className)!;
      if (e.top?.[0] === truth) top1++;
      if (e.top?.includes(truth)) top5++;
    }
    Object.assign(result, { top1: top1 / n, top5: top5 / n, n, warnings });
    await writeJson(result);
    console.log(`top1: ${(top1 / n).toFixed(4)} top5: ${(top5 / n).toFixed(4)} (n=${n})`);
    extractor.dispose();
    return;
  }

  let trainFiles: LabelledFile[];
  let testFiles: LabelledFile[];
  let classes: string[];
  if (args.data) {
    const listed = await listImageFolder(args.data, warn);
    classes = listed.classes;
    // A held-out split by stable hash of "<class>/<file>", salted so it is independent of the
    // validation split the head makes inside the training files.
    const split = stratifiedSplit(
      listed.files.map((f) => ({ ...f, classId: f.className })),
      Number(args.holdout),
      'holdout:',
    );
    trainFiles = split.train;
    testFiles = split.validation;
  } else {
    const tr = await listImageFolder(args.train!, warn);
    const te = testListed!;
    classes = tr.classes;
    trainFiles = tr.files;
    testFiles = te.files.filter((f) => {
      if (classes.includes(f.className)) return true;
      warn(`test class ${f.className} is not among the training classes`);
      return false;
    });
  }
  trainFiles = limitFiles(trainFiles);
  if (trainFiles.length === 0 || testFiles.length === 0) throw new Error(`The ${trainFiles.length === 0 ? 'training' : 'test'} set is empty.`);
  const trainEmb = await embedAll(extractor, trainFiles, false);
  const testEmb = await embedAll(extractor, testFiles, false);
  const dim = extractor.spec.embeddingDim;
  const pack = (rows: Embedded[]) => {
    const x = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => x.set(r.vector, i * dim));
    return { x, labels: Int32Array.from(rows.map((r) => classes.indexOf(r.file.className))), ids: rows.map((r) => r.file.id) };
  };
  const picked = args['max-rows'] === undefined ? null : trainingSubsample(trainEmb.map((e) => e.file.id), trainEmb.map((e) => e.file.className), Number(args['max-rows']));
  const tr = pack(picked ? picked.map((i) => trainEmb[i]!) : trainEmb);
  const te = pack(testEmb);
  const recipe: HeadRecipe = args.head === 'tm' ? 'tm' : 'default';
  const settings = defaultHeadSettings(args.kind === 'mlp' ? 'mlp' : 'softmax');
  if (args.l2 !== undefined) settings.l2 = Number(args.l2);
  if (args.lr !== undefined) settings.learningRate = Number(args.lr);
  if (args.epochs !== undefined) settings.epochs = Number(args.epochs);
  if (args.patience !== undefined) settings.earlyStoppingPatience = Number(args.patience);
  if (args['val-share'] !== undefined) settings.validationShare = Number(args['val-share']);
  const augment = args.augment ? await embedVariants(extractor, trainEmb.map((e) => e.file)) : undefined;
  const fit = await withSyncReads(() => fitHead({ ids: tr.ids, labels: tr.labels, x: tr.x, dim }, classes.length, settings, { recipe, ...(augment ? { augment } : {}) }));
  const probs = await withSyncReads(() => predictHead(fit.head, te.x, te.ids.length));
  const pred = argmaxRows(probs, classes.length);
  const metrics = computeMetrics(te.labels, pred, classes.length);
  Object.assign(result, {
    head: recipe === 'tm' ? 'teachable-machine (dense 100 relu + softmax, adam 1e-3, 50 epochs, batch 16)' : `default ${settings.kind}`,
    classes,
    n_train: tr.ids.length,
    n_test: te.ids.length,
    accuracy: metrics.accuracy,
    perClass: Object.fromEntries(classes.map((c, i) => [c, metrics.perClass[i]])),
    confusion: metrics.confusion,
    validationAccuracy: fit.validation?.accuracy ?? null,
    trainMs: Math.round(fit.trainMs),
    bestEpoch: fit.head.bestEpoch,
    augment: args.augment ? { variants: [...AUGMENT_VARIANTS], nAugmented: fit.nAugmented } : false,
    warnings,
  });
  if (args.finetune) {
    // Fine-tuning starts from the head that never saw the validation rows (no refit), so early
    // stopping on them is honest.
    const selected = await withSyncReads(() => fitHead({ ids: tr.ids, labels: tr.labels, x: tr.x, dim }, classes.length, settings, { recipe, refit: false, ...(augment ? { augment } : {}) }));
    const overrides: FineTuneOptions = {
      ...(args['ft-json'] ? (JSON.parse(args['ft-json']) as FineTuneOptions) : {}),
      ...(args['ft-lr'] !== undefined ? { learningRate: Number(args['ft-lr']) } : {}),
      ...(args['ft-epochs'] !== undefined ? { epochs: Number(args['ft-epochs']) } : {}),
    };
    result.finetune = await runFineTune(extractor, trainEmb.map((e) => e.file), testEmb.map((e) => e.file), classes, selected, {
      batch: Math.max(1, Number(args.batch)),
      overrides,
      ...(args['ft-from'] ? { from: args['ft-from'] } : {}),
      ...(args['ft-grid'] ? { grid: args['ft-grid'] } : {}),
      log,
      warn,
    });
    await writeJson(result);
  }
  await writeJson(result);
  if (args.export) {
    const check = await exportAndCheck(args.export, fit.head, classes, extractor, { validation: fit.validation, trainMs: fit.trainMs }, args.complete, { files: testEmb.map((e) => e.file.file), x: te.x, labels: te.labels });
    result.export = check;
    await writeJson(result);
    console.log(
      `export: ${check.kind} model in ${check.dir}, loaded back with plain tf.loadLayersModel: accuracy ${check.accuracy.toFixed(4)} (app ${check.appAccuracy.toFixed(4)}), same top class ${check.sameTop}/${check.n}, max |diff| vs the app's probabilities ${check.maxAbsDiff.toExponential(2)}`,
    );
  }
  log(`head ${String(result.head)}: trained in ${Math.round(fit.trainMs)} ms (best epoch ${fit.head.bestEpoch}), validation ${fit.validation ? fit.validation.accuracy.toFixed(4) : 'n/a'}`);
  console.log(`accuracy: ${metrics.accuracy.toFixed(4)} (n_test=${te.ids.length})`);
  extractor.dispose();
  if (tf.memory().numTensors > 0) log(`(tensors still alive: ${tf.memory().numTensors})`);
}

async function writeJson(result: Record<string, unknown>): Promise<void> {
  if (!args.json) return;
  await fs.mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
  await fs.writeFile(args.json, JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  console.error(`eval failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
