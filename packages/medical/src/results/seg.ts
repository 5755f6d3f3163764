import type { DicomImage } from '../dicom/image.js';
import type { Segmentation, SeriesSegmentation } from '../diagnosis/segmentation.js';
import { CODES, type CodedConcept } from './codes.js';
import { resultError } from './errors.js';
import { packBits } from './frames.js';
import { segGeometry } from './geometry.js';
import { checkCs, checkInt, checkLo, checkUid, dicomDateTime, newUid, patientStudy, sourceRefs, writePart10 } from './part10.js';
import { masksOf, perFrame, referencedSeries, segmentItem } from './seg-parts.js';
import type { AlgorithmIdentity, DicomResultObject } from './types.js';

/** Segmentation Storage. */
const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
/** Most frames one SEG carries (Number of Frames is an IS of at most 12 characters; this bound keeps memory sane). */
const MAX_FRAMES = 65_535;

/** What a segment is: its label and codes, shown by viewers in the segment list. */
export interface SegmentDescription {
  /** Segment Label, e.g. `Lesion` (1–64 characters). */
  readonly label: string;
  /** Segmented Property Category. Default `(49755003, SCT, "Morphologically Altered Structure")`. */
  readonly category?: CodedConcept;
  /** Segmented Property Type. Default `(52988006, SCT, "Lesion")`. */
  readonly type?: CodedConcept;
  /** Segment Description (1–64 characters). */
  readonly description?: string;
  /** Display colour, sRGB 0–255 (written as Recommended Display CIELab Value). Default from a fixed palette. */
  readonly color?: readonly [number, number, number];
  /** Tracking ID: the name under which reports track this finding across time points (1–64 characters). */
  readonly trackingId?: string;
  /** Tracking UID, with `trackingId`. Default a new UID when `trackingId` is given. */
  readonly trackingUid?: string;
}

/** Options for {@link segmentationToDicomSeg}. */
export interface DicomSegOptions {
  /** The model that made the masks (Segment Algorithm Name and the Segmentation Algorithm Identification Sequence). */
  readonly algorithm: AlgorithmIdentity;
  /**
   * One description per segment. Mask value `k` (1-based) belongs to `segments[k - 1]`; with a single segment every
   * non-zero mask value does, so a `LesionSegmenter` mask (0/1) or a 0/255 mask both work. Default `[{ label: 'Lesion' }]`.
   */
  readonly segments?: readonly SegmentDescription[];
  /** Leave out frames where a segment has no pixel (smaller objects; PACS viewers expect this). Default true. */
  readonly omitEmptyFrames?: boolean;
  /** Series Instance UID of the new series. Default a new UID. */
  readonly seriesInstanceUid?: string;
  /** SOP Instance UID. Default a new UID. */
  readonly sopInstanceUid?: string;
  /** Series Number. Default 1000. */
  readonly seriesNumber?: number;
  /** Instance Number. Default 1. */
  readonly instanceNumber?: number;
  /** Series Description. Default `AI segmentation (<algorithm name>)`, cut to 64 characters. */
  readonly seriesDescription?: string;
  /** Content Label, a Code String (A–Z, 0–9, space, `_`; at most 16). Default `SEGMENTATION`. */
  readonly contentLabel?: string;
  /** Manufacturer. Default `Lepton`. */
  readonly manufacturer?: string;
  /** Device Serial Number (Type 1 in the Enhanced General Equipment module). Default `LEPTON-SDK`. */
  readonly deviceSerialNumber?: string;
  /** Creation time (Content Date/Time, written in UTC). Default now. */
  readonly now?: Date;
}

/** One segment of a written SEG. */
export interface DicomSegSegment {
  /** Segment Number (1-based). */
  readonly number: number;
  /** Segment Label. */
  readonly label: string;
  /** Frames written for it. */
  readonly frames: number;
  /** Its Segmented Property Type (what reports name as the finding). */
  readonly propertyType: CodedConcept;
}

/** A DICOM Segmentation made by {@link segmentationToDicomSeg}. */
export interface DicomSegObject extends DicomResultObject {
  /** Number of Frames. */
  readonly numberOfFrames: number;
  /** The segments, in Segment Number order. */
  readonly segments: readonly DicomSegSegment[];
  /** The algorithm named in the object. */
  readonly algorithm: AlgorithmIdentity;
  /** The series the masks were made on (its Series Instance UID; the first one when the sources span several). */
  readonly sourceSeriesInstanceUid: string;
}

