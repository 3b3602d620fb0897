// The extractor, wrapped like tfjs-models wraps its networks: load() returns an interface with a
// warm-up, embed/classify that run under tf.tidy, and an explicit dispose(). One forward pass gives
// both the pooled embedding and (when the model has one) the ImageNet classifier output.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';
import { enableWebGPUConvs } from './conv-webgpu';
import { foldBatchNorms, type BatchNormFold } from './fold-bn';
import { loadArtifacts, modelFromArtifacts, type ByteFetcher, type LoadProgress } from './loader';
import { imagesToBatch, type PixelImage } from './preprocess';
import { releaseUploadBuffers } from './preprocess-webgpu';
import { extractorKey, type ExtractorSpec } from './specs';

export interface ClassScore {
  index: number;
  label: string;
  score: number;
}

export interface EmbedResult {
  embeddings: Float32Array[];
  /** Top-k ImageNet classes per image, when asked for and the extractor has a classifier. */
  top?: ClassScore[][];
}

export interface Extractor {
  readonly spec: ExtractorSpec;
  readonly key: string;
  readonly hasClassifier: boolean;
  /** The underlying layers model, for fine-tuning (null for graph models). */
  readonly layersModel: tf.LayersModel | null;
  /** Batch norms folded into their convolutions at load (0: none, or folding was off). */
  readonly foldedBatchNorms: number;
  embed(images: readonly PixelImage[], opts?: { topK?: number }): Promise<EmbedResult>;
  /** Embeds an already preprocessed batch [n, s, s, 3] (benchmarks, augmentation). */
  embedTensor(batch: tf.Tensor4D): tf.Tensor2D;
  warmup(batchSize?: number): Promise<void>;
  dispose(): void;
}

export interface LoadOptions {
  fetchBytes: ByteFetcher;
  /** Resolves spec-relative URLs ("models/...") to what fetchBytes understands. */
  resolveUrl?: (url: string) => string;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /** Digest of the verified files (model-files.ts); other weights than the spec pins get their own key. */
  weightsDigest?: string;
  /**
   * Fold each frozen Conv2D -> BatchNormalization -> ReLU of a layers model into one fused
   * convolution for the forward pass (fold-bn.ts). Default: on WebGPU only (where it was measured,
   * issue #19); on WASM it changed a fine-tuning e2e result (finetune.spec: the head alone's
   * validation accuracy on 3 photos, 1 -> 0.67), not yet explained, so it stays off there.
   */
  foldBatchNorms?: boolean;
  /**
   * On WebGPU, run convolutions through Glimpse's implicit-GEMM shader (conv-webgpu.ts; 1.5x
   * faster than TF.js's own at batch 32 on an H200, issue #19). Default: on when the backend is
   * WebGPU; it registers a kernel for the 'webgpu' backend only, so other backends never change.
   */
  webgpuConvs?: boolean;
}

function softmaxIfLogits(t: tf.Tensor2D, activation: 'softmax' | 'logits'): tf.Tensor2D {
  return activation === 'logits' ? tf.softmax(t) : t;
}

