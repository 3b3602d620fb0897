// Teach by example, end to end in real Chromium: a dropped folder of real flower photos, training
// in the worker, held-out photos predicted, a fake webcam of real daisies recorded and predicted,
// and a reload that predicts without retraining.
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine, watchCsp, classCard as card } from './helpers';
import { fakeCameraLaunch } from './chromium';
import { writeY4m } from './fake-webcam';

const CLASSES = ['daisy', 'roses', 'sunflowers'];
const video = path.join(os.tmpdir(), `glimpse-daisy-${process.pid}.y4m`);
writeY4m(video, datasetFiles('flower_photos', 'daisy', 6, 40));

test.use({ launchOptions: fakeCameraLaunch(video) });


async function classIdOf(page: Page, name: string): Promise<string> {
  const id = await card(page, name).getAttribute('data-class-id');
  expect(id).toBeTruthy();
  return id!;
}

test('drop 3 flower classes x 10, train, predict held-out photos and a fake webcam; reload keeps the model', async ({ page }) => {
  test.setTimeout(600_000);
  const csp = await watchCsp(page);
  await blockModelHosts(page);
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const files = CLASSES.flatMap((c) => datasetFiles('flower_photos', c, 10).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  for (const c of CLASSES) await expect(card(page, c).getByTestId('class-count')).toHaveText('10', { timeout: 300_000 });

  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('val-accuracy')).toBeVisible();
  await expect(page.getByTestId('confusion')).toBeVisible();

  // Held-out photos (never imported) of each class are predicted as that class.
  for (const c of CLASSES) {
    const id = await classIdOf(page, c);
    for (const file of datasetFiles('flower_photos', c, 2, 20)) {
      await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(file)]);
      await expect(page.getByTestId('prediction-top')).toHaveAttribute('data-class-id', id, { timeout: 60_000 });
      await page.waitForTimeout(50);
    }
  }

  // Live prediction on a fake webcam made of real daisy photos (not in the training set).
  const daisy = await classIdOf(page, 'daisy');
  await page.getByTestId('live-toggle').click();
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    await expect(page.getByTestId('fps')).toBeVisible({ timeout: 60_000 });
    const before = await page.getByTestId('prediction-bar').first().getAttribute('data-score');
    await expect.poll(async () => page.getByTestId('prediction-bar').first().getAttribute('data-score'), { timeout: 30_000 }).not.toBe(before);
    seen.push((await page.getByTestId('prediction-top').getAttribute('data-class-id'))!);
  }
  await page.getByTestId('live-toggle').click();
  expect(seen.filter((s) => s === daisy).length).toBe(10);

  // Hold-to-record on the teach webcam: the recorded frames land in the selected class.
  await card(page, 'daisy').getByTestId('class-webcam').click();
  await expect(page.getByTestId('camera-target')).toHaveText('daisy');
  const record = page.getByTestId('camera-record');
  await record.focus();
  await page.keyboard.down(' ');
  await expect(page.getByTestId('record-count')).toHaveText(/^(1[0-9]|[2-9][0-9]) frames recorded$/, { timeout: 60_000 });
  await page.keyboard.up(' ');
  await page.waitForTimeout(500);
  const recorded = Number((await page.getByTestId('record-count').textContent())!.split(' ')[0]);
  expect(recorded).toBeGreaterThanOrEqual(10);
  await expect(card(page, 'daisy').getByTestId('class-count')).toHaveText(String(10 + recorded), { timeout: 120_000 });

  // Reload: the trained head comes back from IndexedDB and predicts without retraining.
  await page.reload();
  await waitForEngine(page);
  const [probe] = datasetFiles('flower_photos', 'roses', 1, 25);
  await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(probe!)]);
  await expect(page.getByTestId('prediction-top')).toHaveAttribute('data-class-id', await classIdOf(page, 'roses'));
  await expect(page.getByTestId('train-panel')).not.toHaveAttribute('data-phase', 'training');
  expect(await csp()).toEqual([]);
});
