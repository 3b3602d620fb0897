import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAFFE_MEAN_BGR, centreCropBox, imageToInput, imagesToBatch, imagesToBatchPerImage, type PixelImage } from '../../src/embed/preprocess';
import { fusedEligible, packRgba, planChunks } from '../../src/embed/preprocess-webgpu';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function rgba(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): PixelImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return { width, height, channels: 4, data };
}

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('preprocessing', () => {
  it('crops the centre square over the full short side', () => {
    expect(centreCropBox(4, 2)).toEqual([0, 1, 2]);
    expect(centreCropBox(3, 7)).toEqual([2, 0, 3]);
    expect(centreCropBox(5, 5)).toEqual([0, 0, 5]);
  });

  it("maps 'unit' to [0,1]", async () => {
    const img = rgba(1, 1, () => [255, 51, 0]);
    expect((await values(imageToInput(img, 1, 'unit'))).map((v) => +v.toFixed(6))).toEqual([1, 0.2, 0]);
  });

  it("maps 'signed' to [-1,1]", async () => {
    const img = rgba(1, 1, () => [0, 255, 51]);
    expect((await values(imageToInput(img, 1, 'signed'))).map((v) => +v.toFixed(6))).toEqual([-1, 1, -0.6]);
  });

  it("'caffe' swaps RGB to BGR and subtracts the ImageNet means without scaling", async () => {
    const img = rgba(1, 1, () => [10, 20, 30]);
    const v = await values(imageToInput(img, 1, 'caffe'));
    const expected = [30 - CAFFE_MEAN_BGR[0], 20 - CAFFE_MEAN_BGR[1], 10 - CAFFE_MEAN_BGR[2]];
    v.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 4));
  });

  it('keeps exactly the centre pixels when no resize is needed (RGB input, alpha ignored)', async () => {
    // 4x2 image, columns 0..3 have red = 0, 100, 200, 250: the centre square is columns 1..2.
    const img = rgba(4, 2, (x) => [[0, 100, 200, 250][x]!, 0, 0]);
    const v = await values(imageToInput(img, 2, 'unit'));
    const red = v.filter((_, i) => i % 3 === 0).map((x) => Math.round(x * 255));
    expect(red).toEqual([100, 200, 100, 200]);
  });

  it('resizes bilinearly with half-pixel centres (hand-computed)', async () => {
    // 2x2 -> 4x4: along x, [0, 100] becomes centres at -0.25, 0.25, 0.75, 1.25 -> 0, 25, 75, 100.
    const img = rgba(2, 2, (x) => [x === 0 ? 0 : 100, 0, 0]);
    const v = await values(imageToInput(img, 4, 'unit'));
    const row0 = [0, 1, 2, 3].map((x) => Math.round(v[x * 3]! * 255));
    expect(row0).toEqual([0, 25, 75, 100]);
  });

  it('batches images of different sizes and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const batch = imagesToBatch([rgba(10, 6, () => [1, 2, 3]), rgba(3, 9, () => [4, 5, 6])], 5, 'unit');
    expect(batch.shape).toEqual([2, 5, 5, 3]);
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('WebGPU batch packing (the fused path uploads these)', () => {
  it('packs each RGBA pixel as one word, images back to back, with [offset, width, height] each', () => {
    const a = rgba(2, 1, (x) => [x, 10, 20]);
    const b = rgba(1, 2, (_, y) => [30 + y, 40, 50]);
    const { words, layout } = packRgba([a, b]);
    expect(Array.from(layout)).toEqual([0, 2, 1, 2, 1, 2]);
    // Little-endian words: byte 0 is red, byte 3 alpha.
    const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    expect(Array.from(bytes)).toEqual([
      0, 10, 20, 255, 1, 10, 20, 255, 30, 40, 50, 255, 31, 40, 50, 255,
    ]);
  });

  it('splits a batch into uploads under the pixel limit, keeping order', () => {
    const im = (w: number, h: number): PixelImage => ({
      width: w,
      height: h,
      channels: 4,
      data: new Uint8Array(w * h * 4),
    });
    expect(planChunks([im(10, 10), im(10, 10), im(10, 10)], 250)).toEqual([
      [0, 2],
      [2, 3],
    ]);
    expect(planChunks([im(20, 20), im(1, 1)], 250)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(planChunks([], 250)).toEqual([]);
  });

  it('takes only RGBA images', () => {
    expect(fusedEligible([rgba(2, 2, () => [0, 0, 0])])).toBe(true);
    expect(fusedEligible([{ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }])).toBe(
      false,
    );
  });

  it('leaves the CPU path as it was: imagesToBatch equals the per-image ops', async () => {
    const ims = [rgba(10, 6, (x, y) => [x * 20, y * 30, 7]), rgba(3, 9, (x, y) => [x, y, 200])];
    for (const mode of ['unit', 'signed', 'caffe'] as const) {
      expect(await values(imagesToBatch(ims, 5, mode))).toEqual(
        await values(imagesToBatchPerImage(ims, 5, mode)),
      );
    }
  });
});
