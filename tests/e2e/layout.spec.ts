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

const SIZES = [
  [390, 844],
  [1280, 800],
] as const;

// One project, each view checked at both sizes (the window is resized, as when a phone turns or a
// window is narrowed): the layout is CSS only, so this is the layout a fresh load at that size gets.
test(`every view fits ${SIZES.map((s) => s.join('x')).join(' and ')}: no overflow, no overlapping controls, axe clean`, async ({ browser }) => {
  test.setTimeout(480_000);
  const context = await browser.newContext({ viewport: { width: SIZES[0][0], height: SIZES[0][1] } });
  const page = await context.newPage();
  await blockModelHosts(page);
  const reports: (ViewReport & { width: number })[] = [];
  const check = async (view: string) => {
    for (const [width, height] of SIZES) {
      await page.setViewportSize({ width, height });
      reports.push({ ...(await checkView(page, view, width)), width });
    }
  };

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
  // "Export and import" is closed on a new page; keyboard opens it (a <details>), and its seven
  // actions must fit both sizes too.
  await expect(page.getByTestId('export-model')).toBeHidden();
  await page.getByTestId('export-tools').locator('summary').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('export-model')).toBeVisible();
  await check('trained');

  await page.getByText('Review hard samples', { exact: true }).click();
  await page.getByTestId('review-button').click();
  await expect(page.getByTestId('review-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await check('review');

  await page.getByText('Embedding map', { exact: true }).click();
  await page.getByTestId('map-button').click();
  await expect(page.getByTestId('map-point')).toHaveCount(files.length, { timeout: 60_000 });
  await check('map');

  // Settings: a Radix popover; Esc closes it, and so does a click outside (at each size).
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.getByTestId('settings-toggle').click();
    await expect(page.getByTestId('settings-panel')).toBeVisible();
    reports.push({ ...(await checkView(page, 'settings', width)), width });
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('settings-panel')).toBeHidden();
    await expect(page.getByTestId('settings-toggle')).toBeFocused();
    await page.getByTestId('settings-toggle').click();
    await expect(page.getByTestId('settings-panel')).toBeVisible();
    await page.mouse.click(5, height - 5);
    await expect(page.getByTestId('settings-panel')).toBeHidden();
  }

  await context.setOffline(true);
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-online', 'false');
  await check('offline');
  await context.setOffline(false);

  expect(reports).toHaveLength(SIZES.length * 7);
  for (const r of reports) {
    const at = `${r.view} at ${r.width} px`;
    expect(r.scrollWidth, `${at}: page wider than the window`).toBeLessThanOrEqual(r.innerWidth);
    expect(r.innerWidth, `${at}: window width`).toBe(r.width);
    expect(r.overlaps, `${at}: overlapping controls`).toEqual([]);
    expect(r.axe, `${at}: axe`).toEqual([]);
  }
  await context.close();
});
