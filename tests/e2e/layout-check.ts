// What every view of the layout test checks: no horizontal overflow, no two visible controls on
// top of each other, axe with no serious or critical finding; and a screenshot of the view.
import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { repoRoot } from './helpers';

export interface ViewReport {
  view: string;
  scrollWidth: number;
  innerWidth: number;
  overlaps: string[];
  axe: string[];
}

/**
 * Pairs of visible controls whose boxes intersect by more than 2 px each way. Controls in different
 * layers (the page, a Radix popover, the toasts) may cover each other: that is what layers do.
 */
function findOverlaps(): string[] {
  const selector = 'button, a[href], input:not([type="hidden"]), select, textarea, summary, [role="button"], [tabindex="0"]';
  const layerOf = (el: Element) => el.closest('[data-radix-popper-content-wrapper], .toasts') ?? document.body;
  const describe = (el: Element) => {
    const h = el as HTMLElement;
    const text = (h.getAttribute('aria-label') ?? h.textContent ?? '').trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${h.dataset.testid ? `[${h.dataset.testid}]` : ''} "${text}"`;
  };
  const controls = [...document.querySelectorAll(selector)]
    .filter((el) => (el as HTMLElement).checkVisibility({ visibilityProperty: true, opacityProperty: true }))
    .map((el) => ({ el, r: el.getBoundingClientRect(), layer: layerOf(el) }))
    .filter((c) => c.r.width > 0 && c.r.height > 0);
  const found: string[] = [];
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = controls[i]!;
      const b = controls[j]!;
      if (a.layer !== b.layer || a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) found.push(`${describe(a.el)} overlaps ${describe(b.el)}`);
    }
  }
  return found;
}

export async function checkView(page: Page, view: string, width: number): Promise<ViewReport> {
  await page.evaluate(() => window.scrollTo(0, 0));
  const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  const overlaps = await page.evaluate(findOverlaps);
  const { violations } = await new AxeBuilder({ page }).analyze();
  const axe = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  const dir = path.join(repoRoot, 'test-results', 'layout');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${width}-${view}.png`), fullPage: true });
  return { view, scrollWidth: scrollWidth!, innerWidth: innerWidth!, overlaps, axe };
}
