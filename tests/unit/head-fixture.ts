// A small valid softmax head (the shape train/ produces), for store and export tests.
import { DEFAULT_HEAD_SETTINGS, type TrainedHead } from '../../src/train/head-types';

export function tinyHead(numClasses: number, dim = 2, tag = 1): TrainedHead {
  const kernel = Float32Array.from({ length: dim * numClasses }, (_, i) => (i + tag) / 8);
  return {
    kind: 'softmax',
    inputDim: dim,
    numClasses,
    inputNorm: 'l2',
    mean: new Float32Array(dim),
    invStd: new Float32Array(dim).fill(1),
    layers: [{ inDim: dim, outDim: numClasses, kernel, bias: new Float32Array(numClasses).fill(tag) }],
    settings: { ...DEFAULT_HEAD_SETTINGS },
    history: [{ epoch: 1, loss: 0.5, accuracy: 1 }],
    bestEpoch: 1,
  };
}
