// Heap of a page and of its dedicated workers, read over the DevTools protocol (Runtime.getHeapUsage):
// the V8 heap in use plus the backing stores of ArrayBuffers (typed arrays), which performance.memory
// leaves out. The WASM backend's memory is not in backingStorageSize (a worker holding a loaded
// model showed 6 MB): bench-scale.ts adds the size the worker reports. Workers are reached through Target.setAutoAttach
// (non-flat sessions: Playwright's CDPSession has no session ids), and a sampler keeps the peak of
// each between start() and stop(), so a benchmark reports the largest figure, not a lucky moment.
import type { CDPSession, Page } from 'playwright-core';

export interface HeapFigure {
  /** V8 heap in use. */
  jsMb: number;
  /** ArrayBuffer backing stores and external strings (not WASM memory). */
  buffersMb: number;
  /** jsMb + buffersMb. */
  totalMb: number;
}

interface Usage {
  usedSize: number;
  backingStorageSize?: number;
}

const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

function figure(u: Usage): HeapFigure {
  const buffers = u.backingStorageSize ?? 0;
  return { jsMb: mb(u.usedSize), buffersMb: mb(buffers), totalMb: mb(u.usedSize + buffers) };
}

export class HeapProbe {
  private workers = new Map<string, string>(); // sessionId -> url
  private pending = new Map<number, (u: Usage | null) => void>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private peakPage: HeapFigure | null = null;
  private peakWorker: HeapFigure | null = null;
  private peakWorkerUrl = '';

  private constructor(private readonly cdp: CDPSession) {}

  static async attach(page: Page): Promise<HeapProbe> {
    const cdp = await page.context().newCDPSession(page);
    const probe = new HeapProbe(cdp);
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') probe.workers.set(e.sessionId, e.targetInfo.url);
    });
    cdp.on('Target.detachedFromTarget', (e) => {
      if (e.sessionId) probe.workers.delete(e.sessionId);
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const msg = JSON.parse(e.message) as { id?: number; result?: Usage };
      if (msg.id === undefined) return;
      const done = probe.pending.get(msg.id);
      probe.pending.delete(msg.id);
      done?.(msg.result ?? null);
    });
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return probe;
  }

  async page(): Promise<HeapFigure> {
    return figure((await this.cdp.send('Runtime.getHeapUsage')) as Usage);
  }

  /** Each live dedicated worker of the page, by URL (a worker that does not answer in 2 s is left out). */
  async workerHeaps(): Promise<{ url: string; heap: HeapFigure }[]> {
    const out: { url: string; heap: HeapFigure }[] = [];
    for (const [sessionId, url] of [...this.workers]) {
      const id = this.nextId++;
      const answer = new Promise<Usage | null>((resolve) => {
        this.pending.set(id, resolve);
        setTimeout(() => {
          if (this.pending.delete(id)) resolve(null);
        }, 2000);
      });
      await this.cdp
        .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) })
        .catch(() => this.pending.get(id)?.(null));
      const u = await answer;
      if (u) out.push({ url, heap: figure(u) });
    }
    return out;
  }

  private async sample(): Promise<void> {
    const p = await this.page().catch(() => null);
    if (p && (!this.peakPage || p.totalMb > this.peakPage.totalMb)) this.peakPage = p;
    for (const w of await this.workerHeaps().catch(() => [])) {
      if (!this.peakWorker || w.heap.totalMb > this.peakWorker.totalMb) {
        this.peakWorker = w.heap;
        this.peakWorkerUrl = w.url;
      }
    }
  }

  /** Samples the page and every worker every `everyMs` until stop(). */
  start(everyMs = 250): void {
    this.peakPage = null;
    this.peakWorker = null;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.sample().finally(() => (busy = false));
    }, everyMs);
  }

  /** The peaks since start() (one last sample included). */
  async stop(): Promise<{ page: HeapFigure | null; worker: HeapFigure | null; workerUrl: string }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sample();
    return { page: this.peakPage, worker: this.peakWorker, workerUrl: this.peakWorkerUrl };
  }

  /** Asks every context for a full garbage collection (HeapProfiler.collectGarbage). */
  async collectGarbage(): Promise<void> {
    await this.cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
    for (const sessionId of this.workers.keys()) {
      await this.cdp
        .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: this.nextId++, method: 'HeapProfiler.collectGarbage' }) })
        .catch(() => undefined);
    }
  }
}
