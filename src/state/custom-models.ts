// Models the user loaded from files (Settings → "Use a model from files"): their specs live in
// localStorage, their bytes in the model cache (src/embed/fetch-cache.ts), so they load offline
// like the bundled ones. The checks are in src/embed/custom-spec.ts. At import each file's SHA-256
// goes into a manifest stored beside the files, and the manifest's digest into the spec: every load
// checks the files against it and names a damaged one (src/embed/model-files.ts).
import { create } from 'zustand';
import { CUSTOM_MODELS_PATH, CUSTOM_PREFIX, customModelSpec } from '../embed/custom-spec';
import { deleteModelFiles, putModelFiles } from '../embed/fetch-cache';
import { parseExtractorSpec, type ExtractorSpec, type Preprocessing } from '../embed/specs';
import { contentKey, manifestDigest, manifestOf, manifestText, MANIFEST_FILE } from '../embed/model-files';

const KEY = 'glimpse.customModels';

function read(): ExtractorSpec[] {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((r) => {
      try {
        const spec = parseExtractorSpec(r);
        return spec.id.startsWith(CUSTOM_PREFIX) && spec.origin === 'user' ? [spec] : [];
      } catch {
        return []; // a damaged entry is dropped, never a crash
      }
    });
  } catch {
    return [];
  }
}

export const useCustomModels = create<{ specs: ExtractorSpec[] }>(() => ({ specs: typeof localStorage === 'undefined' ? [] : read() }));

function save(specs: ExtractorSpec[]): void {
  localStorage.setItem(KEY, JSON.stringify(specs));
  useCustomModels.setState({ specs });
}

export function customModels(): ExtractorSpec[] {
  return useCustomModels.getState().specs;
}

/** Checks and stores the picked files; returns the new model's spec (not loaded yet). */
export async function addCustomModel(files: File[], opts: { name?: string; preprocessing: Preprocessing; inputSize?: number }): Promise<ExtractorSpec> {
  const picked = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
  // Checked first with a placeholder id: the id names the content of every file (the digest).
  const checked = customModelSpec(picked, { id: `${CUSTOM_PREFIX}pending`, ...opts });
  const manifest = await manifestOf(checked.store.map((s) => ({ path: s.path.slice(s.path.lastIndexOf('/') + 1), bytes: s.bytes })));
  const digest = await manifestDigest(manifest);
  const id = `${CUSTOM_PREFIX}${digest.slice(0, 12)}`;
  const { spec, store } = customModelSpec(picked, { id, ...opts });
  spec.weightsDigest = digest;
  const base = new URL('./', location.href);
  const hashOf = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  const folder = new URL(`${CUSTOM_MODELS_PATH}${id}/`, base).toString();
  await putModelFiles([
    ...store.map((s) => {
      const url = new URL(s.path, base).toString();
      return { url: contentKey(url, hashOf.get(s.path.slice(s.path.lastIndexOf('/') + 1))!), bytes: s.bytes, type: s.type };
    }),
    { url: folder + MANIFEST_FILE, bytes: new TextEncoder().encode(manifestText(manifest)).buffer as ArrayBuffer, type: 'application/json' },
  ]);
  save([...customModels().filter((s) => s.id !== id), spec]);
  return spec;
}

/** The size the model turned out to have when it loaded (kept so exports and checks know it). */
export function recordCustomDim(id: string, dim: number): void {
  const specs = customModels();
  if (!specs.some((s) => s.id === id && s.embeddingDim !== dim)) return;
  save(specs.map((s) => (s.id === id ? { ...s, embeddingDim: dim } : s)));
}

export async function removeCustomModel(id: string): Promise<void> {
  await deleteModelFiles(new URL(`${CUSTOM_MODELS_PATH}${id}/`, new URL('./', location.href)).toString());
  save(customModels().filter((s) => s.id !== id));
}
export type { Preprocessing } from '../embed/specs';
