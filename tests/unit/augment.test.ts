// Augmentation: the variants are deterministic, are only ever added to training rows (never to
// validation, not even a validation image's own variants), and their cache (schema v3 `augments`)
// drops rows of deleted samples.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUGMENT_VARIANTS,
  augmentKey,
  augmentToBatch,
  variantBoxes,
} from '../../src/embed/augment';
import { fitHead } from '../../src/train/fit';
import { defaultHeadSettings } from '../../src/train/head';
import { mulberry32 } from '../../src/shared/rng';
import { GlimpseDB, SCHEMA_V3 } from '../../src/store/db';
import { createRepo } from '../../src/store/repo';
import type { PixelImage } from '../../src/shared/image';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

function image(width: number, height: number, seed: number): PixelImage {
  const r = mulberry32(seed);
  const data = new Uint8ClampedArray(width * height * 4).map(() => Math.floor(r() * 256));
  return { width, height, channels: 4, data } as unknown as PixelImage;
}

describe('augmentation variants', () => {
  it('are deterministic, distinct, and leak no tensors', async () => {
    const im = image(40, 30, 1);
    const before = tf.memory().numTensors;
    const a = augmentToBatch(im, 16, 'unit');
    const b = augmentToBatch(im, 16, 'unit');
    expect(a.shape).toEqual([AUGMENT_VARIANTS.length, 16, 16, 3]);
    const va = await a.data();
    const vb = await b.data();
    expect(Buffer.from(va.buffer).equals(Buffer.from(vb.buffer))).toBe(true);
    const per = 16 * 16 * 3;
    const variants = AUGMENT_VARIANTS.map((_, i) =>
      Array.from(va.subarray(i * per, (i + 1) * per)),
    );
    for (let i = 0; i < variants.length; i++)
      for (let j = i + 1; j < variants.length; j++) expect(variants[i]).not.toEqual(variants[j]);
    for (const v of va) expect(v >= 0 && v <= 1).toBe(true);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('flip mirrors the centre square; crops and zoom stay inside it', () => {
    const boxes = variantBoxes(40, 30);
    expect(boxes.flip).toEqual([0, 5, 30]);
    expect(boxes['crop-tl']).toEqual([0, 5, 26]);
    expect(boxes['crop-br']).toEqual([4, 9, 26]);
    expect(boxes.zoom).toEqual([3, 8, 24]);
    const im = image(8, 8, 2);
    const t = augmentToBatch(im, 8, 'unit');
    const flipped = tf.tidy(() => tf.reverse(t.slice([0], [1]), 2));
    const plain = tf.tidy(() =>
      tf
        .div(
          tf.slice(
            tf.tensor3d(Int32Array.from(im.data as Uint8ClampedArray), [8, 8, 4]),
            [0, 0, 0],
            [8, 8, 3],
          ),
          255,
        )
        .expandDims(0),
    );
    expect(Array.from(flipped.dataSync()).map((v) => v.toFixed(5))).toEqual(
      Array.from(plain.dataSync()).map((v) => v.toFixed(5)),
    );
    tf.dispose([t, flipped, plain]);
  });
});

describe('augmentation in fitHead', () => {
  // Two separable classes in 8-D.
  const n = 40;
  const dim = 8;
  const r = mulberry32(7);
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const x = Float32Array.from(
    { length: n * dim },
    (_, k) =>
      (Math.floor(k / dim) % 2 === 0 ? (k % dim < 4 ? 1 : 0) : k % dim >= 4 ? 1 : 0) +
      (r() - 0.5) * 0.5,
  );
  const settings = { ...defaultHeadSettings(), validationShare: 0.25 };

  it('adds variants of training samples only; validation is exactly as without augmentation', async () => {
    const plain = await fitHead({ ids, labels, x, dim }, 2, settings);
    const valIds = new Set(Array.from(plain.validationRows, (row) => ids[row]!));
    expect(valIds.size).toBeGreaterThan(0);
    // Variants: 2 per sample. Those of validation samples are poisoned (huge, pointing at the
    // other class): if any reached the first-stage training or validation, the results would move.
    const augIds: string[] = [];
    const augX: number[] = [];
    ids.forEach((id, i) => {
      for (let v = 0; v < 2; v++) {
        augIds.push(id);
        const row = Array.from(x.subarray(i * dim, (i + 1) * dim));
        augX.push(
          ...(valIds.has(id)
            ? row.map((_, j) => (j < 4 === (labels[i] === 1) ? 50 : -50))
            : row.map((u) => u * 1.05)),
        );
      }
    });
    const aug = await fitHead({ ids, labels, x, dim }, 2, settings, {
      augment: { ids: augIds, x: Float32Array.from(augX) },
      refit: false,
    });
    expect(aug.nAugmented).toBe(2 * (n - valIds.size));
    expect(aug.nTrain).toBe(n - valIds.size + aug.nAugmented);
    expect(Array.from(aug.validationRows)).toEqual(Array.from(plain.validationRows));
    // The same run without the validation samples' (poisoned) variants: identical to the bit.
    const keep = augIds.map((id, r) => (valIds.has(id) ? -1 : r)).filter((r) => r >= 0);
    const trainOnly = await fitHead({ ids, labels, x, dim }, 2, settings, {
      augment: {
        ids: keep.map((r) => augIds[r]!),
        x: Float32Array.from(keep.flatMap((r) => augX.slice(r * dim, (r + 1) * dim))),
      },
      refit: false,
    });
    expect(
      Buffer.from(aug.validationProbs.buffer).equals(Buffer.from(trainOnly.validationProbs.buffer)),
    ).toBe(true);
    expect(
      Buffer.from(aug.head.layers[0]!.kernel.buffer).equals(
        Buffer.from(trainOnly.head.layers[0]!.kernel.buffer),
      ),
    ).toBe(true);
    expect(aug.validation?.accuracy).toBe(1);
    for (const row of aug.validationRows) expect(row).toBeLessThan(n);
  });
});

describe('augments cache (schema v3)', () => {
  it('declares the frozen v3 layout of tests/fixtures/db/v3.json', () => {
    const fx = JSON.parse(
      readFileSync(join(import.meta.dirname, '../fixtures/db/v3.json'), 'utf8'),
    ) as { stores: unknown };
    expect(SCHEMA_V3).toEqual(fx.stores);
  });

  it('stores variants per sample, lists missing samples, and drops rows of deleted samples', async () => {
    const db = new GlimpseDB(`aug-${crypto.randomUUID()}`);
    const repo = createRepo(db);
    const project = await repo.projects.create('P', 'x', 'k1');
    const cls = await repo.classes.add(project.id, 'A');
    const thumb = new Blob([new Uint8Array([1])], { type: 'image/jpeg' });
    const [s1, s2] = await repo.samples.addSamples(
      [1, 2].map((i) => ({
        projectId: project.id,
        classId: cls.id,
        source: 'file' as const,
        name: `f${i}.jpg`,
        type: 'image/jpeg',
        blob: thumb,
        thumb,
        width: 1,
        height: 1,
      })),
    );
    const key = augmentKey('k1');
    expect(key).toBe('k1#aug1');
    let set = await repo.augments.load(project.id, key, 2);
    expect(set.missing.sort()).toEqual([s1!.id, s2!.id].sort());
    await repo.augments.putMany([
      {
        sampleId: s1!.id,
        extractorKey: key,
        dim: 2,
        count: 2,
        vectors: Float32Array.from([1, 2, 3, 4]),
      },
      {
        sampleId: s2!.id,
        extractorKey: key,
        dim: 2,
        count: 2,
        vectors: Float32Array.from([5, 6, 7, 8]),
      },
    ]);
    expect(await repo.augments.count(project.id, key)).toBe(2);
    set = await repo.augments.load(project.id, key, 2);
    expect(set.missing).toEqual([]);
    expect(set.ids.length).toBe(4);
    await repo.samples.delete([s1!.id]);
    set = await repo.augments.load(project.id, key, 2);
    expect(set.ids).toEqual([s2!.id, s2!.id]);
    expect(Array.from(set.x)).toEqual([5, 6, 7, 8]);
    expect(await repo.augments.count(project.id, key)).toBe(1);
    await repo.projects.delete(project.id);
    expect(await db.augments.count()).toBe(0);
    db.close();
  });
});
