// One batch of files to embedding results, shared by the embedding worker and its helper lanes
// (lanes.ts): decode each file (a file that fails reports its own error and drops out), run the
// network once over the rest, and answer one result per file.
import { decodeImage, THUMBNAIL_SIZE } from '../capture/decode';
import { serializeError } from '../shared/errors';
import type { PixelImage } from '../shared/image';
import type { EmbedItemResult, ImageInput } from './types';

interface Decoded {
  input: ImageInput;
  pixels: PixelImage;
  thumb?: Blob;
}

async function decodeBatch(batch: readonly ImageInput[], thumbnails: boolean, failed: (r: EmbedItemResult) => void): Promise<Decoded[]> {
  const out: Decoded[] = [];
  for (const input of batch) {
    try {
      const d = await decodeImage(new Uint8Array(input.bytes), input.type, input.name, undefined, thumbnails ? THUMBNAIL_SIZE : undefined);
      out.push(d.thumbnail ? { input, pixels: d.pixels, thumb: d.thumbnail } : { input, pixels: d.pixels });
    } catch (err) {
      failed({ id: input.id, error: serializeError(err) });
    }
  }
  return out;
}

/**
 * Decodes and embeds one batch. A file that cannot be decoded gets an error result; an error of
 * the network itself (a lost GPU context, invalid numbers) rejects the whole batch.
 */
export async function embedItems(
  batch: readonly ImageInput[],
  thumbnails: boolean,
  embed: (pixels: PixelImage[]) => Promise<Float32Array[]>,
): Promise<EmbedItemResult[]> {
  const results: EmbedItemResult[] = [];
  const decoded = await decodeBatch(batch, thumbnails, (r) => results.push(r));
  if (decoded.length === 0) return results;
  const embeddings = await embed(decoded.map((d) => d.pixels));
  decoded.forEach((d, k) => {
    const r: EmbedItemResult = { id: d.input.id, embedding: embeddings[k]!, width: d.pixels.width, height: d.pixels.height };
    if (d.thumb) r.thumbnail = d.thumb;
    results.push(r);
  });
  return results;
}
