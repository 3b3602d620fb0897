// Image guard: headers built byte by byte, plus real files from the shared datasets.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_BYTES,
  MAX_PIXELS,
  MAX_SIDE_PX,
  TRUNCATED_DETAIL,
  sniffImage,
} from '../../src/capture/guard';
import { GlimpseError, type ErrorCode } from '../../src/shared/errors';

// --- byte builders -------------------------------------------------------------------------

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const u16be = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
const u16le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const u24le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff];
const u32be = (v: number): number[] => [...u16be(v >>> 16), ...u16be(v & 0xffff)];
const u32le = (v: number): number[] => [...u16le(v & 0xffff), ...u16le(v >>> 16)];
const bytes = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

/** A JPEG segment: marker, big-endian length (which counts itself), payload. */
const segment = (marker: number, payload: number[]): number[] => [
  0xff,
  marker,
  ...u16be(payload.length + 2),
  ...payload,
];

const JFIF = segment(0xe0, [...ascii('JFIF\0'), 1, 1, 0, 0, 72, 0, 72, 0, 0]);
const DQT = segment(0xdb, [0, ...new Array<number>(64).fill(1)]);
const sof = (width: number, height: number, marker = 0xc0): number[] =>
  segment(marker, [8, ...u16be(height), ...u16be(width), 1, 1, 0x11, 0]);
const SOS = [...segment(0xda, [1, 1, 0, 0, 63, 0]), 0x12, 0x34, 0xff, 0xd9];

function jpegBytes(width: number, height: number, ...before: number[][]): Uint8Array {
  return bytes([0xff, 0xd8], JFIF, ...before, DQT, sof(width, height), SOS);
}

/** APP1 Exif segment whose IFD0 holds Orientation (and one unrelated tag before it). */
function exifApp1(orientation: number, order: 'II' | 'MM'): number[] {
  const w16 = order === 'II' ? u16le : u16be;
  const w32 = order === 'II' ? u32le : u32be;
  const entry = (tag: number, type: number, count: number, value: number[]): number[] => [
    ...w16(tag),
    ...w16(type),
    ...w32(count),
    ...value,
  ];
  const tiff = [
    ...ascii(order),
    ...w16(42),
    ...w32(8), // IFD0 right after the 8-byte TIFF header
    ...w16(2),
    ...entry(0x010f, 2, 4, ascii('ACM\0')), // Make, inline ASCII
    ...entry(0x0112, 3, 1, [...w16(orientation), 0, 0]),
    ...w32(0), // no next IFD
  ];
  return segment(0xe1, [...ascii('Exif'), 0, 0, ...tiff]);
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
function pngBytes(width: number, height: number): Uint8Array {
  // Signature, IHDR (CRC not checked by the guard), then an empty IEND.
  const ihdr = [...u32be(width), ...u32be(height), 8, 6, 0, 0, 0];
  return bytes(PNG_SIG, u32be(13), ascii('IHDR'), ihdr, [0, 0, 0, 0], u32be(0), ascii('IEND'));
}

const gifBytes = (w: number, h: number): Uint8Array =>
  bytes(ascii('GIF89a'), u16le(w), u16le(h), [0, 0, 0], [0x3b]);

function riff(chunk: string, data: number[]): Uint8Array {
  const body = [...ascii('WEBP'), ...ascii(chunk), ...u32le(data.length), ...data];
  return bytes(ascii('RIFF'), u32le(body.length), body);
}

/** VP8 key-frame tag (3 bytes) and start code 9D 01 2A; width and height follow. */
const VP8_START = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];

const webpLossy = (w: number, h: number): Uint8Array =>
  riff('VP8 ', [...VP8_START, ...u16le(w), ...u16le(h)]);

function webpLossless(w: number, h: number): Uint8Array {
  const bits = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14);
  return riff('VP8L', [0x2f, ...u32le(bits >>> 0), 0, 0]);
}

const webpExtended = (w: number, h: number): Uint8Array =>
  riff('VP8X', [0x10, 0, 0, 0, ...u24le(w - 1), ...u24le(h - 1)]);

function bmpBytes(width: number, height: number): Uint8Array {
  const info = [
    ...u32le(40),
    ...u32le(width >>> 0),
    ...u32le(height >>> 0),
    ...u16le(1),
    ...u16le(24),
    ...new Array<number>(24).fill(0),
  ];
  return bytes(ascii('BM'), u32le(14 + 40), u32le(0), u32le(54), info);
}

