// EXIF orientation for decoders that ignore it (the Node path; browsers rotate while decoding).
import type { PixelImage } from '../shared/image';

/** Returns the image turned upright for EXIF orientation 1..8 (1 = as stored). */
export function orientPixels(img: PixelImage, orientation: number): PixelImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, channels: c, data } = img;
  const swap = orientation >= 5;
  const W = swap ? h : w;
  const H = swap ? w : h;
  const out = new Uint8Array(W * H * c);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // (x, y) in the output -> (sx, sy) in the stored image.
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const si = (sy * w + sx) * c;
      const di = (y * W + x) * c;
      for (let k = 0; k < c; k++) out[di + k] = data[si + k]!;
    }
  }
  return { width: W, height: H, channels: c, data: out };
}
