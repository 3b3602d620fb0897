// The review queue's rows: the worker ranks the rows it holds (worker/resident.ts: the rows of the
// last training, kept there), so after a training nothing is read from IndexedDB again; rows it
// lacks (a reload, samples added since) are read once and handed to it first. If the worker
// cannot hold the project's rows (over its limit), the page ranks them itself in two passes over
// IndexedDB, a page at a time, as before.
import { selectClasses } from '../dataset/labelled-set';
import { CentreSums, reviewPage, topItems, type ReviewItem } from '../train/review';
import { embedBridge } from './engine';
import { repo } from './repo';
import { yieldToMain } from './yield';

/** Rows ranked per page in the page's second pass (~0.1 s of distances each, 100 classes). */
const REVIEW_PAGE_ROWS = 512;

interface QueueRequest {
  projectId: string;
  extractorKey: string;
  dim: number;
  /** The trained head's classes, in its order. */
  classIds: readonly string[];
  unsureBelow: number;
  limit: number;
}

/** The hardest `limit` samples of the project's rows in the head's classes. */
export async function reviewQueue(q: QueueRequest): Promise<ReviewItem[]> {
  const held = await reviewHeld(q);
  return held ?? reviewOnPage(q);
}

/** The worker's ranking of the rows; null when it cannot hold them all. */
async function reviewHeld(q: QueueRequest): Promise<ReviewItem[] | null> {
  const { projectId, extractorKey, dim } = q;
  const embeddings = repo().embeddings;
  // The rows in training order, from index keys only (nothing read): every row counts as held.
  let planned = 0;
  const plan = await embeddings.streamTrainingSet(
    projectId,
    extractorKey,
    { expectedDim: dim, onPlan: (n) => void (planned = n), skip: () => new Uint8Array(planned).fill(1) },
    () => undefined,
  );
  const index = new Map(q.classIds.map((c, i) => [c, i]));
  const ids: string[] = [];
  const labels: number[] = [];
  plan.ids.forEach((id, i) => {
    const label = index.get(plan.classIds[i]!);
    if (label === undefined) return;
    ids.push(id);
    labels.push(label);
  });
  const request = { projectId, extractorKey, dim, ids, labels: Int32Array.from(labels), numClasses: q.classIds.length, unsureBelow: q.unsureBelow, limit: q.limit };
  const bridge = embedBridge();
  const first = await bridge.call('review', request);
  if (first.missing.length === 0) return first.items;
  // Read what the worker lacks, once, and hand it over.
  const wanted = new Set(first.missing);
  let fits = true;
  let left = wanted.size;
  await embeddings.streamTrainingSet(
    projectId,
    extractorKey,
    { expectedDim: dim, select: (all) => all.flatMap((id, i) => (wanted.has(id) ? [i] : [])) },
    async (page) => {
      if (!fits) return;
      left -= page.ids.length;
      const r = await bridge.call('holdRows', { projectId, extractorKey, dim, ids: page.ids, x: page.x, more: Math.max(0, left) }, { transfer: [page.x.buffer] });
      fits = r.held;
    },
  );
  if (!fits) return null;
  const again = await bridge.call('review', request);
  // A sample read as unreadable just now is left out of the queue, as the page's ranking leaves it.
  if (again.missing.length === 0) return again.items;
  const unreadable = new Set(again.missing);
  if (again.missing.every((id) => wanted.has(id))) {
    const kept = ids.flatMap((id, i) => (unreadable.has(id) ? [] : [i]));
    const last = await bridge.call('review', { ...request, ids: kept.map((i) => ids[i]!), labels: Int32Array.from(kept, (i) => labels[i]!) });
    if (last.missing.length === 0) return last.items;
  }
  return null;
}

/** The page's own two passes over IndexedDB (rows the worker cannot hold). */
async function reviewOnPage(q: QueueRequest): Promise<ReviewItem[]> {
  const { projectId, extractorKey, dim, classIds, limit } = q;
  const numClasses = classIds.length;
  const sums = new CentreSums(dim, numClasses);
  const probsOf = new Map<string, Float32Array>();
  await repo().embeddings.streamTrainingSet(projectId, extractorKey, { expectedDim: dim }, async (page) => {
    const rows = selectClasses(page, classIds, { reuse: true }); // each page is read afresh
    if (rows.ids.length === 0) return;
    sums.add(rows.x, rows.labels);
    const { probs } = await embedBridge().call(
      'scoreAll',
      { x: rows.x, n: rows.ids.length, extractorKey },
      { transfer: [rows.x.buffer] },
    );
    rows.ids.forEach((id, i) => probsOf.set(id, probs.subarray(i * numClasses, (i + 1) * numClasses)));
  });
  let items: ReviewItem[] = [];
  let offset = 0;
  await repo().embeddings.streamTrainingSet(
    projectId,
    extractorKey,
    { expectedDim: dim, pageRows: REVIEW_PAGE_ROWS },
    async (page) => {
      // A sample added between the passes has no score yet: it waits for the next review.
      const rows = selectClasses(page, classIds, { reuse: true }); // each page is read afresh
      const keep = rows.ids.map((id, i) => (probsOf.has(id) ? i : -1)).filter((i) => i >= 0);
      const all = keep.length === rows.ids.length;
      const probs = new Float32Array(keep.length * numClasses);
      const x = all ? rows.x : new Float32Array(keep.length * dim);
      keep.forEach((r, i) => {
        probs.set(probsOf.get(rows.ids[r]!)!, i * numClasses);
        if (!all) x.set(rows.x.subarray(r * dim, (r + 1) * dim), i * dim);
      });
      const ids = all ? rows.ids : keep.map((r) => rows.ids[r]!);
      const labels = all ? rows.labels : Int32Array.from(keep, (r) => rows.labels[r]!);
      const ranked = reviewPage({ ids, labels, x, dim, numClasses, probs }, sums, {
        unsureBelow: q.unsureBelow,
        rowOffset: offset,
      });
      items = topItems([...items, ...ranked], limit);
      offset += ids.length;
      await yieldToMain(); // the page stays responsive between pages
    },
  );
  return items;
}
