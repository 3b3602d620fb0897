// Plain data the embedding code hands in and out (files in, embeddings or per-file errors out).
// Types only: the worker protocol (src/worker/protocol.ts) and the helper lanes' protocol build on them.
import type { SerializedError } from '../shared/errors';

export interface ImageInput {
  id: string;
  bytes: ArrayBuffer;
  type: string;
  name: string;
}

export interface EmbedItemResult {
  id: string;
  embedding?: Float32Array;
  thumbnail?: Blob;
  width?: number;
  height?: number;
  error?: SerializedError;
}

export interface AugmentItemResult {
  id: string;
  /** count x dim variant embeddings, in AUGMENT_VARIANTS order. */
  vectors?: Float32Array;
  count?: number;
  error?: SerializedError;
}

export interface ExtractorInfo {
  id: string;
  name: string;
  key: string;
  dim: number;
  inputSize: number;
  hasClassifier: boolean;
}
