// Extractors are data, not code: a spec says where a model lives, how to feed it and which output
// is the embedding. The app, the eval CLI and the benchmarks all load models through these specs.
import { GlimpseError } from '../shared/errors';

export type Preprocessing = 'unit' | 'signed' | 'caffe';
export type ModelFormat = 'layers-model' | 'graph-model';

export interface ClassifierSpec {
  /** Layer (layers models) or output node (graph models) with the class scores. */
  output?: string;
  /** A separate model with the classifier, when the embedding model has none (TF Hub). */
  modelUrl?: string;
  labelsUrl: string;
  /** Index of label 0 in the output (1 for 1001-way outputs with "background" first). */
  labelOffset: number;
  /** Whether the output is already a probability (softmax) or raw logits. */
  activation: 'softmax' | 'logits';
}

export interface ExtractorSpec {
  id: string;
  version: string;
  name: string;
  /** URL of model.json (relative URLs resolve against the app, or files the user picked). */
  modelUrl: string;
  /** Read from model.json's `format` when loaded; the spec's value is what we expect. */
  format: ModelFormat;
  inputSize: number;
  preprocessing: Preprocessing;
  /** Layer name (layers model) or output node (graph model) of the pooled embedding. */
  embeddingOutput: string;
  embeddingDim: number;
  classifier?: ClassifierSpec;
  /**
   * Where the weights come from: 'bundled' ships with the app, 'remote' is fetched from another
   * origin and cached, 'user' was loaded from the user's files ('local-eval': older archives).
   */
  origin: 'bundled' | 'remote' | 'user' | 'local-eval';
  /** Offered to users in the extractor picker. */
  userFacing: boolean;
  /** Loaded only when the user asks for it (it comes from another origin). */
  optIn?: boolean;
  /**
   * Fine-tuning unfreezes this layer and everything after it up to the embedding (layers models
   * only); the cut is this layer's single input, shared by every branch of the unfrozen block.
   */
  fineTuneFrom?: string;
  /**
   * SHA-256 digest of the model's manifest (model-files.ts manifestDigest): the weights this
   * spec's version names. Bundled models pin it here (a unit test checks it against the files);
   * a model loaded from files gets it at import. Weights with another digest get another key.
   */
  weightsDigest?: string;
  note?: string;
}

const TFHUB = 'https://tfhub.dev/google/tfjs-model/imagenet/inception_v3';

