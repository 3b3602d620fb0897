// Accessibility: axe-core on every view in a realistic state (zero serious or critical
// violations), every action reachable by Tab with a visible focus indicator (spot-checked), and
// live regions for progress and predictions.
import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { makeBadCorpus } from '../../scripts/make-bad-fixtures.mjs';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, repoRoot, waitForEngine, type DropFile } from './helpers';

async function audit(page: Page, view: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const minor = violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical').map((v) => `${v.id} (${v.impact})`);
  console.log(`axe ${view}: ${violations.length - minor.length} serious/critical; others: ${minor.join(', ') || 'none'}`);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${view}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
}

// The bad-file corpus is generated, not committed: made here too, so this spec runs on its own.
makeBadCorpus();
const badFile = (name: string): DropFile => ({ name, type: 'image/jpeg', base64: fs.readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'bad', name)).toString('base64') });

/** Presses Tab up to `max` times; what got focus, and whether each focus was visibly indicated. */
async function tabThrough(page: Page, max: number): Promise<{ id: string; visible: boolean }[]> {
  const seen: { id: string; visible: boolean }[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
      const ring = s.boxShadow !== 'none';
      const id = el.dataset.testid ?? `${el.tagName.toLowerCase()}:${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}`;
      return { id, visible: outline || ring };
    });
    if (f) seen.push(f);
  }
  return seen;
}

test('every view passes axe (no serious or critical violations); keyboard and live regions', async ({ page }) => {
  test.setTimeout(480_000);
  await blockModelHosts(page);
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  const found: string[] = [];

  // Teach: two classes with samples.
  const classes = ['daisy', 'sunflowers'];
  const files = classes.flatMap((c) => datasetFiles('flower_photos', c, 3).map((f) => fileForDrop(f, `flowers/${c}/${path.basename(f)}`)));
  await dropFiles(page, '[data-testid="folder-drop"]', files);
  await expect(page.getByTestId('class-count')).toHaveText(['3', '3'], { timeout: 180_000 });
  found.push(...(await audit(page, 'teach')));

  // The import panel with errors.
  await dropFiles(page, '[data-testid="class-drop"]', [badFile('zero-bytes.jpg'), badFile('text-named.jpg')]);
  await expect(page.getByTestId('import-error')).toHaveCount(2, { timeout: 60_000 });
  found.push(...(await audit(page, 'import errors')));

  // Training results with the confusion matrix, and a prediction.
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('train-panel')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(page.getByTestId('confusion')).toBeVisible();
  await dropFiles(page, '[data-testid="predict-drop"]', [fileForDrop(datasetFiles('flower_photos', 'daisy', 1, 20)[0]!)]);
  await expect(page.getByTestId('prediction-top')).toBeVisible({ timeout: 60_000 });
  found.push(...(await audit(page, 'train results')));

  // Settings open.
  await page.getByTestId('settings-toggle').click();
  await expect(page.getByTestId('settings-panel')).toBeVisible();
  found.push(...(await audit(page, 'settings')));
  await page.getByTestId('settings-toggle').click();

  // What is this? with a result.
  await page.getByTestId('tab-what').click();
  await dropFiles(page, '[data-testid="what-drop"]', [fileForDrop(datasetFiles('imagenet-sample', 'n01443537', 1)[0]!)]);
  await expect(page.getByTestId('what-result').first().getByTestId('top-label').first()).toHaveAttribute('data-index', '1', { timeout: 60_000 });
  found.push(...(await audit(page, 'what is this')));

  expect(found, found.join('\n')).toEqual([]);

  // Live regions: engine status, training progress, predictions, What-is-this results, toasts.
  await expect(page.getByTestId('engine-status')).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByTestId('what-results')).toHaveAttribute('aria-live', 'polite');
  await expect(page.getByTestId('toasts')).toHaveAttribute('aria-live', 'polite');
  await page.getByTestId('tab-teach').click();
  await expect(page.getByTestId('train-panel').locator('[role="status"], [aria-live]')).not.toHaveCount(0);
  await expect(page.getByTestId('prediction-top').locator('xpath=ancestor::*[@aria-live]')).not.toHaveCount(0);

  // Keyboard: from the top of the page, Tab reaches the main actions, each with a visible focus.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.locator('body').focus();
  const seen = await tabThrough(page, 80);
  const ids = seen.map((s) => s.id);
  for (const action of ['settings-toggle', 'tab-teach', 'class-add', 'train-button']) expect(ids, `Tab reaches ${action}`).toContain(action);
  const invisible = seen.filter((s) => !s.visible).map((s) => s.id);
  expect(invisible, `no visible focus on: ${invisible.join(', ')}`).toEqual([]);
  // Tabs work with arrow keys, the settings toggle with Enter.
  await page.getByTestId('tab-teach').focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('tab-what')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('tab-what')).toBeFocused();
  await page.getByTestId('settings-toggle').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('settings-panel')).toBeVisible();
});
