// The built app's own benchmark (window.__glimpseBench, ?bench=1) in headless Chromium on the GPU
// machine, once with WebGPU and once with WebGL. Plain Node (no build step): it runs there with the
// carried Node binary and playwright-core.
//
//   node bench/gpu/browser-run.mjs --chromium PATH --playwright DIR --dist DIR --models DIR
//        --images DIR [--port 4404] [--json OUT.json]
//
// Serves DIST (the vite build) with /shared-models/ from MODELS and /bench-images/ from IMAGES,
// then per backend: page ?bench=1&backend=B, waits for the engine, records what the page's GPU is
// (WebGPU adapter info, WebGL renderer), calls profile([1, 8, 32]) (network only, the app's own
// timing) and embedUrls (JPEG fetch excluded; decode + preprocess + embed in the app's worker).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    chromium: { type: 'string' },
    playwright: { type: 'string' },
    dist: { type: 'string' },
    models: { type: 'string' },
    images: { type: 'string' },
    port: { type: 'string', default: '4404' },
    json: { type: 'string' },
    backends: { type: 'string', default: 'webgpu,webgl' },
    batches: { type: 'string', default: '1,8,32' },
    repeats: { type: 'string', default: '10' },
    extractor: { type: 'string', default: 'inception-v3-2015-mixed8' },
  },
});
const { chromium } = createRequire(import.meta.url)(path.resolve(a.playwright));

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.webmanifest': 'application/manifest+json',
};

function serve() {
  // The app fetches the bundled model from /models/ (public/models) and others from /shared-models/.
  const roots = [['/shared-models/', a.models], ['/models/', a.models], ['/bench-images/', a.images], ['/', a.dist]];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [prefix, root] = roots.find(([p]) => url.startsWith(p));
    let file = path.join(root, url.slice(prefix.length));
    if (!file.startsWith(path.resolve(root))) file = path.join(a.dist, 'index.html');
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(a.dist, 'index.html');
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      // Cross-origin isolation, as the app's own servers send it (WASM threads need it).
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(Number(a.port), '127.0.0.1', () => resolve(server)));
}

// GPU switches for a headless Chromium on Linux with the NVIDIA Vulkan driver and no display.
const ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,WebGPU',
  '--use-vulkan=native',
  '--use-angle=vulkan',
  '--ignore-gpu-blocklist',
  '--enable-gpu',
  '--disable-vulkan-surface',
  '--no-sandbox',
];

async function gpuInfo(page) {
  return page.evaluate(async () => {
    const out = {};
    try {
      const ad = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
      out.webgpu = ad ? { ...ad.info, vendor: ad.info.vendor, architecture: ad.info.architecture, description: ad.info.description, fallback: ad.info.isFallbackAdapter ?? null } : 'no adapter';
    } catch (e) {
      out.webgpu = String(e);
    }
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    out.webgl = gl ? (ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) : 'no WebGL2';
    return out;
  });
}

const call = (page, name, ...args) =>
  page.evaluate(([n, xs]) => window.__glimpseBench[n](...xs), [name, args]);

async function main() {
  const server = await serve();
  const base = `http://127.0.0.1:${a.port}/`;
  const images = fs.readdirSync(a.images).filter((f) => f.endsWith('.jpg')).sort().map((f) => `${base}bench-images/${f}`);
  const batches = a.batches.split(',').map(Number);
  const rows = [];
  const runs = {};
  for (const backend of a.backends.split(',')) {
    const browser = await chromium.launch({ executablePath: a.chromium, headless: true, args: ARGS });
    const run = { backend };
    runs[backend] = run;
    try {
      const page = await browser.newPage();
      page.on('console', (m) => ['error', 'warning'].includes(m.type()) && console.log(`[page ${backend}] ${m.text().slice(0, 300)}`));
      page.on('pageerror', (e) => console.log(`[page ${backend}] pageerror ${String(e).slice(0, 300)}`));
      page.on('requestfailed', (r) => console.log(`[page ${backend}] request failed ${r.url()} ${r.failure()?.errorText}`));
      await page.goto(`${base}?bench=1&backend=${backend}&extractor=${a.extractor}`);
      run.gpu = await gpuInfo(page);
      console.log(`[browser] ${backend}: ${JSON.stringify(run.gpu)}`);
      await page.waitForFunction(() => window.__glimpseBench?.ready(), null, { timeout: Number(process.env.READY_TIMEOUT_MS ?? 180_000) }).catch(async (e) => {
        const status = await page.evaluate(() => {
          const el = document.querySelector('[data-testid="engine-status"]');
          return { status: el?.getAttribute('data-status'), text: el?.textContent, hooks: Boolean(window.__glimpseBench), body: document.body.innerText.slice(0, 600) };
        });
        console.log(`[browser] ${backend}: not ready: ${JSON.stringify(status)}`);
        throw e;
      });
      run.info = await call(page, 'info');
      console.log(`[browser] ${backend}: engine ${JSON.stringify(run.info)}`);
      if (run.info.backend !== backend) {
        run.skipped = `asked for ${backend}, the app started ${run.info.backend}`;
        continue;
      }
      const prof = await call(page, 'profile', batches, Number(a.repeats));
      run.profile = prof;
      for (const [b, ms] of Object.entries(prof.embedMsPerImage)) {
        rows.push({ backend, what: 'network', batch: Number(b), ms_per_image: ms });
      }
      await call(page, 'embedUrls', images, 32); // warm: decode paths, shapes
      const app = await call(page, 'embedUrls', images, 32);
      run.app = app;
      rows.push({ backend, what: 'app (JPEG decode + preprocess + embed, worker)', batch: 32, ms_per_image: app.ms / Math.max(1, app.done) });
      console.log(`[browser] ${backend}: network ${JSON.stringify(prof.embedMsPerImage)} ms/image; app ${(app.ms / app.done).toFixed(2)} ms/image over ${app.done} JPEGs`);
    } catch (e) {
      run.error = String(e?.stack ?? e);
      console.log(`[browser] ${backend} FAILED: ${run.error}`);
    } finally {
      await browser.close();
    }
  }
  server.close();
  if (a.json) fs.writeFileSync(a.json, JSON.stringify({ chromium: a.chromium, args: ARGS, rows, runs }, null, 2));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
