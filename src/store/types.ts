// The shapes of the rows Glimpse keeps in IndexedDB (one interface per table of db.ts). These are
// the persisted forms: changing a field here means a new schema version with upgrade code in
// db.ts and a new fixture under tests/fixtures/db/.

/** A project: one set of classes trained against one feature extractor. */
export interface ProjectRow {
  id: string;
  /** Plain text, 1..100 characters after trimming. Rendered as text, never as HTML. */
  name: string;
  createdAt: number;
  updatedAt: number;
  /** Which extractor the user picked (a spec id from embed/specs.ts). */
  extractorId: string;
  /** Model + version + preprocessing; an embedding is valid only for the key that made it. */
  extractorKey: string;
  /** Class ids in display (and training label) order. Kept in step with ClassRow.order. */
  classOrder: string[];
  /** Head settings, augmentation and other per-project options; opaque to the store. */
  settings: Record<string, unknown>;
}

export interface ClassRow {
  id: string;
  projectId: string;
  /** Plain text, 1..100 characters after trimming; any characters, HTML included (shown as text). */
  name: string;
  /** '#rrggbb', lower case. */
  color: string;
  /** Position in ProjectRow.classOrder. */
  order: number;
  createdAt: number;
}

export type SampleSource = 'file' | 'webcam' | 'paste' | 'import';

export interface SampleRow {
  id: string;
  projectId: string;
  classId: string;
  createdAt: number;
  source: SampleSource;
  /** File name or a generated label ("webcam 12:03:14"). Plain text. */
  name: string;
  /** MIME type of the original. */
  type: string;
  /** The original image; null once dropOriginals() freed the space. */
  blob: Blob | null;
  /** Small preview shown in sample grids. Always present. */
  thumb: Blob;
  width: number;
  height: number;
  /** Size of the original in bytes (kept after the original is dropped, for the record). */
  sizeBytes: number;
  /**
   * Hex SHA-256 of the original file's bytes (schema v2), used to skip files already saved in the
   * class when an import is repeated. Absent on v1 rows and where the hash was not available.
   */
  sha256?: string;
}

/**
 * One embedding per sample (keyed by sampleId). Kept apart from samples so that listing samples
 * never pulls 8 KiB vectors into memory, and so re-embedding replaces rows without touching blobs.
 */
export interface EmbeddingRow {
  sampleId: string;
  projectId: string;
  extractorKey: string;
  dim: number;
  /** Float32Array as written; ArrayBuffer or number[] are accepted when read (imports, old rows). */
  vector: Float32Array | ArrayBuffer | number[];
}

/**
 * Schema v7: a copy of embedding rows written together, packed into one value (store/packs.ts).
 * A read cache for training: IndexedDB's cost is per value, so reading 50,000 vectors as ~200
 * packs takes a fraction of reading 50,000 rows. The `embeddings` rows stay the truth: a pack's
 * copy of a row is used only while that sample has an embedding for the same key, and the copy is
 * the vector that was written (a stored vector never changes while it exists; re-embedding writes
 * a newer pack, and the newest copy wins). Ids sort by creation time.
 */
export interface PackRow {
  id: string;
  projectId: string;
  extractorKey: string;
  dim: number;
  /** Row r of x is the vector of sample ids[r]. */
  ids: string[];
  x: Float32Array;
}

/**
 * Schema v3: embeddings of a sample's deterministic augmentation variants (train/augment.ts), one
 * row per sample, keyed by sampleId like `embeddings`. A cache: it can always be recomputed from
 * the original image, so a row that is stale (its sample is gone) or damaged is deleted, never
 * quarantined. extractorKey carries the recipe, e.g. "<extractor key>#aug1".
 */
export interface AugmentRow {
  sampleId: string;
  projectId: string;
  extractorKey: string;
  dim: number;
  /** Number of variants; vectors holds count x dim values. */
  count: number;
  vectors: Float32Array | ArrayBuffer | number[];
}

/** A trained classifier head. */
export interface HeadRow {
  id: string;
  projectId: string;
  createdAt: number;
  extractorKey: string;
  /** Class ids in output order. */
  labels: string[];
  /** Class names at training time, in output order (the model must still label if renamed). */
  classNames: string[];
  /** Serialized trained head, as stored by any version: read through store/restore.ts (StoredHead). */
  head: unknown;
  /** Training metrics, as stored: read through store/restore.ts (HeadMetrics). */
  metrics: unknown;
}

/**
 * Schema v5: a project's fine-tuned model (issue 7 item 2): the trainable weights of the
 * extractor's unfrozen top layers after fine-tuning, by variable name, and the softmax head
 * trained with them. Belongs to the head it started from (headId): a newer head of the project
 * is not fine-tuned until fine-tuning runs again. One per project is kept (ResNet-50's top is
 * 60 MB of float32): saving a new one deletes the older ones.
 */
export interface TunedRow {
  id: string;
  projectId: string;
  headId: string;
  createdAt: number;
  extractorKey: string;
  /** The first unfrozen layer (ExtractorSpec.fineTuneFrom when it was made). */
  fromLayer: string;
  /** Class ids in output order (the head's). */
  labels: string[];
  classNames: string[];
  weights: { name: string; shape: number[]; data: Float32Array | ArrayBuffer }[];
  /** Serialized TrainedHead on raw embeddings of the fine-tuned network; opaque to the store. */
  head: unknown;
  /** History, validation accuracy before/after, sizes; opaque to the store. */
  metrics: unknown;
}

export interface SettingRow {
  key: string;
  value: unknown;
}

export type QuarantineTable = 'samples' | 'embeddings' | 'classes';

/** A row that failed validation, moved aside so it can be inspected or recovered, never lost. */
export interface QuarantineRow {
  id?: number;
  table: QuarantineTable;
  /** Primary key of the row in its own table. */
  rowId: string;
  /** Project it belonged to, when known, so deleting the project also clears its quarantine. */
  projectId?: string;
  reason: string;
  at: number;
  row?: unknown;
}
