// Image guard: reads the format and pixel size from the first bytes of a file, BEFORE anything
// decodes it. A 50000 x 50000 JPEG is a few hundred kilobytes on disk but 10 GB of RGBA once
// decoded, so the size limit has to be enforced from the header alone. Pure: runs in the window,
// in a worker and in Node.

import { GlimpseError } from '../shared/errors';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** EXIF Orientation (1..8) of a JPEG, when an APP1 Exif segment before the frame header has it. */
  orientation?: number;
}

export const MAX_SIDE_PX = 8192;
export const MAX_PIXELS = 40_000_000;
export const MAX_FILE_BYTES = 50 * 1024 * 1024;

const SUPPORTED = 'JPEG, PNG, GIF, WebP or BMP';

/** `detail` of a 'corrupt-image' error when the bytes end before the header does. */
export const TRUNCATED_DETAIL = 'truncated';

/**
 * Reads the header of an image and checks it against the size limits.
 *
 * `bytes` may be the whole file or only its beginning; pass the real file size as `totalBytes`
 * when it is a prefix. A 'corrupt-image' error whose `detail` is TRUNCATED_DETAIL means the bytes
 * ran out before the header did (a prefix that was too short, or a cut-off file).
 */
export function sniffImage(
  bytes: Uint8Array,
  name = 'file',
  totalBytes: number = bytes.length,
): ImageHeader {
  const label = `"${name}"`;
  if (bytes.length === 0 || totalBytes === 0) {
    throw new GlimpseError('empty-file', `${label} is empty (0 bytes).`);
  }

  const format = detectFormat(bytes, label);
  // After detection so that a huge PDF or text file is reported as what it is.
  if (totalBytes > MAX_FILE_BYTES) {
    const mb = (totalBytes / (1024 * 1024)).toFixed(1);
    throw new GlimpseError(
      'image-too-large',
      `${label} is ${mb} MB; images up to ${MAX_FILE_BYTES / (1024 * 1024)} MB can be added.`,
    );
  }

  const header = readHeader(format, new Reader(bytes, label));
  const { width, height } = header;
  if (!(width > 0 && height > 0)) {
    throw corrupt(label, `its header says it is ${width} x ${height} pixels`);
  }
  if (width > MAX_SIDE_PX || height > MAX_SIDE_PX || width * height > MAX_PIXELS) {
    throw new GlimpseError(
      'image-too-large',
      `${label} is ${width} x ${height} pixels; images can be at most ${MAX_SIDE_PX} pixels a ` +
        `side and ${MAX_PIXELS / 1_000_000} megapixels in all.`,
      `${width}x${height}`,
    );
  }
  return header;
}

// ---------------------------------------------------------------------------------------------
// Format detection

function detectFormat(b: Uint8Array, label: string): ImageFormat {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWithAscii(b, 'GIF87a') || startsWithAscii(b, 'GIF89a')) return 'gif';
  if (startsWithAscii(b, 'RIFF') && asciiAt(b, 8, 4) === 'WEBP') return 'webp';
  if (startsWithAscii(b, 'BM') && looksLikeBmp(b)) return 'bmp';

  const unsupported = unsupportedFormat(b);
  if (unsupported !== null) {
    throw new GlimpseError(
      'unsupported-format',
      `${label} is in ${unsupported} format, which Glimpse cannot read. ${SUPPORTED} files work.`,
      unsupported,
    );
  }
  throw new GlimpseError(
    'not-an-image',
    `${label} is not an image. Glimpse can read ${SUPPORTED} files.`,
  );
}

/** 'BM' alone is two letters of text: also require a known DIB header size (or too few bytes). */
function looksLikeBmp(b: Uint8Array): boolean {
  if (b.length < 18) return true; // A cut-off BMP: reported as corrupt by the parser.
  const dibSize = u32le(b, 14);
  return BMP_DIB_SIZES.has(dibSize);
}

// BITMAPCOREHEADER, OS/2 v2 (16 and 64), BITMAPINFOHEADER, V2, V3, V4, V5.
const BMP_DIB_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

