// Bytes -> upright RGBA pixels in a worker: guard the header first (no decoding bombs), then let
// the browser decode (createImageBitmap applies EXIF orientation), scaling huge photos down while
// decoding so a 40 MP image never becomes a 160 MB pixel buffer.
import { GlimpseError } from '../shared/errors';
import type { PixelImage } from '../shared/image';
import { sniffImage, type ImageHeader } from './guard';

export interface DecodedImage {
  pixels: PixelImage;
  header: ImageHeader;
  /** Present when asked for with `thumbnailSize`: made from the same decode (no second decode). */
  thumbnail?: Blob;
}

/** Largest short side kept when decoding (the models need 224-299 px). */
export const DECODE_MAX_SHORT_SIDE = 640;

export async function decodeImage(
  bytes: Uint8Array,
  type: string,
  name: string,
  maxShortSide = DECODE_MAX_SHORT_SIDE,
  thumbnailSize?: number,
): Promise<DecodedImage> {
  const header = sniffImage(bytes, name);
  const blob = new Blob([bytes as BlobPart], { type: type || `image/${header.format}` });
  // The header gives the stored size; EXIF orientations 5-8 swap it for display. Knowing it, one
  // decode both rotates and scales (no full-size decode just to learn the size).
  const swap = (header.orientation ?? 1) >= 5;
  const width = swap ? header.height : header.width;
  const height = swap ? header.width : header.height;
  const short = Math.min(width, height);
  const options: ImageBitmapOptions = { imageOrientation: 'from-image' };
  if (short > maxShortSide) {
    const scale = maxShortSide / short;
    options.resizeWidth = Math.max(1, Math.round(width * scale));
    options.resizeHeight = Math.max(1, Math.round(height * scale));
    options.resizeQuality = 'high';
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, options);
  } catch (err) {
    throw new GlimpseError('corrupt-image', `“${name}” could not be decoded: the file is damaged or incomplete.`, String(err));
  }
  try {
    const pixels = bitmapToPixels(bitmap);
    // The thumbnail comes from the bitmap already decoded (at most 640 px on the short side, far
    // more than a 96 px thumbnail needs): decoding the file a second time cost a full JPEG decode.
    if (thumbnailSize === undefined) return { pixels, header };
    return { pixels, header, thumbnail: await thumbnailOf(bitmap, thumbnailSize) };
  } finally {
    bitmap.close();
  }
}

export function bitmapToPixels(bitmap: ImageBitmap): PixelImage {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new GlimpseError('internal', 'No 2D canvas available for decoding.');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { width: bitmap.width, height: bitmap.height, channels: 4, data };
}

export const THUMBNAIL_SIZE = 96;

/** A small JPEG thumbnail (square centre crop) for sample grids. */
async function thumbnailOf(bitmap: ImageBitmap, size: number): Promise<Blob> {
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new GlimpseError('internal', 'No 2D canvas available.');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, size, size);
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}
