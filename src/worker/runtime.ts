// The model worker's runtime: which backend runs, which extractor is loaded, and how both are made
// (init) and remade after a lost GPU context (reload). Requests reach the extractor through
// readyExtractor(); the worker's own notices (GPU recovery) go out through the event sink.
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice, type BackendName, type BackendProbe } from '../embed/backend';
import { probeBackends, setBrowserBackend } from '../embed/backend-browser';
import { loadExtractor, type Extractor } from '../embed/extractor';
import { modelSource } from '../embed/fetch-cache';
import type { IntegrityReport } from '../embed/model-files';
import { watchActiveBackend } from '../embed/gpu-watchdog';
import { setLaneOverride, stopHelperLanes } from '../embed/lanes';
import { findExtractor, LABELLER_EXTRACTOR_ID, type ExtractorSpec } from '../embed/specs';
import { GlimpseError, serializeError } from '../shared/errors';
import { warmHeadTraining } from '../train/fit';
import type { InitResult, Progress, Req, WorkerEvent } from './protocol';

let extractor: Extractor | null = null;
let backend: BackendChoice | null = null;
let baseUrl = '';
let probes: BackendProbe[] | null = null;
let loadedSpec: ExtractorSpec | null = null;
/** ResNet-50 with its ImageNet classifier, for "What is this?" when the extractor has none. */
let labeller: Promise<Extractor> | null = null;
let emitEvent: (e: WorkerEvent) => void = () => {};

/** Where the worker's own messages (GPU recovery notices) go; set by the worker file. */
export function setEventSink(sink: (e: WorkerEvent) => void): void {
  emitEvent = sink;
}

export function emit(e: WorkerEvent): void {
  emitEvent(e);
}

/** The loaded extractor, or null before the first init (and during a reload). */
export function currentExtractor(): Extractor | null {
  return extractor;
}

export function readyExtractor(): Extractor {
  if (!extractor) throw new GlimpseError('internal', 'The model is not loaded yet.');
  return extractor;
}

/** Base URL that spec-relative model paths resolve against (helper lanes load from it too). */
export function modelBaseUrl(): string {
  return baseUrl;
}

async function smokeTest(): Promise<void> {
  const t = tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same').sum());
  const v = (await t.data())[0];
  t.dispose();
  // Interior cells see 27 ones per filter: any working backend gives a large positive sum.
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 27 * 4 * 36) {
    throw new Error(`backend produced wrong numbers (${String(v)})`);
  }
}

/**
 * Loads an extractor through its manifest when it has one (every file hashed, a damaged cached
 * file fetched again, the key naming the weights), then drops cached files the manifest no longer
 * lists (the weights an update replaced).
 */
