import type { DataSet } from 'dicom-parser';
import { describeValue, LeptonError } from '@lepton/core';
import { asDicomError, dicomError } from './errors.js';
import { textAt } from './values.js';
import type { DicomAttributeIssue, DicomMetadata } from './types.js';
import { TRANSFER_SYNTAXES, type TransferSyntax } from './transfer-syntax.js';
import { decodeFrame } from '../pixels/decode.js';
import { decodeModalityFrame } from '../pixels/modality-decode.js';
import { applyModalityLut, rescaleOverflows } from '../lut/modality.js';
import type { DecodedFrame } from '../pixels/frame.js';

/**
 * One parsed DICOM instance: its typed {@link DicomMetadata}, any attribute by tag, and its frames decoded on demand.
 * Made by {@link readDicom}, {@link readDicomFile} or {@link readDicomFolder}.
 */
export class DicomImage {
  /** Typed attributes (identifiers, geometry, pixel module, rescale, windows, LUTs). */
  readonly meta: DicomMetadata;
  /** Where the instance came from (the path, for files), when known. */
  readonly source: string | undefined;
  /**
   * Attributes that were present but could not be used as they stand (e.g. Pixel Spacing with one value), each with
   * what was done instead; empty for a well-formed file. See {@link DicomAttributeIssue}.
   */
  readonly issues: readonly DicomAttributeIssue[];
  readonly #ds: DataSet;

  /**
   * @internal Made by the readers. The data set is typed `unknown` so that dicom-parser's types never reach this
   * package's public declarations.
   */
  constructor(dataSet: unknown, meta: DicomMetadata, source: string | undefined, issues: readonly DicomAttributeIssue[] = []) {
    this.#ds = dataSet as DataSet;
    this.meta = meta;
    this.source = source;
    this.issues = Object.freeze([...issues]);
  }

  /** The transfer syntax, when it is one that `@lepton/medical` decodes (undefined for other syntaxes). */
  get transferSyntax(): TransferSyntax | undefined {
    return TRANSFER_SYNTAXES[this.meta.transferSyntaxUid];
  }

