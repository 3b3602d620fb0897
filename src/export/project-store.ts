// Between the store and project snapshots: read a stored project into a snapshot (for export),
// and write a validated snapshot as a NEW project (for import) in one transaction, so an import
// lands whole or not at all and never touches existing projects. Every id is new on import
// (importing the same archive twice gives two independent projects); labels of the head and
// embeddings are re-keyed to the new ids.
import type { Repo } from '../store/repo';
import { stamp } from '../store/tx';
import type { ClassRow, EmbeddingRow, HeadRow, ProjectRow, SampleRow } from '../store/types';
import { newId } from '../store/validate';
import { GlimpseError } from '../shared/errors';
import type { ProjectSnapshot, SnapshotSample } from './project-archive';
import { sha256Hex } from '../dataset/hash';

async function bytesOf(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** Everything the project holds, with its latest head (if any) and the embeddings of its extractor. */
export async function snapshotProject(repo: Repo, projectId: string): Promise<ProjectSnapshot> {
  const project = await repo.projects.get(projectId);
  if (!project) throw new GlimpseError('invalid-input', 'This project no longer exists.', projectId);
  const classes = await repo.classes.list(projectId);
  const samples: SampleRow[] = [];
  for (const c of classes) samples.push(...(await repo.samples.listByClass(projectId, c.id)));
  const { dim, vectors } = await repo.embeddings.vectorsOf(projectId, project.extractorKey);
  const latest = await repo.heads.latest(projectId);
  const classIds = new Set(classes.map((c) => c.id));
  // A head whose classes were deleted since it was trained cannot be re-keyed: it is left out.
  // So is a head the store could not restore (an older format): there is nothing to carry.
  const headUsable = latest?.head && latest.labels.every((l) => classIds.has(l));
  const snapSamples: SnapshotSample[] = [];
  for (const s of samples) {
    snapSamples.push({
      id: s.id,
      classId: s.classId,
      name: s.name,
      type: s.type,
      source: s.source,
      createdAt: s.createdAt,
      width: s.width,
      height: s.height,
      sizeBytes: s.sizeBytes,
      image: s.blob ? await bytesOf(s.blob) : null,
      thumb: await bytesOf(s.thumb),
      thumbType: s.thumb.type || 'image/jpeg',
    });
  }
  return {
    name: project.name,
    createdAt: project.createdAt,
    extractorId: project.extractorId,
    extractorKey: project.extractorKey,
    settings: project.settings,
    classes: classes.map(({ id, name, color }) => ({ id, name, color })),
    samples: snapSamples,
    embeddings: vectors.size > 0 ? { extractorKey: project.extractorKey, dim, vectors } : null,
    head:
      latest?.head && headUsable
        ? {
            extractorKey: latest.extractorKey,
            labels: latest.labels,
            classNames: latest.classNames,
            createdAt: latest.createdAt,
            head: latest.head,
            metrics: { validation: latest.metrics.validation, trainMs: latest.metrics.trainMs },
          }
        : null,
  };
}

export interface RestoreResult {
  project: ProjectRow;
  classes: number;
  samples: number;
  embeddings: number;
  head: boolean;
}

/**
 * The name itself when no project has it, else the first free "Name (k)", k >= 2 (a name that
 * already ends in " (k)" counts up from its base: importing "Flowers (2)" again gives "Flowers (3)").
 */
export function freeProjectName(name: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(name)) return name;
  const m = /^(.*) \((\d+)\)$/.exec(name);
  const base = m ? m[1]! : name;
  for (let k = m ? Number(m[2]) + 1 : 2; ; k++) {
    const candidate = `${base} (${k})`;
    if (!used.has(candidate)) return candidate;
  }
}

/**
 * Writes the snapshot as a new project (one transaction); existing data is never changed. A
 * project of the same name already there makes this one "Name (2)" (freeProjectName), decided
 * inside the transaction so two imports at once cannot pick the same name.
 */
export async function restoreSnapshot(repo: Repo, snap: ProjectSnapshot, name = snap.name): Promise<RestoreResult> {
  const at = stamp();
  const projectId = newId();
  const classIds = new Map(snap.classes.map((c) => [c.id, newId()]));
  const sampleIds = new Map(snap.samples.map((s) => [s.id, newId()]));
  const project: ProjectRow = {
    id: projectId,
    name,
    createdAt: at,
    updatedAt: at,
    extractorId: snap.extractorId,
    extractorKey: snap.extractorKey,
    classOrder: snap.classes.map((c) => classIds.get(c.id)!),
    settings: snap.settings,
  };
  const classes: ClassRow[] = snap.classes.map((c, order) => ({ id: classIds.get(c.id)!, projectId, name: c.name, color: c.color, order, createdAt: at }));
  // The original's SHA-256, as the import queue records it (schema v2), so a later folder drop
  // recognises these images as already saved.
  const hashes = await Promise.all(snap.samples.map((s) => (s.image ? sha256Hex(s.image) : null)));
  const samples: SampleRow[] = snap.samples.map((s, i) => ({
    id: sampleIds.get(s.id)!,
    projectId,
    classId: classIds.get(s.classId)!,
    createdAt: s.createdAt,
    source: s.source,
    name: s.name,
    type: s.type,
    blob: s.image ? new Blob([s.image as Uint8Array<ArrayBuffer>], { type: s.type }) : null,
    thumb: new Blob([s.thumb as Uint8Array<ArrayBuffer>], { type: s.thumbType }),
    width: s.width,
    height: s.height,
    sizeBytes: s.sizeBytes,
    ...(hashes[i] ? { sha256: hashes[i] } : {}),
  }));
  const embeddings: EmbeddingRow[] = [];
  if (snap.embeddings) {
    for (const [sid, vector] of snap.embeddings.vectors) {
      embeddings.push({ sampleId: sampleIds.get(sid)!, projectId, extractorKey: snap.embeddings.extractorKey, dim: vector.length, vector });
    }
  }
  const head: HeadRow | null = snap.head
    ? {
        id: newId(),
        projectId,
        createdAt: at,
        extractorKey: snap.head.extractorKey,
        labels: snap.head.labels.map((l) => classIds.get(l)!),
        classNames: snap.head.classNames,
        head: snap.head.head,
        metrics: snap.head.metrics,
      }
    : null;
  project.name = await repo.imports.addWhole({ project, classes, samples, embeddings, head }, (taken) => freeProjectName(name, taken));
  return { project, classes: classes.length, samples: samples.length, embeddings: embeddings.length, head: head !== null };
}
