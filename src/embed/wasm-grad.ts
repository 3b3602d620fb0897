// The gradient kernel TF.js 4.22's WASM backend lacks: Conv2DBackpropFilter (the weight gradient of
// a 2-D convolution), without which nothing with a trainable convolution can train on WASM
// (fine-tuning the top of the extractor). The backend does have the 3-D version,
// Conv3DBackpropFilterV2, in C++: a 2-D convolution is a 3-D one with depth 1, so x [n,h,w,c] and
// dy [n,oh,ow,k] are presented as [n,1,h,w,c] / [n,1,oh,ow,k] (the WASM Reshape kernel only
// re-labels the shape; the data is shared, reference counted) and the filter comes back as
// [1,fh,fw,c,k]. Registered once, wherever the WASM backend is set up (embed worker, Node tools).
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
  const reshape = kernel('Reshape');
  const conv3d = kernel('Conv3DBackpropFilterV2');
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, oh, ow, k] = dy.shape as [number, number, number, number];
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => {
    temps.push(t);
    return t;
  };
  const run = (f: tf.KernelFunc, input: Record<string, TensorInfo>, at: object): TensorInfo =>
    keep(f({ inputs: input, backend, attrs: at as tf.NamedAttrMap }) as TensorInfo);
  try {
    let xs = x;
    let dys = dy;
    let pad: 'same' | 'valid' = a.pad;
    if ((sh! > 1 || sw! > 1) && (fh > 1 || fw > 1)) {
      // The WASM Conv3DBackpropFilterV2 is wrong for strides > 1 with filters wider than 1
      // (checked against the CPU kernel and a hand-written loop). A strided convolution's filter
      // gradient is a stride-1 one with dy spread out: zeros between its rows and columns, over x
      // padded (or cut) to exactly the rows and columns the strided windows read.
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, cin, cout], [sh!, sw!], 1, a.pad);
      const { top, left } = info.padInfo;
      const needH = (oh - 1) * sh! + fh;
      const needW = (ow - 1) * sw! + fw;
      const pad4 = run(kernel('PadV2'), { x }, {
        paddings: [[0, 0], [top, Math.max(0, needH - h - top)], [left, Math.max(0, needW - w - left)], [0, 0]],
        constantValue: 0,
      });
      xs = run(kernel('Slice'), { x: pad4 }, { begin: [0, 0, 0, 0], size: [n, needH, needW, c] });
      const dy6 = run(reshape, { x: dy }, { shape: [n, oh, 1, ow, 1, k] });
      const spread = run(kernel('PadV2'), { x: dy6 }, {
        paddings: [[0, 0], [0, 0], [0, sh! - 1], [0, 0], [0, sw! - 1], [0, 0]],
        constantValue: 0,
      });
      const dy4 = run(reshape, { x: spread }, { shape: [n, oh * sh!, ow * sw!, k] });
      dys = run(kernel('Slice'), { x: dy4 }, { begin: [0, 0, 0, 0], size: [n, (oh - 1) * sh! + 1, (ow - 1) * sw! + 1, k] });
      pad = 'valid';
    }
    const [dh, dw] = [dys.shape[1]!, dys.shape[2]!];
    const x5 = run(reshape, { x: xs }, { shape: [n, 1, xs.shape[1]!, xs.shape[2]!, c] });
    const dy5 = run(reshape, { x: dys }, { shape: [n, 1, dh, dw, k] });
    const strides = xs === x ? [1, sh!, sw!] : [1, 1, 1];
    const dw5 = run(conv3d, { x: x5, dy: dy5 }, { strides, pad, filterShape: [1, fh, fw, cin, cout] });
    return reshape({ inputs: { x: dw5 }, backend, attrs: { shape: [fh, fw, cin, cout] } }) as TensorInfo;
  } finally {
    // Every intermediate holds one reference; the returned view keeps the result's data alive.
    for (const t of temps) b.disposeData(t.dataId);
  }
};

let registered = false;

/**
 * Registers the kernel for the 'wasm' backend (idempotent; a no-op if TF.js gains its own).
 * Returns whether convolution gradients are available on WASM.
 */
export function registerWasmConvGrad(): boolean {
  if (registered) return true;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    if (!tf.getKernel('Conv3DBackpropFilterV2', 'wasm') || !tf.getKernel('Reshape', 'wasm')) return false;
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm });
  }
  registered = true;
  return true;
}