function unsupportedFormat(b: Uint8Array): string | null {
  if (
    startsWith(b, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || // BigTIFF
    startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return 'TIFF';
  }
  if (startsWithAscii(b, '%PDF-')) return 'PDF';
  const brands = ftypBrands(b);
  if (brands.some((x) => AVIF_BRANDS.has(x))) return 'AVIF';
  if (brands.some((x) => HEIF_BRANDS.has(x))) return 'HEIC/HEIF';
  if (isSvg(b)) return 'SVG';
  return null;
}

/** Major and compatible brands of an ISO-BMFF 'ftyp' box at the start of the file. */
function ftypBrands(b: Uint8Array): string[] {
  if (b.length < 12 || asciiAt(b, 4, 4) !== 'ftyp') return [];
  const boxEnd = Math.min(u32be(b, 0), b.length, 4096);
  const brands = [asciiAt(b, 8, 4)];
  // Bytes 12..16 are the minor version; compatible brands follow, four bytes each.
  for (let p = 16; p + 4 <= boxEnd; p += 4) brands.push(asciiAt(b, p, 4));
  return brands;
}

function isSvg(b: Uint8Array): boolean {
  let start = 0;
  if (startsWith(b, [0xef, 0xbb, 0xbf])) start = 3; // UTF-8 byte order mark
  const head = asciiAt(b, start, Math.min(b.length - start, 4096))
    .trimStart()
    .toLowerCase();
  if (head.startsWith('<svg')) return true;
  // An XML prolog, doctype or comment may come first; the root element follows soon after.
  return (
    (head.startsWith('<?xml') || head.startsWith('<!doctype') || head.startsWith('<!--')) &&
    head.includes('<svg')
  );
}

// ---------------------------------------------------------------------------------------------
// Header parsers

function readHeader(format: ImageFormat, r: Reader): ImageHeader {
  switch (format) {
    case 'jpeg':
      return readJpeg(r);
    case 'png':
      return readPng(r);
    case 'gif':
      return readGif(r);
    case 'webp':
      return readWebp(r);
    case 'bmp':
      return readBmp(r);
  }
}

// SOF0-3, 5-7, 9-11, 13-15. C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
const SOF_MARKERS = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);
const SOS = 0xda;
const EOI = 0xd9;
const APP1 = 0xe1;

function readJpeg(r: Reader): ImageHeader {
  const b = r.bytes;
  let orientation: number | undefined;
  let p = 2; // after SOI
  for (;;) {
    // Like libjpeg's next_marker(): skip stray bytes up to the next 0xFF, then any 0xFF fill
    // bytes; a 0x00 after 0xFF is a stuffed byte, not a marker.
    while (p < b.length && b[p] !== 0xff) p++;
    while (p < b.length && b[p] === 0xff) p++;
    if (p >= b.length) throw r.truncated('the data ends before the frame header');
    const marker = b[p++] as number;
    if (marker === 0x00) continue;
    if (marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === EOI || marker === SOS) {
      throw r.corrupt('it has no frame header before its image data');
    }

    const length = r.u16be(p);
    if (length < 2) throw r.corrupt(`a segment has an invalid length (${length})`);
    if (SOF_MARKERS.has(marker)) {
      // length(2) precision(1) height(2) width(2)
      if (length < 8) throw r.corrupt('its frame header is too short');
      const height = r.u16be(p + 3);
      const width = r.u16be(p + 5);
      return orientation === undefined
        ? { format: 'jpeg', width, height }
        : { format: 'jpeg', width, height, orientation };
    }
    if (marker === APP1 && orientation === undefined) {
      const end = Math.min(p + length, b.length);
      orientation = exifOrientation(b.subarray(p + 2, end));
    }
    p += length;
  }
}

/**
 * EXIF Orientation from an APP1 payload ('Exif\0\0' + TIFF structure), or undefined. Best effort:
 * a broken Exif block should not reject a photo whose pixels are fine.
 */
