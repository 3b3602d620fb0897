// Ephemeral session state for the model engine: which backend and extractor run, load progress,
// and the "What is this?" results. Services live here; the UI reads through hooks only.
import { create } from 'zustand';
import { createEmbedBridge, type EmbedBridge } from '../worker/client';
import type { BackendChoice, BackendName } from '../embed/backend';
import { BACKEND_ORDER, isBackendName } from '../embed/backend';
import type { ClassScore } from '../embed/extractor';
import type { IntegrityReport } from '../embed/model-files';
import type { ExtractorInfo, ImageInput, WorkerEvent } from '../worker/protocol';
import { DEFAULT_EXTRACTOR_ID, FALLBACK_EXTRACTOR_ID } from '../embed/specs';
import { findAnyExtractor } from './catalog';
import { recordCustomDim } from './custom-models';
import { GlimpseError, serializeError, type SerializedError } from '../shared/errors';

export { BACKEND_ORDER };
export type { BackendName, ClassScore };

export type EngineStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface LoadProgressView {
  phase: string;
  loadedBytes: number;
  doneFiles: number;
  totalFiles: number;
}

export interface WhatIsThisResult {
  id: number;
  name: string;
  previewUrl: string;
  top: ClassScore[];
  ms: number;
}

export interface EngineState {
  status: EngineStatus;
  backend: BackendChoice | null;
  extractor: ExtractorInfo | null;
  progress: LoadProgressView | null;
  notice: string | null;
  error: SerializedError | null;
  loadMs: number | null;
  results: WhatIsThisResult[];
  busy: boolean;
  forcedBackend: BackendName | null;
  requestedExtractor: string;
  /** The last load's check of the model files against their manifest (null: nothing to check). */
  integrity: IntegrityReport | null;
}

export const useEngine = create<EngineState>(() => ({
  status: 'idle',
  backend: null,
  extractor: null,
  progress: null,
  notice: null,
  error: null,
  loadMs: null,
  results: [],
  busy: false,
  forcedBackend: null,
  requestedExtractor: DEFAULT_EXTRACTOR_ID,
  integrity: null,
}));

let bridge: EmbedBridge | null = null;
export function embedBridge(): EmbedBridge {
  if (!bridge) {
    bridge = createEmbedBridge(onWorkerEvent);
    bridge.onCrash = (err) => useEngine.setState({ status: 'error', error: serializeError(err) });
  }
  return bridge;
}

/** The worker recovered from (or failed to recover from) a lost GPU context: say so, show the backend. */
function onWorkerEvent(e: WorkerEvent): void {
  if (e.type === 'gpu-recovered') {
    useEngine.setState({ backend: e.backend, notice: e.message });
  } else {
    useEngine.setState({ status: 'error', error: { code: 'gpu-context-lost', message: e.message } });
  }
}

const PREF_BACKEND = 'glimpse.backend';
const PREF_EXTRACTOR = 'glimpse.extractor';

/** URL parameters win over saved settings: ?backend=wasm&extractor=resnet50-imagenet */
export function readPreferences(search = location.search): { backend: BackendName | null; extractor: string } {
  const params = new URLSearchParams(search);
  const b = params.get('backend') ?? localStorage.getItem(PREF_BACKEND);
  const e = params.get('extractor') ?? localStorage.getItem(PREF_EXTRACTOR);
  const known = !!e && findAnyExtractor(e) !== undefined;
  return { backend: isBackendName(b) ? b : null, extractor: known && e ? e : DEFAULT_EXTRACTOR_ID };
}

export function savePreferences(p: { backend?: BackendName | null; extractor?: string }): void {
  if (p.backend !== undefined) {
    if (p.backend) localStorage.setItem(PREF_BACKEND, p.backend);
    else localStorage.removeItem(PREF_BACKEND);
  }
  if (p.extractor !== undefined) localStorage.setItem(PREF_EXTRACTOR, p.extractor);
}

function describeFallback(requested: string, reason: SerializedError, loaded: string): string {
  const name = findAnyExtractor(requested)?.name ?? requested;
  const other = findAnyExtractor(loaded)?.name ?? loaded;
  return `${name} could not be loaded: ${reason.message} Glimpse is using ${other} instead, which works offline.`;
}

let starting: { key: string; promise: Promise<void> } | null = null;

/** Loads (or reloads) the backend and extractor; concurrent identical calls share one load. */
export function startEngine(opts: { backend?: BackendName | null; extractor?: string } = {}): Promise<void> {
  const key = JSON.stringify(opts);
  if (starting && starting.key === key) return starting.promise;
  const promise = doStart(opts).finally(() => {
    if (starting?.promise === promise) starting = null;
  });
  starting = { key, promise };
  return promise;
}

