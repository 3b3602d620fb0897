// The model export, two kinds, both TF.js layers models of built-in layers only (plain
// `tf.loadLayersModel` reads them with nothing registered):
// - 'head': the trained head alone, RAW embeddings in (row normalisation and standardisation are
//   layers of the model, see train/head-predict.ts); the caller runs the extractor named in
//   metadata.json.
// - 'complete': one model from 0-255 pixels [n, size, size, 3] to probabilities (complete-model.ts),
//   with the fine-tuned weights when the project has them; tm/model.json is the same model for
//   Teachable Machine's image library (it feeds pixel / 127 - 1).
// metadata.json follows Teachable Machine's image metadata (labels, imageSize, modelName, ...)
// plus our own fields. The examples (a web page and a Node script) use nothing but TF.js: the
// page loads example/tf.min.js from the zip, so it works offline. The same files come out of the
// app (a .zip download) and of `npm run eval -- ... --export <dir> [--complete]`.
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import type { ExtractorSpec } from '../embed/specs';
import { extractorKey as keyOf } from '../embed/specs';
import { headToLayersModel } from '../train/head-predict';
import { buildCompleteModel, disposeComplete, tmRescale, withInputRescale } from './complete-model';
import type { TrainedHead } from '../train/head-types';
import { GlimpseError } from '../shared/errors';
import { EXAMPLE_HTML, EXAMPLE_NODE, EXAMPLE_PACKAGE_JSON, bundleReadme } from './model-examples';
import type { Metrics } from '../train/metrics';
import type { HeadSettings } from '../train/head-types';
import { APP_VERSION } from './version';

export const MODEL_FORMAT = 'glimpse-model';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelBundleInput {
  head: TrainedHead;
  /** Class names in output order. */
  classNames: string[];
  /** Class ids in output order (Glimpse's own, for reference). */
  classIds?: string[];
  extractor: ExtractorSpec;
  /** Key the head's embeddings were made with: must be the extractor's. */
  extractorKey: string;
  /** The bytes of TF.js's tf.min.js, shipped as example/tf.min.js so the page needs no network. */
  tfjsScript: Uint8Array;
  /** With the loaded extractor: the 'complete' kind (pixels in); without: the head alone. */
  complete?: { extractor: tf.LayersModel } | null;
  onProgress?: (p: { phase: 'build' | 'weights' }) => void;
  metrics?: { validation: Metrics | null; trainMs: number; settings?: HeadSettings } | null;
  projectName?: string;
  /**
   * The project's fine-tuned network: the extractor's top-layer weights after fine-tuning (by saved
   * variable name). `head` must then be the head trained with them (it takes embeddings of the
   * fine-tuned network). The bundle carries the weights; the examples write them into the
   * extractor after loading it.
   */
  fineTuned?: { fromLayer: string; weights: { name: string; shape: number[]; data: Float32Array }[]; metrics?: unknown } | null;
}

export const FINE_TUNED_MANIFEST = 'extractor-finetuned/manifest.json';
export const FINE_TUNED_WEIGHTS = 'extractor-finetuned/weights.bin';

/** The fine-tuned top's weights as one little-endian float32 file and a manifest of offsets. */
function packFineTuned(weights: { name: string; shape: number[]; data: Float32Array }[]): { manifest: Uint8Array; bin: Uint8Array } {
  const total = weights.reduce((a, w) => a + w.data.length, 0);
  const all = new Float32Array(total);
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let o = 0;
  for (const w of weights) {
    all.set(w.data, o);
    entries.push({ name: w.name, shape: [...w.shape], offset: o * 4, length: w.data.length });
    o += w.data.length;
  }
  return { manifest: new TextEncoder().encode(JSON.stringify({ dtype: 'float32', littleEndian: true, weights: entries }, null, 1)), bin: new Uint8Array(all.buffer) };
}

const PREPROCESSING: Record<ExtractorSpec['preprocessing'], string> = {
  unit: 'RGB / 255 (values in [0, 1])',
  signed: 'RGB / 127.5 - 1 (values in [-1, 1])',
  caffe: 'RGB -> BGR, then subtract the ImageNet means [103.939, 116.779, 123.68]; no scaling',
};

/** Where the head bundle's examples look for the extractor unless told otherwise. */
export const EXTRACTOR_DIR = 'extractor/model.json';

