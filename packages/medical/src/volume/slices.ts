import type { DicomImage } from '../dicom/image.js';
import { volumeError } from './errors.js';
import type { VolumeIssue } from './issues.js';
import { cross, dot, MAX_ORIENTATION_COSINE, norm, normalize, type Vec3 } from './vec.js';

/** One image placed along the slice normal. @internal */
export interface PlacedSlice {
  readonly image: DicomImage;
  readonly label: string;
  /** Image Position (Patient). */
  readonly position: Vec3;
  /** Distance along the slice normal (position · normal), mm. */
  readonly t: number;
}

/** The images that can form one volume, ordered, and what was set aside. @internal */
export interface SliceSelection {
  readonly slices: PlacedSlice[];
  readonly rowDirection: Vec3;
  readonly columnDirection: Vec3;
  readonly normal: Vec3;
  readonly rows: number;
  readonly columns: number;
  /** [row spacing, column spacing] as Pixel Spacing stores it. */
  readonly pixelSpacing: readonly [number, number];
  readonly issues: VolumeIssue[];
}

/** Tolerances, resolved. @internal */
export interface SliceTolerances {
  readonly position: number;
  readonly orientation: number;
}

const label = (image: DicomImage, index: number): string => image.source ?? `image ${index}`;

const sameOrientation = (a: readonly number[], b: readonly number[], tol: number): boolean =>
  a.every((v, i) => Math.abs(v - b[i]!) <= tol);

/**
 * Chooses the images of a series that can be stacked (single-frame greyscale, with geometry, of the most common
 * orientation and size) and orders them along the slice normal — the cross product of the row and column direction
 * cosines — by the projection of Image Position (Patient) on it. File names and Instance Numbers play no part in
 * the order: both are routinely wrong (exports renumber files; some scanners number slices in acquisition order,
 * which for interleaved or reversed acquisitions is not spatial order).
 * @internal
 */
