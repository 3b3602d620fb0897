// The augmentation recipe's names and cache key, without TF.js (augment.ts computes the variants):
// the window imports these, and importing augment.ts would pull TF.js into the page's bundle.

export const AUGMENT_VARIANTS = ['flip', 'crop-tl', 'crop-br', 'zoom', 'bright'] as const;
export type AugmentVariant = (typeof AUGMENT_VARIANTS)[number];
/** Part of the cache key: change it whenever the variants change. */
export const AUGMENT_RECIPE = 'aug1';

/** Key of cached variant embeddings: only valid for this extractor and this recipe. */
export function augmentKey(extractorKey: string): string {
  return `${extractorKey}#${AUGMENT_RECIPE}`;
}
