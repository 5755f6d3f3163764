/** How the pixel data of a transfer syntax is stored, and which decoder reads it. */
export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg-baseline'
  | 'jpeg-extended'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg-2000';

/** One supported transfer syntax. */
export interface TransferSyntax {
  /** The transfer syntax UID (0002,0010). */
  readonly uid: string;
  /** Its name in PS3.6. */
  readonly name: string;
  /** How the pixel data is encoded. */
  readonly encoding: PixelEncoding;
  /** Whether the data set is big endian. */
  readonly bigEndian: boolean;
  /** Whether the data set uses explicit VRs. */
  readonly explicitVr: boolean;
  /** Whether the data set is deflated (zlib, raw deflate) after the file meta information. */
  readonly deflated: boolean;
  /** Whether decoding may differ from the original pixels (the syntax allows lossy compression). */
  readonly lossy: boolean;
  /** The maintained codec that decodes it (`built-in` for native and RLE pixel data). */
  readonly codec: string;
}

const ts = (
  uid: string,
  name: string,
  encoding: PixelEncoding,
  codec: string,
  extra: Partial<Pick<TransferSyntax, 'bigEndian' | 'explicitVr' | 'deflated' | 'lossy'>> = {},
): TransferSyntax => ({
  uid,
  name,
  encoding,
  codec,
  bigEndian: extra.bigEndian ?? false,
  explicitVr: extra.explicitVr ?? true,
  deflated: extra.deflated ?? false,
  lossy: extra.lossy ?? false,
});

/**
 * Every transfer syntax `@lepton/medical` reads, keyed by UID. A file in any other syntax still parses (its
 * attributes are available) but decoding its pixels throws `DICOM_UNSUPPORTED_TRANSFER_SYNTAX`.
 *
 * @example
 * ```ts
 * import { TRANSFER_SYNTAXES } from '@lepton/medical';
 * console.log(TRANSFER_SYNTAXES['1.2.840.10008.1.2.5']?.name); // 'RLE Lossless'
 * ```
 */
export const TRANSFER_SYNTAXES: Readonly<Record<string, TransferSyntax>> = Object.freeze(
  Object.fromEntries(
    [
      ts('1.2.840.10008.1.2', 'Implicit VR Little Endian', 'native', 'built-in', { explicitVr: false }),
      ts('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', 'native', 'built-in'),
      ts('1.2.840.10008.1.2.2', 'Explicit VR Big Endian', 'native', 'built-in', { bigEndian: true }),
      ts('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', 'native', 'node:zlib', { deflated: true }),
      ts('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle', 'built-in (PS3.5 Annex G)'),
      ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-baseline', '@cornerstonejs/codec-libjpeg-turbo-8bit', {
        lossy: true,
      }),
      ts(
        '1.2.840.10008.1.2.4.51',
        'JPEG Extended (Process 2 & 4)',
        'jpeg-extended',
        'built-in IJG 6b islow for 12-bit (pixel-identical to dcmtk and GDCM); @cornerstonejs/codec-libjpeg-turbo-8bit for 8-bit',
        { lossy: true },
      ),
      ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', 'jpeg-lossless', '@cornerstonejs/jpeg-lossless-decoder-js'),
      ts(
        '1.2.840.10008.1.2.4.70',
        'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
        'jpeg-lossless',
        '@cornerstonejs/jpeg-lossless-decoder-js',
      ),
      ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless Image Compression', 'jpeg-ls', '@cornerstonejs/codec-charls'),
      ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Lossy (Near-Lossless) Image Compression', 'jpeg-ls', '@cornerstonejs/codec-charls', {
        lossy: true,
      }),
      ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 Image Compression (Lossless Only)', 'jpeg-2000', '@cornerstonejs/codec-openjpeg'),
      ts('1.2.840.10008.1.2.4.91', 'JPEG 2000 Image Compression', 'jpeg-2000', '@cornerstonejs/codec-openjpeg', { lossy: true }),
      // HTJ2K (ISO/IEC 15444-15): JPEG 2000 with the high-throughput block coder. OpenJPEG (2.5 on) decodes it, mixed
      // HT and classic code-blocks included; checked pixel-identical to the source on HTJ2K written by OpenJPH.
      ts('1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Image Compression (Lossless Only)', 'jpeg-2000', '@cornerstonejs/codec-openjpeg'),
      ts(
        '1.2.840.10008.1.2.4.202',
        'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)',
        'jpeg-2000',
        '@cornerstonejs/codec-openjpeg',
      ),
      ts('1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000 Image Compression', 'jpeg-2000', '@cornerstonejs/codec-openjpeg', { lossy: true }),
    ].map((t) => [t.uid, t]),
  ),
);

/** Implicit VR Little Endian: the default for bare data sets whose encoding cannot be recognised otherwise. */
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
/** Explicit VR Little Endian. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Explicit VR Big Endian (retired, still met in archives). */
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
/** Deflated Explicit VR Little Endian. */
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
