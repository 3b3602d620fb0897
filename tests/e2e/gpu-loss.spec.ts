// A lost WebGL context (WEBGL_lose_context, triggered in the worker through the ?bench=1 hooks)
// during embedding and during training: no garbage result, the worker recovers (SwiftShader here is
// a software GPU, so it moves to WASM), the interrupted work is retried, and the user is told.
// Chromium here runs WebGL on SwiftShader (seconds per ResNet-50 image): one image per test.
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { benchCall, type BenchApi } from './bench-api';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine } from './helpers';

const WEBGL_APP = './?bench=1&backend=webgl&extractor=resnet50-imagenet';

async function loseContext(page: Page, when: Parameters<BenchApi['loseGpuContext']>[0]): Promise<void> {
  const r = await benchCall(page, 'loseGpuContext', when);
  expect(r).toEqual({ backend: 'webgl', scheduled: true });
}

test('context lost while classifying: recovers on WASM, retries, right top-1, notice shown', async ({ page }) => {
  test.setTimeout(420_000);
  await blockModelHosts(page);
  await page.goto(WEBGL_APP);
  await waitForEngine(page);
  const status = page.getByTestId('engine-status');
  await expect(status).toHaveAttribute('data-backend', 'webgl');
  // The loss lands after the network's kernels are queued and while its read is pending: the read
  // never resolves by itself, so only the watchdog can end it.
  await loseContext(page, { onNextWork: true });
  const [goldfish] = datasetFiles('imagenet-sample', 'n01443537', 1);
  await dropFiles(page, '[data-testid="what-drop"]', [fileForDrop(goldfish!)]);
  const first = page.getByTestId('what-result').first().getByTestId('top-label').first();
  await expect(first).toHaveAttribute('data-index', '1', { timeout: 240_000 });
  await expect(page.getByTestId('notice')).toContainText('graphics context was lost');
  await expect(page.getByTestId('notice')).toContainText('WASM');
  await expect(status).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('error')).toHaveCount(0);
  // The recovered worker keeps working, and nothing leaked into the next result.
  await dropFiles(page, '[data-testid="what-drop"]', [fileForDrop(goldfish!)]);
  await expect(page.getByTestId('what-result')).toHaveCount(2);
  await expect(page.getByTestId('what-result').first().getByTestId('top-label').first()).toHaveAttribute('data-index', '1');
});

test('context lost mid-training: training completes after the retry, and can be run again', async ({ page }) => {
  test.setTimeout(540_000);
  await blockModelHosts(page);
  // Import on WASM (fast); embeddings are cached by extractor, not backend, so the WebGL page below
  // trains on them without embedding anything.
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const classes = ['daisy', 'sunflowers'];
  const files = classes.flatMap((c) => datasetFiles('flower_photos', c, 3).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  await expect(page.getByTestId('class-count')).toHaveText(['3', '3'], { timeout: 180_000 });

  await page.goto(WEBGL_APP);
  await waitForEngine(page);
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-backend', 'webgl');
  await expect(page.getByTestId('class-count')).toHaveText(['3', '3']);
  await loseContext(page, { atEpoch: 2 });
  await page.getByTestId('train-button').click();
  const panel = page.getByTestId('train-panel');
  await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('val-accuracy')).toBeVisible();
  await expect(page.getByTestId('notice')).toContainText('graphics context was lost');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('train-error')).toHaveCount(0);
  // Retrain on the recovered backend.
  await page.getByTestId('train-button').click();
  await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
});
