// A trained head in an archive: its description as JSON (head/head.json) and its numbers as raw
// little-endian float32 (head/weights.bin: mean, invStd, then kernel and bias of each layer), so
// the weights come back bit for bit and predictions after an import are exactly the same.
import { checkSettings, type EpochReport, type HeadSettings, type TrainedHead } from '../train/head-types';
import { archiveError } from './zip-read';

export interface HeadJson {
  kind: TrainedHead['kind'];
  /** 'l2' when the head scales embeddings to unit length first; absent otherwise. */
  inputNorm?: 'l2';
  inputDim: number;
  numClasses: number;
  layers: { inDim: number; outDim: number }[];
  settings: HeadSettings;
  history: EpochReport[];
  bestEpoch: number;
}

const MAX_DIM = 65_536;
const MAX_HISTORY = 100_000;

function floatsOf(head: TrainedHead): Float32Array[] {
  return [head.mean, head.invStd, ...head.layers.flatMap((l) => [l.kernel, l.bias])];
}

export function encodeHead(head: TrainedHead): { json: HeadJson; weights: Uint8Array } {
  const parts = floatsOf(head);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  const json: HeadJson = {
    kind: head.kind,
    ...(head.inputNorm ? { inputNorm: head.inputNorm } : {}),
    inputDim: head.inputDim,
    numClasses: head.numClasses,
    layers: head.layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim })),
    settings: { ...head.settings },
    history: head.history.map((h) => ({ ...h })),
    bestEpoch: head.bestEpoch,
  };
  return { json, weights: littleEndianBytes(out) };
}

/** Float32 values as little-endian bytes (the layout of every platform we run on, checked). */
export function littleEndianBytes(v: Float32Array): Uint8Array {
  const bytes = new Uint8Array(v.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return bytes;
}

export function floatsFromLittleEndian(bytes: Uint8Array, what: string): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw archiveError(`${what} is not a whole number of float32 values.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) {
    const x = view.getFloat32(i * 4, true);
    if (!Number.isFinite(x)) throw archiveError(`${what} contains NaN or Infinity.`);
    out[i] = x;
  }
  return out;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function checkHistory(raw: unknown): EpochReport[] {
  if (!Array.isArray(raw) || raw.length > MAX_HISTORY) throw archiveError('The head’s training history is malformed.');
  return raw.map((r: unknown) => {
    const o = r as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null) throw archiveError('The head’s training history is malformed.');
    const num = (k: string, optional: boolean): number | undefined => {
      const v = o[k];
      if (v === undefined && optional) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw archiveError(`The head’s training history has a bad “${k}”.`);
      return v;
    };
    const e: EpochReport = { epoch: num('epoch', false)!, loss: num('loss', false)!, accuracy: num('accuracy', false)! };
    const vl = num('valLoss', true);
    const va = num('valAccuracy', true);
    if (vl !== undefined) e.valLoss = vl;
    if (va !== undefined) e.valAccuracy = va;
    return e;
  });
}

/** Validates every field of an untrusted head description and rebuilds the head from its weights. */
export function decodeHead(rawJson: unknown, weights: Uint8Array): TrainedHead {
  const o = rawJson as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw archiveError('head/head.json is not an object.');
  if (o.kind !== 'softmax' && o.kind !== 'mlp') throw archiveError('The head has an unknown kind.');
  if (!isInt(o.inputDim, 1, MAX_DIM)) throw archiveError('The head has an invalid input size.');
  if (!isInt(o.numClasses, 2, 100_000)) throw archiveError('The head has an invalid number of classes.');
  const layersRaw = o.layers;
  const expectedLayers = o.kind === 'softmax' ? 1 : 2;
  if (!Array.isArray(layersRaw) || layersRaw.length !== expectedLayers) throw archiveError(`A ${o.kind} head must have ${expectedLayers} layer(s).`);
  const shapes = layersRaw.map((l: unknown) => {
    const s = l as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || !isInt(s.inDim, 1, MAX_DIM) || !isInt(s.outDim, 1, MAX_DIM)) throw archiveError('The head has a malformed layer.');
    return { inDim: s.inDim, outDim: s.outDim };
  });
  for (let i = 0; i < shapes.length; i++) {
    const prevOut = i === 0 ? o.inputDim : shapes[i - 1]!.outDim;
    if (shapes[i]!.inDim !== prevOut) throw archiveError('The head’s layer sizes do not fit together.');
  }
  if (shapes[shapes.length - 1]!.outDim !== o.numClasses) throw archiveError('The head’s output size does not match its number of classes.');
  const settings = o.settings as HeadSettings;
  if (typeof settings !== 'object' || settings === null) throw archiveError('The head has no settings.');
  try {
    checkSettings(settings);
  } catch (err) {
    throw archiveError(`The head’s settings are invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (settings.kind !== o.kind) throw archiveError('The head’s settings are for another kind of head.');
  const history = checkHistory(o.history);
  if (!isInt(o.bestEpoch, 0, MAX_HISTORY)) throw archiveError('The head has an invalid best epoch.');

  const inputDim = o.inputDim;
  const sizes = [inputDim, inputDim, ...shapes.flatMap((s) => [s.inDim * s.outDim, s.outDim])];
  const expectedBytes = sizes.reduce((a, b) => a + b, 0) * 4;
  if (weights.byteLength !== expectedBytes) throw archiveError(`head/weights.bin has ${weights.byteLength} bytes; this head needs ${expectedBytes}.`);
  const all = floatsFromLittleEndian(weights, 'head/weights.bin');
  let at = 0;
  const take = (n: number) => all.slice(at, (at += n));
  const mean = take(inputDim);
  const invStd = take(inputDim);
  const layers = shapes.map((s) => ({ inDim: s.inDim, outDim: s.outDim, kernel: take(s.inDim * s.outDim), bias: take(s.outDim) }));
  if (o.inputNorm !== undefined && o.inputNorm !== 'l2') throw archiveError('The head has an unknown input normalisation.');
  return {
    kind: o.kind,
    ...(o.inputNorm === 'l2' ? { inputNorm: 'l2' as const } : {}),
    inputDim,
    numClasses: o.numClasses,
    mean,
    invStd,
    layers,
    settings: pickSettings(settings),
    history,
    bestEpoch: o.bestEpoch,
  };
}

/** Only the known fields: nothing else from an untrusted file is kept. */
function pickSettings(s: HeadSettings): HeadSettings {
  const { kind, epochs, batchSize, learningRate, hiddenUnits, dropout, l2, validationShare, earlyStoppingPatience, classWeighting, seed, normalizeRows } = s;
  if (normalizeRows !== undefined && typeof normalizeRows !== 'boolean') throw archiveError('The head’s settings are invalid: normalizeRows must be true or false.');
  if (typeof classWeighting !== 'boolean') throw archiveError('The head’s settings are invalid: classWeighting must be true or false.');
  if (typeof validationShare !== 'number' || !(validationShare >= 0 && validationShare < 1)) throw archiveError('The head’s settings are invalid: bad validation share.');
  return { kind, epochs, batchSize, learningRate, hiddenUnits, dropout, l2, validationShare, earlyStoppingPatience, classWeighting, seed, ...(normalizeRows !== undefined ? { normalizeRows } : {}) };
}