export function modelMetadata(input: ModelBundleInput): Record<string, unknown> {
  const { head, extractor: spec } = input;
  const complete = Boolean(input.complete);
  const size = spec.inputSize;
  const steps = [
    'decode the image to RGB (browsers apply EXIF orientation; do the same)',
    'centre-crop to a square over the full short side',
    `resize to ${size} x ${size}, bilinear with half-pixel centres (alignCorners false)`,
  ];
  const now = new Date().toISOString();
  return {
    // Teachable Machine's image metadata (@teachablemachine/image reads these).
    tfjsVersion: tf.version.tfjs,
    packageVersion: APP_VERSION,
    packageName: 'glimpse',
    modelName: input.projectName ?? 'untitled',
    timeStamp: now,
    labels: [...input.classNames],
    imageSize: size,
    userMetadata: {},
    // Glimpse's own.
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    kind: complete ? 'complete' : 'head',
    app: { name: 'Glimpse', version: APP_VERSION },
    createdAt: now,
    projectName: input.projectName ?? null,
    classIds: input.classIds ? [...input.classIds] : null,
    model: complete
      ? {
          path: 'model/model.json',
          input: { name: 'image', shape: [null, size, size, 3], dtype: 'float32', range: [0, 255], note: `RGB pixels 0-255 of the image after the steps in "preprocessing" (crop and resize). The model maps them to the extractor's range itself (${PREPROCESSING[spec.preprocessing]}).` },
          output: { name: 'probabilities', shape: [null, head.numClasses], note: 'Softmax probabilities, one per label, in the order of "labels".' },
          teachableMachinePath: 'tm/model.json',
          teachableMachineNote: 'The same model and weights for @teachablemachine/image, whose predict() feeds pixel / 127 - 1 instead of 0-255.',
        }
      : {
          path: 'model/model.json',
          input: { name: 'embedding', shape: [null, head.inputDim], dtype: 'float32', note: 'Raw embeddings from the extractor below. The model scales each row to unit length (LayerNormalization of [x, -x]) and applies the standardisation folded into its first dense layer: nothing to do before it.' },
          output: { name: 'probabilities', shape: [null, head.numClasses], note: 'Softmax probabilities, one per label, in the order of "labels".' },
        },
    preprocessing: complete ? steps : [...steps, PREPROCESSING[spec.preprocessing], `run the extractor; its layer ${spec.embeddingOutput} is the embedding`],
    extractor: {
      id: spec.id,
      version: spec.version,
      key: input.extractorKey,
      name: spec.name,
      // A relative URL is where the Glimpse app serves it, not a file of this bundle.
      appModelUrl: spec.modelUrl,
      bundlePath: complete ? null : EXTRACTOR_DIR,
      format: spec.format,
      inputSize: spec.inputSize,
      preprocessing: spec.preprocessing,
      preprocessingSteps: [...steps, PREPROCESSING[spec.preprocessing]],
      embeddingOutput: spec.embeddingOutput,
      embeddingDim: spec.embeddingDim,
      origin: spec.origin,
      includedInModel: complete,
      fineTuned: input.fineTuned
        ? {
            fromLayer: input.fineTuned.fromLayer,
            count: input.fineTuned.weights.length,
            metrics: input.fineTuned.metrics ?? null,
            ...(complete
              ? { note: 'Fine-tuned for this project: the model carries the fine-tuned weights.' }
              : {
                  manifest: FINE_TUNED_MANIFEST,
                  weights: FINE_TUNED_WEIGHTS,
                  note: 'Fine-tuned for this project: after loading the extractor, write each weight in the manifest (float32, little-endian, at its byte offset in weights.bin) into the variable of that saved name (layer name / weight name). The head takes embeddings of the fine-tuned network.',
                }),
          }
        : null,
    },
    training: {
      kind: head.kind,
      settings: { ...head.settings },
      bestEpoch: head.bestEpoch,
      epochsRun: head.history.length,
    },
    metrics: input.metrics ?? null,
  };
}

interface Serialized {
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weights: Uint8Array;
}

/**
 * model.json's parts and weights.bin through TF.js's own serializer. `overrides` replace weights
 * by saved name in the written bytes (the project's fine-tuned top), leaving the model untouched.
 */
