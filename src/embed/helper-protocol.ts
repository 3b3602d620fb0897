// Messages between the embedding worker and its helper lanes (lanes.ts): types and plain data only.
import type { PixelImage } from '../shared/image';

export interface HelperRequests {
  /** Loads the extractor on WASM with `threads` threads; answers with its weights key. */
  load: { req: { extractorId: string; baseUrl: string; threads: number }; res: { key: string; backend: string; ms: number }; progress: never };
  embed: { req: { pixels: PixelImage[] }; res: { embeddings: Float32Array[] }; progress: never };
  memory: { req: Record<string, never>; res: { numTensors: number }; progress: never };
}
