// The workspace at a phone (390x844) and a laptop (1280x800): every view (empty project,
// importing, trained, review, map, settings, offline) has no horizontal overflow, no overlapping
// controls, and no serious or critical axe finding; a screenshot of each lands in test-results/.
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { checkView, type ViewReport } from './layout-check';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine } from './helpers';

const CLASSES = ['daisy', 'sunflowers', 'roses'];
// A class name with no break opportunity: it must wrap rather than widen the page.
const LONG = 'Pneumonoultramicroscopicsilicovolcanoconiosis-specimens-from-the-archive';

for (const [width, height] of [
  [390, 844],
  [1280, 800],
] as const) {
  test(`every view fits ${width}x${height}: no overflow, no overlapping controls, axe clean`, async ({ browser }) => {
    test.setTimeout(480_000);
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    await blockModelHosts(page);
    const reports: ViewReport[] = [];
    const check = async (view: string) => reports.push(await checkView(page, view, width));

    await page.goto('./?extractor=resnet50-imagenet');
    await waitForEngine(page);
    await expect(page.getByTestId('classes-empty')).toBeVisible();
    await check('empty');

    const files = CLASSES.flatMap((c) => datasetFiles('flower_photos', c, 4).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
    files.push(...datasetFiles('flower_photos', 'tulips', 3).map((f) => fileForDrop(f, `flowers/${LONG}/${path.basename(f)}`)));
    await dropFiles(page, '[data-testid="folder-drop"]', files);
    await expect(page.getByTestId('import-panel')).toBeVisible();
    await check('importing');
    await expect(page.getByTestId('import-status')).toHaveAttribute('data-running', 'false', { timeout: 300_000 });

    await page.getByTestId('train-button').click();
    await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
    await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(datasetFiles('flower_photos', 'daisy', 1, 20)[0]!)]);
    await expect(page.getByTestId('prediction-top')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('chart-loss')).toBeVisible();
    await check('trained');

    await page.getByText('Review hard samples', { exact: true }).click();
    await page.getByTestId('review-button').click();
    await expect(page.getByTestId('review-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
    await check('review');

    await page.getByText('Embedding map', { exact: true }).click();
    await page.getByTestId('map-button').click();
    await expect(page.getByTestId('map-point')).toHaveCount(files.length, { timeout: 60_000 });
    await check('map');

    // Settings: a Radix popover; Esc closes it, and so does a click outside.
    await page.getByTestId('settings-toggle').click();
    await expect(page.getByTestId('settings-panel')).toBeVisible();
    await check('settings');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('settings-panel')).toBeHidden();
    await expect(page.getByTestId('settings-toggle')).toBeFocused();
    await page.getByTestId('settings-toggle').click();
    await expect(page.getByTestId('settings-panel')).toBeVisible();
    await page.mouse.click(5, height - 5);
    await expect(page.getByTestId('settings-panel')).toBeHidden();

    await context.setOffline(true);
    await expect(page.getByTestId('network-status')).toHaveAttribute('data-online', 'false');
    await check('offline');
    await context.setOffline(false);

    for (const r of reports) {
      expect(r.scrollWidth, `${r.view}: page wider than the window`).toBeLessThanOrEqual(r.innerWidth);
      expect(r.overlaps, `${r.view}: overlapping controls`).toEqual([]);
      expect(r.axe, `${r.view}: axe`).toEqual([]);
    }
    await context.close();
  });
}