export const BUILTIN_EXTRACTORS: readonly ExtractorSpec[] = [
  {
    id: 'inception-v3-2015-mixed8',
    version: '2015-12-05-mixed8-f16',
    name: 'Inception-v3 (ImageNet)',
    modelUrl: 'models/inception-v3-2015-mixed8/model.json',
    format: 'layers-model',
    inputSize: 299,
    preprocessing: 'signed',
    embeddingOutput: 'mixed_8_avgpool',
    embeddingDim: 1280,
    origin: 'bundled',
    // The first layer of block mixed_8 (it reads mixed_7): fine-tuning unfreezes the last block,
    // the 17x17 -> 8x8 grid reduction (3x3 stride-2 convolutions, BN folded into their biases).
    fineTuneFrom: 'mixed_8_tower_conv',
    // public/models/inception-v3-2015-mixed8/manifest.json (the hashes SOURCE.md lists).
    weightsDigest: '11e18dbeb2763048d693e8213eb0c0a9efd5ad5a5b7ea14867276689a30dd38e',
    userFacing: true,
    note: 'Bundled, works offline from the first start. Google’s 2015 ImageNet Inception-v3 up to block mixed_8 (1280-d).',
  },
  {
    id: 'inception-v3',
    version: 'tfhub-3',
    name: 'Inception-v3, full (TF Hub download)',
    modelUrl: `${TFHUB}/feature_vector/3/default/1/model.json?tfjs-format=file`,
    format: 'graph-model',
    inputSize: 299,
    preprocessing: 'unit',
    embeddingOutput: '',
    embeddingDim: 2048,
    classifier: {
      modelUrl: `${TFHUB}/classification/3/default/1/model.json?tfjs-format=file`,
      labelsUrl: 'models/imagenet-labels.json',
      labelOffset: 1,
      activation: 'logits',
    },
    origin: 'remote',
    userFacing: true,
    optIn: true,
    note: 'Google’s published TF.js Inception-v3 (2048-d). Downloaded from TF Hub only when you ask, then kept for offline use. The hub has refused such requests for days at a time.',
  },
  {
    id: 'resnet50-imagenet',
    version: '1.0.4-f16k',
    name: 'ResNet-50 (ImageNet)',
    modelUrl: 'models/resnet50-imagenet/model.json',
    format: 'layers-model',
    inputSize: 224,
    preprocessing: 'caffe',
    embeddingOutput: 'avg_pool',
    embeddingDim: 2048,
    classifier: {
      output: 'fc1000',
      labelsUrl: 'models/resnet50-imagenet/labels.json',
      labelOffset: 0,
      activation: 'softmax',
    },
    origin: 'bundled',
    userFacing: true,
    fineTuneFrom: 'res5a_branch2a',
    // The manifest scripts/prepare-models.mjs writes (its pinned hashes).
    weightsDigest: 'd213682758728ef7030d0fee45d978e432cfe69da0d6f375571a348f5c50e796',
    note: 'Bundled. Also names the 1,000 ImageNet classes in “What is this?”. Weights stored as float16.',
  },
  {
    id: 'inception-v3-nsfwjs',
    version: 'nsfwjs-4.4.0',
    name: 'Inception-v3 architecture (nsfwjs weights)',
    modelUrl: 'models/inception-v3-nsfwjs/model.json',
    format: 'layers-model',
    inputSize: 299,
    preprocessing: 'unit',
    embeddingOutput: 'flatten_1',
    embeddingDim: 2048,
    origin: 'bundled',
    userFacing: false,
    // The first layer of block mixed9 (it reads mixed8): fine-tuning unfreezes mixed9 and mixed10.
    // (The layer named mixed9 is that block's concatenation, which has several inputs.)
    fineTuneFrom: 'conv2d_77',
    weightsDigest: '743510c218784be6e131a297d9ae8408f34092ba4183ea78759918a0008b5a7f',
    note: 'Fine-tuned away from ImageNet: for speed measurements and layer names, poor features.',
  },
];

/** The bundled Inception-v3: chosen on first start, needs no network. */
export const DEFAULT_EXTRACTOR_ID = 'inception-v3-2015-mixed8';
/** When a chosen model cannot be loaded (e.g. the hub refuses), the app carries on with this one. */
export const FALLBACK_EXTRACTOR_ID = 'inception-v3-2015-mixed8';
/** Names the 1,000 ImageNet classes for "What is this?" when the active extractor has no classifier. */
export const LABELLER_EXTRACTOR_ID = 'resnet50-imagenet';

/**
 * Stable identity of the numbers an extractor produces: model, version and preprocessing, and the
 * weights. `weightsDigest` is the digest of the files actually loaded: when it is not the one the
 * spec pins (an update shipped other weights at the same URLs), the key names it, so embeddings
 * and heads made with other weights are never taken for these (the re-embedding path runs).
 */
export function extractorKey(spec: ExtractorSpec, weightsDigest?: string): string {
  const base = `${spec.id}@${spec.version}/${spec.preprocessing}/${spec.inputSize}`;
  return weightsDigest && weightsDigest !== spec.weightsDigest ? `${base}#${weightsDigest.slice(0, 16)}` : base;
}

/** The key without the weights part (what a spec alone can say). */
export function baseExtractorKey(key: string): string {
  const hash = key.indexOf('#');
  return hash >= 0 ? key.slice(0, hash) : key;
}

export function findExtractor(id: string): ExtractorSpec {
  const spec = BUILTIN_EXTRACTORS.find((s) => s.id === id);
  if (!spec) {
    const known = BUILTIN_EXTRACTORS.map((s) => s.id).join(', ');
    throw new GlimpseError('invalid-input', `Unknown extractor “${id}”. Known: ${known}.`);
  }
  return spec;
}

function fail(why: string): never {
  throw new GlimpseError('invalid-input', `Invalid extractor spec: ${why}`);
}

