// A trained head in an archive: its description as JSON (head/head.json) and its numbers as raw
// little-endian float32 (head/weights.bin: mean, invStd, then kernel and bias of each layer), so
// the weights come back bit for bit and predictions after an import are exactly the same.
import { checkHeadShape, restoreHead, type EpochReport, type HeadSettings, type TrainedHead } from '../shared/head-format';
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

/** Validates every field of an untrusted head description and rebuilds the head from its weights. */
export function decodeHead(rawJson: unknown, weights: Uint8Array): TrainedHead {
  if (typeof rawJson !== 'object' || rawJson === null || Array.isArray(rawJson)) throw archiveError('head/head.json is not an object.');
  const { inputDim, shapes } = checkHeadShape(rawJson as Record<string, unknown>);
  const sizes = [inputDim, inputDim, ...shapes.flatMap((s) => [s.inDim * s.outDim, s.outDim])];
  const expectedBytes = sizes.reduce((a, b) => a + b, 0) * 4;
  if (weights.byteLength !== expectedBytes) throw archiveError(`head/weights.bin has ${weights.byteLength} bytes; this head needs ${expectedBytes}.`);
  const all = floatsFromLittleEndian(weights, 'head/weights.bin');
  let at = 0;
  const take = (n: number) => all.slice(at, (at += n));
  const mean = take(inputDim);
  const invStd = take(inputDim);
  const layers = shapes.map((s) => ({ inDim: s.inDim, outDim: s.outDim, kernel: take(s.inDim * s.outDim), bias: take(s.outDim) }));
  // The same checks as a stored head's (shared/head-format): one definition of a valid head.
  return restoreHead({ ...(rawJson as Record<string, unknown>), mean, invStd, layers });
}
