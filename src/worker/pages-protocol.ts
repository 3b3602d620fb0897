// Requests of the second training worker (pages.worker.ts, page-helper.ts): types only.
import type { PageHelperPart } from '../train/head-paged';

export interface PagesRequests {
  /** Takes these pages for the passes to come (an empty part only starts the backend). */
  start: { req: PageHelperPart; res: { rows: number }; progress: never };
  /** Their sums under folded weights (d*k + k + 2 values). */
  evaluate: { req: { kernel: Float32Array; bias: Float32Array; atZero: boolean }; res: Float64Array; progress: never };
}
