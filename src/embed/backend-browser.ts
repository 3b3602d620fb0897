// Browser probes for the backend policy in backend.ts, and the one place that registers backends.
// Runs in the embedding worker (WebGPU and OffscreenCanvas WebGL both work in dedicated workers).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendName, BackendProbe } from './backend';
import { browserLanePlan } from './lanes';
import { registerWasmConvGrad } from './wasm-grad';

let wasmConfigured = false;

/**
 * WASM binaries come from the app itself (offline, CSP 'self'); threads need cross-origin
 * isolation. The embedding worker and its helper lanes share the cores (lanes.ts).
 */
export function configureWasm(threads = browserLanePlan().mainThreads): number {
  if (!wasmConfigured) {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
    });
    // TF.js starts hardwareConcurrency/2 threads by default; the lane plan splits all the cores.
    setThreadsCount(threads);
    // One thread: the plain SIMD build, not the threaded one with its idle pool of pthread workers.
    if (threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmConfigured = true;
  }
  return threads;
}

interface AdapterInfoLike {
  isFallbackAdapter?: boolean;
  vendor?: string;
  architecture?: string;
  description?: string;
}

async function probeWebGpu(): Promise<BackendProbe> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { name: 'webgpu', available: false, software: false, detail: 'no navigator.gpu' };
  try {
    const adapter = (await gpu.requestAdapter()) as (AdapterInfoLike & { info?: AdapterInfoLike }) | null;
    if (!adapter) return { name: 'webgpu', available: false, software: false, detail: 'no adapter' };
    const info = adapter.info ?? {};
    const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    const software = fallback || /swiftshader|llvmpipe|software/i.test(name);
    return { name: 'webgpu', available: true, software, detail: fallback ? `fallback adapter ${name}`.trim() : name || 'adapter' };
  } catch (err) {
    return { name: 'webgpu', available: false, software: false, detail: String(err) };
  }
}

function probeWebGl(): BackendProbe {
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
    if (!gl) return { name: 'webgl', available: false, software: false, detail: 'no WebGL2 context' };
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    const software = /swiftshader|llvmpipe|software|basic render/i.test(renderer);
    return { name: 'webgl', available: true, software, detail: renderer };
  } catch (err) {
    return { name: 'webgl', available: false, software: false, detail: String(err) };
  }
}

export async function probeBackends(): Promise<BackendProbe[]> {
  const plan = browserLanePlan();
  const threads = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  const each = plan.mainThreads === plan.helperThreads ? `${threads(plan.mainThreads)} each` : `${plan.mainThreads} + ${threads(plan.helperThreads)}`;
  const workers = plan.lanes > 1 ? `${plan.lanes} workers, ${each}` : threads(plan.mainThreads);
  return [
    await probeWebGpu(),
    probeWebGl(),
    {
      name: 'wasm',
      available: typeof WebAssembly === 'object',
      software: false,
      detail: `${workers}${globalThis.crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`,
    },
    { name: 'cpu', available: true, software: false, detail: 'plain JavaScript' },
  ];
}

export async function setBrowserBackend(name: BackendName): Promise<boolean> {
  if (name === 'wasm') configureWasm();
  const ok = await tf.setBackend(name);
  if (ok) await tf.ready();
  // Convolution weight gradients for fine-tuning: TF.js's WASM backend lacks the kernel.
  if (ok && name === 'wasm') registerWasmConvGrad();
  return ok;
}
