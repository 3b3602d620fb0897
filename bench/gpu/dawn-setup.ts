// Gives Node a browser-like `navigator.gpu` from Dawn's Node bindings (npm package `webgpu`, file
// dawn.node), so that @tensorflow/tfjs-backend-webgpu runs unchanged outside a browser.
//
// This module must be imported before @tensorflow/tfjs-backend-webgpu: that package decides at
// import time whether to register the 'webgpu' backend, by looking for `navigator.gpu`. ES modules
// are evaluated in import order, so `import './dawn-setup'` as the first import of the entry point
// is enough (the bundle keeps that order).
//
// Where dawn.node comes from: GLIMPSE_DAWN_NODE (a path), else `dawn.node` next to the bundle,
// else the `webgpu` package installed in bench/gpu/node_modules (npm install --prefix bench/gpu).
// GLIMPSE_DAWN_FLAGS passes Dawn options, comma-separated ("backend=vulkan", "adapter=NVIDIA").
// GLIMPSE_DAWN_NODE=off skips WebGPU entirely (CPU/WASM runs).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

export interface DawnStatus {
  loaded: boolean;
  /** Where dawn.node was loaded from, or why it was not. */
  detail: string;
  flags: string[];
}

function candidates(): string[] {
  const env = process.env.GLIMPSE_DAWN_NODE;
  if (env) return [env];
  const here = path.dirname(fileURLToPath(import.meta.url));
  const platformDir = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const installed = path.join('node_modules', 'webgpu', 'dist', platformDir, 'dawn.node');
  // Next to the bundle (device), bench/gpu/node_modules from run.ts (tsx) or from dist/ (bundle here).
  return [
    path.join(here, 'dawn.node'),
    path.join(here, installed),
    path.join(here, '..', installed),
  ];
}

/**
 * TF.js 4.22 pushes `['bgra8unorm-storage']` (an array, not a string) into requiredFeatures when
 * the adapter has that feature. Browsers stringify it through WebIDL, and dawn.node 0.6.2 happens to
 * accept it too; flatten it anyway so the device request does not hinge on that conversion.
 */
function patchAdapter(adapter: GPUAdapter): GPUAdapter {
  const requestDevice = adapter.requestDevice.bind(adapter);
  Object.defineProperty(adapter, 'requestDevice', {
    configurable: true,
    value: (desc?: GPUDeviceDescriptor) => {
      if (!desc?.requiredFeatures) return requestDevice(desc);
      const features = [...(desc.requiredFeatures as Iterable<unknown>)]
        .flat()
        .map(String) as GPUFeatureName[];
      return requestDevice({ ...desc, requiredFeatures: features });
    },
  });
  return adapter;
}

function install(): DawnStatus {
  const flags = (process.env.GLIMPSE_DAWN_FLAGS ?? '').split(',').filter(Boolean);
  if (process.env.GLIMPSE_DAWN_NODE === 'off')
    return { loaded: false, detail: 'GLIMPSE_DAWN_NODE=off', flags };
  const file = candidates().find((f) => fs.existsSync(f));
  if (!file)
    return {
      loaded: false,
      detail: `dawn.node not found (looked at ${candidates().join(', ')})`,
      flags,
    };
  const require = createRequire(import.meta.url);
  const dawn = require(file) as DawnModule;
  // GPUBufferUsage, GPUMapMode, GPUShaderStage, ... which the backend reads as globals.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(flags);
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  const wrapped = {
    requestAdapter: async (opts?: GPURequestAdapterOptions) => {
      const adapter = await requestAdapter(opts);
      return adapter ? patchAdapter(adapter) : null;
    },
    getPreferredCanvasFormat: () => 'rgba8unorm' as GPUTextureFormat,
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
  // Node 20 has no global navigator; Node 21+ has one with a getter, so define rather than assign.
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    writable: true,
    value: { gpu: wrapped },
  });
  return { loaded: true, detail: file, flags };
}

export const dawnStatus: DawnStatus = install();
