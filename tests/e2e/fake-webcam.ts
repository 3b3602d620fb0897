// Builds a Y4M video (Chromium's --use-file-for-fake-video-capture) from real photos, so webcam
// tests see real images of one class rather than Chromium's synthetic test pattern.
import fs from 'node:fs';
import jpeg from 'jpeg-js';

const W = 320;
const H = 240;

/** Centre-crops to 4:3 and resizes (bilinear) an RGBA image to W x H. */
function fit(src: { width: number; height: number; data: Uint8Array }): Uint8Array {
  const targetAspect = W / H;
  let cw = src.width;
  let ch = Math.round(cw / targetAspect);
  if (ch > src.height) {
    ch = src.height;
    cw = Math.round(ch * targetAspect);
  }
  const x0 = (src.width - cw) / 2;
  const y0 = (src.height - ch) / 2;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = Math.min(src.width - 1, x0 + ((x + 0.5) * cw) / W - 0.5);
      const sy = Math.min(src.height - 1, y0 + ((y + 0.5) * ch) / H - 0.5);
      const xa = Math.max(0, Math.floor(sx));
      const ya = Math.max(0, Math.floor(sy));
      const xb = Math.min(src.width - 1, xa + 1);
      const yb = Math.min(src.height - 1, ya + 1);
      const fx = Math.max(0, sx - xa);
      const fy = Math.max(0, sy - ya);
      for (let c = 0; c < 3; c++) {
        const p = (xx: number, yy: number) => src.data[(yy * src.width + xx) * 4 + c]!;
        const v = (1 - fy) * ((1 - fx) * p(xa, ya) + fx * p(xb, ya)) + fy * ((1 - fx) * p(xa, yb) + fx * p(xb, yb));
        out[(y * W + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

/** RGB -> I420 (BT.601 full range as JPEG uses, matching the C420jpeg tag). */
function toI420(rgb: Uint8Array): Buffer {
  const ySize = W * H;
  const cSize = (W / 2) * (H / 2);
  const buf = Buffer.alloc(ySize + 2 * cSize);
  for (let i = 0; i < ySize; i++) {
    const r = rgb[i * 3]!;
    const g = rgb[i * 3 + 1]!;
    const b = rgb[i * 3 + 2]!;
    buf[i] = Math.max(0, Math.min(255, Math.round(0.299 * r + 0.587 * g + 0.114 * b)));
  }
  for (let y = 0; y < H / 2; y++) {
    for (let x = 0; x < W / 2; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const i = ((2 * y + dy) * W + 2 * x + dx) * 3;
        r += rgb[i]!;
        g += rgb[i + 1]!;
        b += rgb[i + 2]!;
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
      const v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
      const ci = y * (W / 2) + x;
      buf[ySize + ci] = Math.max(0, Math.min(255, Math.round(u)));
      buf[ySize + cSize + ci] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return buf;
}

/** Writes a Y4M file showing each JPEG for `framesEach` frames at `fps`. */
export function writeY4m(out: string, jpegFiles: string[], fps = 10, framesEach = 5): void {
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${W} H${H} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  for (const file of jpegFiles) {
    const d = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
    const frame = toI420(fit({ width: d.width, height: d.height, data: d.data }));
    for (let i = 0; i < framesEach; i++) parts.push(Buffer.from('FRAME\n'), frame);
  }
  fs.writeFileSync(out, Buffer.concat(parts));
}
