// The gradient kernel TF.js 4.22's WASM backend lacks: Conv2DBackpropFilter (the weight gradient of
// a 2-D convolution), without which nothing with a trainable convolution can train on WASM
// (fine-tuning the top of the extractor). Registered once, wherever the WASM backend is set up
// (embed worker, Node tools).
//
// Built as one plain matrix product per filter tap (XNNPACK): dW[i,j]^T = dy^T X_ij, where X_ij
// [n*oh*ow, c] holds the inputs tap (i, j) saw, gathered by row copies straight from the heap.
// The previous version cut X_ij with the backend's StridedSlice (an element loop) and transposed
// it: a 3x3 stride-2 weight gradient on 16 Inception mixed_8 inputs took 0.2-0.5 s for 0.57 G
// multiply-adds; the backend's Slice first copies its whole input out of the heap (README
// "Fine-tuning", speed).
// The first version presented x and dy as 3-D (depth 1) to the backend's Conv3DBackpropFilterV2;
// that kernel is wrong for strides > 1 with filters wider than 1 (checked against the CPU kernel
// and a hand-written loop) and, being a plain loop, took 11 of the 16 s of a ResNet-50 res5
// forward + backward pass on 4 images; the matrix products run in XNNPACK.
import * as tf from '@tensorflow/tfjs';
import { GlimpseError } from '../shared/errors';

type TensorInfo = tf.TensorInfo;

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | unknown;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: string;
  filterShape: [number, number, number, number];
}

type Run = (name: string, input: Record<string, TensorInfo> | TensorInfo[], at: object) => TensorInfo;

interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * A new [taps.length, ...] tensor of whole [k, c] blocks of `src` ([T, k, c]): block i is
 * src[taps[i]]. Plain copies of contiguous blocks; the backend's Reverse and StridedSlice are
 * element loops (a 3x3x320x192 filter's sub-filters took 16 ms each).
 */
function gatherTaps(backend: unknown, src: TensorInfo, taps: readonly number[], shape: number[]): TensorInfo {
  const b = backend as WasmBackendLike;
  const block = src.shape[1]! * src.shape[2]!;
  const out = b.makeOutput(shape, 'float32');
  // Views taken after the allocation (it may grow the heap and replace its buffer).
  const from = b.typedArrayFromHeap(src);
  const to = b.typedArrayFromHeap(out);
  taps.forEach((t, i) => to.set(from.subarray(t * block, (t + 1) * block), i * block));
  return out;
}

/** The filter [fh, fw, c, k] as [fh*fw, k, c] (channels swapped, taps in order). */
function swappedTaps(run: Run, filter: TensorInfo): TensorInfo {
  const [fh, fw, c, k] = filter.shape as [number, number, number, number];
  const r = run('Reshape', { x: filter }, { shape: [fh * fw, c, k] });
  return run('Transpose', { x: r }, { perm: [0, 2, 1] });
}

function kernel(name: string): tf.KernelFunc {
  // Looked up per call: kernels are registered when the backend package is imported.
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new GlimpseError('backend-unavailable', `The WASM backend has no ${name} kernel.`);
  return k.kernelFunc;
}

/**
 * Time per inner kernel of these gradients, by name and input shapes (scripts/ft-profile.ts sets
 * it to find slow paths; null: not measured).
 */
export const innerTimings: { clock: () => number; ms: Map<string, number> } | { clock: null; ms: null } = { clock: null, ms: null };

function timed(name: string, input: Record<string, TensorInfo> | TensorInfo[], f: () => TensorInfo): TensorInfo {
  if (!innerTimings.clock) return f();
  const t0 = innerTimings.clock();
  const out = f();
  const key = `${name} ${JSON.stringify(Object.values(input).map((t) => t.shape))}`;
  innerTimings.ms.set(key, (innerTimings.ms.get(key) ?? 0) + innerTimings.clock() - t0);
  return out;
}

/** Conv2DBackpropFilter for 'wasm' (NHWC, 'same'/'valid' padding). */
export const conv2DBackpropFilterWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
    throw new GlimpseError('backend-unavailable', `Convolution gradients on WASM support NHWC only, not ${a.dataFormat}.`);
  }
  if (a.pad !== 'same' && a.pad !== 'valid') {
    throw new GlimpseError('backend-unavailable', `Convolution gradients on WASM support “same” and “valid” padding only, not ${JSON.stringify(a.pad)}.`);
  }
  const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
  const [fh, fw, cin, cout] = a.filterShape;
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new GlimpseError('internal', 'Conv2DBackpropFilter expects 4-D x and dy.');
  }
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, oh, ow, k] = dy.shape as [number, number, number, number];
  const temps: TensorInfo[] = [];
  const run = (name: string, input: Record<string, TensorInfo> | TensorInfo[], at: object): TensorInfo => {
    const t = timed(name, input, () => kernel(name)({ inputs: input as tf.NamedTensorInfoMap, backend, attrs: at as tf.NamedAttrMap }) as TensorInfo);
    temps.push(t);
    return t;
  };
  try {
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, cin, cout], [sh!, sw!], 1, a.pad);
    const { top, left } = info.padInfo;
    const m = n * oh * ow;
    const dy2 = run('Reshape', { x: dy }, { shape: [m, k] });
    if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0) {
      // One tap: dW = X^T dy with the small dy as the matrix the backend packs (cheaper than
      // packing x's rows when c > k, as in Inception's 768 -> 192).
      const x2 = run('Reshape', { x }, { shape: [m, c] });
      const xt = run('Transpose', { x: x2 }, { perm: [1, 0] });
      const a3 = run('Reshape', { x: xt }, { shape: [1, c, m] });
      const d3 = run('Reshape', { x: dy2 }, { shape: [1, m, k] });
      const g = run('BatchMatMul', { a: a3, b: d3 }, { transposeA: false, transposeB: false });
      return kernel('Reshape')({ inputs: { x: g }, backend, attrs: { shape: [fh, fw, cin, cout] } }) as TensorInfo;
    }
    const dyT = run('Transpose', { x: dy2 }, { perm: [1, 0] });
    const a3 = run('Reshape', { x: dyT }, { shape: [1, k, m] });
    const parts: TensorInfo[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        // The inputs tap (i, j) saw, one row of channels per output position (zeros in the padding).
        const cols = timed('gather x', { x }, () => {
          const out = b.makeOutput([1, m, c], 'float32');
          temps.push(out);
          const from = b.typedArrayFromHeap(x);
          const to = b.typedArrayFromHeap(out);
          to.fill(0);
          let o = 0;
          for (let bi = 0; bi < n; bi++) {
            for (let oy = 0; oy < oh; oy++) {
              const y = oy * sh! + i - top;
              if (y < 0 || y >= h) {
                o += ow * c;
                continue;
              }
              const row = (bi * h + y) * w;
              for (let ox = 0; ox < ow; ox++, o += c) {
                const xx = ox * sw! + j - left;
                if (xx >= 0 && xx < w) to.set(from.subarray((row + xx) * c, (row + xx + 1) * c), o);
              }
            }
          }
          return out;
        });
        // dW[i,j]^T = dy^T X_ij: a plain matrix product (no transpose flags: the slow path).
        parts.push(run('BatchMatMul', { a: a3, b: cols }, { transposeA: false, transposeB: false }));
      }
    }
    const all = parts.length === 1 ? parts[0]! : run('Concat', parts, { axis: 0 });
    const kc = run('Reshape', { x: all }, { shape: [fh * fw, k, c] });
    const ck = run('Transpose', { x: kc }, { perm: [0, 2, 1] });
    return kernel('Reshape')({ inputs: { x: ck }, backend, attrs: { shape: [fh, fw, cin, cout] } }) as TensorInfo;
  } finally {
    // Every intermediate holds one reference; the returned view keeps the result's data alive.
    for (const t of temps) b.disposeData(t.dataId);
  }
};

interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | unknown;
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape: [number, number, number, number];
}

/**
 * Conv2DBackpropInput for 'wasm' as forward convolutions (XNNPACK) with the filter flipped and its
 * channels swapped: stride 1 as one convolution of the padded dy, dx[p] = sum_i dy'[p + top - i]
 * W[i]; strides > 1 by stride phase (phaseBackpropInput). The backend's own kernel is a plain
 * loop: 20 of the 29 s of a ResNet-50 res5 forward + backward pass on 16 images. Other padding or
 * layouts go to it.
 */
