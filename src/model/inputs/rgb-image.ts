/** The decoded-image type every decoder returns and the tiler consumes. Its own file so decoders need no cycle. */

/** Packed 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}
