// What the UI may offer: user-facing extractors, the models the user loaded from files, plus
// evaluation-only ones when asked for by URL.
import { baseExtractorKey, BUILTIN_EXTRACTORS, type ExtractorSpec } from '../embed/specs';
import { customModels } from './custom-models';

export function extractorChoices(search = location.search): ExtractorSpec[] {
  const requested = new URLSearchParams(search).get('extractor');
  return [...BUILTIN_EXTRACTORS.filter((s) => s.userFacing || s.id === requested), ...customModels()];
}

/** Any known extractor by id: builtin or loaded by the user. */
export function findAnyExtractor(id: string): ExtractorSpec | undefined {
  return BUILTIN_EXTRACTORS.find((s) => s.id === id) ?? customModels().find((s) => s.id === id);
}

/**
 * The spec that made embeddings with `key`, if this browser still knows it. A key that names other
 * weights than the spec pins (`…#digest`, after an update) still belongs to that spec.
 */
export function extractorByKey(key: string, keyOf: (s: ExtractorSpec) => string): ExtractorSpec | undefined {
  const base = baseExtractorKey(key);
  return [...BUILTIN_EXTRACTORS, ...customModels()].find((s) => keyOf(s) === key || keyOf(s) === base);
}
