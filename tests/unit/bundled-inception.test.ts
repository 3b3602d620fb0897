// The bundled default extractor (issue 15): Google's 2015 ImageNet Inception-v3 up to mixed_8, in
// public/models/, committed. Its files match the model card's SHA-256 list and stay under 4 MiB,
// its spec matches the model, and it reproduces a golden embedding of a real photo that was
// computed on TF.js's plain-JS CPU backend (scripts/make-golden.ts), here on WASM.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Extractor } from '../../src/embed/extractor';
import { DEFAULT_EXTRACTOR_ID, FALLBACK_EXTRACTOR_ID, extractorKey, findExtractor } from '../../src/embed/specs';
import { decodeImageFile, initNodeBackend, loadNodeExtractor, repoRoot, sharedRoot } from '../../scripts/lib/node-env';

const dir = path.join(repoRoot, 'public', 'models', 'inception-v3-2015-mixed8');
const golden = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'golden', 'inception-v3-2015-mixed8-daisy.json'), 'utf8'),
) as { extractor: string; photo: string; vector: number[] };

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('the bundled Inception-v3 (mixed_8)', () => {
  it('is the default, bundled and offered to users', () => {
    const spec = findExtractor(DEFAULT_EXTRACTOR_ID);
    expect(spec.id).toBe('inception-v3-2015-mixed8');
    expect(FALLBACK_EXTRACTOR_ID).toBe(spec.id);
    expect([spec.origin, spec.userFacing, spec.modelUrl]).toEqual(['bundled', true, 'models/inception-v3-2015-mixed8/model.json']);
    expect([spec.inputSize, spec.preprocessing, spec.embeddingOutput, spec.embeddingDim]).toEqual([299, 'signed', 'mixed_8_avgpool', 1280]);
    expect(extractorKey(spec)).toBe(golden.extractor);
  });

  it('ships every file under 4 MiB, byte for byte as the model card lists them', () => {
    const card = fs.readFileSync(path.join(dir, 'SOURCE.md'), 'utf8');
    const listed = [...card.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)].map((m) => [m[2]!, m[1]!] as const);
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      format: string;
      weightsManifest: { paths: string[] }[];
    };
    const files = ['model.json', ...model.weightsManifest.flatMap((g) => g.paths)];
    expect(model.format).toBe('layers-model');
    expect(listed.map(([f]) => f).sort()).toEqual([...files].sort());
    for (const [file, sha] of listed) {
      const bytes = fs.readFileSync(path.join(dir, file));
      expect(bytes.length, file).toBeLessThan(4 * 1024 * 1024);
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(sha);
    }
  });

  describe('on WASM', () => {
    let ex: Extractor;
    let before = 0;
    beforeAll(async () => {
      await initNodeBackend('wasm');
      before = tf.memory().numTensors;
      ex = await loadNodeExtractor(DEFAULT_EXTRACTOR_ID);
    });
    afterAll(() => {
      ex?.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('has the 2015 graph’s layer names (mixed_0 … mixed_8), the fine-tuning cut and a 1280-d pooled output', () => {
      const model = ex.layersModel;
      expect(model).not.toBeNull();
      const names = model!.layers.map((l) => l.name);
      for (const name of ['conv', 'conv_4', 'mixed_0', 'mixed_3', 'mixed_7', 'mixed_8', 'mixed_8_tower_conv', 'mixed_8_avgpool']) {
        expect(names, name).toContain(name);
      }
      expect(model!.getLayer('mixed_8_avgpool').outputShape).toEqual([null, 1280]);
      expect(ex.spec.embeddingDim).toBe(1280);
      expect(ex.hasClassifier).toBe(false);
    });

    it('reproduces the golden embedding of a real daisy (cosine >= 0.9999 against the CPU backend)', async () => {
      const img = await decodeImageFile(path.join(sharedRoot, 'datasets', golden.photo));
      const r = await ex.embed([img]);
      expect(r.embeddings[0]).toHaveLength(1280);
      expect(cosine(r.embeddings[0]!, golden.vector)).toBeGreaterThanOrEqual(0.9999);
      const n = tf.memory().numTensors;
      await ex.embed([img]);
      expect(tf.memory().numTensors).toBe(n);
    });
  });
});
