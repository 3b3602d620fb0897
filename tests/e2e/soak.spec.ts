// No leaks over a long session (short version for CI; `npm run soak` runs 1,000 cycles): after
// embed / "What is this?" / predict cycles and 20 training runs through the app's own actions, the
// worker's tensor count is back at its baseline and the JS heaps grew by less than 20 MB.
import { expect, test } from '@playwright/test';
import { runSoak, SOAK_BROWSER_ARGS } from './soak-lib';

const CYCLES = Number(process.env.GLIMPSE_SOAK_CYCLES ?? 100);

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...SOAK_BROWSER_ARGS],
  },
});

test(`${CYCLES} embed/classify/predict cycles and 20 training runs: no tensor leak, heap growth under 20 MB`, async ({ page, baseURL }) => {
  test.setTimeout(900_000);
  const r = await runSoak(page, { baseUrl: baseURL!, cycles: CYCLES, trainingRuns: 20, log: (l) => console.log(`soak: ${l}`) });
  console.log(`soak: ${JSON.stringify(r)}`);
  expect(r.failures).toEqual([]);
  expect(r.trainingPhases).toEqual(Array(20).fill('done'));
  expect(r.tensorsAfter).toBe(r.tensorsBefore);
  expect(r.pageHeapAfterMb - r.pageHeapBeforeMb).toBeLessThan(20);
  if (r.workerHeapBeforeMb !== null && r.workerHeapAfterMb !== null) {
    expect(r.workerHeapAfterMb - r.workerHeapBeforeMb).toBeLessThan(20);
  }
});
