import { describe, expect, it } from 'vitest';
import { planBackends, selectBackend, type BackendName, type BackendProbe } from '../../src/embed/backend';

// What Chromium offers on the development machines: a fallback WebGPU adapter and SwiftShader.
const softwareOnly: BackendProbe[] = [
  { name: 'webgpu', available: true, software: true, detail: 'fallback adapter' },
  { name: 'webgl', available: true, software: true, detail: 'SwiftShader' },
  { name: 'wasm', available: true, software: false, detail: '2 threads' },
  { name: 'cpu', available: true, software: false, detail: 'js' },
];
const realGpu: BackendProbe[] = softwareOnly.map((p) => (p.name === 'webgpu' ? { ...p, software: false, detail: 'nvidia' } : p));

describe('backend policy', () => {
  it('prefers WASM over software GPUs, keeping them as a last resort', () => {
    expect(planBackends(softwareOnly).order).toEqual(['wasm', 'cpu', 'webgpu', 'webgl']);
  });

  it('prefers a real GPU', () => {
    expect(planBackends(realGpu).order[0]).toBe('webgpu');
  });

  it('tries a forced backend first even when it is software', () => {
    expect(planBackends(softwareOnly, 'webgl').order[0]).toBe('webgl');
  });

  it('treats setBackend resolving false as failure and falls through', async () => {
    const tried: BackendName[] = [];
    const choice = await selectBackend(
      realGpu,
      async (n) => {
        tried.push(n);
        return n !== 'webgpu';
      },
      async () => undefined,
    );
    expect(tried).toEqual(['webgpu', 'wasm']);
    expect(choice.name).toBe('wasm');
    expect(choice.attempts.find((a) => a.name === 'webgpu')?.reason).toMatch(/returned false/);
  });

  it('falls through when the warm-up fails', async () => {
    const choice = await selectBackend(softwareOnly, async () => true, async (n) => {
      if (n === 'wasm') throw new Error('boom');
    });
    expect(choice.name).toBe('cpu');
  });

  it('throws with every reason when nothing runs', async () => {
    await expect(selectBackend(softwareOnly, async () => false, async () => undefined)).rejects.toThrow(/No TF.js backend/);
  });
});
