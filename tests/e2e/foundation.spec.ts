import { expect, test } from '@playwright/test';
import { blockModelHosts, datasetFiles, dropFiles, fileForDrop, waitForEngine, watchCsp } from './helpers';

test.describe('foundation', () => {
  test('falls back from the unreachable TF Hub Inception-v3 to the bundled ResNet-50 and picks WASM over software GPUs', async ({ page }) => {
    const csp = await watchCsp(page);
    await blockModelHosts(page);
    await page.goto('./');
    await waitForEngine(page);
    const status = page.getByTestId('engine-status');
    await expect(status).toHaveAttribute('data-extractor', 'resnet50-imagenet');
    // Chromium here offers only a fallback WebGPU adapter and SwiftShader WebGL: WASM must win.
    await expect(status).toHaveAttribute('data-backend', 'wasm');
    await expect(page.getByTestId('notice')).toContainText('Inception-v3');
    await expect(page.getByTestId('notice')).toContainText('could not be loaded');
    const isolated = await page.evaluate(() => crossOriginIsolated);
    expect(isolated).toBe(true);
    expect(await csp()).toEqual([]);
  });

  test('drop a real ImageNet photo and see the right top-1 label', async ({ page }) => {
    await blockModelHosts(page);
    await page.goto('./?extractor=resnet50-imagenet');
    await waitForEngine(page);
    // n01443537 = goldfish (index 1), n02123045 = tabby (index 281)
    const [goldfish] = datasetFiles('imagenet-sample', 'n01443537', 1);
    await dropFiles(page, '[data-testid="what-drop"]', [fileForDrop(goldfish!)]);
    const first = page.getByTestId('what-result').first().getByTestId('top-label').first();
    await expect(first).toHaveAttribute('data-index', '1');
    await expect(first).toContainText('goldfish');
    await expect(page.getByTestId('what-result').first().getByTestId('top-label')).toHaveCount(5);
  });
});
