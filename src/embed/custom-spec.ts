// A model the user loads from files (model.json + weight shards, e.g. TF Hub's Inception-v3
// downloaded by hand): checks the files against model.json before anything is stored, and derives
// the extractor spec. Pure (no TF.js, no DOM): the window runs it, unit tests import it.
import { GlimpseError } from '../shared/errors';
import type { ExtractorSpec, ModelFormat, Preprocessing } from './specs';

export const CUSTOM_PREFIX = 'custom-';
/** Where a user-loaded model's files live in the model cache, relative to the app. */
export const CUSTOM_MODELS_PATH = 'custom-models/';

export interface PickedFile {
  name: string;
  bytes: ArrayBuffer;
}

interface WeightEntry {
  name?: unknown;
  shape?: unknown;
  dtype?: unknown;
  quantization?: { dtype?: unknown };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, int16: 2, uint8: 1, int8: 1, bool: 1 };

function invalid(message: string): never {
  throw new GlimpseError('model-invalid', message);
}

/** Bytes a weights manifest needs, or null when it uses a dtype we do not size (strings). */
function neededBytes(weights: WeightEntry[]): number | null {
  let total = 0;
  for (const w of weights) {
    const shape = Array.isArray(w.shape) ? (w.shape as unknown[]) : [];
    const count = shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : NaN), 1);
    const dtype = String(w.quantization?.dtype ?? w.dtype ?? '');
    const size = BYTES[dtype];
    if (size === undefined || !Number.isFinite(count)) return null;
    total += count * size;
  }
  return total;
}

function squareSize(dims: unknown): number | null {
  if (!Array.isArray(dims) || dims.length !== 4) return null;
  const [, h, w, c] = dims.map((d) => (typeof d === 'number' ? d : Number((d as { size?: unknown })?.size)));
  return h && w && h === w && h > 0 && c === 3 ? h : null;
}

/** Input size and embedding output from the model's own description. */
function describe(json: Record<string, unknown>, format: ModelFormat): { inputSize: number | null; output: string } {
  const topology = (json.modelTopology ?? {}) as Record<string, unknown>;
  if (format === 'graph-model') {
    const inputs = ((json.signature as { inputs?: Record<string, { tensorShape?: { dim?: unknown } }> } | undefined)?.inputs) ?? {};
    const first = Object.values(inputs)[0];
    return { inputSize: squareSize(first?.tensorShape?.dim), output: '' };
  }
  const config = ((topology.model_config as { config?: unknown } | undefined)?.config ?? topology.config) as
    | { layers?: { config?: Record<string, unknown>; name?: string }[]; output_layers?: unknown[][] }
    | undefined;
  const layers = config?.layers ?? [];
  const firstCfg = layers[0]?.config ?? {};
  const inputSize = squareSize(firstCfg.batch_input_shape ?? firstCfg.batchInputShape);
  const outName = config?.output_layers?.[0]?.[0];
  const last = layers[layers.length - 1];
  const output = typeof outName === 'string' ? outName : String(last?.config?.name ?? last?.name ?? '');
  if (!output) invalid('model.json names no output layer.');
  return { inputSize, output };
}

/**
 * Checks the picked files (exactly one model.json, every shard it lists, the bytes its weights
 * need) and returns the spec plus the files to store, keyed by their cache-relative path.
 */
export function customModelSpec(
  files: PickedFile[],
  opts: { id: string; name?: string; preprocessing: Preprocessing; inputSize?: number },
): { spec: ExtractorSpec; store: { path: string; bytes: ArrayBuffer; type: string }[] } {
  // A bundled model's folder also holds Glimpse's manifest.json (file hashes): not a model.
  const jsons = files.filter((f) => f.name.toLowerCase().endsWith('.json') && f.name.toLowerCase() !== 'manifest.json');
  if (jsons.length !== 1) invalid(jsons.length === 0 ? 'Pick the model’s model.json together with its weight files (.bin).' : 'Pick one model at a time: there is more than one .json file.');
  const modelFile = jsons[0]!;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(modelFile.bytes)) as Record<string, unknown>;
  } catch {
    invalid(`${modelFile.name} is not valid JSON.`);
  }
  if (typeof json !== 'object' || json === null || !json.modelTopology) invalid(`${modelFile.name} is not a TF.js model (no modelTopology).`);
  const declared = json.format;
  const format: ModelFormat =
    declared === 'graph-model' || declared === 'layers-model'
      ? declared
      : (json.modelTopology as { node?: unknown }).node
        ? 'graph-model'
        : 'layers-model';
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) invalid(`${modelFile.name} has no weights manifest.`);
  const groups = manifest as { paths?: unknown; weights?: unknown }[];
  const paths = groups.flatMap((g) => (Array.isArray(g.paths) ? g.paths.map(String) : []));
  const byName = new Map(files.map((f) => [f.name, f]));
  const missing = paths.filter((p) => !byName.has(p.slice(p.lastIndexOf('/') + 1)));
  if (missing.length > 0) invalid(`Missing weight files: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. Pick them together with model.json.`);
  const shards = paths.map((p) => byName.get(p.slice(p.lastIndexOf('/') + 1))!);
  const need = neededBytes(groups.flatMap((g) => (Array.isArray(g.weights) ? (g.weights as WeightEntry[]) : [])));
  const have = shards.reduce((n, f) => n + f.bytes.byteLength, 0);
  if (need !== null && need !== have) invalid(`The weight files hold ${have} bytes but model.json needs ${need}: a file is truncated or belongs to another model.`);
  const { inputSize: found, output } = describe(json, format);
  const inputSize = found ?? opts.inputSize ?? 224;
  if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize > 1024) invalid(`Input size ${inputSize} is not supported (32–1024).`);
  const base = `${CUSTOM_MODELS_PATH}${opts.id}/`;
  const spec: ExtractorSpec = {
    id: opts.id,
    version: opts.id.slice(CUSTOM_PREFIX.length),
    name: opts.name?.trim() || `Your model (${modelFile.name})`,
    modelUrl: `${base}model.json`,
    format,
    inputSize,
    preprocessing: opts.preprocessing,
    embeddingOutput: output,
    embeddingDim: 0,
    origin: 'user',
    userFacing: true,
    note: 'Loaded from your files; kept on this device.',
  };
  // Shards are stored beside model.json under the names model.json uses (sub-folders flattened).
  const rewritten = { ...json, weightsManifest: groups.map((g) => ({ ...g, paths: Array.isArray(g.paths) ? g.paths.map((p: unknown) => String(p).slice(String(p).lastIndexOf('/') + 1)) : [] })) };
  const store = [
    { path: `${base}model.json`, bytes: new TextEncoder().encode(JSON.stringify(rewritten)).buffer as ArrayBuffer, type: 'application/json' },
    ...shards.map((f) => ({ path: `${base}${f.name}`, bytes: f.bytes, type: 'application/octet-stream' })),
  ];
  return { spec, store };
}
