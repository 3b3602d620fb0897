// The workspace's own behaviour: teaching from the live preview (fake webcam of one real daisy
// photo), keyboard review, results restored after a reload, and the backend switch in Settings.
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { blockModelHosts, classCard, datasetFiles, dropFiles, fileForDrop, waitForEngine } from './helpers';
import { fakeCameraLaunch } from './chromium';
import { writeY4m } from './fake-webcam';

const video = path.join(os.tmpdir(), `glimpse-one-daisy-${process.pid}.y4m`);
writeY4m(video, datasetFiles('flower_photos', 'daisy', 1, 45), 10, 10);
test.use({ launchOptions: fakeCameraLaunch(video) });

async function setUp(page: Page, classes: string[], perClass: number): Promise<void> {
  await blockModelHosts(page);
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const files = classes.flatMap((c) => datasetFiles('flower_photos', c, perClass).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  for (const c of classes) await expect(classCard(page, c).getByTestId('class-count')).toHaveText(String(perClass), { timeout: 300_000 });
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
}

const scoreOf = async (page: Page, classId: string) => Number(await page.locator(`[data-testid="prediction-bar"][data-class-id="${classId}"]`).getAttribute('data-score'));

test('teach while previewing: a digit adds the live frame to class N, the head retrains, the next prediction changes', async ({ page }) => {
  test.setTimeout(480_000);
  await setUp(page, ['daisy', 'sunflowers'], 4);
  const names = await page.getByTestId('class-name').allTextContents();
  const n = names.indexOf('sunflowers') + 1;
  const sunflowers = (await classCard(page, 'sunflowers').getAttribute('data-class-id'))!;
  const head0 = await page.getByTestId('predict-panel').getAttribute('data-head-id');
  expect(head0).toBeTruthy();

  await page.getByTestId('live-toggle').click();
  await expect(page.getByTestId('fps')).toBeVisible({ timeout: 60_000 });
  const before = await scoreOf(page, sunflowers);

  await page.locator('body').press(String(n));
  await expect(classCard(page, 'sunflowers').getByTestId('class-count')).toHaveText('5', { timeout: 60_000 });
  await expect(classCard(page, 'daisy').getByTestId('class-count')).toHaveText('4');
  await expect(page.getByTestId('teach-live-status')).toHaveAttribute('data-status', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('predict-panel')).not.toHaveAttribute('data-head-id', head0!);
  // The frame now labelled "sunflowers" is the frame on screen: the new head scores it higher.
  await expect.poll(() => scoreOf(page, sunflowers), { timeout: 60_000 }).toBeGreaterThan(before + 0.05);
  await page.getByTestId('live-toggle').click();
});

test('results come back after a reload (cells clickable); review works from the keyboard', async ({ page }) => {
  test.setTimeout(480_000);
  await setUp(page, ['daisy', 'roses', 'sunflowers'], 6);
  const accuracy = await page.getByTestId('val-accuracy').getAttribute('data-value');
  await page.reload();
  await waitForEngine(page);
  await expect(page.getByTestId('val-accuracy')).toHaveAttribute('data-value', accuracy!, { timeout: 60_000 });
  await expect(page.getByTestId('chart-loss')).toBeVisible();
  await expect(page.getByTestId('confusion')).toHaveAttribute('data-drillable', 'true');
  const cell = page.locator('[data-testid="confusion-cell"]:not([disabled])').first();
  const count = Number(await cell.textContent());
  await cell.click();
  await expect(page.getByTestId('drill-item')).toHaveCount(count);
  await page.getByTestId('drill-item').first().focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('drill-item')).toHaveCount(0);

  // Review: with "not sure" below 0.999 every sample is listed.
  await page.getByText('Training settings', { exact: true }).click();
  await page.getByTestId('threshold-input').fill('0.999');
  await page.getByTestId('threshold-input').press('Enter');
  await page.getByText('Review hard samples', { exact: true }).click();
  await page.getByTestId('review-button').click();
  await expect(page.getByTestId('review-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  const items = page.getByTestId('review-item');
  await expect.poll(() => items.count()).toBeGreaterThan(2);
  const total = await items.count();

  // Arrows move the focus.
  await items.nth(0).focus();
  await page.keyboard.press('ArrowDown');
  await expect(items.nth(1)).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(items.nth(0)).toBeFocused();

  // A digit relabels the focused sample as class N; it leaves the list; focus stays in the list.
  const names = await page.getByTestId('class-name').allTextContents();
  const ids = await page.getByTestId('class-card').evaluateAll((els) => els.map((e) => e.getAttribute('data-class-id')!));
  const first = items.nth(0);
  const sampleId = (await first.getAttribute('data-sample-id'))!;
  const labelled = (await first.getAttribute('data-labelled-id'))!;
  const target = ids.findIndex((id) => id !== labelled);
  await page.keyboard.press(String(target + 1));
  await expect(page.locator(`[data-testid="review-item"][data-sample-id="${sampleId}"]`)).toHaveCount(0);
  await expect(classCard(page, names[target]!).getByTestId('class-count')).toHaveText('7');
  await expect(items.nth(0)).toBeFocused();

  // Delete removes the focused sample; Undo in the toast brings it back.
  const countAll = async () => (await page.getByTestId('class-count').allTextContents()).reduce((a, t) => a + Number(t), 0);
  expect(await countAll()).toBe(18);
  await page.keyboard.press('Delete');
  await expect.poll(countAll).toBe(17);
  await expect(items).toHaveCount(total - 2);
  await page.getByTestId('toast-undo').click();
  await expect.poll(countAll).toBe(18);
});

test('Settings: forcing a backend shows the slow-down hint, and Automatic takes effect without a reload', async ({ page }) => {
  test.setTimeout(300_000);
  await blockModelHosts(page);
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const auto = await page.getByTestId('engine-status').getAttribute('data-backend');
  expect(auto).toBe('wasm');
  await page.getByTestId('settings-toggle').click();
  await page.getByLabel('Backend').selectOption('cpu');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-backend', 'cpu', { timeout: 120_000 });
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await expect(page.getByTestId('backend-hint')).toContainText('15–20×');
  await page.getByLabel('Backend').selectOption('auto');
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await expect(page.getByTestId('engine-status')).toHaveAttribute('data-backend', auto!);
  await expect(page.getByTestId('backend-hint')).toHaveCount(0);
});
