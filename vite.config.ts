import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

/** Hosts the published Inception-v3 may be fetched from (TF Hub redirects to Kaggle / GCS). */
export const MODEL_HOSTS = ['https://tfhub.dev', 'https://www.kaggle.com', 'https://storage.googleapis.com'];

export const CSP = [
  "default-src 'self'",
  // The WASM backend needs wasm-unsafe-eval to compile its module, and its threads load their
  // script from a blob: URL (importScripts). No unsafe-eval, no inline scripts.
  "script-src 'self' blob: 'wasm-unsafe-eval'",
  // The threaded WASM backend starts its helper threads from blob: URLs.
  "worker-src 'self' blob:",
  `connect-src 'self' blob: data: ${MODEL_HOSTS.join(' ')}`,
  "img-src 'self' blob: data:",
  "media-src 'self' blob: mediastream:",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The same policy as a <meta http-equiv> tag, for hosts that cannot set headers (static hosting,
 * a file share). A meta policy cannot carry frame-ancestors (browsers ignore it there and warn),
 * so the header stays the source of truth; where both arrive, both are enforced.
 */
export const CSP_META = CSP.split('; ')
  .filter((d) => !d.startsWith('frame-ancestors'))
  .join('; ');

/** Build-time only: dev needs the React refresh preamble, an inline script the CSP forbids. */
function cspMetaPlugin(): Plugin {
  return {
    name: 'glimpse-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP_META }, injectTo: 'head-prepend' },
      { tag: 'link', attrs: { rel: 'apple-touch-icon', href: './icons/apple-touch-icon-180.png' }, injectTo: 'head' },
    ],
  };
}

/** Cross-origin isolation lets WASM start threads (SharedArrayBuffer). */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Installable PWA (DESIGN.md 10). The service worker precaches the app shell only: HTML, JS
 * (including the embedding worker), CSS, the TF.js WASM binaries, icons and the manifest.
 *
 * Model files are not precached and have no service-worker route on purpose. They are far over
 * Workbox's 2 MiB precache limit (ResNet-50 is 49 MB), and one owner keeps them coherent: the
 * embedding worker's cachingFetcher (src/embed/fetch-cache.ts) reads Cache Storage
 * "glimpse-models-v1" first and fills it on first use, and Settings' "Download for offline use"
 * fills the same cache through the same function. A Workbox CacheFirst route would only write the
 * same bytes a second time; with no route, a model request never reaches the service worker
 * unless the bytes are missing, and then it goes to the network as usual.
 *
 * Precached responses keep the headers they were fetched with (COOP/COEP/CORP and the CSP from
 * `vite preview` or the production host), so a page served offline is still cross-origin isolated
 * and WASM still gets its threads.
 */
function pwaPlugin() {
  return VitePWA({
    registerType: 'prompt',
    // Registered by src/pwa/register.ts (workbox-window): no inline script, and the update flow
    // stays in our hands (never reload under the user).
    injectRegister: false,
    manifestFilename: 'manifest.webmanifest',
    // The icons are already matched by globPatterns below.
    includeManifestIcons: false,
    manifest: {
      id: './',
      name: 'Glimpse — teach your browser to see',
      short_name: 'Glimpse',
      description: 'Teach your browser to recognise new kinds of images from a few examples. Nothing leaves your device.',
      lang: 'en',
      start_url: './',
      scope: './',
      display: 'standalone',
      orientation: 'any',
      theme_color: '#1f4e79',
      background_color: '#f5f7fa',
      categories: ['education', 'productivity', 'utilities'],
      icons: [
        { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
        { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
      ],
    },
    workbox: {
      // (vite-plugin-pwa adds manifest.webmanifest itself.)
      globPatterns: ['**/*.{html,js,css,wasm,svg,png}'],
      // Models live in their own runtime cache (above); source maps and the benchmark page are
      // for developers only.
      globIgnores: ['models/**', '**/*.map', 'bench/**'],
      // The main bundle and the embedding worker (TF.js, unminified: see build below) are 3-5 MB.
      maximumFileSizeToCacheInBytes: 12 * 1024 * 1024,
      navigateFallback: 'index.html',
      navigateFallbackDenylist: [/\/models\//, /\.webmanifest$/, /\/bench\//],
      // Open pages get the new worker only when the user accepts "Reload" (SKIP_WAITING); a first
      // install controls the page at once so it works offline without a reload.
      skipWaiting: false,
      clientsClaim: true,
      cleanupOutdatedCaches: true,
      sourcemap: false,
    },
  });
}

/** A visible build id (VITE_APP_BUILD, e.g. a commit or CI run) next to the package version. */
const appVersion = JSON.stringify(JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, 'package.json'), 'utf8')).version);
const appBuild = JSON.stringify(process.env.VITE_APP_BUILD ?? '');

export default defineConfig({
  base: './',
  plugins: [react(), cspMetaPlugin(), pwaPlugin()],
  define: { __APP_VERSION__: appVersion, __APP_BUILD__: appBuild },
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: { ...isolation, 'Content-Security-Policy': CSP } },
  // No minification: the threaded WASM backend starts its threads from the source text of its
  // factory function (Function.toString), which breaks once a minifier renames what it refers to.
  build: {
    // GLIMPSE_OUT_DIR lets parallel test runs build and preview separate copies (default dist/).
    outDir: process.env.GLIMPSE_OUT_DIR ?? 'dist',
    target: 'es2022',
    sourcemap: true,
    minify: false,
    chunkSizeWarningLimit: 8192,
    // bench/baseline.html: the main-thread TF.js baseline that `npm run bench` compares against.
    rollupOptions: { input: { main: 'index.html', baseline: 'bench/baseline.html' } },
  },
  // The dev server pre-bundles TF.js (its WASM backend and seedrandom are CommonJS, which the
  // browser cannot import raw: "does not provide an export named 'wasmWorkerContents'",
  // "require is not defined"). Listing the late-discovered ones avoids a reload mid-visit.
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-cpu',
      'ml-pca',
      'umap-js',
    ],
  },
});
