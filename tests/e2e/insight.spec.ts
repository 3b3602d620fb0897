// Insight in real Chromium: a small flower project is trained; a high "not sure" threshold turns
// a prediction into "not sure"; the review queue lists samples; the embedding map draws one point
// per sample (PCA first, then UMAP), shows a thumbnail on hover and opens a sample on click.
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine } from './helpers';

const CLASSES = ['daisy', 'roses', 'sunflowers'];
const PER_CLASS = 6;

test('threshold, review queue and embedding map on a trained flower project', async ({ page }) => {
  test.setTimeout(480_000);
  await blockModelHosts(page);
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const files = CLASSES.flatMap((c) =>
    datasetFiles('flower_photos', c, PER_CLASS).map((f) =>
      fileForDrop(f, `flowers/${c}/${path.basename(f)}`),
    ),
  );
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  for (const c of CLASSES) {
    const card = page
      .getByTestId('class-card')
      .filter({ has: page.getByTestId('class-name').getByText(c, { exact: true }) });
    await expect(card.getByTestId('class-count')).toHaveText(String(PER_CLASS), {
      timeout: 300_000,
    });
  }
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', {
    timeout: 120_000,
  });

  // "Not sure": with the threshold at 0.999 no class is named.
  await page.getByText('Training settings').click();
  await expect(page.getByTestId('augment-info')).toContainText(
    `Adds ${5 * PER_CLASS * CLASSES.length} embeddings`,
  );
  await page.getByTestId('threshold-input').fill('0.999');
  await page.getByTestId('threshold-input').press('Enter');
  await dropFiles(page, '[data-testid="predict-drop"]', [
    fileForDrop(datasetFiles('flower_photos', 'daisy', 1, 30)[0]!),
  ]);
  await expect(page.getByTestId('prediction-top')).toHaveAttribute('data-sure', 'false', {
    timeout: 60_000,
  });
  await expect(page.getByTestId('prediction-top')).toContainText('Not sure');

  // Review queue: lists samples, hardest first (with a high unsure threshold, some are listed).
  await page.getByText('Review hard samples', { exact: true }).click();
  await page.getByTestId('review-button').click();
  await expect(page.getByTestId('review-panel')).toHaveAttribute('data-status', 'ready', {
    timeout: 60_000,
  });
  await expect(page.getByTestId('review-item').first()).toBeVisible();
  // Right after training the worker ranks the rows it trained on (nothing read again); keep the
  // queue to compare with the one made after a reload, when every row is read from the store.
  const queue = async () => page.getByTestId('review-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-sample-id')));
  const warmQueue = await queue();
  expect(warmQueue.length).toBeGreaterThan(0);

  // Map: one point per sample, PCA first, then UMAP.
  const n = PER_CLASS * CLASSES.length;
  await page.getByText('Embedding map', { exact: true }).click();
  await page.getByTestId('map-button').click();
  await expect(page.getByTestId('map-point')).toHaveCount(n, { timeout: 60_000 });
  await expect(page.getByTestId('map-panel')).toHaveAttribute('data-method', 'umap', {
    timeout: 120_000,
  });
  await expect(page.getByTestId('map-panel')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('map-point')).toHaveCount(n);
  const point = page.getByTestId('map-point').nth(3);
  const id = await point.getAttribute('data-sample-id');
  await point.hover();
  await expect(page.getByTestId('map-hover')).toHaveAttribute('data-sample-id', id!);
  await expect(page.getByTestId('map-hover').locator('img')).toHaveJSProperty('complete', true);
  await point.click();
  await expect(page.getByTestId('map-picked')).toHaveAttribute('data-sample-id', id!);

  // After a reload the worker holds no rows: the review reads them once, hands them over and
  // lists the same samples in the same order.
  await page.reload();
  await waitForEngine(page);
  await page.getByText('Review hard samples', { exact: true }).click();
  await page.getByTestId('review-button').click();
  await expect(page.getByTestId('review-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('review-item').first()).toBeVisible();
  expect(await queue()).toEqual(warmQueue);
});