async function serialize(model: tf.LayersModel, overrides: { name: string; shape: number[]; data: Float32Array }[] = []): Promise<Serialized> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as tf.io.ModelArtifacts | null;
  if (!a?.weightData || !a.weightSpecs || !a.modelTopology) throw new GlimpseError('internal', 'TF.js did not serialize the model.');
  const buffer = Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData;
  const weights = new Uint8Array(buffer);
  if (overrides.length > 0) {
    const byName = new Map(overrides.map((w) => [w.name, w]));
    let offset = 0;
    for (const spec of a.weightSpecs) {
      const size = spec.shape.reduce((x, y) => x * y, 1);
      const w = byName.get(spec.name);
      if (w) {
        if (spec.dtype !== 'float32' || w.data.length !== size) throw new GlimpseError('model-invalid', `The fine-tuned weight ${spec.name} does not fit the model.`);
        new Uint8Array(weights.buffer, weights.byteOffset + offset, size * 4).set(new Uint8Array(w.data.buffer, w.data.byteOffset, size * 4));
        byName.delete(spec.name);
      }
      offset += size * 4;
    }
    if (byName.size > 0) throw new GlimpseError('model-invalid', `The model has no weight ${[...byName.keys()][0]}: is it the network this project was fine-tuned from?`);
  }
  return { topology: a.modelTopology as object, weightSpecs: a.weightSpecs, weights };
}

function modelJson(topology: object, weightSpecs: tf.io.WeightsManifestEntry[], weightsPath: string): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: `Glimpse ${APP_VERSION}`,
      modelTopology: topology,
      weightsManifest: [{ paths: [weightsPath], weights: weightSpecs }],
    }),
  );
}

/** All files of the bundle, by path. */
export async function buildModelBundle(input: ModelBundleInput): Promise<Record<string, Uint8Array>> {
  if (input.classNames.length !== input.head.numClasses) throw new GlimpseError('invalid-input', 'The model’s labels do not match its outputs.');
  if (keyOf(input.extractor) !== input.extractorKey) {
    throw new GlimpseError('invalid-input', `This model was trained on embeddings of ${input.extractorKey}, not of ${keyOf(input.extractor)}.`);
  }
  if (input.extractor.embeddingDim !== input.head.inputDim) throw new GlimpseError('invalid-input', 'The model’s input size does not match its extractor.');
  if (input.fineTuned && input.extractor.format !== 'layers-model') throw new GlimpseError('invalid-input', 'Only layers-model extractors can carry fine-tuned weights.');
  const enc = new TextEncoder();
  const metadata = modelMetadata(input);
  const out: Record<string, Uint8Array> = {};
  input.onProgress?.({ phase: 'build' });
  if (input.complete) {
    const built = buildCompleteModel(input.complete.extractor, input.extractor, input.head);
    let ser: Serialized;
    try {
      input.onProgress?.({ phase: 'weights' });
      ser = await serialize(built.model, input.fineTuned?.weights ?? []);
    } finally {
      disposeComplete(built);
    }
    out['model/model.json'] = modelJson(ser.topology, ser.weightSpecs, 'weights.bin');
    out['model/weights.bin'] = ser.weights;
    out['tm/model.json'] = modelJson(withInputRescale(ser.topology, tmRescale(input.extractor.preprocessing)), ser.weightSpecs, '../model/weights.bin');
  } else {
    const model = headToLayersModel(input.head);
    let ser: Serialized;
    try {
      ser = await serialize(model);
    } finally {
      model.dispose();
    }
    out['model/model.json'] = modelJson(ser.topology, ser.weightSpecs, 'weights.bin');
    out['model/weights.bin'] = ser.weights;
    if (input.fineTuned) {
      const packed = packFineTuned(input.fineTuned.weights);
      out[FINE_TUNED_MANIFEST] = packed.manifest;
      out[FINE_TUNED_WEIGHTS] = packed.bin;
    }
  }
  return {
    ...out,
    'metadata.json': enc.encode(JSON.stringify(metadata, null, 2)),
    'example/index.html': enc.encode(EXAMPLE_HTML),
    'example/tf.min.js': input.tfjsScript,
    'example/classify.mjs': enc.encode(EXAMPLE_NODE),
    'example/package.json': enc.encode(EXAMPLE_PACKAGE_JSON),
    'README.md': enc.encode(bundleReadme(metadata)),
  };
}

export function zipBundle(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(files, { level: 6 });
}

/**
 * On the page's main thread the head export only needs TF.js to serialize a few layers: the CPU
 * backend does that without creating a WebGL context next to the worker's.
 */
export async function selectCpuBackend(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new GlimpseError('internal', 'TF.js could not start its CPU backend to write the model.');
  await tf.ready();
}
