// The model export: the trained head as a TF.js layers model that takes RAW embeddings (the
// standardisation is folded into the first layer, see train/head-predict.ts), metadata.json that
// says which extractor makes those embeddings and how to feed it, and a standalone example (a web
// page and a Node script) that uses nothing but @tensorflow/tfjs. The same files come out of the
// app (as a .zip download) and of `npm run eval -- ... --export <dir>`.
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import type { ExtractorSpec } from '../embed/specs';
import { extractorKey as keyOf } from '../embed/specs';
import { headToLayersModel } from '../train/head-predict';
import type { TrainedHead } from '../train/head-types';
import { GlimpseError } from '../shared/errors';
import { EXAMPLE_HTML, EXAMPLE_NODE, EXAMPLE_PACKAGE_JSON, bundleReadme } from './model-examples';
import type { HeadMetrics } from './validate';
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
  /** The extractor's model.json as an absolute URL (the app resolves relative spec URLs). */
  extractorModelUrl?: string;
  metrics?: HeadMetrics | null;
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

export function modelMetadata(input: ModelBundleInput): Record<string, unknown> {
  const { head, extractor: spec } = input;
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    app: { name: 'Glimpse', version: APP_VERSION },
    createdAt: new Date().toISOString(),
    projectName: input.projectName ?? null,
    labels: [...input.classNames],
    classIds: input.classIds ? [...input.classIds] : null,
    model: {
      path: 'model/model.json',
      input: { name: 'embedding', shape: [null, head.inputDim], dtype: 'float32', note: 'Raw embeddings from the extractor below; the standardisation is folded into the first layer.' },
      output: { name: 'probabilities', shape: [null, head.numClasses], note: 'Softmax probabilities, one per label, in the order of "labels".' },
    },
    extractor: {
      id: spec.id,
      version: spec.version,
      key: input.extractorKey,
      name: spec.name,
      modelUrl: spec.modelUrl,
      resolvedModelUrl: input.extractorModelUrl ?? spec.modelUrl,
      format: spec.format,
      inputSize: spec.inputSize,
      preprocessing: spec.preprocessing,
      preprocessingSteps: [
        'decode the image to RGB (browsers apply EXIF orientation; do the same)',
        'centre-crop to a square over the full short side',
        `resize to ${spec.inputSize} x ${spec.inputSize}, bilinear with half-pixel centres (alignCorners false)`,
        PREPROCESSING[spec.preprocessing],
      ],
      embeddingOutput: spec.embeddingOutput,
      embeddingDim: spec.embeddingDim,
      origin: spec.origin,
      fineTuned: input.fineTuned
        ? {
            fromLayer: input.fineTuned.fromLayer,
            manifest: FINE_TUNED_MANIFEST,
            weights: FINE_TUNED_WEIGHTS,
            count: input.fineTuned.weights.length,
            note: 'Fine-tuned for this project: after loading the extractor, write each weight in the manifest (float32, little-endian, at its byte offset in weights.bin) into the variable of that saved name (layer name / weight name). The head takes embeddings of the fine-tuned network.',
            metrics: input.fineTuned.metrics ?? null,
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

/** model.json + weights.bin of the head, through TF.js's own serializer. */
async function serializeHead(head: TrainedHead): Promise<{ modelJson: Uint8Array; weights: Uint8Array }> {
  const model = headToLayersModel(head);
  let artifacts: tf.io.ModelArtifacts | null = null;
  try {
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } finally {
    model.dispose();
  }
  const a = artifacts as tf.io.ModelArtifacts | null;
  if (!a?.weightData || !a.weightSpecs || !a.modelTopology) throw new GlimpseError('internal', 'TF.js did not serialize the model.');
  const weightBuffer = Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData;
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: `Glimpse ${APP_VERSION}`,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
  };
  return { modelJson: new TextEncoder().encode(JSON.stringify(modelJson)), weights: new Uint8Array(weightBuffer) };
}

/** All files of the bundle, by path. */
export async function buildModelBundle(input: ModelBundleInput): Promise<Record<string, Uint8Array>> {
  if (input.classNames.length !== input.head.numClasses) throw new GlimpseError('invalid-input', 'The model’s labels do not match its outputs.');
  if (keyOf(input.extractor) !== input.extractorKey) {
    throw new GlimpseError('invalid-input', `This model was trained on embeddings of ${input.extractorKey}, not of ${keyOf(input.extractor)}.`);
  }
  if (input.extractor.embeddingDim !== input.head.inputDim) throw new GlimpseError('invalid-input', 'The model’s input size does not match its extractor.');
  const { modelJson, weights } = await serializeHead(input.head);
  const enc = new TextEncoder();
  const metadata = modelMetadata(input);
  const tuned: Record<string, Uint8Array> = {};
  if (input.fineTuned) {
    if (input.extractor.format !== 'layers-model') throw new GlimpseError('invalid-input', 'Only layers-model extractors can carry fine-tuned weights.');
    const packed = packFineTuned(input.fineTuned.weights);
    tuned[FINE_TUNED_MANIFEST] = packed.manifest;
    tuned[FINE_TUNED_WEIGHTS] = packed.bin;
  }
  return {
    ...tuned,
    'model/model.json': modelJson,
    'model/weights.bin': weights,
    'metadata.json': enc.encode(JSON.stringify(metadata, null, 2)),
    'example/index.html': enc.encode(EXAMPLE_HTML),
    'example/classify.mjs': enc.encode(EXAMPLE_NODE),
    'example/package.json': enc.encode(EXAMPLE_PACKAGE_JSON),
    'README.md': enc.encode(bundleReadme(metadata)),
  };
}

export function zipBundle(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(files, { level: 6 });
}

/**
 * On the page's main thread the export only needs TF.js to serialize a few dense layers: the CPU
 * backend does that without creating a WebGL context next to the worker's.
 */
export async function selectCpuBackend(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new GlimpseError('internal', 'TF.js could not start its CPU backend to write the model.');
  await tf.ready();
}
