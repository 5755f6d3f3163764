import type { DicomImage } from '../dicom/image.js';
import { resultError } from './errors.js';
import { ds } from './part10.js';
import { unitSliceNormal } from '../volume/vec.js';

/** The plane geometry of a SEG's source images. @internal */
export interface SegGeometry {
  readonly frameOfReferenceUid: string;
  /** Image Position (Patient) per source image. */
  readonly positions: ReadonlyArray<readonly [number, number, number]>;
  /** 1-based rank of each source image's position along the slice normal (equal positions share a rank). */
  readonly positionIndex: readonly number[];
  /** Orientation differs between images: Plane Orientation goes per frame. */
  readonly perFrameOrientation: boolean;
  /** Pixel spacing or slice thickness differs: Pixel Measures go per frame. */
  readonly perFrameMeasures: boolean;
  orientationItem(image: number): Record<string, unknown>;
  measuresItem(image: number): Record<string, unknown>;
}

const close = (a: readonly number[], b: readonly number[], tol: number): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

/**
 * Checks that the source images can carry a SEG (one size, one frame of reference, full plane geometry) and works out
 * shared vs per-frame groups and each image's position index.
 * @throws LeptonError `DICOM_RESULT_INVALID_INPUT`
 * @internal
 */
export function segGeometry(images: readonly DicomImage[]): SegGeometry {
  const first = images[0]!.meta;
  const bad = (i: number, why: string): never => {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `sourceImages[${i}] ${why}`, { option: 'sourceImages', index: i });
  };
  images.forEach((im, i) => {
    const m = im.meta;
    if (m.rows <= 0 || m.columns <= 0) bad(i, 'has no image (Rows/Columns).');
    if (m.rows !== first.rows || m.columns !== first.columns) bad(i, `is ${m.rows}×${m.columns}, sourceImages[0] ${first.rows}×${first.columns}; a segmentation has one size.`);
    if (m.imagePositionPatient === undefined || m.imageOrientationPatient === undefined || m.pixelSpacing === undefined) {
      bad(i, 'lacks Image Position/Orientation (Patient) or Pixel Spacing, which a segmentation needs to sit on the images.');
    }
    if (m.frameOfReferenceUid === undefined) bad(i, 'has no Frame of Reference UID.');
    if (m.frameOfReferenceUid !== first.frameOfReferenceUid) bad(i, 'is in another frame of reference than sourceImages[0].');
    if (m.numberOfFrames !== 1) bad(i, 'is a multi-frame image; segmentations of multi-frame sources are not supported yet.');
  });
  const orientations = images.map((im) => im.meta.imageOrientationPatient!);
  const positions = images.map((im) => im.meta.imagePositionPatient!);
  const spacing = images.map((im) => im.meta.pixelSpacing!);
  const thickness = images.map((im) => im.meta.sliceThickness);
  const o = orientations[0]!;
  const perFrameOrientation = orientations.some((x) => !close(x, o, 1e-4));
  const perFrameMeasures = spacing.some((s) => !close(s, spacing[0]!, 1e-6)) || thickness.some((t) => t !== thickness[0]);
  const unit = unitSliceNormal(o);
  if (unit === undefined) bad(0, 'has an unusable Image Orientation (Patient) (a zero direction, or row and column directions that are not perpendicular).');
  const normal = unit!;
  const along = positions.map((p) => p[0] * normal[0]! + p[1] * normal[1]! + p[2] * normal[2]!);
  // Rank distinct positions (within 1 µm) from the lowest; Dimension Index Values start at 1.
  const distinct = [...along].sort((a, b) => a - b).filter((v, i, a) => i === 0 || v - a[i - 1]! > 1e-3);
  const positionIndex = along.map((v) => distinct.findIndex((d) => Math.abs(d - v) <= 1e-3) + 1);
  return {
    frameOfReferenceUid: first.frameOfReferenceUid!,
    positions,
    positionIndex,
    perFrameOrientation,
    perFrameMeasures,
    orientationItem: (i) => ({ ImageOrientationPatient: orientations[i]!.map((v) => ds(v, 'Image Orientation (Patient)')) }),
    measuresItem: (i) => {
      const item: Record<string, unknown> = { PixelSpacing: spacing[i]!.map((v) => ds(v, 'Pixel Spacing')) };
      const t = thickness[i];
      if (t !== undefined && t > 0) item['SliceThickness'] = ds(t, 'Slice Thickness');
      return item;
    },
  };
}
