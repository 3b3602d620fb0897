// The fine-tuning recipe the app (worker) and `npm run eval -- --finetune` share, measured in the
// README ("Fine-tuning"). Kept apart from finetune.ts so the page can read it without TF.js.
import type { FineTuneOptions } from './finetune';

/** The recipe the app and `npm run eval --finetune` use (README "Fine-tuning"). */
export const FINE_TUNE_RECIPE = {
  learningRate: 1e-4,
  headLearningRate: 1e-3,
  warmupEpochs: 1,
  schedule: 'cosine',
  labelSmoothing: 0.1,
  augment: { flip: true, shift: 2 },
  dropout: 0,
  flipTest: false,
  epochs: 8,
  batchSize: 16,
  patience: 3,
} as const satisfies FineTuneOptions;

