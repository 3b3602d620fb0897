// Messages between the embedding worker and its helper lanes (lanes.ts): types and plain data only.
import type { EmbedItemResult, ImageInput } from './types';
import type { ExtractorSpec } from './specs';

export interface HelperRequests {
  /** Loads the extractor on WASM with `threads` threads; answers with its weights key. */
  load: { req: { spec: ExtractorSpec; baseUrl: string; threads: number }; res: { key: string; backend: string; ms: number }; progress: never };
  /** Decodes and embeds one batch of files: one result per file (an embedding or its error). */
  embed: { req: { images: ImageInput[]; thumbnails: boolean }; res: { items: EmbedItemResult[] }; progress: never };
  /** Network ms per image at `batch` (repeats > 0), and/or the multiply-add rate (matmul). */
  profile: { req: { batch: number; repeats: number; matmul: boolean }; res: { msPerImage: number; matmulMacsPerS: number }; progress: never };
  memory: { req: Record<string, never>; res: { numTensors: number }; progress: never };
}
