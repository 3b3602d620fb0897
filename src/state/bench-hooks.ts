// Hooks for `npm run bench` (only with ?bench=1): time the app's own pipeline — the same worker,
// decoding and embedding code a user's drop goes through — from the page.
import { embedBridge, useEngine } from './engine';

export interface BenchApi {
  ready(): boolean;
  info(): { backend: string | null; extractor: string | null; threads: string | null };
  /** Embeds the given image URLs (fetched first, not timed) in chunks; returns ms for the embedding. */
  embedUrls(urls: string[], chunk: number): Promise<{ ms: number; done: number; failed: number }>;
  memory(): Promise<{ numTensors: number; numBytes: number }>;
}

export function installBenchHooks(): void {
  const api: BenchApi = {
    ready: () => useEngine.getState().status === 'ready',
    info: () => {
      const s = useEngine.getState();
      return { backend: s.backend?.name ?? null, extractor: s.extractor?.id ?? null, threads: s.backend?.detail ?? null };
    },
    async embedUrls(urls, chunk) {
      const blobs = await Promise.all(urls.map(async (u) => ({ u, b: await (await fetch(u)).arrayBuffer() })));
      let done = 0;
      let failed = 0;
      const t0 = performance.now();
      for (let i = 0; i < blobs.length; i += chunk) {
        const images = blobs.slice(i, i + chunk).map((x, j) => ({ id: String(i + j), bytes: x.b.slice(0), type: 'image/jpeg', name: x.u }));
        const r = await embedBridge().call('embed', { images, thumbnails: false }, { transfer: images.map((im) => im.bytes) });
        done += r.done;
        failed += r.failed;
      }
      return { ms: performance.now() - t0, done, failed };
    },
    memory: () => embedBridge().call('memory', {}),
  };
  (window as unknown as { __glimpseBench: BenchApi }).__glimpseBench = api;
}
