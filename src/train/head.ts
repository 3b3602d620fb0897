// The classifier head trained on cached image embeddings: public entry point.
// - head-types.ts: settings, defaults (and why), data and result types, input checks
// - head-train.ts: trainHead (and trainHeadOnRows, fitHead's entry), handing the data to L-BFGS
//   (head-lbfgs.ts) or the hand-written Adam loop (head-adam.ts)
// - head-predict.ts: predictHead and headToLayersModel (export with standardisation folded in)
// - head-tm.ts: trainTeachableMachineHead, the model.fit baseline it is measured against
// - head-util.ts: standardisation, seeded init, yielding and cancellation helpers

export {
  DEFAULT_HEAD_SETTINGS,
  defaultHeadSettings,
  type DenseWeights,
  type EpochReport,
  type HeadData,
  type HeadKind,
  type HeadSettings,
  type TrainedHead,
  type TrainHeadOptions,
} from './head-types';
export { trainHead } from './head-train';
export { headToLayersModel, predictHead } from './head-predict';
export { trainTeachableMachineHead } from './head-tm';