export async function loadExtractor(spec: ExtractorSpec, opts: LoadOptions): Promise<Extractor> {
  const resolve = opts.resolveUrl ?? ((u: string) => u);
  if (tf.getBackend() === 'webgpu' && opts.webgpuConvs !== false) enableWebGPUConvs();
  const artifacts = await loadArtifacts(resolve(spec.modelUrl), opts.fetchBytes, opts);
  const model = await modelFromArtifacts(artifacts);
  let labels: string[] = [];
  let classifierModel: tf.GraphModel | tf.LayersModel | null = null;
  const cls = spec.classifier;
  if (cls) {
    const raw = await opts.fetchBytes(resolve(cls.labelsUrl), opts.signal);
    const parsed: unknown = JSON.parse(new TextDecoder().decode(raw));
    if (!Array.isArray(parsed) || !parsed.every((l) => typeof l === 'string')) {
      throw new GlimpseError('model-invalid', 'The label list of the classifier is not a list of names.');
    }
    labels = parsed;
    if (cls.modelUrl) {
      classifierModel = await modelFromArtifacts(await loadArtifacts(resolve(cls.modelUrl), opts.fetchBytes, opts));
    }
  }

  // Layers models: one functional model with both outputs, so one pass gives both.
  let multi: tf.LayersModel | null = null;
  let embedOnly: tf.LayersModel | null = null;
  if (model instanceof tf.LayersModel) {
    const embLayer = model.getLayer(spec.embeddingOutput);
    const embOut = embLayer.output as tf.SymbolicTensor;
    embedOnly = tf.model({ inputs: model.inputs, outputs: embOut });
    if (cls?.output) {
      const clsOut = model.getLayer(cls.output).output as tf.SymbolicTensor;
      multi = tf.model({ inputs: model.inputs, outputs: [embOut, clsOut] });
    }
    const dim = embOut.shape[embOut.shape.length - 1];
    // embeddingDim 0: a model the user loaded from files; its size is whatever the layer gives.
    if ((spec.embeddingDim > 0 && dim !== spec.embeddingDim) || embOut.shape.length !== 2 || !dim) {
      throw new GlimpseError('model-invalid', `Layer ${spec.embeddingOutput} gives shape [${embOut.shape.join(',')}], expected [n, ${spec.embeddingDim}].`);
    }
  }

  // After the models above are built: folding changes how layers run, not the graph or weights.
  let fold: BatchNormFold | null = null;
  if (model instanceof tf.LayersModel && (opts.foldBatchNorms ?? tf.getBackend() === 'webgpu')) {
    fold = foldBatchNorms(model, spec.fineTuneFrom);
  }

  const runEmbed = (batch: tf.Tensor4D): tf.Tensor2D => {
    if (embedOnly) return embedOnly.predict(batch) as tf.Tensor2D;
    const g = model as tf.GraphModel;
    const out = spec.embeddingOutput ? g.execute(batch, spec.embeddingOutput) : g.execute(batch);
    return (Array.isArray(out) ? out[0] : out) as tf.Tensor2D;
  };

  const runBoth = (batch: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D | null] => {
    if (multi) {
      const [e, c] = multi.predict(batch) as tf.Tensor2D[];
      return [e!, softmaxIfLogits(c!, cls!.activation)];
    }
    const e = runEmbed(batch);
    if (!classifierModel || !cls) return [e, null];
    const c =
      classifierModel instanceof tf.LayersModel
        ? (classifierModel.predict(batch) as tf.Tensor2D)
        : (classifierModel.execute(batch) as tf.Tensor2D);
    return [e, softmaxIfLogits(c, cls.activation)];
  };

  const topFromScores = (scores: Float32Array, n: number, width: number, k: number): ClassScore[][] => {
    const result: ClassScore[][] = [];
    const offset = cls?.labelOffset ?? 0;
    for (let i = 0; i < n; i++) {
      const row = scores.subarray(i * width, (i + 1) * width);
      const idx = Array.from(row.keys()).filter((j) => j >= offset);
      idx.sort((a, b) => row[b]! - row[a]! || a - b);
      result.push(
        idx.slice(0, k).map((j) => ({ index: j - offset, label: labels[j - offset] ?? `class ${j - offset}`, score: row[j]! })),
      );
    }
    return result;
  };

  if (spec.embeddingDim === 0) {
    // A user-loaded model of unknown output size: measure it once (a layers model's is known).
    const shape = embedOnly
      ? embedOnly.outputs[0]!.shape
      : (() => {
          const t = tf.tidy(() => runEmbed(tf.zeros([1, spec.inputSize, spec.inputSize, 3])));
          const sh = t.shape;
          t.dispose();
          return sh;
        })();
    const measured = shape.length === 2 ? (shape[1] ?? 0) : 0;
    if (!measured) {
      fold?.undo();
      model.dispose();
      throw new GlimpseError('model-invalid', 'This model does not give one vector per image ([n, size]); pick a feature-vector model.');
    }
    spec = { ...spec, embeddingDim: measured };
  }

  let disposed = false;
  const extractor: Extractor = {
    spec,
    key: extractorKey(spec, opts.weightsDigest),
    hasClassifier: Boolean(cls),
    layersModel: model instanceof tf.LayersModel ? model : null,
    foldedBatchNorms: fold?.batchNorms ?? 0,
    async embed(images, embedOpts = {}) {
      if (disposed) throw new GlimpseError('internal', 'The extractor was disposed.');
      if (images.length === 0) return { embeddings: [] };
      const wantTop = (embedOpts.topK ?? 0) > 0 && Boolean(cls);
      const outs = tf.tidy(() => {
        const batch = imagesToBatch(images, spec.inputSize, spec.preprocessing);
        if (!wantTop) return [runEmbed(batch)];
        const [e, c] = runBoth(batch);
        return c ? [e, c] : [e];
      });
      const emb = outs[0]!;
      const scores = outs[1] ?? null;
      try {
        // data(), never dataSync(): after a lost WebGL context dataSync() silently returns zeros.
        const flat = (await emb.data()) as Float32Array;
        const d = emb.shape[1];
        const embeddings = images.map((_, i) => flat.slice(i * d, (i + 1) * d));
        checkFinite(flat);
        if (!scores) return { embeddings };
        const s = (await scores.data()) as Float32Array;
        return { embeddings, top: topFromScores(s, images.length, scores.shape[1], embedOpts.topK!) };
      } finally {
        emb.dispose();
        scores?.dispose();
      }
    },
    embedTensor(batch) {
      return tf.tidy(() => runEmbed(batch));
    },
    async warmup(batchSize = 1) {
      const s = spec.inputSize;
      const out = tf.tidy(() => runEmbed(tf.zeros([batchSize, s, s, 3])));
      await out.data();
      out.dispose();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      fold?.undo();
      model.dispose();
      classifierModel?.dispose();
      // The WebGPU upload buffers kept between batches (none on other backends).
      if (tf.getBackend() === 'webgpu') releaseUploadBuffers();
    },
  };
  return extractor;
}

function checkFinite(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new GlimpseError('internal', 'The model produced invalid numbers (NaN or infinity).');
    }
  }
}
