// The gradient kernel TF.js 4.22's WASM backend lacks: Conv2DBackpropFilter (the weight gradient of
// a 2-D convolution), without which nothing with a trainable convolution can train on WASM
// (fine-tuning the top of the extractor). Registered once, wherever the WASM backend is set up
// (embed worker, Node tools).
//
// Built from the backend's own kernels as one matrix product per filter tap: dW[i,j] = X_ij^T dy,
// where X_ij [n*oh*ow, c] holds the inputs tap (i, j) saw (a strided slice of the padded x).
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

interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}

function kernel(name: string): tf.KernelFunc {
  // Looked up per call: kernels are registered when the backend package is imported.
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new GlimpseError('backend-unavailable', `The WASM backend has no ${name} kernel.`);
  return k.kernelFunc;
}

/** Conv2DBackpropFilter for 'wasm' through Conv3DBackpropFilterV2 (NHWC, 'same'/'valid' padding). */
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
    const t = kernel(name)({ inputs: input as tf.NamedTensorInfoMap, backend, attrs: at as tf.NamedAttrMap }) as TensorInfo;
    temps.push(t);
    return t;
  };
  try {
    // x padded (or cut) to exactly the rows and columns the strided windows read.
    const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, cin, cout], [sh!, sw!], 1, a.pad);
    const { top, left } = info.padInfo;
    const needH = (oh - 1) * sh! + fh;
    const needW = (ow - 1) * sw! + fw;
    let xp = x;
    if (top > 0 || left > 0 || needH > h || needW > w) {
      xp = run('PadV2', { x }, {
        paddings: [[0, 0], [top, Math.max(0, needH - h - top)], [left, Math.max(0, needW - w - left)], [0, 0]],
        constantValue: 0,
      });
    }
    const m = n * oh * ow;
    const dy3 = run('Reshape', { x: dy }, { shape: [1, m, k] });
    const parts: TensorInfo[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        // The inputs that filter tap (i, j) saw, one row per output position: dW[i,j] = X^T dy.
        const xs = run('StridedSlice', { x: xp }, {
          begin: [0, i, j, 0],
          end: [n, i + (oh - 1) * sh! + 1, j + (ow - 1) * sw! + 1, c],
          strides: [1, sh!, sw!, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        });
        const x2 = run('Reshape', { x: xs }, { shape: [m, c] });
        // Transposed explicitly: BatchMatMul with transposeA is far slower on WASM.
        const xt = run('Transpose', { x: x2 }, { perm: [1, 0] });
        const xt3 = run('Reshape', { x: xt }, { shape: [1, c, m] });
        const g = run('BatchMatMul', { a: xt3, b: dy3 }, { transposeA: false, transposeB: false });
        parts.push(run('Reshape', { x: g }, { shape: [c, k] }));
      }
    }
    const all = parts.length === 1 ? parts[0]! : run('Concat', parts, { axis: 0 });
    return kernel('Reshape')({ inputs: { x: all }, backend, attrs: { shape: [fh, fw, cin, cout] } }) as TensorInfo;
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
 * Conv2DBackpropInput for 'wasm' as a forward convolution (XNNPACK) of dy, spread out by the
 * stride and padded, with the filter flipped and its channels swapped:
 * dx[p] = sum_i dy'[p + top - i] W[i]. The backend's own kernel is a plain loop: 20 of the 29 s of
 * a ResNet-50 res5 forward + backward pass on 16 images. Other padding or layouts go to it.
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
    const run = (name: string, input: Record<string, TensorInfo>, at: object): TensorInfo => {
      const t = kernel(name)({ inputs: input as tf.NamedTensorInfoMap, backend, attrs: at as tf.NamedAttrMap }) as TensorInfo;
      temps.push(t);
      return t;
    };
    try {
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, c, k], [sh!, sw!], 1, a.pad as 'same');
      const { top, left } = info.padInfo;
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
      const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
      const swapped = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
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

let registered = false;

/**
 * Registers the kernels for the 'wasm' backend (idempotent). Returns whether convolution
 * gradients are available on WASM.
 */
export function registerWasmConvGrad(): boolean {
  if (registered) return true;
  const needed = ['PadV2', 'Slice', 'StridedSlice', 'Reshape', 'Transpose', 'BatchMatMul', 'Concat', 'Reverse', 'Conv2D', 'Conv2DBackpropInput'];
  if (!needed.every((name) => tf.getKernel(name, 'wasm'))) return false;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm });
  }
  const input = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ ...input, kernelFunc: conv2DBackpropInputWasm(input.kernelFunc) });
  registered = true;
  return true;
}
