/** The typed array a frame's pixels come in: sized by Bits Allocated, signed when Pixel Representation is 1. */
export type PixelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** One decoded frame. */
export interface DecodedFrame {
  /** 0-based frame index. */
  readonly index: number;
  /** Rows (height). */
  readonly rows: number;
  /** Columns (width). */
  readonly columns: number;
  /** 1 for greyscale, 3 for colour (always interleaved RGB). */
  readonly samplesPerPixel: 1 | 3;
  /**
   * Colour model of `pixels`: greyscale keeps MONOCHROME1/MONOCHROME2 (MONOCHROME1 is inverted only when rendered);
   * every colour model (RGB, YBR_*, PALETTE COLOR) is converted to `RGB`.
   */
  readonly photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  /**
   * Row-major pixels: stored values masked to Bits Stored and sign-extended (greyscale), or R,G,B triples (colour;
   * 16-bit for 16-bit palettes).
   */
  readonly pixels: PixelArray;
  /** Significant bits per sample in `pixels`. */
  readonly bitsStored: number;
  /** Whether `pixels` holds signed values. */
  readonly signed: boolean;
  /** Smallest sample value. */
  readonly min: number;
  /** Largest sample value. */
  readonly max: number;
}

