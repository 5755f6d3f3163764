// The parts of a Segmentation data set: checked masks, Segment Sequence items, references, per-frame groups.
import type { DicomImage } from '../dicom/image.js';
import type { Segmentation, SeriesSegmentation } from '../diagnosis/segmentation.js';
import { CODES, codeItem } from './codes.js';
import { resultError } from './errors.js';
import { PALETTE, rgbToDicomLab } from './frames.js';
import type { SegGeometry } from './geometry.js';
import { checkLo, checkUid, ds, newUid, type SourceRef } from './part10.js';
import type { SegmentDescription } from './seg.js';
import type { AlgorithmIdentity } from './types.js';

/** Masks in source order, with their sizes checked against the images. @internal */
export function masksOf(result: SeriesSegmentation | readonly Segmentation[] | Segmentation, images: readonly DicomImage[]): Segmentation[] {
  const slices: readonly Segmentation[] = Array.isArray(result)
    ? (result as readonly Segmentation[])
    : typeof result === 'object' && result !== null && Array.isArray((result as SeriesSegmentation).slices)
      ? (result as SeriesSegmentation).slices
      : [result as Segmentation];
  if (slices.length !== images.length) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `The segmentation has ${slices.length} mask(s) and sourceImages ${images.length} image(s); pass the images in the order they were segmented.`, { option: 'sourceImages' });
  }
  slices.forEach((s, i) => {
    const im = images[i]!;
    if (typeof s !== 'object' || s === null || !ArrayBuffer.isView(s.mask)) throw resultError('DICOM_RESULT_INVALID_INPUT', `Mask ${i} is not a Segmentation (from LesionSegmenter.predict).`, { option: 'result', index: i });
    if (s.rows !== im.meta.rows || s.columns !== im.meta.columns || s.mask.length !== im.meta.rows * im.meta.columns) {
      throw resultError('DICOM_RESULT_INVALID_INPUT', `Mask ${i} is ${s.rows}×${s.columns} (${s.mask.length} values) but sourceImages[${i}] is ${im.meta.rows}×${im.meta.columns}.`, { option: 'result', index: i });
    }
    if (s.source !== undefined && im.source !== undefined && s.source !== im.source) {
      throw resultError('DICOM_RESULT_INVALID_INPUT', `Mask ${i} was made from another image than sourceImages[${i}]; pass the images in the order they were segmented.`, { option: 'sourceImages', index: i });
    }
  });
  return [...slices];
}

/** One Segment Sequence item, checked. @internal */
export function segmentItem(d: SegmentDescription, n: number, algorithm: AlgorithmIdentity): Record<string, unknown> {
  const opt = `segments[${n - 1}]`;
  if (typeof d !== 'object' || d === null) throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt} must be an object with a label.`, { option: opt });
  const color = d.color ?? PALETTE[(n - 1) % PALETTE.length]!;
  if (!Array.isArray(color) || color.length !== 3 || color.some((c) => !Number.isFinite(c) || c < 0 || c > 255)) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt}.color must be three sRGB values in [0, 255].`, { option: `${opt}.color` });
  }
  const item: Record<string, unknown> = {
    SegmentNumber: n,
    SegmentLabel: checkLo(d.label, `${opt}.label`),
    SegmentedPropertyCategoryCodeSequence: [codeItem(d.category ?? CODES.morphologicallyAlteredStructure, `${opt}.category`)],
    SegmentedPropertyTypeCodeSequence: [codeItem(d.type ?? CODES.lesion, `${opt}.type`)],
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: algorithm.name,
    SegmentationAlgorithmIdentificationSequence: [
      {
        AlgorithmFamilyCodeSequence: [codeItem(algorithm.family ?? CODES.artificialIntelligence, 'algorithm.family')],
        AlgorithmName: algorithm.name,
        AlgorithmVersion: algorithm.version,
      },
    ],
    RecommendedDisplayCIELabValue: rgbToDicomLab(color as [number, number, number]),
  };
  if (d.description !== undefined) item['SegmentDescription'] = checkLo(d.description, `${opt}.description`);
  if (d.trackingId !== undefined) {
    item['TrackingID'] = checkLo(d.trackingId, `${opt}.trackingId`);
    item['TrackingUID'] = d.trackingUid === undefined ? newUid() : checkUid(d.trackingUid, `${opt}.trackingUid`);
  }
  return item;
}

/** Common Instance Reference: the source instances, grouped by series in first-seen order. @internal */
export function referencedSeries(refs: readonly SourceRef[]): Record<string, unknown>[] {
  const bySeries = new Map<string, Record<string, unknown>[]>();
  for (const r of refs) {
    const list = bySeries.get(r.seriesInstanceUid) ?? [];
    list.push({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid });
    bySeries.set(r.seriesInstanceUid, list);
  }
  return [...bySeries].map(([uid, list]) => ({ SeriesInstanceUID: uid, ReferencedInstanceSequence: list }));
}

/** The per-frame functional groups of one frame. @internal */
export function perFrame(ref: SourceRef, segment: number, geo: SegGeometry, image: number): Record<string, unknown> {
  const item: Record<string, unknown> = {
    DerivationImageSequence: [
      {
        SourceImageSequence: [
          { ReferencedSOPClassUID: ref.sopClassUid, ReferencedSOPInstanceUID: ref.sopInstanceUid, PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing, 'code')] },
        ],
        DerivationCodeSequence: [codeItem(CODES.segmentation, 'code')],
      },
    ],
    FrameContentSequence: [{ DimensionIndexValues: [segment, geo.positionIndex[image]!] }],
    PlanePositionSequence: [{ ImagePositionPatient: geo.positions[image]!.map((v) => ds(v, 'Image Position (Patient)')) }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segment }],
  };
  if (geo.perFrameOrientation) item['PlaneOrientationSequence'] = [geo.orientationItem(image)];
  if (geo.perFrameMeasures) item['PixelMeasuresSequence'] = [geo.measuresItem(image)];
  return item;
}
