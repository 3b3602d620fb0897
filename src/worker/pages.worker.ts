// A large fit's second thread (page-helper.ts): holds the later half of the training pages and
// evaluates them under the folded weights it is sent, on WASM with one thread. Nothing else runs here.
import * as tf from '@tensorflow/tfjs';
import { configureWasm } from '../embed/backend-browser';
import { GlimpseError } from '../shared/errors';
import { serveWorker, type HandlerMap } from '../shared/worker-host';
import { pageHelperObjective } from '../train/head-paged';
import type { PagesRequests } from './pages-protocol';


let pages: ReturnType<typeof pageHelperObjective> | null = null;

const handlers: HandlerMap<PagesRequests> = {
  start: async (part) => {
    if (tf.getBackend() !== 'wasm') {
      configureWasm(1);
      if (!(await tf.setBackend('wasm'))) throw new GlimpseError('internal', 'WASM is not available in the second training worker.');
      await tf.ready();
    }
    pages?.dispose();
    pages = null;
    pages = pageHelperObjective(part);
    return { data: { rows: part.labels.length } };
  },
  evaluate: async ({ kernel, bias, atZero }) => {
    if (!pages) throw new GlimpseError('internal', 'The second training worker holds no pages.');
    const sums = await pages.evaluate(kernel, bias, atZero);
    return { data: sums, transfer: [sums.buffer] };
  },
};

serveWorker(self as unknown as Parameters<typeof serveWorker>[0], handlers);
