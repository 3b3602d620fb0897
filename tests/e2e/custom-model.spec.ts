// A model loaded from the user's own files (issue 15, item 3): picked in Settings, checked, kept in
// the model cache, used as the extractor, and still there offline after a reload. The bundled
// Inception-v3's own files stand in for a model downloaded by hand.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { repoRoot, waitForEngine } from './helpers';

const dir = path.join(repoRoot, 'public', 'models', 'inception-v3-2015-mixed8');

test('a TF.js model from files becomes the extractor and works offline', async ({ page, context }) => {
  test.setTimeout(300_000);
  await page.goto('./');
  await waitForEngine(page);
  await page.getByTestId('settings-toggle').click();
  const box = page.getByTestId('custom-model');
  await box.getByRole('combobox').selectOption('signed');

  // A shard missing: one clear message, nothing stored.
  const files = fs.readdirSync(dir).filter((f) => /\.(json|bin)$/.test(f)).map((f) => path.join(dir, f));
  await page.getByTestId('custom-model-input').setInputFiles(files.filter((f) => !f.endsWith('shard2of7.bin')));
  await expect(page.getByTestId('custom-model-message')).toContainText('Missing weight files: group1-shard2of7.bin');
  await expect(page.getByTestId('custom-model-item')).toHaveCount(0);

  await page.getByTestId('custom-model-input').setInputFiles(files);
  await expect(page.getByTestId('custom-model-message')).toContainText('is in use (1280-d embeddings)', { timeout: 120_000 });
  const status = page.getByTestId('engine-status');
  const id = await status.getAttribute('data-extractor');
  expect(id).toMatch(/^custom-[0-9a-f]{12}$/);
  await expect(page.getByTestId('custom-model-item')).toHaveCount(1);

  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await page.reload();
  await waitForEngine(page);
  await expect(status).toHaveAttribute('data-extractor', id!);
  await expect(page.getByTestId('error')).toHaveCount(0);
  await context.setOffline(false);
});
