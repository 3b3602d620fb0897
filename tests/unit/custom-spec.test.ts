// Models loaded from the user's files (issue 15, item 3): the checks run before anything is stored.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { customModelSpec, type PickedFile } from '../../src/embed/custom-spec';
import { parseExtractorSpec } from '../../src/embed/specs';
import { repoRoot } from '../../scripts/lib/node-env';

const dir = path.join(repoRoot, 'public', 'models', 'inception-v3-2015-mixed8');
const read = (name: string): PickedFile => {
  const b = fs.readFileSync(path.join(dir, name));
  return { name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};
const all = (): PickedFile[] => fs.readdirSync(dir).filter((f) => /\.(json|bin)$/.test(f)).map(read);
const opts = { id: 'custom-0123456789ab', preprocessing: 'signed' as const };

describe('a model from the user’s files', () => {
  it('derives the spec from model.json: format, input size, output layer; size measured at load', () => {
    const { spec, store } = customModelSpec(all(), { ...opts, name: 'My Inception' });
    expect(spec).toMatchObject({
      id: 'custom-0123456789ab',
      name: 'My Inception',
      format: 'layers-model',
      inputSize: 299,
      embeddingOutput: 'mixed_8_avgpool',
      embeddingDim: 0,
      origin: 'user',
      modelUrl: 'custom-models/custom-0123456789ab/model.json',
    });
    expect(store.map((s) => s.path)).toEqual([
      'custom-models/custom-0123456789ab/model.json',
      ...Array.from({ length: 7 }, (_, i) => `custom-models/custom-0123456789ab/group1-shard${i + 1}of7.bin`),
    ]);
    // The stored spec survives the validator that reads it back from localStorage.
    expect(parseExtractorSpec(JSON.parse(JSON.stringify(spec))).id).toBe(spec.id);
  });

  it('names the missing weight files', () => {
    const files = all().filter((f) => f.name !== 'group1-shard3of7.bin');
    expect(() => customModelSpec(files, opts)).toThrow('Missing weight files: group1-shard3of7.bin');
  });

  it('refuses a truncated shard with the byte counts', () => {
    const files = all().map((f) => (f.name === 'group1-shard7of7.bin' ? { ...f, bytes: f.bytes.slice(0, 1000) } : f));
    expect(() => customModelSpec(files, opts)).toThrow(/hold \d+ bytes but model\.json needs \d+/);
  });

  it('needs exactly one model.json, and a real one', () => {
    expect(() => customModelSpec(all().filter((f) => f.name !== 'model.json'), opts)).toThrow('Pick the model’s model.json');
    const junk = { name: 'model.json', bytes: new TextEncoder().encode('<html>').buffer as ArrayBuffer };
    expect(() => customModelSpec([junk], opts)).toThrow('not valid JSON');
    const other = { name: 'model.json', bytes: new TextEncoder().encode('{"a":1}').buffer as ArrayBuffer };
    expect(() => customModelSpec([other], opts)).toThrow('not a TF.js model');
  });

  it('reads a graph model’s input size from its signature and uses its default output', () => {
    const json = { format: 'graph-model', modelTopology: { node: [] }, signature: { inputs: { images: { tensorShape: { dim: [{ size: '-1' }, { size: '299' }, { size: '299' }, { size: '3' }] } } } }, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [2, 2], dtype: 'float32' }] }] };
    const files = [
      { name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer },
      { name: 'w.bin', bytes: new ArrayBuffer(16) },
    ];
    const { spec } = customModelSpec(files, { ...opts, preprocessing: 'unit' });
    expect([spec.format, spec.inputSize, spec.embeddingOutput]).toEqual(['graph-model', 299, '']);
  });
});
