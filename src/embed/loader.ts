// Loads model.json + weight shards through a byte fetcher, so one code path serves the network
// (with the offline cache in front), files on disk (Node) and files the user picked.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';

/** Returns the bytes at a URL or path; throws on any failure. */
export type ByteFetcher = (url: string, signal?: AbortSignal) => Promise<ArrayBuffer>;

export interface LoadProgress {
  loadedBytes: number;
  totalFiles: number;
  doneFiles: number;
}

/** Resolves a shard path against model.json's URL (keeps model.json's query string off shards). */
export function resolveSibling(modelUrl: string, name: string): string {
  const q = modelUrl.indexOf('?');
  const base = q >= 0 ? modelUrl.slice(0, q) : modelUrl;
  const slash = base.lastIndexOf('/');
  const dir = slash >= 0 ? base.slice(0, slash + 1) : '';
  const query = q >= 0 ? modelUrl.slice(q) : '';
  return `${dir}${name}${query}`;
}

const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

export async function loadArtifacts(
  modelUrl: string,
  fetchBytes: ByteFetcher,
  opts: { signal?: AbortSignal; onProgress?: (p: LoadProgress) => void } = {},
): Promise<tf.io.ModelArtifacts & { format: string }> {
  let json: Record<string, unknown>;
  try {
    const raw = await fetchBytes(modelUrl, opts.signal);
    if (raw.byteLength > MAX_MODEL_JSON_BYTES) throw new Error('model.json is larger than 16 MB');
    json = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof GlimpseError) throw err;
    throw new GlimpseError('model-fetch-failed', `Could not fetch the model from ${modelUrl}.`, String(err));
  }
  const manifest = json.weightsManifest as tf.io.WeightsManifestConfig | undefined;
  const topology = json.modelTopology as tf.io.ModelArtifacts['modelTopology'];
  if (!Array.isArray(manifest) || typeof topology !== 'object' || topology === null) {
    throw new GlimpseError('model-invalid', `${modelUrl} is not a TF.js model (no topology or weights manifest).`);
  }
  const paths = manifest.flatMap((g) => g.paths);
  const weightSpecs = manifest.flatMap((g) => g.weights);
  const progress: LoadProgress = { loadedBytes: 0, totalFiles: paths.length, doneFiles: 0 };
  opts.onProgress?.(progress);
  // Fetch shards with limited parallelism: the order of the concatenation is the manifest order.
  const buffers: ArrayBuffer[] = new Array<ArrayBuffer>(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      const url = resolveSibling(modelUrl, paths[i]!);
      try {
        buffers[i] = await fetchBytes(url, opts.signal);
      } catch (err) {
        // The fetcher's own message says more (offline, a damaged or mismatching file by name).
        if (err instanceof GlimpseError) throw err;
        throw new GlimpseError('model-fetch-failed', `Could not fetch model weights ${url}.`, String(err));
      }
      progress.loadedBytes += buffers[i]!.byteLength;
      progress.doneFiles++;
      opts.onProgress?.({ ...progress });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const total = buffers.reduce((s, b) => s + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  const format = typeof json.format === 'string' ? json.format : 'layers-model';
  const artifacts: tf.io.ModelArtifacts & { format: string } = {
    modelTopology: topology,
    weightSpecs,
    weightData: weightData.buffer,
    format,
  };
  if (json.signature !== undefined) artifacts.signature = json.signature as object;
  if (json.userDefinedMetadata !== undefined) {
    artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, object>;
  }
  if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer as object;
  return artifacts;
}

/** Loads whichever kind of model the artifacts describe. */
export async function modelFromArtifacts(
  artifacts: tf.io.ModelArtifacts & { format: string },
): Promise<tf.LayersModel | tf.GraphModel> {
  const handler = tf.io.fromMemory(artifacts);
  try {
    if (artifacts.format === 'graph-model') return await tf.loadGraphModel(handler);
    return await tf.loadLayersModel(handler);
  } catch (err) {
    throw new GlimpseError('model-invalid', 'The model files could not be read as a TF.js model.', String(err));
  }
}
