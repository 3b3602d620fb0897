// The project archive (.zip): a whole project in one file, independent of the store.
//
//   manifest.json        format "glimpse-project", version, size + SHA-256 of every other entry
//   project.json         project, classes (display order), samples (metadata, entry paths)
//   images/<n>.<ext>     originals (stored, not deflated: they are compressed already)
//   thumbs/<n>.<ext>     thumbnails
//   embeddings.bin       optional: float32 LE, one row per listed sample, for one extractor key
//   head/head.json       optional: the latest trained head's description, labels, metrics
//   head/weights.bin     optional: its weights (see head-codec.ts)
//
// buildProjectArchive() writes one; readProjectArchive() streams an untrusted one within
// PROJECT_ZIP_LIMITS, verifies the manifest, validates every field and returns a snapshot. Any
// problem is a GlimpseError that says what was wrong; nothing is written anywhere by this file.
import { zipSync, type Zippable } from 'fflate';
import { sniffImage } from '../capture/guard';
import type { TrainedHead } from '../train/head-types';
import { buildManifest, parseJsonCapped, verifyManifest } from './manifest';
import { decodeHead, encodeHead, floatsFromLittleEndian, littleEndianBytes } from './head-codec';
import { MAX_CLASSES, MAX_HEAD_JSON_BYTES, MAX_MANIFEST_BYTES, MAX_PROJECT_JSON_BYTES, MAX_SAMPLES, PROJECT_ZIP_LIMITS } from './limits';
import { checkMetrics, checkName, checkColor, isPlainJson, type HeadMetrics } from './validate';
import { archiveError, readZip } from './zip-read';
import { APP_VERSION } from './version';

export const PROJECT_FORMAT = 'glimpse-project';
export const PROJECT_FORMAT_VERSION = 1;

export type SnapshotSource = 'file' | 'webcam' | 'paste' | 'import';

export interface SnapshotClass {
  id: string;
  name: string;
  color: string;
}

export interface SnapshotSample {
  id: string;
  classId: string;
  name: string;
  type: string;
  source: SnapshotSource;
  createdAt: number;
  width: number;
  height: number;
  sizeBytes: number;
  /** The original; null when it was dropped to save space. */
  image: Uint8Array | null;
  thumb: Uint8Array;
  thumbType: string;
}

export interface SnapshotHead {
  extractorKey: string;
  /** Class ids in output order. */
  labels: string[];
  classNames: string[];
  createdAt: number;
  head: TrainedHead;
  metrics: HeadMetrics | null;
}

export interface ProjectSnapshot {
  name: string;
  createdAt: number;
  extractorId: string;
  extractorKey: string;
  settings: Record<string, unknown>;
  classes: SnapshotClass[];
  samples: SnapshotSample[];
  /** Embeddings for `embeddings.extractorKey`, by sample id. */
  embeddings: { extractorKey: string; dim: number; vectors: Map<string, Float32Array> } | null;
  head: SnapshotHead | null;
}

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/avif': 'avif' };
const extOf = (type: string) => EXT[type] ?? 'bin';
const encoder = new TextEncoder();
const json = (v: unknown) => encoder.encode(JSON.stringify(v, null, 1));

/** Builds the archive's bytes. */
export async function buildProjectArchive(p: ProjectSnapshot, opts: { includeEmbeddings?: boolean; includeHead?: boolean } = {}): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const stored = new Set<string>();
  const samples = p.samples.map((s, i) => {
    const image = s.image ? `images/${i}.${extOf(s.type)}` : null;
    const thumb = `thumbs/${i}.${extOf(s.thumbType)}`;
    if (image && s.image) {
      files[image] = s.image;
      stored.add(image);
    }
    files[thumb] = s.thumb;
    stored.add(thumb);
    const { id, classId, name, type, source, createdAt, width, height, sizeBytes, thumbType } = s;
    return { id, classId, name, type, source, createdAt, width, height, sizeBytes, thumbType, image, thumb };
  });
  let embeddings: { extractorKey: string; dim: number; file: string; sampleIds: string[] } | null = null;
  if (opts.includeEmbeddings !== false && p.embeddings && p.embeddings.vectors.size > 0) {
    const { dim, vectors } = p.embeddings;
    const ids = p.samples.map((s) => s.id).filter((id) => vectors.get(id)?.length === dim);
    const packed = new Float32Array(ids.length * dim);
    ids.forEach((id, i) => packed.set(vectors.get(id)!, i * dim));
    files['embeddings.bin'] = littleEndianBytes(packed);
    embeddings = { extractorKey: p.embeddings.extractorKey, dim, file: 'embeddings.bin', sampleIds: ids };
  }
  let head: { file: string; weights: string } | null = null;
  if (opts.includeHead !== false && p.head) {
    const { json: headJson, weights } = encodeHead(p.head.head);
    files['head/head.json'] = json({ ...headJson, extractorKey: p.head.extractorKey, labels: p.head.labels, classNames: p.head.classNames, createdAt: p.head.createdAt, metrics: p.head.metrics });
    files['head/weights.bin'] = weights;
    head = { file: 'head/head.json', weights: 'head/weights.bin' };
  }
  files['project.json'] = json({
    project: { name: p.name, createdAt: p.createdAt, extractorId: p.extractorId, extractorKey: p.extractorKey, settings: p.settings },
    classes: p.classes.map(({ id, name, color }) => ({ id, name, color })),
    samples,
    embeddings,
    head,
  });
  const manifest = await buildManifest(PROJECT_FORMAT, PROJECT_FORMAT_VERSION, APP_VERSION, files);
  const zippable: Zippable = { 'manifest.json': json(manifest) };
  for (const [path, bytes] of Object.entries(files)) zippable[path] = stored.has(path) ? [bytes, { level: 0 }] : bytes;
  return zipSync(zippable, { level: 6 });
}