function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof GlimpseError) return err.code;
    throw err;
  }
  throw new Error('expected a GlimpseError');
}

function errorOf(fn: () => unknown): GlimpseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GlimpseError) return err;
    throw err;
  }
  throw new Error('expected a GlimpseError');
}

// --- tests -----------------------------------------------------------------------------------

describe('sniffImage: formats', () => {
  it('reads JPEG dimensions from the SOF segment', () => {
    expect(sniffImage(jpegBytes(640, 480))).toEqual({ format: 'jpeg', width: 640, height: 480 });
  });

  it('reads progressive and other SOFn markers, but not DHT/JPG/DAC', () => {
    for (const marker of [0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xcf]) {
      const b = bytes([0xff, 0xd8], sof(33, 44, marker), SOS);
      expect(sniffImage(b)).toMatchObject({ width: 33, height: 44 });
    }
    // A DHT (C4) segment whose payload would read as 9999 x 9999 if taken for a frame header.
    const dht = segment(0xc4, [8, ...u16be(9999), ...u16be(9999), 0]);
    expect(sniffImage(bytes([0xff, 0xd8], dht, sof(12, 34), SOS))).toMatchObject({
      width: 12,
      height: 34,
    });
  });

  it('skips 0xFF fill bytes and standalone markers between segments', () => {
    const b = bytes(
      [0xff, 0xd8],
      [0xff, 0xff, 0xff], // fill bytes before a marker
      JFIF,
      [0xff, 0x01], // TEM
      [0xff, 0xd0], // RST0
      [0xff, 0xff],
      sof(100, 50),
      SOS,
    );
    expect(sniffImage(b)).toEqual({ format: 'jpeg', width: 100, height: 50 });
  });

  it('reads EXIF orientation 6 in both byte orders', () => {
    for (const order of ['II', 'MM'] as const) {
      const header = sniffImage(jpegBytes(400, 300, exifApp1(6, order)));
      expect(header).toEqual({ format: 'jpeg', width: 400, height: 300, orientation: 6 });
    }
  });

  it('ignores an out-of-range or broken EXIF orientation instead of rejecting the photo', () => {
    expect(sniffImage(jpegBytes(10, 10, exifApp1(9, 'II'))).orientation).toBeUndefined();
    const broken = segment(0xe1, [...ascii('Exif'), 0, 0, ...ascii('II'), 42, 0, 0xff, 0xff]);
    expect(sniffImage(jpegBytes(10, 10, broken))).toEqual({
      format: 'jpeg',
      width: 10,
      height: 10,
    });
  });

  it('reads PNG, GIF, WebP (VP8, VP8L, VP8X) and BMP headers', () => {
    expect(sniffImage(pngBytes(28, 28))).toEqual({ format: 'png', width: 28, height: 28 });
    expect(sniffImage(gifBytes(320, 200))).toEqual({ format: 'gif', width: 320, height: 200 });
    expect(sniffImage(webpLossy(550, 368))).toEqual({ format: 'webp', width: 550, height: 368 });
    expect(sniffImage(webpLossless(1234, 4321))).toEqual({
      format: 'webp',
      width: 1234,
      height: 4321,
    });
    expect(sniffImage(webpExtended(3000, 2000))).toEqual({
      format: 'webp',
      width: 3000,
      height: 2000,
    });
    expect(sniffImage(bmpBytes(64, 48))).toEqual({ format: 'bmp', width: 64, height: 48 });
  });

  it('takes the absolute value of a top-down BMP height', () => {
    expect(sniffImage(bmpBytes(64, -48))).toEqual({ format: 'bmp', width: 64, height: 48 });
  });

  it('decodes WebP 14-bit fields at their extremes', () => {
    // VP8L stores size - 1 in 14 bits, so 16384 is the largest side it can express.
    expect(codeOf(() => sniffImage(webpLossless(16384, 16384)))).toBe('image-too-large');
    expect(sniffImage(webpLossless(1, 1))).toMatchObject({ width: 1, height: 1 });
    // VP8 keeps a 2-bit scale in the top bits of each 16-bit field; it is not part of the size.
    const scaled = riff('VP8 ', [...VP8_START, ...u16le(0xc000 | 300), ...u16le(0x4000 | 200)]);
    expect(sniffImage(scaled)).toMatchObject({ width: 300, height: 200 });
  });
});

