// Renders the app icons (PNG) from the same geometry as public/icon.svg, with pngjs and 4x4
// supersampling, so no browser or image tool is needed:  node scripts/make-icons.mjs
// The PNGs are committed (a few KB each); run this again only when the icon changes.
//   icon-192.png, icon-512.png   rounded square ("any" purpose)
//   icon-maskable-512.png        full-bleed square; the mark sits well inside the 80% safe zone
//   apple-touch-icon-180.png     full-bleed square (iOS rounds the corners itself)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');
const BG = [0x1f, 0x4e, 0x79];
const RING = [0xff, 0xff, 0xff];
const DOT = [0xff, 0xd1, 0x66];

/** Colour (RGBA) at a point of the 64x64 SVG canvas. */
function shade(x, y, { rounded, scale }) {
  // The mark (ring + dot) is centred at 32,32 and may be scaled for the maskable variant.
  const mx = 32 + (x - 32) / scale;
  const my = 32 + (y - 32) / scale;
  if (rounded) {
    const r = 14;
    const cx = Math.min(Math.max(x, r), 64 - r);
    const cy = Math.min(Math.max(y, r), 64 - r);
    if (x < 0 || y < 0 || x > 64 || y > 64 || Math.hypot(x - cx, y - cy) > r) return [0, 0, 0, 0];
  }
  const d = Math.hypot(mx - 32, my - 32);
  if (d <= 6) return [...DOT, 255];
  if (d >= 13.5 && d <= 18.5) return [...RING, 255];
  return [...BG, 255];
}

function render(size, opts) {
  const png = new PNG({ width: size, height: size });
  const ss = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = ((px + (sx + 0.5) / ss) / size) * 64;
          const y = ((py + (sy + 0.5) / ss) / size) * 64;
          const c = shade(x, y, opts);
          // Premultiplied accumulation keeps transparent edges from darkening.
          acc[0] += c[0] * c[3];
          acc[1] += c[1] * c[3];
          acc[2] += c[2] * c[3];
          acc[3] += c[3];
        }
      }
      const i = (py * size + px) * 4;
      const a = acc[3] / (ss * ss);
      png.data[i] = acc[3] ? Math.round(acc[0] / acc[3]) : 0;
      png.data[i + 1] = acc[3] ? Math.round(acc[1] / acc[3]) : 0;
      png.data[i + 2] = acc[3] ? Math.round(acc[2] / acc[3]) : 0;
      png.data[i + 3] = Math.round(a);
    }
  }
  return PNG.sync.write(png, { colorType: 6, deflateLevel: 9 });
}

fs.mkdirSync(out, { recursive: true });
const icons = [
  ['icon-192.png', 192, { rounded: true, scale: 1 }],
  ['icon-512.png', 512, { rounded: true, scale: 1 }],
  ['icon-maskable-512.png', 512, { rounded: false, scale: 0.9 }],
  ['apple-touch-icon-180.png', 180, { rounded: false, scale: 0.9 }],
];
let total = 0;
for (const [name, size, opts] of icons) {
  const bytes = render(size, opts);
  fs.writeFileSync(path.join(out, name), bytes);
  total += bytes.length;
  console.log(`${name}: ${size}x${size}, ${bytes.length} bytes`);
}
console.log(`total ${total} bytes`);