// ---- reading ------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw archiveError(`${what} must be an object.`);
  return v as Obj;
}

function int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw archiveError(`${what} must be a whole number from ${min} to ${max}.`);
  return v;
}

function str(v: unknown, what: string, maxChars = 1000): string {
  if (typeof v !== 'string' || v.length > maxChars) throw archiveError(`${what} must be text of at most ${maxChars} characters.`);
  return v;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Raster types only: an SVG "thumbnail" could carry script if someone opened it on its own. */
const IMAGE_TYPES = new Set(Object.keys(EXT));
const SOURCES = new Set<SnapshotSource>(['file', 'webcam', 'paste', 'import']);

function id(v: unknown, what: string): string {
  if (typeof v !== 'string' || !ID.test(v)) throw archiveError(`${what} has an invalid id.`);
  return v;
}

/** Streams, verifies and validates an untrusted project archive. */
export async function readProjectArchive(source: Blob | Uint8Array, label = 'The project archive'): Promise<ProjectSnapshot> {
  const entries = await readZip(source, PROJECT_ZIP_LIMITS, { label });
  const files = await verifyManifest(entries, { format: PROJECT_FORMAT, maxVersion: PROJECT_FORMAT_VERSION, maxBytes: MAX_MANIFEST_BYTES, label });
  const entry = (path: unknown, what: string): Uint8Array => {
    const bytes = typeof path === 'string' ? files.get(path) : undefined;
    if (!bytes || path === 'manifest.json') throw archiveError(`${what} refers to a file that is not in the archive.`);
    return bytes;
  };
  const rawProject = files.get('project.json');
  if (!rawProject) throw archiveError(`${label} has no project.json.`);
  const root = obj(parseJsonCapped(rawProject, MAX_PROJECT_JSON_BYTES, 'project.json'), 'project.json');
  const p = obj(root.project, 'project.json “project”');
  const extractorKey = str(p.extractorKey, 'The project’s extractor key', 200);
  const extractorId = str(p.extractorId, 'The project’s extractor id', 100);
  if (!extractorKey || !extractorId) throw archiveError('The project has no extractor.');
  if (!isPlainJson(p.settings, 200_000)) throw archiveError('The project’s settings are not a plain JSON object.');

  if (!Array.isArray(root.classes) || root.classes.length > MAX_CLASSES) throw archiveError(`project.json must list at most ${MAX_CLASSES} classes.`);
  const classes: SnapshotClass[] = root.classes.map((c: unknown, i: number) => {
    const o = obj(c, `Class ${i + 1}`);
    return { id: id(o.id, `Class ${i + 1}`), name: checkName(o.name, 'class'), color: checkColor(o.color) };
  });
  const classIds = new Set(classes.map((c) => c.id));
  if (classIds.size !== classes.length) throw archiveError('Two classes share an id.');

  if (!Array.isArray(root.samples) || root.samples.length > MAX_SAMPLES) throw archiveError(`project.json must list at most ${MAX_SAMPLES} samples.`);
  const used = new Set<string>();
  const samples: SnapshotSample[] = root.samples.map((s: unknown, i: number) => {
    const what = `Sample ${i + 1}`;
    const o = obj(s, what);
    const sid = id(o.id, what);
    if (used.has(sid)) throw archiveError(`${what} has the id of another sample.`);
    used.add(sid);
    const classId = id(o.classId, what);
    if (!classIds.has(classId)) throw archiveError(`${what} belongs to a class that is not in the archive.`);
    const type = str(o.type, `${what}’s type`, 60);
    const thumbType = str(o.thumbType, `${what}’s thumbnail type`, 60);
    if ((type !== '' && !IMAGE_TYPES.has(type)) || !IMAGE_TYPES.has(thumbType)) throw archiveError(`${what} has an invalid image type.`);
    const source = o.source as SnapshotSource;
    if (!SOURCES.has(source)) throw archiveError(`${what} has an unknown source.`);
    const image = o.image === null ? null : entry(o.image, what);
    const thumb = entry(o.thumb, `${what}’s thumbnail`);
    if ((image && isArchiveBytes(image)) || isArchiveBytes(thumb)) throw archiveError(`${what} is an archive, not an image.`);
    for (const [bytes, part] of [[image, 'image'], [thumb, 'thumbnail']] as const) {
      if (!bytes) continue;
      try {
        sniffImage(bytes, `${what}’s ${part}`);
      } catch (err) {
        throw archiveError(`${what}’s ${part} is not a usable image: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return {
      id: sid,
      classId,
      name: str(o.name, `${what}’s name`),
      type,
      source,
      createdAt: int(o.createdAt, `${what}’s date`),
      width: int(o.width, `${what}’s width`, 1, 1_000_000),
      height: int(o.height, `${what}’s height`, 1, 1_000_000),
      sizeBytes: int(o.sizeBytes, `${what}’s size`),
      image,
      thumb,
      thumbType,
    };
  });

  let embeddings: ProjectSnapshot['embeddings'] = null;
  if (root.embeddings !== null && root.embeddings !== undefined) {
    const e = obj(root.embeddings, 'project.json “embeddings”');
    const dim = int(e.dim, 'The embedding size', 1, 65_536);
    const key = str(e.extractorKey, 'The embeddings’ extractor key', 200);
    if (!Array.isArray(e.sampleIds)) throw archiveError('The embeddings list no samples.');
    const ids = e.sampleIds.map((x: unknown) => id(x, 'An embedding'));
    if (new Set(ids).size !== ids.length || ids.some((x) => !used.has(x))) throw archiveError('The embeddings refer to unknown or repeated samples.');
    const bytes = entry(e.file, 'The embeddings');
    if (bytes.byteLength !== ids.length * dim * 4) throw archiveError(`embeddings.bin has ${bytes.byteLength} bytes; ${ids.length} embeddings of size ${dim} need ${ids.length * dim * 4}.`);
    const all = floatsFromLittleEndian(bytes, 'embeddings.bin');
    embeddings = { extractorKey: key, dim, vectors: new Map(ids.map((x, i) => [x, all.slice(i * dim, (i + 1) * dim)])) };
  }

  let head: SnapshotHead | null = null;
  if (root.head !== null && root.head !== undefined) {
    const h = obj(root.head, 'project.json “head”');
    const hj = obj(parseJsonCapped(entry(h.file, 'The head'), MAX_HEAD_JSON_BYTES, 'head/head.json'), 'head/head.json');
    const trained = decodeHead(hj, entry(h.weights, 'The head’s weights'));
    if (!Array.isArray(hj.labels) || !Array.isArray(hj.classNames) || hj.labels.length !== trained.numClasses || hj.classNames.length !== trained.numClasses) {
      throw archiveError('The head’s labels do not match its outputs.');
    }
    const labels = hj.labels.map((l: unknown) => id(l, 'A head label'));
    if (new Set(labels).size !== labels.length || labels.some((l) => !classIds.has(l))) throw archiveError('The head’s labels refer to unknown or repeated classes.');
    const hk = str(hj.extractorKey, 'The head’s extractor key', 200);
    if (embeddings && hk === embeddings.extractorKey && trained.inputDim !== embeddings.dim) throw archiveError('The head’s input size does not match the embeddings.');
    head = {
      extractorKey: hk,
      labels,
      classNames: hj.classNames.map((n: unknown) => checkName(n, 'class')),
      createdAt: int(hj.createdAt, 'The head’s date'),
      head: trained,
      metrics: checkMetrics(hj.metrics, trained.numClasses),
    };
  }

  return {
    name: checkName(p.name, 'project'),
    createdAt: int(p.createdAt, 'The project’s date'),
    extractorId,
    extractorKey,
    settings: structuredClone(p.settings as Record<string, unknown>),
    classes,
    samples,
    embeddings,
    head,
  };
}

function isArchiveBytes(b: Uint8Array): boolean {
  return (b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4) || (b[0] === 0x1f && b[1] === 0x8b);
}
