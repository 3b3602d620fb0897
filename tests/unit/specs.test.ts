import { describe, expect, it } from 'vitest';
import { resolveSibling } from '../../src/embed/loader';
import { BUILTIN_EXTRACTORS, extractorKey, findExtractor, parseExtractorSpec } from '../../src/embed/specs';

describe('extractor specs', () => {
  it('ships the four extractors with the documented shapes', () => {
    const ids = BUILTIN_EXTRACTORS.map((s) => s.id);
    expect(ids).toEqual(['inception-v3-2015-mixed8', 'inception-v3', 'resnet50-imagenet', 'inception-v3-nsfwjs']);
    const r = findExtractor('resnet50-imagenet');
    expect([r.inputSize, r.preprocessing, r.embeddingOutput, r.embeddingDim, r.classifier?.output]).toEqual([224, 'caffe', 'avg_pool', 2048, 'fc1000']);
    const i = findExtractor('inception-v3');
    expect([i.inputSize, i.preprocessing, i.embeddingDim, i.origin, i.classifier?.labelOffset, i.optIn]).toEqual([299, 'unit', 2048, 'remote', 1, true]);
    expect(findExtractor('inception-v3-2015-mixed8').embeddingDim).toBe(1280);
    expect(findExtractor('inception-v3-nsfwjs').userFacing).toBe(false);
  });

  it('round-trips every builtin spec through the validator', () => {
    for (const spec of BUILTIN_EXTRACTORS) {
      const parsed = parseExtractorSpec(JSON.parse(JSON.stringify(spec)));
      expect(parsed.id).toBe(spec.id);
      expect(parsed.preprocessing).toBe(spec.preprocessing);
      expect(parsed.classifier?.labelOffset).toBe(spec.classifier?.labelOffset);
    }
  });

  it('keys embeddings by model, version and preprocessing', () => {
    const r = findExtractor('resnet50-imagenet');
    expect(extractorKey(r)).toBe('resnet50-imagenet@1.0.4-f16k/caffe/224');
    expect(extractorKey({ ...r, preprocessing: 'unit' })).not.toBe(extractorKey(r));
  });

  it.each([
    [null, 'not an object'],
    [{ id: 'x', version: '1', modelUrl: 'm', format: 'onnx', preprocessing: 'unit', inputSize: 224, embeddingDim: 8, embeddingOutput: 'a' }, 'format'],
    [{ id: 'x', version: '1', modelUrl: 'm', format: 'graph-model', preprocessing: 'rgb', inputSize: 224, embeddingDim: 8, embeddingOutput: 'a' }, 'preprocessing'],
    [{ id: 'x', version: '1', modelUrl: 'm', format: 'graph-model', preprocessing: 'unit', inputSize: 5000, embeddingDim: 8, embeddingOutput: 'a' }, 'inputSize'],
    [{ id: '../x', version: '1', modelUrl: 'm', format: 'graph-model', preprocessing: 'unit', inputSize: 224, embeddingDim: 8, embeddingOutput: 'a' }, 'id'],
    [{ id: 'x', version: '1', modelUrl: 'm', format: 'graph-model', preprocessing: 'unit', inputSize: 224, embeddingDim: 8, embeddingOutput: 'a', classifier: { labelsUrl: 'l', labelOffset: 2, output: 'o' } }, 'labelOffset'],
  ])('rejects an invalid spec (%#)', (input, word) => {
    expect(() => parseExtractorSpec(input)).toThrow(word);
  });

  it('unknown ids give a clear error', () => {
    expect(() => findExtractor('mobilenet')).toThrow(/Unknown extractor “mobilenet”/);
  });

  it('resolves weight shards next to model.json, keeping its query', () => {
    expect(resolveSibling('https://h/a/b/model.json?tfjs-format=file', 'group1-shard1of2')).toBe('https://h/a/b/group1-shard1of2?tfjs-format=file');
    expect(resolveSibling('models/r/model.json', 'g.bin')).toBe('models/r/g.bin');
  });
});
