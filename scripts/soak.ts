// npm run soak: the long-session leak check at full length (1,000 embed / "What is this?" /
// predict cycles and 20 training runs, about 10 minutes here on WASM), too slow for CI, which runs
// the same code with 100 cycles (tests/e2e/soak.spec.ts). Needs a production build (npm run build).
// Prints the numbers and exits non-zero when tensors do not return to baseline or a heap grew by
// 20 MB or more. Options: --cycles 1000 --runs 20 --port 4392
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { Page } from '@playwright/test';
import { repoRoot } from '../tests/e2e/helpers';
import { runSoak, SOAK_BROWSER_ARGS } from '../tests/e2e/soak-lib';
import { waitForServer } from './lib/server';

const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '20' },
    port: { type: 'string', default: '4392' },
  },
});

async function main(): Promise<number> {
  if (!fs.existsSync(path.join(repoRoot, process.env.GLIMPSE_OUT_DIR ?? 'dist', 'index.html'))) throw new Error('No build: run `npm run build` first.');
  const port = Number(args.port);
  const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: repoRoot, stdio: 'ignore', detached: true });
  const base = `http://127.0.0.1:${port}/`;
  try {
    await waitForServer(base, 60_000);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...SOAK_BROWSER_ARGS],
    });
    try {
      const page = await (await browser.newContext()).newPage();
      page.setDefaultTimeout(900_000);
      const r = await runSoak(page as unknown as Page, {
        baseUrl: base,
        cycles: Number(args.cycles),
        trainingRuns: Number(args.runs),
        log: (l) => console.log(l),
      });
      const pageGrowth = r.pageHeapAfterMb - r.pageHeapBeforeMb;
      const workerGrowth = r.workerHeapAfterMb !== null && r.workerHeapBeforeMb !== null ? r.workerHeapAfterMb - r.workerHeapBeforeMb : null;
      console.table({
        cycles: r.cycles,
        'ms per cycle': Math.round(r.msPerCycle),
        'training runs': r.trainingRuns,
        'ms per training run': Math.round(r.msPerTrainingRun),
        'tensors before': r.tensorsBefore,
        'tensors after': r.tensorsAfter,
        'page heap growth MB': +pageGrowth.toFixed(2),
        'worker heap growth MB': workerGrowth === null ? 'n/a' : +workerGrowth.toFixed(2),
        failures: r.failures.length,
      });
      const ok =
        r.failures.length === 0 &&
        r.trainingPhases.every((p) => p === 'done') &&
        r.tensorsAfter === r.tensorsBefore &&
        pageGrowth < 20 &&
        (workerGrowth === null || workerGrowth < 20);
      console.log(ok ? 'PASS' : 'FAIL');
      return ok ? 0 : 1;
    } finally {
      await browser.close();
    }
  } finally {
    try {
      if (server.pid) process.kill(-server.pid);
    } catch {
      // the preview server already exited
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
