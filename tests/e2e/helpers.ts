// Shared helpers for the browser tests: real files from ../shared/datasets, dropping files onto
// the page the way a user's drag and drop does, collecting CSP violations, finding a class card.
// The database reader is db.ts, the bench hooks' types and calls bench-api.ts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from '@playwright/test';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const datasets = path.resolve(repoRoot, '..', 'shared', 'datasets');

export function datasetFiles(dataset: string, cls: string, count: number, offset = 0): string[] {
  const dir = path.join(datasets, dataset, cls);
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(offset, offset + count)
    .map((f) => path.join(dir, f));
}

export interface DropFile {
  name: string;
  type: string;
  base64: string;
  /** Folder path inside the drop ("daisy/x.jpg"), for folder drops. */
  relativePath?: string;
}

export function fileForDrop(file: string, relativePath?: string): DropFile {
  const ext = path.extname(file).toLowerCase();
  const type = ext === '.png' ? 'image/png' : ext === '.jpg' || ext === '.jpeg' ? 'image/jpeg' : 'application/octet-stream';
  const d: DropFile = { name: path.basename(file), type, base64: fs.readFileSync(file).toString('base64') };
  if (relativePath) d.relativePath = relativePath;
  return d;
}

/** Dispatches a real DragEvent with a DataTransfer holding the files onto the target element. */
export async function dropFiles(page: Page, selector: string, files: DropFile[]): Promise<void> {
  await stageFiles(page, files);
  await dropStaged(page, selector);
}

/** Builds File objects in the page ahead of a drop (so the test's own decoding is not timed). */
export async function stageFiles(page: Page, files: DropFile[]): Promise<void> {
  await page.evaluate((list) => {
    const staged = list.map((f) => {
      const bin = atob(f.base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const file = new File([bytes], f.name, { type: f.type });
      if (f.relativePath) Object.defineProperty(file, 'webkitRelativePath', { value: f.relativePath });
      return file;
    });
    (window as unknown as { __staged: File[] }).__staged = staged;
  }, files);
}

/** Drops the files staged by stageFiles() onto the target element. */
export async function dropStaged(page: Page, selector: string): Promise<void> {
  await page.locator(selector).first().evaluate((el) => {
    const dt = new DataTransfer();
    for (const file of (window as unknown as { __staged: File[] }).__staged) dt.items.add(file);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  });
}

/** Records CSP violations on every page of the test. */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp ?? []);
}

/** Makes the TF Hub model host unreachable the same way on every machine (fails fast). */
export async function blockModelHosts(page: Page): Promise<void> {
  await page.route(/tfhub\.dev|kaggle\.com|storage\.googleapis\.com/, (route) => route.abort('internetdisconnected'));
}

export async function waitForEngine(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.locator('[data-testid="engine-status"][data-status="ready"]').waitFor({ timeout: timeoutMs });
}

/** The card of the class named `name` (exact match on its visible name). */
export function classCard(page: Page, name: string): Locator {
  return page.getByTestId('class-card').filter({ has: page.getByTestId('class-name').getByText(name, { exact: true }) });
}

/** Opens the project bar's "Export and import" disclosure (closed after each page load) by clicking it. */
export async function openExportTools(page: Page): Promise<void> {
  const tools = page.getByTestId('export-tools');
  if (!(await tools.evaluate((d) => (d as HTMLDetailsElement).open))) await tools.locator('summary').click();
  await page.getByTestId('export-model').waitFor({ state: 'visible' });
}
