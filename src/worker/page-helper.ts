// A second worker for a large fit's passes over every row (train/head-paged.ts PageHelper): on
// WASM with two lanes (embed/lanes.ts: two cores), the later half of the training pages is
// evaluated there (pages.worker.ts) while this worker evaluates the first half. Measured here: one
// pass over 47,500 rows of 1,280 values into 100 classes costs ~1.5 s on one thread. The helper
// starts with the fit (its backend is ready by the end of the warm start) and stops with it.
import * as tf from '@tensorflow/tfjs';
import { browserLanePlan } from '../embed/lanes';
import { WorkerBridge } from '../shared/worker-bridge';
import { PAGED_MIN_VALUES } from '../train/fit-plan';
import type { PageHelper, PageHelperPart } from '../train/head-paged';
import type { PagesRequests } from './pages-protocol';

/** A page helper for a fit of `values` training values, or null when it would not pay. */
export function pageHelperFor(values: number): PageHelper | null {
  if (values <= PAGED_MIN_VALUES || tf.getBackend() !== 'wasm' || browserLanePlan().lanes < 2) return null;
  const bridge = new WorkerBridge<PagesRequests>(
    () => new Worker(new URL('./pages.worker.ts', import.meta.url), { type: 'module', name: 'glimpse-train-pages' }),
    'The second training worker',
  );
  // Loads the worker and its backend now: ready by the time the warm start is over.
  const empty: PageHelperPart = { x: new Float32Array(0), scale: null, labels: new Int32Array(0), classWeights: new Float32Array(0), wSum: 1, d: 1, k: 1, pageRows: 1 };
  const ready = bridge.call('start', empty);
  ready.catch(() => undefined);
  return {
    start: async (part) => {
      await ready;
      await bridge.call('start', part, { transfer: [part.x.buffer] });
    },
    evaluate: (kernel, bias, atZero) => bridge.call('evaluate', { kernel, bias, atZero }),
    stop: () => bridge.terminate(),
  };
}
