import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './tests/e2e/chromium';

const PORT = Number(process.env.GLIMPSE_E2E_PORT ?? 4317);
/** The dev server (`npm start`'s vite) for the specs that must also pass there. */
const DEV_PORT = Number(process.env.GLIMPSE_E2E_DEV_PORT ?? PORT + 100);

const launchOptions = { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS };

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  // One retry in CI: the 2-core CI machine runs software GPUs and the WASM model; a timing
  // hiccup should not sink a run. Locally a failure shows at once.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  projects: [
    // Every spec against the production build (vite preview: CSP, COOP/COEP, service worker).
    { name: 'build', use: { baseURL: `http://127.0.0.1:${PORT}/`, launchOptions } },
    // The first start (teach, train, predict, reload, offline) also against the dev server, so
    // `npm start` can never break silently.
    { name: 'dev', testMatch: /first-start\.spec\.ts$/, grep: /fresh profile/, use: { baseURL: `http://127.0.0.1:${DEV_PORT}/`, launchOptions } },
  ],
  webServer: [
    {
      command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
      url: `http://127.0.0.1:${PORT}/`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: `npx vite --host 127.0.0.1 --port ${DEV_PORT} --strictPort`,
      url: `http://127.0.0.1:${DEV_PORT}/`,
      reuseExistingServer: false,
      timeout: 120_000,
    },
  ],
});
