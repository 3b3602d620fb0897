import fs from 'node:fs';
import path from 'node:path';
import type { Connect, Plugin } from 'vite';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const sharedModels = path.resolve(import.meta.dirname, '..', 'shared', 'models');

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

/** Cross-origin isolation lets WASM start threads (SharedArrayBuffer). */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Serves ../shared/models/ at /shared-models/ on the dev and preview servers, for tests and
 * evaluation of the 2015 Inception-v3 weights. Never copied into the build.
 */
function sharedModelsPlugin(): Plugin {
  const handler: Connect.NextHandleFunction = (req, res, next) => {
    const url = (req.url ?? '').split('?')[0]!;
    const prefix = '/shared-models/';
    if (!url.startsWith(prefix)) return next();
    const rel = decodeURIComponent(url.slice(prefix.length));
    const file = path.resolve(sharedModels, rel);
    if (!file.startsWith(sharedModels + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
    fs.createReadStream(file).pipe(res);
  };
  return {
    name: 'glimpse-shared-models',
    configureServer(server) {
      server.middlewares.use(handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler);
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), sharedModelsPlugin()],
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: { ...isolation, 'Content-Security-Policy': CSP } },
  // No minification: the threaded WASM backend starts its threads from the source text of its
  // factory function (Function.toString), which breaks once a minifier renames what it refers to.
  build: { target: 'es2022', sourcemap: true, minify: false, chunkSizeWarningLimit: 8192 },
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
});