function conv2DBackpropInputWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    if ((a.dataFormat !== undefined && a.dataFormat !== 'NHWC') || (a.pad !== 'same' && a.pad !== 'valid')) {
      return original({ inputs, backend, attrs });
    }
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
    const [n, h, w, c] = a.inputShape;
    const [fh, fw, , k] = filter.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const temps: TensorInfo[] = [];
    const run = (name: string, input: Record<string, TensorInfo> | TensorInfo[], at: object): TensorInfo => {
      const t = timed(name, input, () => kernel(name)({ inputs: input as tf.NamedTensorInfoMap, backend, attrs: at as tf.NamedAttrMap }) as TensorInfo);
      temps.push(t);
      return t;
    };
    try {
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, c, k], [sh!, sw!], 1, a.pad as 'same');
      const { top, left } = info.padInfo;
      if (sh! > 1 || sw! > 1) {
        const hq = Math.ceil((top + h) / sh!);
        const wq = Math.ceil((left + w) / sw!);
        if (hq >= oh && wq >= ow) {
          return phaseBackpropInput(run, (t) => temps.push(t), backend, dy, filter, { n, h, w, c, fh, fw, k, oh, ow, sh: sh!, sw: sw!, top, left, hq, wq });
        }
      }
      let d = dy;
      if (sh! > 1 || sw! > 1) {
        // Zeros between dy's rows and columns: the positions the strided windows skipped.
        const d6 = run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, k] });
        const spread = run('PadV2', { x: d6 }, { paddings: [[0, 0], [0, 0], [0, sh! - 1], [0, 0], [0, sw! - 1], [0, 0]], constantValue: 0 });
        const d4 = run('Reshape', { x: spread }, { shape: [n, oh * sh!, ow * sw!, k] });
        d = run('Slice', { x: d4 }, { begin: [0, 0, 0, 0], size: [n, (oh - 1) * sh! + 1, (ow - 1) * sw! + 1, k] });
      }
      const dh = d.shape[1]!;
      const dwid = d.shape[2]!;
      const pt = fh - 1 - top;
      const pl = fw - 1 - left;
      const pb = h + fh - 1 - pt - dh;
      const pr = w + fw - 1 - pl - dwid;
      if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return original({ inputs, backend, attrs });
      const padded = pt + pl + pb + pr > 0 ? run('PadV2', { x: d }, { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 }) : d;
      // Flipped (tap order reversed) and channels swapped: [fh, fw, k, c].
      const taps = Array.from({ length: fh * fw }, (_, t) => fh * fw - 1 - t);
      const swapped = gatherTaps(backend, swappedTaps(run, filter), taps, [fh, fw, k, c]);
      temps.push(swapped);
      return kernel('Conv2D')({
        inputs: { x: padded, filter: swapped },
        backend,
        attrs: { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' },
      }) as TensorInfo;
    } finally {
      for (const t of temps) (backend as unknown as WasmBackendLike).disposeData(t.dataId);
    }
  };
}

/**
 * Strided Conv2DBackpropInput by stride phase ("sub-pixel"): the rows of the padded dx with
 * Y % s = p only receive the taps i = a*s + p, so each phase (p, q) is a stride-1 convolution of dy
 * (padded for a full correlation) with the flipped sub-filter of those taps; the s*s phases are
 * then interleaved by two transposes and the padding cut away. Spreading dy with zeros instead
 * costs s*s times the multiply-adds (3x3 stride 2: 4.5x).
 */
