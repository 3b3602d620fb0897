// Generates the bad-input corpus in tests/fixtures/bad/ (ignored by git; re-created on demand), so
// the repo stays small. Real photos are read from ../shared/datasets, never copied into git.
// Each file name says what it is; EXPECTED maps it to the outcome the app must produce.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BAD_DIR = path.join(root, 'tests', 'fixtures', 'bad');
const shared = path.resolve(root, '..', 'shared', 'datasets');

/** file -> expected error code, or 'ok' (imported; notes say how). */
export const EXPECTED = {
  'zero-bytes.jpg': 'empty-file',
  'truncated.jpg': 'corrupt-image',
  'corrupt-chunk.png': 'corrupt-image',
  'bomb-20000x20000.png': 'image-too-large',
  'bomb-50000x50000.jpg': 'image-too-large',
  'script.svg': 'unsupported-format',
  'text-named.jpg': 'not-an-image',
  'photo.heic': 'unsupported-format',
  'one-pixel.png': 'ok',
  'sixteen-bit.png': 'ok',
  'animated.gif': 'ok',
  'exif-rotated-6.jpg': 'ok',
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A PNG of width x height; `pixel(x, y)` returns channel values at the given bit depth. */
function png(width, height, bitDepth, colorType, channels, pixel) {
  const bytesPer = bitDepth / 8;
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * channels * bytesPer);
    for (let x = 0; x < width; x++) {
      pixel(x, y).forEach((v, c) => {
        const off = 1 + (x * channels + c) * bytesPer;
        if (bytesPer === 2) row.writeUInt16BE(v, off);
        else row[off] = v;
      });
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}
/** PNG header declaring a huge size, with a tiny IDAT: the guard must refuse it unread. */
function pngBomb(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}
/** JPEG with a real photo's segments but a forged SOF size. */
function jpegBomb(real, width, height) {
  const out = Buffer.from(real);
  let i = 2;
  while (i < out.length) {
    const marker = out[i + 1];
    const len = out.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + len;
  }
  throw new Error('no SOF');
}
/** A 2-frame 1x1 animated GIF (frames red then blue), looping. */
function animatedGif() {
  const frame = (r, g, b) => [
    0x21, 0xf9, 0x04, 0x04, 0x0a, 0x00, 0x00, 0x00, // graphic control: 100 ms
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x80, // image descriptor + local table (2 colours)
    r, g, b, 0, 0, 0,
    0x02, 0x02, 0x44, 0x01, 0x00, // LZW min code size 2, one block: clear, 0, end
  ];
  return Buffer.from([
    ...Buffer.from('GIF89a'), 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0'), 0x03, 0x01, 0x00, 0x00, 0x00,
    ...frame(255, 0, 0),
    ...frame(0, 0, 255),
    0x3b,
  ]);
}
function heic() {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'ascii');
  ftyp.write('mif1heic', 16, 'ascii');
  return Buffer.concat([ftyp, Buffer.alloc(64)]);
}

export function makeBadCorpus(dir = BAD_DIR) {
  fs.mkdirSync(dir, { recursive: true });
  const daisyDir = path.join(shared, 'flower_photos', 'daisy');
  const real = fs.readFileSync(path.join(daisyDir, fs.readdirSync(daisyDir).sort()[0]));
  const okPng = png(16, 16, 8, 2, 3, (x, y) => [x * 16, y * 16, 128]);
  const corrupt = Buffer.from(okPng);
  const idat = corrupt.indexOf(Buffer.from('IDAT'));
  for (let k = 4; k < 12; k++) corrupt[idat + k] ^= 0xff; // damage the deflate stream (CRC no longer matches)
  const files = {
    'zero-bytes.jpg': Buffer.alloc(0),
    'truncated.jpg': real.subarray(0, 300),
    'corrupt-chunk.png': corrupt,
    'bomb-20000x20000.png': pngBomb(20000, 20000),
    'bomb-50000x50000.jpg': jpegBomb(real, 50000, 50000),
    'script.svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>'),
    'text-named.jpg': Buffer.from('This is a text file that pretends to be a JPEG.\n'),
    'photo.heic': heic(),
    'one-pixel.png': png(1, 1, 8, 2, 3, () => [200, 30, 30]),
    'sixteen-bit.png': png(32, 32, 16, 2, 3, (x, y) => [x * 2000, y * 2000, 30000]),
    'animated.gif': animatedGif(),
    'exif-rotated-6.jpg': fs.readFileSync(path.join(shared, 'imagenet-sample', 'n02951585', 'n02951585_can_opener.JPEG')),
  };
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  return Object.keys(files).map((n) => path.join(dir, n));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const made = makeBadCorpus();
  process.stdout.write(`wrote ${made.length} files to ${path.relative(root, BAD_DIR)}\n`);
}