export function selectSlices(images: readonly DicomImage[], tol: SliceTolerances): SliceSelection {
  const issues: VolumeIssue[] = [];
  if (images.length === 0) throw volumeError('VOLUME_EMPTY', 'No images were given: pass the images of one series.');
  const seriesUids = new Set(images.map((im) => im.meta.seriesInstanceUid ?? ''));
  if (seriesUids.size > 1) {
    throw volumeError(
      'VOLUME_MULTIPLE_SERIES',
      `The images belong to ${seriesUids.size} series. Group them with groupSeries(images) and build one series at a time.`,
      { series: seriesUids.size },
    );
  }

  const unsupported: string[] = [];
  const noGeometry: string[] = [];
  type Candidate = { image: DicomImage; label: string; iop: readonly number[]; ipp: Vec3; order: number };
  const candidates: Candidate[] = [];
  images.forEach((image, n) => {
    const m = image.meta;
    if (m.samplesPerPixel !== 1 || m.numberOfFrames !== 1 || !m.hasPixelData) {
      unsupported.push(label(image, n));
    } else if (
      m.imagePositionPatient === undefined ||
      m.imageOrientationPatient === undefined ||
      !m.imagePositionPatient.every(Number.isFinite) ||
      !m.imageOrientationPatient.every(Number.isFinite)
    ) {
      noGeometry.push(label(image, n));
    } else {
      candidates.push({ image, label: label(image, n), iop: m.imageOrientationPatient, ipp: m.imagePositionPatient, order: n });
    }
  });
  if (unsupported.length > 0) {
    issues.push({
      kind: 'unsupportedImage',
      sources: unsupported,
      message: `${unsupported.length} image(s) are colour, multi-frame or have no pixels; only single-frame greyscale slices are stacked, so they were left out.`,
    });
  }
  if (noGeometry.length > 0) {
    issues.push({
      kind: 'missingGeometry',
      sources: noGeometry,
      message: `${noGeometry.length} image(s) have no Image Position/Orientation (Patient) and were left out.`,
    });
  }
  if (candidates.length === 0) {
    if (unsupported.length === images.length) {
      throw volumeError('VOLUME_UNSUPPORTED', 'None of the images is a single-frame greyscale slice, so there is nothing to stack.', {
        images: images.length,
      });
    }
    throw volumeError(
      'VOLUME_NO_GEOMETRY',
      'No image has Image Position (Patient) and Image Orientation (Patient), so the slices cannot be placed in space. ' +
        'Volumes need cross-sectional images (CT, MR, PET); projection images (radiographs) have no slice geometry.',
      { images: images.length },
    );
  }

  // Group by geometry; the most common group wins (ties: the group seen first). A single localizer or a reformatted
  // slice in a series must not stop the real slices from forming a volume.
  type Group = { iop: readonly number[]; rows: number; columns: number; spacing: readonly number[]; members: Candidate[] };
  const groups: Group[] = [];
  for (const c of candidates) {
    const m = c.image.meta;
    const spacing = m.pixelSpacing ?? [1, 1];
    const g = groups.find(
      (x) =>
        sameOrientation(x.iop, c.iop, tol.orientation) &&
        x.rows === m.rows &&
        x.columns === m.columns &&
        sameOrientation(x.spacing, spacing, 1e-6 + 1e-4 * Math.max(...spacing)),
    );
    if (g === undefined) groups.push({ iop: c.iop, rows: m.rows, columns: m.columns, spacing, members: [c] });
    else g.members.push(c);
  }
  const chosen = groups.reduce((best, g) => (g.members.length > best.members.length ? g : best), groups[0]!);
  const otherOrientation = groups.filter((g) => g !== chosen && !sameOrientation(g.iop, chosen.iop, tol.orientation));
  const otherSize = groups.filter((g) => g !== chosen && sameOrientation(g.iop, chosen.iop, tol.orientation));
  if (otherOrientation.length > 0) {
    const excluded = otherOrientation.flatMap((g) => g.members).sort((a, b) => a.order - b.order);
    issues.push({
      kind: 'mixedOrientation',
      sources: excluded.map((c) => c.label),
      orientation: [...chosen.iop],
      excludedOrientations: excluded.map((c) => [...c.iop]),
      message: `${excluded.length} image(s) have another Image Orientation than the series' ${chosen.members.length} slices and were left out (a localizer or a reformat in the same series).`,
    });
  }
  if (otherSize.length > 0) {
    const excluded = otherSize.flatMap((g) => g.members).sort((a, b) => a.order - b.order);
    issues.push({
      kind: 'mixedGeometry',
      sources: excluded.map((c) => c.label),
      message: `${excluded.length} image(s) have the series' orientation but other Rows, Columns or Pixel Spacing and were left out.`,
    });
  }

  const rowRaw = chosen.iop.slice(0, 3) as unknown as Vec3;
  const columnRaw = chosen.iop.slice(3, 6) as unknown as Vec3;
  const norms: [number, number] = [norm(rowRaw), norm(columnRaw)];
  if (!(norms[0] > 1e-6 && norms[1] > 1e-6)) {
    throw volumeError('VOLUME_NO_GEOMETRY', 'Image Orientation (Patient) is degenerate: a direction cosine vector is zero.', { norms });
  }
  const rowDirection = normalize(rowRaw);
  const columnDirection = normalize(columnRaw);
  const n = cross(rowDirection, columnDirection);
  const cosine = dot(rowDirection, columnDirection);
  const angle = (Math.acos(Math.max(-1, Math.min(1, cosine))) * 180) / Math.PI;
  if (!(norm(n) > 0.5) || Math.abs(cosine) > MAX_ORIENTATION_COSINE) {
    throw volumeError(
      'VOLUME_NO_GEOMETRY',
      `Image Orientation (Patient) is degenerate: its row and column directions are ${angle.toFixed(2)}° apart, not perpendicular.`,
      { angle },
    );
  }
  if (Math.abs(cosine) > 1e-3 || Math.abs(norms[0] - 1) > 1e-3 || Math.abs(norms[1] - 1) > 1e-3) {
    issues.push({
      kind: 'nonOrthogonalOrientation',
      angle,
      norms,
      sources: [],
      message: `Image Orientation (Patient) is not orthonormal (row and column directions ${angle.toFixed(3)}° apart, lengths ${norms[0].toFixed(4)} and ${norms[1].toFixed(4)}); the directions were normalised and used as written.`,
    });
  }
  const normal = normalize(n);
  const slices: PlacedSlice[] = chosen.members
    .map((c) => ({ image: c.image, label: c.label, position: c.ipp, t: dot(c.ipp, normal), order: c.order }))
    .sort(
      (a, b) =>
        a.t - b.t ||
        (a.image.meta.instanceNumber ?? Number.MAX_SAFE_INTEGER) - (b.image.meta.instanceNumber ?? Number.MAX_SAFE_INTEGER) ||
        a.order - b.order,
    )
    .map(({ image, label: l, position, t }) => ({ image, label: l, position, t }));
  if (chosen.members[0]!.image.meta.pixelSpacing === undefined) {
    issues.push({
      kind: 'assumedSpacing',
      axis: 'pixel',
      value: 1,
      sources: [],
      message: 'The images have no Pixel Spacing; 1 mm was assumed, so distances in this volume are in pixels, not mm.',
    });
  }
  return {
    slices,
    rowDirection,
    columnDirection,
    normal,
    rows: chosen.rows,
    columns: chosen.columns,
    pixelSpacing: [chosen.spacing[0]!, chosen.spacing[1]!],
    issues,
  };
}