async function doStart(opts: { backend?: BackendName | null; extractor?: string }): Promise<void> {
  const prefs = readPreferences();
  const backend = opts.backend === undefined ? prefs.backend : opts.backend;
  const extractorId = opts.extractor ?? prefs.extractor;
  useEngine.setState({ status: 'loading', error: null, progress: null, forcedBackend: backend, requestedExtractor: extractorId });
  try {
    // ?lanes=1 turns the second WASM embedding worker off (benchmarks compare both ways).
    const lanes = Number(new URLSearchParams(location.search).get('lanes'));
    const spec = findAnyExtractor(extractorId);
    const req = {
      extractorId,
      // A model loaded from the user's files travels with its spec (the worker knows only builtins).
      ...(spec?.origin === 'user' ? { spec } : {}),
      fallbackId: FALLBACK_EXTRACTOR_ID,
      baseUrl: new URL('./', location.href).toString(),
      ...(backend ? { backend } : {}),
      ...(Number.isInteger(lanes) && lanes >= 1 ? { lanes } : {}),
    };
    const res = await embedBridge().call('init', req, { onProgress: (p) => useEngine.setState({ progress: p }) });
    // A model that could not be had is said once: the saved choice goes back to the model that
    // loaded, so the next visit neither asks the other host again nor repeats the notice.
    if (res.fallback) savePreferences({ extractor: res.extractor.id });
    if (spec?.origin === 'user' && !res.fallback) recordCustomDim(spec.id, res.extractor.dim);
    useEngine.setState({
      status: 'ready',
      backend: res.backend,
      extractor: res.extractor,
      progress: null,
      loadMs: res.loadMs,
      requestedExtractor: res.extractor.id,
      integrity: res.integrity ?? null,
      notice: [res.fallback ? describeFallback(res.fallback.requestedId, res.fallback.reason, res.extractor.id) : null, describeRepair(res.extractor.name, res.integrity)].filter(Boolean).join(' ') || null,
    });
  } catch (err) {
    useEngine.setState({ status: 'error', error: serializeError(err), progress: null });
  }
}

/** Damaged files of the offline copy that were replaced while loading: said once, plainly. */
function describeRepair(name: string, integrity: IntegrityReport | undefined): string | null {
  const files = integrity?.repaired ?? [];
  if (files.length === 0) return null;
  const list = files.join(', ');
  return `The offline copy of ${name} had ${files.length === 1 ? 'a damaged file' : `${files.length} damaged files`} (${list}); ${files.length === 1 ? 'it was' : 'they were'} downloaded again and checked.`;
}

export async function fileToInput(file: File, id: string): Promise<ImageInput> {
  return { id, bytes: await file.arrayBuffer(), type: file.type, name: file.name || 'pasted image' };
}

let nextResultId = 1;
let labellerAsked = false;

/** "What is this?" was opened: load the ImageNet labeller now if the extractor has none (once). */
export function prepareLabeller(): void {
  const { status, extractor } = useEngine.getState();
  if (labellerAsked || status !== 'ready' || !extractor || extractor.hasClassifier) return;
  labellerAsked = true;
  embedBridge()
    .call('prepareLabeller', {})
    .catch(() => {
      labellerAsked = false; // the first question will say what is wrong
    });
}

export async function whatIsThis(file: File): Promise<void> {
  const state = useEngine.getState();
  if (state.status !== 'ready') {
    useEngine.setState({ error: { code: 'internal', message: 'The model is still loading; try again in a moment.' } });
    return;
  }
  useEngine.setState({ busy: true, error: null });
  try {
    const input = await fileToInput(file, 'what');
    const res = await embedBridge().call('classify', { image: input, topK: 5 }, { transfer: [input.bytes] });
    const result: WhatIsThisResult = { id: nextResultId++, name: file.name || 'pasted image', previewUrl: URL.createObjectURL(file), top: res.top, ms: res.ms };
    const old = useEngine.getState().results;
    for (const r of old.slice(4)) URL.revokeObjectURL(r.previewUrl);
    useEngine.setState({ results: [result, ...old.slice(0, 4)] });
  } catch (err) {
    const e = err instanceof GlimpseError ? serializeError(err) : serializeError(err);
    useEngine.setState({ error: { ...e, message: `${file.name || 'The image'} could not be classified: ${e.message}` } });
  } finally {
    useEngine.setState({ busy: false });
  }
}