export function exifOrientation(seg: Uint8Array): number | undefined {
  if (seg.length < 14 || asciiAt(seg, 0, 4) !== 'Exif' || seg[4] !== 0 || seg[5] !== 0) {
    return undefined;
  }
  const tiff = seg.subarray(6);
  const order = asciiAt(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (o: number) => (le ? u16le(tiff, o) : u16be(tiff, o));
  const u32 = (o: number) => (le ? u32le(tiff, o) : u32be(tiff, o));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (u16(entry) !== 0x0112) continue;
    // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
    if (u16(entry + 2) !== 3 || u32(entry + 4) !== 1) return undefined;
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

function readPng(r: Reader): ImageHeader {
  // signature(8) length(4) 'IHDR'(4) width(4) height(4) depth, colour, compression, filter,
  // interlace (5) -- IHDR must be the first chunk and exactly 13 bytes long.
  r.need(8 + 8 + 13, 'its IHDR header is cut off');
  if (r.u32be(8) !== 13 || asciiAt(r.bytes, 12, 4) !== 'IHDR') {
    throw r.corrupt('it has no valid IHDR header');
  }
  return { format: 'png', width: r.u32be(16), height: r.u32be(20) };
}

function readGif(r: Reader): ImageHeader {
  // 'GIF89a' then the logical screen descriptor: width, height (little-endian u16).
  r.need(10, 'its screen descriptor is cut off');
  return { format: 'gif', width: r.u16le(6), height: r.u16le(8) };
}

function readWebp(r: Reader): ImageHeader {
  // 'RIFF' size 'WEBP', then the first chunk: fourcc(4) size(4) data at offset 20.
  r.need(20, 'its first chunk is cut off');
  const chunk = asciiAt(r.bytes, 12, 4);
  const b = r.bytes;
  if (chunk === 'VP8 ') {
    // Lossy: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height (2 bits scale).
    r.need(30, 'its VP8 frame header is cut off');
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) {
      throw r.corrupt('its VP8 frame has no start code');
    }
    return { format: 'webp', width: r.u16le(26) & 0x3fff, height: r.u16le(28) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    // Lossless: signature 0x2F, then width-1 and height-1 packed as two 14-bit fields.
    r.need(25, 'its VP8L header is cut off');
    if (b[20] !== 0x2f) throw r.corrupt('its VP8L header has a wrong signature');
    const bits = r.u32le(21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    // Extended: flags(1) reserved(3), then canvas width-1 and height-1 as 24-bit little-endian.
    r.need(30, 'its VP8X header is cut off');
    return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  }
  throw r.corrupt(`its first chunk is '${chunk.trim()}', not VP8, VP8L or VP8X`);
}

function readBmp(r: Reader): ImageHeader {
  // File header (14 bytes), then the DIB header whose first field is its own size.
  r.need(18, 'its header is cut off');
  const dibSize = r.u32le(14);
  if (dibSize === 12) {
    // BITMAPCOREHEADER: unsigned 16-bit width and height.
    r.need(22, 'its header is cut off');
    return { format: 'bmp', width: r.u16le(18), height: r.u16le(20) };
  }
  r.need(26, 'its header is cut off');
  // Signed 32-bit; a negative height means rows are stored top-down.
  const width = r.i32le(18);
  const height = Math.abs(r.i32le(22));
  return { format: 'bmp', width, height };
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    private readonly label: string,
  ) {}

  need(n: number, why: string): void {
    if (this.bytes.length < n) throw this.truncated(why);
  }

  corrupt(why: string): GlimpseError {
    return corrupt(this.label, why);
  }

  truncated(why: string): GlimpseError {
    return corrupt(this.label, why, TRUNCATED_DETAIL);
  }

  u16be(o: number): number {
    this.need(o + 2, 'its header is cut off');
    return u16be(this.bytes, o);
  }

  u16le(o: number): number {
    this.need(o + 2, 'its header is cut off');
    return u16le(this.bytes, o);
  }

  u32be(o: number): number {
    this.need(o + 4, 'its header is cut off');
    return u32be(this.bytes, o);
  }

  u32le(o: number): number {
    this.need(o + 4, 'its header is cut off');
    return u32le(this.bytes, o);
  }

  i32le(o: number): number {
    return this.u32le(o) | 0;
  }
}

function corrupt(label: string, why: string, detail?: string): GlimpseError {
  return new GlimpseError(
    'corrupt-image',
    `${label} looks like an image but cannot be read: ${why}.`,
    detail,
  );
}

// Out-of-range reads give 0 (via `?? 0`); callers check lengths first where it matters.
function byteAt(b: Uint8Array, o: number): number {
  return b[o] ?? 0;
}

function u16be(b: Uint8Array, o: number): number {
  return (byteAt(b, o) << 8) | byteAt(b, o + 1);
}

function u16le(b: Uint8Array, o: number): number {
  return byteAt(b, o) | (byteAt(b, o + 1) << 8);
}

function u24le(b: Uint8Array, o: number): number {
  return byteAt(b, o) | (byteAt(b, o + 1) << 8) | (byteAt(b, o + 2) << 16);
}

function u32be(b: Uint8Array, o: number): number {
  return ((byteAt(b, o) << 24) | (byteAt(b, o + 1) << 16) | u16be(b, o + 2)) >>> 0;
}

function u32le(b: Uint8Array, o: number): number {
  return (u16le(b, o) | (byteAt(b, o + 2) << 16) | (byteAt(b, o + 3) << 24)) >>> 0;
}

function startsWith(b: Uint8Array, sig: readonly number[]): boolean {
  return b.length >= sig.length && sig.every((v, i) => b[i] === v);
}

function startsWithAscii(b: Uint8Array, text: string): boolean {
  return asciiAt(b, 0, text.length) === text;
}

/** Bytes as Latin-1 characters; enough for signatures and for finding '<svg'. */
function asciiAt(b: Uint8Array, offset: number, length: number): string {
  const end = Math.min(b.length, offset + length);
  let s = '';
  for (let i = offset; i < end; i++) s += String.fromCharCode(b[i] as number);
  return s;
}
