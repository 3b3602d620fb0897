// Robust under load: dropping 2,000 images at once keeps the page responsive (no main-thread task
// over 50 ms while the files are queued and the first ones import), and the import can be
// cancelled. The images are tiny distinct JPEGs (the network cost per image is the same; only the
// first few dozen are embedded before cancelling, to keep the test affordable).
import jpeg from 'jpeg-js';
import { expect, test } from '@playwright/test';
import { blockModelHosts, dropStaged, stageFiles, waitForEngine, type DropFile } from './helpers';

const N = 2000;

function tinyJpeg(i: number): DropFile {
  const w = 24;
  const data = Buffer.alloc(w * w * 4);
  for (let p = 0; p < w * w; p++) {
    data[p * 4] = (i * 37 + p) & 255;
    data[p * 4 + 1] = (i >> 3) & 255;
    data[p * 4 + 2] = (p * 11) & 255;
    data[p * 4 + 3] = 255;
  }
  const bytes = jpeg.encode({ data, width: w, height: w }, 80).data;
  return { name: `tiny-${String(i).padStart(4, '0')}.jpg`, type: 'image/jpeg', base64: Buffer.from(bytes).toString('base64') };
}

test(`dropping ${N} images keeps the UI responsive and can be cancelled`, async ({ page }) => {
  test.setTimeout(420_000);
  await blockModelHosts(page);
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
  });
  await page.goto('./?extractor=resnet50-imagenet');
  await waitForEngine(page);
  await page.getByTestId('class-new-name').fill('tiny');
  await page.getByTestId('class-add').click();
  await stageFiles(page, Array.from({ length: N }, (_, i) => tinyJpeg(i)));
  await page.waitForTimeout(500);
  await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks.length = 0));
  const heap0 = await page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
  await dropStaged(page, '[data-testid="class-drop"]');
  await expect(page.getByTestId('import-panel')).toBeVisible();
  const count = page.getByTestId('class-count');
  await expect.poll(async () => Number(await count.textContent()), { timeout: 240_000 }).toBeGreaterThanOrEqual(30);
  const long = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());
  const heap1 = await page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
  await page.getByTestId('import-cancel').click();
  await expect(page.getByTestId('import-status')).toContainText(/cancel/i, { timeout: 60_000 });
  const stopped = Number(await count.textContent());
  await page.waitForTimeout(3000);
  const later = Number(await count.textContent());
  console.log(`import ${N}: long tasks ${JSON.stringify(long.map(Math.round))}, heap +${((heap1 - heap0) / 2 ** 20).toFixed(1)} MB, cancelled at ${stopped}, 3 s later ${later}`);
  expect(later).toBeLessThanOrEqual(stopped + 4); // at most the batch in flight lands
  expect(later).toBeLessThan(N);
  expect(long.filter((d) => d > 50), 'main-thread tasks over 50 ms').toEqual([]);
});
