// Embeds stored samples again from their original images, in the worker, a few at a time: the one
// loop behind background re-embedding after an extractor switch (reembed.ts), training's wait
// for it (training.ts) and the augmentation-variant cache (insight.ts). Each chunk's vectors are
// written in one transaction as soon as the worker returns them, so an interrupted run keeps what
// it finished and the next run (driven by what is missing in the database) resumes from there.
import { GlimpseError } from '../shared/errors';
import { embedBridge } from './engine';
import { repo } from './repo';

export interface EmbedSamplesOptions {
  /** 'embed': one embedding per sample (embeddings table); 'augment': its variants (augments). */
  kind: 'embed' | 'augment';
  /** Key written on every row: the extractor key, or the augmentation key for 'augment'. */
  storeKey: string;
  signal: AbortSignal;
  /** Samples per worker call (and per write transaction). */
  chunk?: number;
  /**
   * After each chunk: samples handled so far (saved, skipped or failed) out of `total`
   * (ids.length), and how many of them were saved.
   */
  onProgress?: (p: { handled: number; total: number; saved: number }) => void;
  /**
   * Checked before a chunk's vectors are written: false means the worker's model may have changed
   * under the chunk (the extractor was switched), so they are dropped and the run stops.
   */
  stillValid?: () => boolean;
}

export interface EmbedSamplesResult {
  /** Samples whose vectors were written. */
  saved: number;
  /** Samples whose original image was dropped (or that were deleted meanwhile): not embeddable. */
  noOriginal: string[];
  /** Samples the worker could not embed (decode errors and the like). */
  failed: string[];
}

function cancelled(): GlimpseError {
  return new GlimpseError('cancelled', 'Cancelled.');
}

export async function embedSamples(
  ids: readonly string[],
  opts: EmbedSamplesOptions,
): Promise<EmbedSamplesResult> {
  const { kind, storeKey, signal } = opts;
  const chunk = Math.max(1, opts.chunk ?? 4);
  const r = repo();
  const out: EmbedSamplesResult = { saved: 0, noOriginal: [], failed: [] };
  for (let i = 0; i < ids.length; i += chunk) {
    if (signal.aborted) throw cancelled();
    const part = ids.slice(i, i + chunk);
    const rows = await Promise.all(part.map((id) => r.samples.get(id)));
    const images: { id: string; bytes: ArrayBuffer; type: string; name: string }[] = [];
    for (let j = 0; j < part.length; j++) {
      const s = rows[j];
      if (!s?.blob) out.noOriginal.push(part[j]!);
      else images.push({ id: s.id, bytes: await s.blob.arrayBuffer(), type: s.type, name: s.name });
    }
    if (images.length > 0) {
      const got = new Set<string>();
      const transfer = images.map((im) => im.bytes);
      if (kind === 'embed') {
        const vectors: { sampleId: string; extractorKey: string; vector: Float32Array }[] = [];
        await embedBridge().call(
          'embed',
          { images, thumbnails: false },
          {
            signal,
            transfer,
            onProgress: (p) => {
              if (!p.embedding) return;
              got.add(p.id);
              vectors.push({ sampleId: p.id, extractorKey: storeKey, vector: p.embedding });
            },
          },
        );
        if (signal.aborted || (opts.stillValid && !opts.stillValid())) throw cancelled();
        if (vectors.length > 0) await r.embeddings.putMany(vectors);
        out.saved += vectors.length;
      } else {
        const variants: {
          sampleId: string;
          extractorKey: string;
          dim: number;
          count: number;
          vectors: Float32Array;
        }[] = [];
        await embedBridge().call(
          'augment',
          { images },
          {
            signal,
            transfer,
            onProgress: (p) => {
              if (!p.vectors || !p.count) return;
              got.add(p.id);
              variants.push({
                sampleId: p.id,
                extractorKey: storeKey,
                dim: p.vectors.length / p.count,
                count: p.count,
                vectors: p.vectors,
              });
            },
          },
        );
        if (signal.aborted || (opts.stillValid && !opts.stillValid())) throw cancelled();
        if (variants.length > 0) await r.augments.putMany(variants);
        out.saved += variants.length;
      }
      for (const im of images) if (!got.has(im.id)) out.failed.push(im.id);
    }
    opts.onProgress?.({
      handled: Math.min(ids.length, i + chunk),
      total: ids.length,
      saved: out.saved,
    });
  }
  return out;
}
