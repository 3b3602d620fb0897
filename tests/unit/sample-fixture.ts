// A sample as an import would add it (no image, a one-byte thumbnail), with an embedding under
// extractor key 'k1' when `vector` is given. Shared by the store tests that need many samples.
import type { NewSample } from '../../src/store/repo';

export function newSample(projectId: string, classId: string, vector: Float32Array | null, i: number): NewSample {
  return {
    projectId,
    classId,
    source: 'import',
    name: `s${i}.jpg`,
    type: 'image/jpeg',
    blob: null,
    thumb: new Blob([new Uint8Array([i & 255])]),
    width: 8,
    height: 8,
    sizeBytes: 0,
    ...(vector ? { embedding: { extractorKey: 'k1', vector } } : {}),
  };
}