/**
 * Encodes lesion masks as a DICOM Segmentation (Segmentation Storage, 1.2.840.10008.5.1.4.1.1.66.4): BINARY, Bits
 * Allocated 1, one segment per label with its codes, colour and algorithm identification; per-frame functional groups
 * with the plane position, the segment, the source image (Derivation Image / Source Image Sequence) and dimension
 * index values (segment, then position along the slice normal), plane orientation and pixel measures shared when all
 * source images agree; the source series in the Referenced Series Sequence and its Frame of Reference UID. Patient
 * and study attributes are copied from the first source image; the object joins the source study in a new series.
 *
 * @param result - {@link LesionSegmenter.predictSeries}' result, or masks in source order ({@link LesionSegmenter.predict})
 * @param sourceImages - the images the masks were made on, in the same order (one study, one frame of reference,
 *   one size, each with Image Position/Orientation (Patient) and Pixel Spacing)
 * @param options - the algorithm (required), segment descriptions, identifiers and equipment
 * @returns the Part 10 bytes with the object's UIDs and frame counts
 * @throws {@link @lepton/core!LeptonError} `DICOM_RESULT_INVALID_INPUT` when masks and images do not match or an option
 *   is invalid; `DICOM_RESULT_UNSUPPORTED` for patient data in a character set it cannot re-encode;
 *   `DICOM_RESULT_WRITE_FAILED` if encoding fails
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { segmentationToDicomSeg, type DicomImage, type LesionSegmenter } from '@lepton/medical';
 * declare const segmenter: LesionSegmenter;
 * declare const series: DicomImage[];
 * const seg = segmentationToDicomSeg(await segmenter.predictSeries(series), series, {
 *   algorithm: { name: 'lesion-segmenter', version: '1.0.0' },
 *   segments: [{ label: 'Nodule' }],
 * });
 * await writeFile(`${seg.sopInstanceUid}.dcm`, seg.bytes);
 * ```
 */