  /**
   * Any text attribute (string VRs such as CS, LO, DS, IS, UI, PN; all values joined with `\`), for tags that
   * {@link DicomMetadata} does not cover.
   *
   * @param tag - `GGGGEEEE` or `(GGGG,EEEE)`, hex, any case (e.g. `'00180060'` for KVP)
   * @returns the trimmed value, or undefined when absent
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * import { readDicom } from '@lepton/medical';
   * const image = readDicom(readFileSync('packages/medical/test/fixtures/dicom/ct_s16.dcm'));
   * console.log(image.getString('(0008,0060)')); // 'CT'
   * ```
   */
  getString(tag: string): string | undefined {
    if (typeof tag !== 'string') throw new LeptonError('INVALID_ARGUMENT', 'getString expects a tag such as "(0008,0060)" or "00080060".');
    const key = 'x' + tag.replace(/[(),\s]/g, '').toLowerCase();
    if (this.#ds.elements[key] === undefined) return undefined;
    // textAt reads only inside the data set's bytes; values are split and trimmed one by one, as dicom-parser's string(tag, i)
    return (textAt(this.#ds, key) ?? '')
      .split('\\')
      .map((v) => v.trim())
      .join('\\');
  }

  /**
   * Decodes one frame to its stored values (masked to Bits Stored, sign-extended when signed), or to interleaved RGB
   * for colour images (RGB, YBR_*, PALETTE COLOR). No modality or VOI LUT is applied: see {@link applyModalityLut}
   * and {@link renderFrame}.
   *
   * @param index - 0-based frame index
   * @returns the decoded frame
   * @throws {@link @lepton/core!LeptonError} `DICOM_FRAME_OUT_OF_RANGE`, `DICOM_NO_PIXEL_DATA`,
   *   `DICOM_UNSUPPORTED_TRANSFER_SYNTAX`, `DICOM_UNSUPPORTED_PIXEL_FORMAT`, `DICOM_DECODE_FAILED`, `DICOM_MALFORMED`
   * @example
   * ```ts
   * import { readFileSync } from 'node:fs';
   * import { readDicom } from '@lepton/medical';
   * const image = readDicom(readFileSync('packages/medical/test/fixtures/dicom/ct_u12_jpls.dcm'));
   * const frame = await image.decodeFrame(0);
   * console.log(frame.pixels.length === frame.rows * frame.columns); // true
   * ```
   */
  async decodeFrame(index = 0): Promise<DecodedFrame> {
    try {
      return await decodeFrame(this.#ds, this.meta, index, this.source);
    } catch (err) {
      throw asDicomError(err, 'DICOM_DECODE_FAILED', this.#where(index));
    }
  }

  #where(frame: number): Record<string, unknown> {
    return this.source === undefined ? { frame } : { source: this.source, frame };
  }

  /**
   * Modality values of a greyscale frame (Hounsfield units for CT): the same numbers as
   * `applyModalityLut(await decodeFrame(index), meta)`, computed in one pass straight from the stored values for 16-bit
   * native (either byte order) and RLE frames, optionally into a buffer you reuse across a series (no allocation per slice).
   *
   * @param index - 0-based frame number. Default 0.
   * @param out - optional `rows × columns` buffer to fill
   * @returns the modality values (`out` when given)
   * @throws {@link @lepton/core!LeptonError} as {@link DicomImage.decodeFrame}; `INVALID_ARGUMENT` for colour frames
   *   or an `out` that is not a Float32Array of `rows × columns` values; `DICOM_MALFORMED` when Rescale Slope and
   *   Intercept map the stored values beyond the float32 range (also listed in {@link DicomImage.issues})
   */
  async modalityFrame(index = 0, out?: Float32Array): Promise<Float32Array> {
    // Checked before decoding: a Uint8Array would silently truncate HU values, and a plain array used to fail as
    // DICOM_DECODE_FAILED, blaming the file for the caller's buffer.
    const size = this.meta.rows * this.meta.columns;
    if (out !== undefined && !((out as unknown) instanceof Float32Array && out.length === size)) {
      throw new LeptonError('INVALID_ARGUMENT', `modalityFrame: the out buffer must be a Float32Array of ${size} values (rows × columns), got ${out instanceof Float32Array ? `${out.length} values` : typeof out === 'object' && out !== null ? `an object of type ${Object.prototype.toString.call(out).slice(8, -1)}` : describeValue(out)}.`);
    }
    const { rescale, modalityLut, bitsStored, signed } = this.meta;
    if (rescale !== undefined && modalityLut === undefined && rescaleOverflows(rescale.slope, rescale.intercept, bitsStored, signed)) {
      throw dicomError(
        'DICOM_MALFORMED',
        'Rescale Slope and Intercept map the stored values beyond the float32 range (±3.4e38): no modality value can be represented. The file\'s rescale attributes are wrong; check them with `dcmdump`, or decode the stored values with decodeFrame.',
        { ...this.#where(index), attribute: 'RescaleSlope' },
      );
    }
    try {
      const fast = await decodeModalityFrame(this.#ds, this.meta, index, this.source, out);
      return fast ?? applyModalityLut(await decodeFrame(this.#ds, this.meta, index, this.source), this.meta, out);
    } catch (err) {
      throw asDicomError(err, 'DICOM_DECODE_FAILED', this.#where(index));
    }
  }

  /**
   * Decodes every frame, in order.
   *
   * @returns one {@link DecodedFrame} per frame
   * @throws {@link @lepton/core!LeptonError} as {@link DicomImage.decodeFrame}
   */
  async decodeFrames(): Promise<DecodedFrame[]> {
    const frames: DecodedFrame[] = [];
    for (let i = 0; i < this.meta.numberOfFrames; i++) frames.push(await this.decodeFrame(i));
    return frames;
  }
}