function str(o: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || (required && v.length === 0 && key !== 'embeddingOutput')) {
    fail(`“${key}” must be a non-empty string`);
  }
  return v;
}

/** Validates an untrusted spec (from a project archive or a user-picked file). */
export function parseExtractorSpec(input: unknown): ExtractorSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('not an object');
  const o = input as Record<string, unknown>;
  const format = str(o, 'format');
  if (format !== 'layers-model' && format !== 'graph-model') {
    fail('“format” must be layers-model or graph-model');
  }
  const preprocessing = str(o, 'preprocessing');
  if (preprocessing !== 'unit' && preprocessing !== 'signed' && preprocessing !== 'caffe') {
    fail('“preprocessing” must be unit, signed or caffe');
  }
  const inputSize = o.inputSize;
  if (typeof inputSize !== 'number' || !Number.isInteger(inputSize) || inputSize < 32 || inputSize > 1024) {
    fail('“inputSize” must be an integer from 32 to 1024');
  }
  const embeddingDim = o.embeddingDim;
  // 0: measured when the model loads (a model the user picked from files).
  if (typeof embeddingDim !== 'number' || !Number.isInteger(embeddingDim) || embeddingDim < 0 || embeddingDim > 65536) {
    fail('“embeddingDim” must be a whole number from 0 (measured at load) to 65536');
  }
  const origin = o.origin ?? 'remote';
  if (origin !== 'bundled' && origin !== 'remote' && origin !== 'user' && origin !== 'local-eval') fail('bad “origin”');
  const spec: ExtractorSpec = {
    id: str(o, 'id')!,
    version: str(o, 'version')!,
    name: str(o, 'name', false) ?? String(o.id),
    modelUrl: str(o, 'modelUrl')!,
    format,
    inputSize,
    preprocessing,
    embeddingOutput: str(o, 'embeddingOutput')!,
    embeddingDim,
    origin,
    userFacing: o.userFacing === true,
  };
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(spec.id)) fail('“id” may use a-z, 0-9, “.”, “_” and “-”');
  if (o.weightsDigest !== undefined) {
    if (typeof o.weightsDigest !== 'string' || !/^[0-9a-f]{64}$/.test(o.weightsDigest)) fail('“weightsDigest” must be 64 hex digits');
    spec.weightsDigest = o.weightsDigest;
  }
  if (o.classifier !== undefined) {
    const c = o.classifier as Record<string, unknown>;
    if (typeof c !== 'object' || c === null) fail('“classifier” must be an object');
    const offset = c.labelOffset ?? 0;
    if (offset !== 0 && offset !== 1) fail('“classifier.labelOffset” must be 0 or 1');
    const activation = c.activation ?? 'softmax';
    if (activation !== 'softmax' && activation !== 'logits') fail('bad “classifier.activation”');
    const classifier: ClassifierSpec = { labelsUrl: str(c, 'labelsUrl')!, labelOffset: offset, activation };
    const output = str(c, 'output', false);
    const modelUrl = str(c, 'modelUrl', false);
    if (output === undefined && modelUrl === undefined) fail('classifier needs “output” or “modelUrl”');
    if (output !== undefined) classifier.output = output;
    if (modelUrl !== undefined) classifier.modelUrl = modelUrl;
    spec.classifier = classifier;
  }
  return spec;
}

/**
 * Whether an extractor can be fine-tuned, and in words why (not). `loaded` is the format of the
 * model as loaded (model.json's own), when there is one; the app asks before loading with the spec's.
 */
export function fineTuneSupport(spec: ExtractorSpec | undefined, loaded?: ModelFormat): { ok: boolean; reason: string } {
  if (!spec) return { ok: false, reason: 'No model is loaded.' };
  if ((loaded ?? spec.format) === 'graph-model') {
    return { ok: false, reason: `${spec.name} is a graph model: its layers and weights are frozen into the graph, so it cannot be fine-tuned. Switch to ResNet-50 in Settings to fine-tune.` };
  }
  if (!spec.fineTuneFrom) return { ok: false, reason: `${spec.name} names no layers to unfreeze, so it cannot be fine-tuned.` };
  return { ok: true, reason: `Unfreezes ${spec.name} from layer ${spec.fineTuneFrom} to the embedding.` };
}