function phaseBackpropInput(
  run: Run,
  track: (t: TensorInfo) => void,
  backend: unknown,
  dy: TensorInfo,
  filter: TensorInfo,
  g: { n: number; h: number; w: number; c: number; fh: number; fw: number; k: number; oh: number; ow: number; sh: number; sw: number; top: number; left: number; hq: number; wq: number },
): TensorInfo {
  const { n, h, w, c, fh, fw, k, oh, ow, sh, sw, top, left, hq, wq } = g;
  const all = swappedTaps(run, filter);
  const outs: TensorInfo[] = [];
  for (let p = 0; p < sh; p++) {
    const ap = Math.ceil((fh - p) / sh);
    for (let q = 0; q < sw; q++) {
      const bq = Math.ceil((fw - q) / sw);
      if (ap === 0 || bq === 0) {
        // No tap lands on this phase (a filter narrower than the stride, e.g. ResNet's 1x1 stride 2).
        const zeros = (backend as WasmBackendLike).makeOutput([1, n * hq * wq * c], 'float32');
        track(zeros);
        (backend as WasmBackendLike).typedArrayFromHeap(zeros).fill(0);
        outs.push(zeros);
        continue;
      }
      // The phase's taps (a*sh + p, b*sw + q), flipped: [ap, bq, k, c].
      const taps: number[] = [];
      for (let a = ap - 1; a >= 0; a--) for (let b = bq - 1; b >= 0; b--) taps.push((a * sh + p) * fw + b * sw + q);
      const sub = gatherTaps(backend, all, taps, [ap, bq, k, c]);
      track(sub);
      const padded = run('PadV2', { x: dy }, { paddings: [[0, 0], [ap - 1, hq - oh], [bq - 1, wq - ow], [0, 0]], constantValue: 0 });
      const out = run('Conv2D', { x: padded, filter: sub }, { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' });
      outs.push(run('Reshape', { x: out }, { shape: [1, n * hq * wq * c] }));
    }
  }
  // [p, q, n*hq*wq, c] -> [p, n*hq*wq, q, c] -> [n*hq, p, wq*q*c] = the padded dx, [n, hq*sh, wq*sw, c].
  const stacked = run('Concat', outs, { axis: 0 });
  const s4 = run('Reshape', { x: stacked }, { shape: [sh, sw, n * hq * wq, c] });
  const t1 = run('Transpose', { x: s4 }, { perm: [0, 2, 1, 3] });
  const s3 = run('Reshape', { x: t1 }, { shape: [sh, n * hq, wq * sw * c] });
  const t2 = run('Transpose', { x: s3 }, { perm: [1, 0, 2] });
  const full = [n, hq * sh, wq * sw, c];
  if (top === 0 && left === 0 && full[1] === h && full[2] === w) {
    return kernel('Reshape')({ inputs: { x: t2 }, backend: backend as never, attrs: { shape: full } }) as TensorInfo;
  }
  // The padding cut away by row copies (the backend's Slice first copies all of its input out).
  const bk = backend as WasmBackendLike;
  const out = bk.makeOutput([n, h, w, c], 'float32');
  const from = bk.typedArrayFromHeap(t2);
  const to = bk.typedArrayFromHeap(out);
  const hp = hq * sh;
  const wp = wq * sw;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = ((b * hp + y + top) * wp + left) * c;
      to.set(from.subarray(src, src + w * c), ((b * h + y) * w) * c);
    }
  }
  return out;
}

/**
 * Tile for 'wasm' when it repeats the whole tensor (x [1, .., 1, rest], reps only on those leading
 * axes): copies of one block, doubling. Batch normalisation's gradient tiles its statistics to
 * the activations' shape this way, and the backend's element loop took 0.5 s of a ResNet-50 res5
 * training step on 16 images. Anything else goes to the backend's kernel.
 */
function tileWasm(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    // Axes before k may repeat, and x must be 1 along them; none from k on.
    let k = reps.length;
    while (k > 0 && reps[k - 1] === 1) k--;
    if (x.dtype !== 'float32' || x.shape.slice(0, k).some((d) => d !== 1)) return original(args);
    const b = args.backend as WasmBackendLike;
    const out = b.makeOutput(x.shape.map((d, i) => d * reps[i]!), 'float32');
    const src = b.typedArrayFromHeap(x);
    const to = b.typedArrayFromHeap(out);
    to.set(src);
    for (let filled = src.length; filled < to.length; filled *= 2) to.copyWithin(filled, 0, Math.min(filled, to.length - filled));
    return out;
  };
}

let registered = false;

/**
 * Registers the kernels for the 'wasm' backend (idempotent). Returns whether convolution
 * gradients are available on WASM.
 */
export function registerWasmConvGrad(): boolean {
  if (registered) return true;
  const needed = ['PadV2', 'Slice', 'Reshape', 'Transpose', 'BatchMatMul', 'Concat', 'Conv2D', 'Conv2DBackpropInput'];
  if (!needed.every((name) => tf.getKernel(name, 'wasm'))) return false;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm });
  }
  const input = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...input, kernelFunc: conv2DBackpropInputWasm(input.kernelFunc) });
  const tile = tf.getKernel('Tile', 'wasm');
  if (tile) {
    tf.unregisterKernel('Tile', 'wasm');
    tf.registerKernel({ ...tile, kernelFunc: tileWasm(tile.kernelFunc) });
  }
  registered = true;
  return true;
}