export function segmentationToDicomSeg(
  result: SeriesSegmentation | readonly Segmentation[] | Segmentation,
  sourceImages: readonly DicomImage[],
  options: DicomSegOptions,
): DicomSegObject {
  if (typeof options !== 'object' || options === null) throw resultError('DICOM_RESULT_INVALID_INPUT', 'options with an algorithm ({ name, version }) are required.', { option: 'options' });
  const refs = sourceRefs(sourceImages);
  const masks = masksOf(result, sourceImages);
  const geo = segGeometry(sourceImages);
  const algorithm: AlgorithmIdentity = {
    name: checkLo(options.algorithm?.name, 'algorithm.name'),
    version: checkLo(options.algorithm?.version, 'algorithm.version'),
    ...(options.algorithm?.family !== undefined ? { family: options.algorithm.family } : {}),
  };
  const descriptions = options.segments ?? [{ label: 'Lesion' }];
  if (!Array.isArray(descriptions) || descriptions.length === 0 || descriptions.length > 255) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', 'segments must list 1–255 segment descriptions.', { option: 'segments' });
  }
  const segments = descriptions.map((d, i) => segmentItem(d, i + 1, algorithm));
  const { rows, columns } = sourceImages[0]!.meta;
  const pixels = rows * columns;

  // One binary frame per (segment, image) with any pixel (or every one), in segment then slice-position order.
  // a boolean, not a truthy value: the string 'false' used to omit empty frames and NaN to write every one
  const omitEmpty: unknown = options.omitEmptyFrames ?? true;
  if (typeof omitEmpty !== 'boolean') throw resultError('DICOM_RESULT_INVALID_INPUT', 'omitEmptyFrames must be true or false.', { option: 'omitEmptyFrames' });
  const order = sourceImages.map((_, i) => i).sort((a, b) => geo.positionIndex[a]! - geo.positionIndex[b]! || a - b);
  const frames: Uint8Array[] = [];
  const groups: Record<string, unknown>[] = [];
  const counts = segments.map(() => 0);
  for (let s = 1; s <= segments.length; s++) {
    for (const i of order) {
      const mask = masks[i]!.mask;
      const frame = new Uint8Array(pixels);
      let any = false;
      for (let p = 0; p < pixels; p++) {
        const v = mask[p]!;
        if (v === 0) continue;
        if (!Number.isFinite(v)) {
          // a NaN (a broken probability map) is not 0, so it would otherwise be written as lesion
          throw resultError('DICOM_RESULT_INVALID_INPUT', `Mask ${i} holds a non-finite value at pixel ${p}; mask values must be finite numbers.`, { option: 'result', index: i, pixel: p });
        }
        if (segments.length > 1 && !(Number.isInteger(v) && v >= 1 && v <= segments.length)) {
          throw resultError('DICOM_RESULT_INVALID_INPUT', `Mask ${i} holds the value ${v}; with ${segments.length} segments, mask values must be integers 0–${segments.length}.`, { option: 'result', index: i });
        }
        if (segments.length === 1 || v === s) (frame[p] = 1), (any = true);
      }
      if (!any && omitEmpty) continue;
      if (frames.length >= MAX_FRAMES) throw resultError('DICOM_RESULT_INVALID_INPUT', `More than ${MAX_FRAMES} frames; split the series into several segmentations.`, { option: 'result' });
      frames.push(frame);
      groups.push(perFrame(refs[i]!, s, geo, i));
      counts[s - 1]!++;
    }
  }
  // Number of Frames must be at least 1: when no segment has a pixel, the first segment's empty frames say so explicitly.
  if (frames.length === 0) {
    for (const i of order) {
      frames.push(new Uint8Array(pixels));
      groups.push(perFrame(refs[i]!, 1, geo, i));
      counts[0]!++;
    }
  }

  const now = dicomDateTime(options.now ?? new Date());
  const sopInstanceUid = options.sopInstanceUid === undefined ? newUid() : checkUid(options.sopInstanceUid, 'sopInstanceUid');
  const seriesInstanceUid = options.seriesInstanceUid === undefined ? newUid() : checkUid(options.seriesInstanceUid, 'seriesInstanceUid');
  const manufacturer = checkLo(options.manufacturer ?? 'Lepton', 'manufacturer');
  const shared: Record<string, unknown> = {};
  if (!geo.perFrameOrientation) shared['PlaneOrientationSequence'] = [geo.orientationItem(0)];
  if (!geo.perFrameMeasures) shared['PixelMeasuresSequence'] = [geo.measuresItem(0)];
  const dimensionOrganizationUid = newUid();

  const dataset: Record<string, unknown> = {
    _vrMap: { PixelData: 'OB' },
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    SeriesDate: now.date,
    SeriesTime: now.time,
    ContentDate: now.date,
    ContentTime: now.time,
    TimezoneOffsetFromUTC: '+0000',
    Modality: 'SEG',
    Manufacturer: manufacturer,
    SeriesDescription: checkLo(options.seriesDescription ?? `AI segmentation (${algorithm.name})`.slice(0, 64), 'seriesDescription'),
    ManufacturerModelName: algorithm.name,
    DeviceSerialNumber: checkLo(options.deviceSerialNumber ?? 'LEPTON-SDK', 'deviceSerialNumber'),
    SoftwareVersions: algorithm.version,
    ReferencedSeriesSequence: referencedSeries(refs),
    ...patientStudy(sourceImages[0]!),
    StudyInstanceUID: refs[0]!.studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: checkInt(options.seriesNumber ?? 1000, 'seriesNumber', 0, 2 ** 31 - 1),
    InstanceNumber: checkInt(options.instanceNumber ?? 1, 'instanceNumber', 1, 2 ** 31 - 1),
    FrameOfReferenceUID: geo.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'Segment Number' },
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'Image Position Patient' },
    ],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: frames.length,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    ContentLabel: checkCs(options.contentLabel ?? 'SEGMENTATION', 'contentLabel'),
    ContentDescription: `${algorithm.name} ${algorithm.version}`.slice(0, 64),
    ContentCreatorName: '',
    SegmentationType: 'BINARY',
    SegmentSequence: segments,
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: groups,
    PixelData: [packBits(frames, pixels).buffer],
  };
  const bytes = writePart10(dataset, 'segmentation');
  return {
    bytes,
    sopClassUid: SEG_SOP_CLASS,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: refs[0]!.studyInstanceUid,
    numberOfFrames: frames.length,
    segments: descriptions.map((d, i) => ({ number: i + 1, label: d.label, frames: counts[i]!, propertyType: { ...(d.type ?? CODES.lesion) } })),
    algorithm,
    sourceSeriesInstanceUid: refs[0]!.seriesInstanceUid,
  };
}