describe('sniffImage: rejections', () => {
  it('rejects an empty file', () => {
    const err = errorOf(() => sniffImage(new Uint8Array(0), 'blank.jpg'));
    expect(err.code).toBe('empty-file');
    expect(err.message).toContain('blank.jpg');
  });

  it('rejects a text file as not an image, naming it', () => {
    const text = new TextEncoder().encode('Shopping list:\n- milk\n- eggs\n');
    const err = errorOf(() => sniffImage(text, 'notes.txt'));
    expect(err.code).toBe('not-an-image');
    expect(err.message).toContain('notes.txt');
    expect(err.message).toContain('not an image');
  });

  it('does not take text that starts with "BM" for a bitmap', () => {
    const text = new TextEncoder().encode('BMW service history, 2019 to 2024, all invoices');
    expect(codeOf(() => sniffImage(text))).toBe('not-an-image');
  });

  it('rejects other RIFF files (WAV) as not an image', () => {
    const wav = bytes(ascii('RIFF'), u32le(36), ascii('WAVEfmt '), new Array<number>(24).fill(0));
    expect(codeOf(() => sniffImage(wav))).toBe('not-an-image');
  });

  it('rejects SVG as an unsupported format and says what works', () => {
    const svgs = [
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
      '\ufeff  <?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
      '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd"><svg/>',
    ];
    for (const svg of svgs) {
      const err = errorOf(() => sniffImage(new TextEncoder().encode(svg), 'logo.svg'));
      expect(err.code).toBe('unsupported-format');
      expect(err.message).toContain('SVG');
      expect(err.message).toContain('JPEG, PNG, GIF, WebP or BMP');
    }
    // XML that is not SVG is simply not an image.
    const xml = new TextEncoder().encode('<?xml version="1.0"?><feed><title>x</title></feed>');
    expect(codeOf(() => sniffImage(xml))).toBe('not-an-image');
  });

  it('rejects HEIC, AVIF, TIFF and PDF as unsupported formats', () => {
    const ftyp = (major: string, ...compatible: string[]): Uint8Array => {
      const body = [...ascii(major), 0, 0, 0, 0, ...compatible.flatMap(ascii)];
      return bytes(u32be(8 + body.length), ascii('ftyp'), body, new Array<number>(16).fill(0));
    };
    const cases: [Uint8Array, string][] = [
      [ftyp('heic', 'mif1', 'heic'), 'HEIC'],
      [ftyp('mif1', 'heix'), 'HEIC'],
      [ftyp('avif', 'mif1', 'miaf'), 'AVIF'],
      [bytes(ascii('II'), [42, 0], u32le(8), new Array<number>(16).fill(0)), 'TIFF'],
      [bytes(ascii('MM'), [0, 42], u32be(8), new Array<number>(16).fill(0)), 'TIFF'],
      [new TextEncoder().encode('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj'), 'PDF'],
    ];
    for (const [b, name] of cases) {
      const err = errorOf(() => sniffImage(b, 'x'));
      expect(err.code).toBe('unsupported-format');
      expect(err.message).toContain(name);
      expect(err.message).toContain('JPEG, PNG, GIF, WebP or BMP');
    }
    // An MP4 video has an ftyp box too, but no image brand.
    expect(codeOf(() => sniffImage(ftyp('isom', 'iso2', 'mp41')))).toBe('not-an-image');
  });

  it('rejects a truncated JPEG (SOI and a partial segment) as corrupt', () => {
    const err = errorOf(() => sniffImage(bytes([0xff, 0xd8], JFIF.slice(0, 7)), 'cut.jpg'));
    expect(err.code).toBe('corrupt-image');
    expect(err.detail).toBe(TRUNCATED_DETAIL);
    expect(err.message).toContain('cut.jpg');
    // SOI and the start of a marker, nothing else.
    expect(codeOf(() => sniffImage(bytes([0xff, 0xd8, 0xff])))).toBe('corrupt-image');
    // A frame header cut off before its width.
    const cutSof = bytes([0xff, 0xd8], JFIF, sof(10, 10).slice(0, 7));
    expect(codeOf(() => sniffImage(cutSof))).toBe('corrupt-image');
  });

  it('rejects a JPEG whose scan starts before any frame header', () => {
    const err = errorOf(() => sniffImage(bytes([0xff, 0xd8], JFIF, DQT, SOS)));
    expect(err.code).toBe('corrupt-image');
    expect(err.detail).toBeUndefined();
  });

  it('rejects a PNG without a valid IHDR', () => {
    expect(codeOf(() => sniffImage(bytes(PNG_SIG)))).toBe('corrupt-image');
    const noIhdr = pngBytes(10, 10);
    noIhdr.set(ascii('IDAT'), 12);
    expect(codeOf(() => sniffImage(noIhdr))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(pngBytes(10, 10).subarray(0, 22)))).toBe('corrupt-image');
  });

  it('rejects zero width or height as corrupt', () => {
    expect(codeOf(() => sniffImage(jpegBytes(0, 10)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(pngBytes(10, 0)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(gifBytes(0, 0)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(bmpBytes(0, 5)))).toBe('corrupt-image');
  });

  it('rejects cut-off GIF, WebP and BMP headers as corrupt', () => {
    expect(codeOf(() => sniffImage(gifBytes(5, 5).subarray(0, 8)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(webpLossy(5, 5).subarray(0, 27)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(webpExtended(5, 5).subarray(0, 28)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(bmpBytes(5, 5).subarray(0, 20)))).toBe('corrupt-image');
    expect(codeOf(() => sniffImage(riff('ALPH', [0, 0, 0, 0])))).toBe('corrupt-image');
  });

  it('rejects a 20000 x 20000 PNG and a 50000 x 50000 JPEG before decoding', () => {
    const png = errorOf(() => sniffImage(pngBytes(20000, 20000), 'huge.png'));
    expect(png.code).toBe('image-too-large');
    expect(png.message).toContain('20000 x 20000');
    expect(png.message).toContain(String(MAX_SIDE_PX));
    expect(png.message).toContain('huge.png');
    const jpg = errorOf(() => sniffImage(jpegBytes(50000, 50000)));
    expect(jpg.code).toBe('image-too-large');
    expect(jpg.message).toContain('50000 x 50000');
  });

  it('applies the side and pixel-count limits at their edges', () => {
    expect(sniffImage(pngBytes(MAX_SIDE_PX, 4000))).toMatchObject({ width: MAX_SIDE_PX });
    expect(codeOf(() => sniffImage(pngBytes(MAX_SIDE_PX + 1, 10)))).toBe('image-too-large');
    expect(codeOf(() => sniffImage(gifBytes(10, 65535)))).toBe('image-too-large');
    // 8000 x 5000 = MAX_PIXELS exactly is fine; 8000 x 5001 is over.
    expect(8000 * 5000).toBe(MAX_PIXELS);
    expect(sniffImage(webpExtended(8000, 5000))).toMatchObject({ width: 8000, height: 5000 });
    const over = errorOf(() => sniffImage(webpExtended(8000, 5001)));
    expect(over.code).toBe('image-too-large');
    expect(over.message).toContain('40 megapixels');
  });

  it('rejects a file over MAX_FILE_BYTES, given whole or as a header prefix', () => {
    const big = new Uint8Array(MAX_FILE_BYTES + 1);
    big.set(pngBytes(100, 100));
    expect(codeOf(() => sniffImage(big))).toBe('image-too-large');
    expect(codeOf(() => sniffImage(pngBytes(100, 100), 'x', MAX_FILE_BYTES + 1))).toBe(
      'image-too-large',
    );
    expect(sniffImage(pngBytes(100, 100), 'x', MAX_FILE_BYTES)).toMatchObject({ width: 100 });
  });
});

describe('sniffImage: real files', () => {
  const datasets = '/work/shared/datasets';

  it('matches jpeg-js on the first daisy photo', () => {
    const dir = join(datasets, 'flower_photos/daisy');
    const name = readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.jpg'))
      .sort()[0];
    expect(name).toBeDefined();
    const data = readFileSync(join(dir, name as string));
    const decoded = jpeg.decode(data, { useTArray: true });
    const header = sniffImage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), name);
    expect(header.format).toBe('jpeg');
    expect([header.width, header.height]).toEqual([decoded.width, decoded.height]);
    // The header sits in the first few kilobytes: a prefix is enough.
    const prefix = new Uint8Array(data.buffer, data.byteOffset, Math.min(data.byteLength, 65536));
    expect(sniffImage(prefix, name, data.byteLength)).toEqual(header);
  });

  it('reads a Fashion-MNIST PNG as 28 x 28', () => {
    const dir = join(datasets, 'fashion-mnist-tiny/ankle_boot');
    const name = readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .sort()[0];
    expect(name).toBeDefined();
    const data = readFileSync(join(dir, name as string));
    expect(sniffImage(new Uint8Array(data))).toEqual({ format: 'png', width: 28, height: 28 });
  });
});
