// What the UI may offer: user-facing extractors, plus evaluation-only ones when asked for by URL.
import { BUILTIN_EXTRACTORS, type ExtractorSpec } from '../embed/specs';

export function extractorChoices(search = location.search): ExtractorSpec[] {
  const requested = new URLSearchParams(search).get('extractor');
  return BUILTIN_EXTRACTORS.filter((s) => s.userFacing || s.id === requested);
}
