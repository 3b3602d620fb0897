// The app's handle on the embedding worker (types only from the embed module).
import { WorkerBridge } from '../shared/worker-bridge';
import type { Requests } from './protocol';

export type EmbedBridge = WorkerBridge<Requests>;

export function createEmbedBridge(): EmbedBridge {
  return new WorkerBridge<Requests>(
    () => new Worker(new URL('./embed.worker.ts', import.meta.url), { type: 'module', name: 'glimpse-embed' }),
    'The embedding worker',
  );
}
