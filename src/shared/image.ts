// The decoded-image shape every stage agrees on.

/** Decoded image: RGBA (4 channels, as canvas/ImageData and jpeg-js give) or RGB. */
export interface PixelImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}
