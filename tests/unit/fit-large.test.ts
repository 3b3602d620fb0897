// fitHead above LARGE_SET_ROWS (issue 21): validation capped at MAX_VALIDATION_ROWS, no refit on
// every row, early stopping with LARGE_SET_PATIENCE unless the settings ask for a patience, and the
// page-at-a-time objective; below it nothing of that applies.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/shared/rng';
import { fitHead, LARGE_SET_PATIENCE, LARGE_SET_ROWS, MAX_VALIDATION_ROWS } from '../../src/train/fit';
import { defaultHeadSettings } from '../../src/train/head-types';
import { rowsBeforeWarmStart } from '../../src/train/fit-plan';
import { pageHelperObjective, type PageHelper } from '../../src/train/head-paged';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dim = 6;
const k = 3;

function rows(n: number) {
  const next = mulberry32(21);
  const x = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % k;
    // Overlapping classes: the validation loss has a minimum before the train loss converges.
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j % k === i % k ? 0.6 : 0) + 2 * next();
  }
  return { ids: Array.from({ length: n }, (_, i) => `r${i}`), labels, x, dim };
}

describe('large fits', () => {
  it('above the limit: at most 2,500 validation rows, no refit, patience 5', async () => {
    const n = LARGE_SET_ROWS + 1;
    const fit = await fitHead(rows(n), k, defaultHeadSettings());
    const nVal = fit.validationRows.length;
    expect(nVal).toBeLessThanOrEqual(MAX_VALIDATION_ROWS);
    expect(nVal).toBeGreaterThan(MAX_VALIDATION_ROWS * 0.8);
    expect(fit.nTrain).toBe(n - nVal);
    expect(fit.head.settings.earlyStoppingPatience).toBe(LARGE_SET_PATIENCE);
    const { history, bestEpoch } = fit.head;
    // Stopped by patience or by convergence, never past bestEpoch + patience.
    expect(history.length).toBeLessThanOrEqual(bestEpoch + LARGE_SET_PATIENCE);
    // No refit: the validation metrics describe the very head that is kept.
    const best = history[bestEpoch - 1]!;
    expect(fit.validation!.accuracy).toBeCloseTo(best.valAccuracy!, 12);
    const noRefit = await fitHead(rows(n), k, defaultHeadSettings(), { refit: false });
    const refit = await fitHead(rows(n), k, defaultHeadSettings(), { refit: true });
    expect(Array.from(fit.head.layers[0]!.kernel)).toEqual(Array.from(noRefit.head.layers[0]!.kernel));
    expect(Array.from(fit.head.layers[0]!.kernel)).not.toEqual(Array.from(refit.head.layers[0]!.kernel));
  });

  it('asks first for exactly the rows fit-plan names (augmentation variants counted), then for all', async () => {
    const n = LARGE_SET_ROWS + 1;
    const data = rows(n);
    const variants = data.ids.filter((_, i) => i % 5 === 0);
    const augment = { ids: variants, x: new Float32Array(variants.length * dim).fill(0.5) };
    const settings = defaultHeadSettings();
    const sizes = { pagedMinValues: 0, warmRows: 2_000 };
    const asked: (number[] | null)[] = [];
    await fitHead(data, k, { ...settings, epochs: 3 }, {
      ...sizes,
      augment,
      whenRows: async (r) => void asked.push(r ? [...r].sort((a, b) => a - b) : null),
    });
    const first = rowsBeforeWarmStart(data.ids, data.labels, settings, { dim, augmentIds: variants, ...sizes });
    expect(first).not.toBeNull();
    expect(first!.length).toBeLessThan(n / 2);
    expect(asked).toEqual([first, null]);
    // Without a warm start (a set too small for one), everything is asked for at once.
    const few: (readonly number[] | null)[] = [];
    await fitHead(rows(200), k, settings, { whenRows: async (r) => void few.push(r) });
    expect(few).toEqual([null]);
    expect(rowsBeforeWarmStart(rows(200).ids, rows(200).labels, settings, { dim })).toBeNull();
  });

  it('a page helper gets its half of the rows while the warm start still runs, and the head is the one without it', async () => {
    const n = LARGE_SET_ROWS + 1;
    const sizes = { pagedMinValues: 0, warmRows: 2_000 };
    const settings = { ...defaultHeadSettings(), epochs: 12 };
    let epochs = 0;
    let startedAtEpoch = -1;
    let held: ReturnType<typeof pageHelperObjective> | null = null;
    let evaluations = 0;
    const helper: PageHelper = {
      start: async (part) => {
        startedAtEpoch = epochs;
        held = pageHelperObjective(part);
      },
      evaluate: async (kernel, bias, atZero) => {
        evaluations++;
        return held!.evaluate(kernel, bias, atZero);
      },
      stop: () => undefined,
    };
    const before = tf.memory().numTensors;
    const helped = await fitHead(rows(n), k, settings, { ...sizes, pageHelper: helper, onEpoch: () => void epochs++ });
    const alone = await fitHead(rows(n), k, settings, sizes);
    held!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Handed over before the warm start's first epoch (every row was there from the start), used
    // in every pass over all rows.
    expect(startedAtEpoch).toBe(0);
    expect(evaluations).toBeGreaterThan(0);
    expect(helped.head.history.length).toBe(alone.head.history.length);
    expect(helped.validation!.accuracy).toBe(alone.validation!.accuracy);
    const a = alone.head.layers[0]!.kernel;
    const b = helped.head.layers[0]!.kernel;
    const scale = Math.max(...Array.from(a, Math.abs));
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-4 * scale);

    // A fit cancelled during its warm start frees the pages made for the passes it never ran.
    const ac = new AbortController();
    await expect(
      fitHead(rows(n), k, settings, { ...sizes, signal: ac.signal, onEpoch: () => ac.abort() }),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 0));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('at the limit: 20 % validation and the refit on every row, as before', async () => {
    const fit = await fitHead(rows(LARGE_SET_ROWS), k, defaultHeadSettings());
    expect(fit.validationRows.length).toBeGreaterThan(LARGE_SET_ROWS * 0.18);
    expect(fit.head.settings.earlyStoppingPatience).toBe(0);
  });
});
