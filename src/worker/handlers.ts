// The model worker's composition root: one handler per request kind of the protocol
// (protocol.ts), each under its GPU policy (policy.ts). The table below is where a request kind
// says whether it runs on the backend and which weights the extractor's top must hold: the
// compiler requires an entry for every kind, so a new request cannot miss the loss recovery or
// the shipped-weights lock.
import { exportCompleteZip } from '../export/complete-handler';
import { embedHandlers } from './embed-handlers';
import { fineTuneHandlers } from './finetune';
import { applyPolicy, type PolicyMap, type WorkMap } from './policy';
import type { Requests } from './protocol';
import { init, readyExtractor } from './runtime';
import { trainHandlers } from './train-handlers';

const work: WorkMap<Requests> = {
  init: async (req, { progress, signal }) => ({ data: await init(req, progress, signal) }),
  ...embedHandlers,
  ...trainHandlers,
  ...fineTuneHandlers,
  exportComplete: async (req, { progress, signal }) => ({ data: await exportCompleteZip(req, readyExtractor(), progress, signal) }),
};

const epochOf = (p: { epoch: number }) => p.epoch;

const policy: PolicyMap<Requests> = {
  init: { run: 'none', why: 'selects and smoke-tests the backend itself; a loss there fails the load' },
  // Embeddings for storage always come from the shipped weights.
  classify: { run: 'gpu', what: 'classifying an image', weights: 'base', retry: 'request' },
  embed: { run: 'gpu', what: 'embedding images', weights: 'base', retry: 'item' },
  augment: { run: 'gpu', what: 'embedding augmented images', weights: 'base', retry: 'item' },
  // Prediction uses the project's fine-tuned model when one is set for the loaded extractor.
  predict: { run: 'gpu', what: 'predicting', weights: 'prediction', retry: 'request' },
  train: { run: 'gpu', what: 'training', weights: 'any', retry: 'request', epochOf },
  scoreAll: { run: 'gpu', what: 'scoring samples', weights: 'any', retry: 'request' },
  // umap-js and ml-pca are plain JavaScript: the map never touches the backend, so a lost context
  // cannot stall it.
  map: { run: 'none', why: 'plain-JS PCA / UMAP' },
  ftStart: { run: 'gpu', what: 'preparing fine-tuning', weights: 'any', retry: 'request' },
  // The frozen part's activations do not depend on the top's weights.
  ftAdd: { run: 'gpu', what: 'preparing fine-tuning images', weights: 'any', retry: 'item' },
  ftRun: { run: 'gpu', what: 'fine-tuning', weights: 'training', retry: 'request', epochOf },
  ftEnd: { run: 'none', why: 'drops the session' },
  setHead: { run: 'none', why: 'keeps a head' },
  stageRows: { run: 'none', why: 'copies rows into JS memory' },
  holdRows: { run: 'none', why: 'copies rows into JS memory' },
  review: { run: 'gpu', what: 'reviewing samples', weights: 'any', retry: 'request' },
  setTuned: { run: 'none', why: 'keeps a model; its weights are written by the next request that wants them' },
  memory: { run: 'none', why: 'reads counters' },
  prepareLabeller: { run: 'none', why: 'only loads a model; a lost context shows (and is recovered) at the next classify' },
  // The written weights are the shipped ones (a fine-tuned project's replace them in the bytes only).
  exportComplete: { run: 'gpu', what: 'exporting the complete model', weights: 'base', retry: 'request' },
};

export const handlers = applyPolicy(work, policy);