async function loadVerified(
  spec: ExtractorSpec,
  signal?: AbortSignal,
  onProgress?: (p: { loadedBytes: number; doneFiles: number; totalFiles: number }) => void,
): Promise<{ ex: Extractor; integrity: IntegrityReport | null }> {
  const resolveUrl = (url: string) => new URL(url, baseUrl).toString();
  const source = await modelSource(spec, resolveUrl, signal ? { signal } : {});
  const ex = await loadExtractor(spec, {
    fetchBytes: source.fetchBytes,
    resolveUrl,
    ...(source.report ? { weightsDigest: source.report.digest } : {}),
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  await source.prune().catch(() => 0);
  return { ex, integrity: source.report ? { ...source.report } : null };
}

async function loadBySpec(spec: ExtractorSpec, signal?: AbortSignal): Promise<Extractor> {
  return (await loadVerified(spec, signal)).ex;
}

function dropLabeller(): void {
  const old = labeller;
  labeller = null;
  void old?.then((l) => l.dispose()).catch(() => {});
}

/**
 * The network that names ImageNet classes: the extractor itself when it has a classifier, else
 * the bundled ResNet-50, loaded on the first "What is this?" (teaching never pays for it).
 */
export function imagenetClassifier(): Promise<Extractor> {
  const ex = readyExtractor();
  if (ex.hasClassifier) return Promise.resolve(ex);
  if (!labeller) {
    const loading = loadBySpec(findExtractor(LABELLER_EXTRACTOR_ID));
    labeller = loading;
    loading.catch(() => {
      if (labeller === loading) labeller = null;
    });
  }
  return labeller;
}

export async function init(req: Req<'init'>, progress: (p: Progress<'init'>) => void, signal: AbortSignal): Promise<InitResult> {
  baseUrl = req.baseUrl;
  const start = performance.now();
  stopHelperLanes();
  setLaneOverride(req.lanes);
  // A forced backend is re-chosen when the request no longer forces one ("Automatic" in Settings
  // takes effect at once, not after a reload).
  if (!backend || req.backend !== undefined || backend.forced) {
    dropLabeller();
    progress({ phase: 'backend', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
    probes = await probeBackends();
    backend = await selectBackend(probes, setBrowserBackend, smokeTest, req.backend);
    watchActiveBackend();
  }
  extractor?.dispose();
  extractor = null;
  loadedSpec = null;
  const load = (spec: ExtractorSpec) => loadVerified(spec, signal, (p) => progress({ phase: `model:${spec.id}`, ...p }));
  let fallback: InitResult['fallback'];
  let loaded: Awaited<ReturnType<typeof load>>;
  try {
    loaded = await load(req.spec ?? findExtractor(req.extractorId));
  } catch (err) {
    if (!req.fallbackId || req.fallbackId === req.extractorId || signal.aborted) throw err;
    fallback = { requestedId: req.extractorId, reason: serializeError(err) };
    loaded = await load(findExtractor(req.fallbackId));
  }
  const ex = loaded.ex;
  extractor = ex;
  loadedSpec = ex.spec;
  const loadMs = performance.now() - start;
  const w0 = performance.now();
  progress({ phase: 'warmup', loadedBytes: 0, doneFiles: 0, totalFiles: 0 });
  await ex.warmup(1);
  // The first real training would otherwise pay for compiling the training code and warming its
  // kernels (src/train/fit.ts); the worker is idle now. Not awaited: the model is ready. Only on
  // WASM and real GPUs: on plain JS or a software GPU the warm-up itself takes seconds of CPU.
  const software = probes?.find((p) => p.name === backend?.name)?.software ?? false;
  if (backend.name !== 'cpu' && !software) void warmHeadTraining(ex.spec.embeddingDim);
  const result: InitResult = {
    backend,
    extractor: {
      id: ex.spec.id,
      name: ex.spec.name,
      key: ex.key,
      dim: ex.spec.embeddingDim,
      inputSize: ex.spec.inputSize,
      hasClassifier: ex.hasClassifier,
    },
    loadMs,
    warmupMs: performance.now() - w0,
  };
  if (fallback) result.fallback = fallback;
  if (loaded.integrity) result.integrity = loaded.integrity;
  return result;
}

/**
 * After a lost GPU context: drops the dead backend, starts a fresh one from its factory (a real
 * GPU) or WASM (a software GPU, which the normal policy would not have picked either), reloads
 * the extractor (its bytes come from Cache Storage) and tells the page.
 */
export async function reloadAfterLoss(reason: string): Promise<void> {
  const lost = (backend?.name ?? tf.getBackend()) as BackendName;
  try {
    try {
      extractor?.dispose();
    } catch {
      // the model's textures died with the context
    }
    extractor = null;
    dropLabeller();
    const factory = tf.findBackendFactory(lost);
    try {
      tf.removeBackend(lost);
    } catch {
      // disposing a backend whose context is gone may throw; it is dropped either way
    }
    if (factory) tf.registerBackend(lost, factory);
    const known = probes ?? (await probeBackends());
    const software = known.find((p) => p.name === lost)?.software ?? false;
    const choice = await selectBackend(known, setBrowserBackend, smokeTest, software ? 'wasm' : lost);
    backend = { ...choice, forced: false, detail: `${choice.detail} (after the ${lost.toUpperCase()} context was lost)`.trim() };
    watchActiveBackend();
    if (!loadedSpec) throw new GlimpseError('internal', 'No model was loaded.');
    const ex = await loadBySpec(loadedSpec);
    await ex.warmup(1);
    extractor = ex;
  } catch (err) {
    const message = `The graphics context was lost and Glimpse could not recover: ${serializeError(err).message} Reload the page.`;
    emit({ type: 'gpu-recovery-failed', lostBackend: lost, reason, message });
    throw new GlimpseError('gpu-context-lost', message, reason);
  }
  const now = backend.name === lost ? `a fresh ${lost.toUpperCase()} context` : backend.name.toUpperCase();
  emit({
    type: 'gpu-recovered',
    lostBackend: lost,
    backend,
    reason,
    message: `The graphics context was lost; Glimpse switched to ${now} and retried.`,
  });
}
