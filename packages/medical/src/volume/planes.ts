import { describeValue, LeptonError } from '@lepton/core';
import { dot, scale, type Vec3 } from './vec.js';
import { Volume } from './volume.js';

/** A patient-aligned plane: axial (perpendicular to head–feet), coronal (front–back), sagittal (left–right). */
export type PlaneOrientation = 'axial' | 'coronal' | 'sagittal';

/** A 2-D plane cut from a {@link Volume} by {@link extractPlane}, with DICOM-style geometry. */
export interface VolumePlane {
  /** Which plane this is. */
  readonly orientation: PlaneOrientation;
  /** The volume axis (0 = i, 1 = j, 2 = k) perpendicular to the plane. */
  readonly axis: 0 | 1 | 2;
  /** Index along that axis. */
  readonly index: number;
  /** Image height. */
  readonly rows: number;
  /** Image width. */
  readonly columns: number;
  /** Row-major values (`pixels[r * columns + c]`), in the volume's unit. */
  readonly pixels: Float32Array;
  /** [row spacing, column spacing] in mm, in DICOM Pixel Spacing order. */
  readonly pixelSpacing: readonly [number, number];
  /** Patient position (LPS, mm) of the centre of the top-left pixel, as Image Position (Patient). */
  readonly imagePositionPatient: Vec3;
  /** Direction cosines of the rows, then of the columns, as Image Orientation (Patient). */
  readonly imageOrientationPatient: readonly [number, number, number, number, number, number];
}

const PATIENT_AXES: readonly Vec3[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];
const PERMUTATIONS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0],
];

/**
 * Assigns each patient axis (x, y, z) the volume axis closest to it, as a whole: the permutation with the largest
 * summed |cosine|. Per-axis "closest" could give one volume axis to two patient axes on a 45° oblique volume.
 */
function volumeAxisFor(volume: Volume): readonly [number, number, number] {
  let best = PERMUTATIONS[0]!;
  let bestScore = -1;
  for (const perm of PERMUTATIONS) {
    const score = perm.reduce((s, a, p) => s + Math.abs(volume.direction[a]![p]!), 0);
    if (score > bestScore) {
      bestScore = score;
      best = perm;
    }
  }
  return best; // best[p] = volume axis for patient axis p
}

/**
 * Cuts an axial, coronal or sagittal plane out of a volume, without interpolation: the plane is a slab of voxels
 * perpendicular to the volume axis closest to the patient axis (exactly patient-aligned for an axial acquisition,
 * the nearest one for an oblique volume — resample the volume first for true patient-aligned planes). Images come in
 * radiological display convention: the patient's right on the image's left (axial, coronal), anterior at the top of
 * axial images and on the left of sagittal ones, head at the top of coronal and sagittal ones. The returned
 * `imagePositionPatient`, `imageOrientationPatient` and `pixelSpacing` place every pixel in patient space.
 *
 * @param volume - the volume
 * @param orientation - `'axial'`, `'coronal'` or `'sagittal'`
 * @param index - index along the volume axis perpendicular to the plane (default: the middle one)
 * @returns the plane
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown orientation, an index outside the volume,
 *   or a `volume` that is not a Volume
 * @example
 * ```ts
 * import { readDicomFolder, groupSeries, buildVolume, extractPlane } from '@lepton/medical';
 * const { images } = await readDicomFolder('packages/medical/test/fixtures/volume/ct_axial');
 * const { volume } = await buildVolume(groupSeries(images)[0]!);
 * const coronal = extractPlane(volume, 'coronal');
 * console.log(coronal.rows, coronal.columns, coronal.imageOrientationPatient); // 24 64 [1, 0, 0, 0, 0, -1]
 * ```
 */
export function extractPlane(volume: Volume, orientation: PlaneOrientation, index?: number): VolumePlane {
  if (!(volume instanceof Volume)) throw new LeptonError('INVALID_ARGUMENT', `extractPlane: expected a Volume (from buildVolume), got ${describeValue(volume)}.`);
  const axes = { sagittal: 0, coronal: 1, axial: 2 };
  // Own names only: an object from JavaScript whose toString is not a function would throw as a key.
  const normalPatientAxis = typeof orientation === 'string' && Object.hasOwn(axes, orientation) ? axes[orientation] : undefined;
  if (normalPatientAxis === undefined) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown plane orientation ${describeValue(orientation)}: use 'axial', 'coronal' or 'sagittal'.`);
  }
  // image x (columns) and y (rows) as patient directions, in display convention
  const [hPatient, vPatient, vSign] =
    orientation === 'axial' ? ([0, 1, 1] as const) : orientation === 'coronal' ? ([0, 2, -1] as const) : ([1, 2, -1] as const);
  const assign = volumeAxisFor(volume);
  const axis = assign[normalPatientAxis] as 0 | 1 | 2;
  const hAxis = assign[hPatient]!;
  const vAxis = assign[vPatient]!;
  const n = volume.dimensions[axis];
  const at = index ?? Math.floor(n / 2);
  if (!Number.isInteger(at) || at < 0 || at >= n) {
    throw new LeptonError('INVALID_ARGUMENT', `Plane index ${describeValue(at)} is outside the volume: ${orientation} planes run 0 … ${n - 1}.`);
  }
  const flipH = dot(volume.direction[hAxis]!, PATIENT_AXES[hPatient]!) < 0;
  const flipV = dot(volume.direction[vAxis]!, scale(PATIENT_AXES[vPatient]!, vSign)) < 0;
  const columns = volume.dimensions[hAxis]!;
  const rows = volume.dimensions[vAxis]!;
  const pixels = new Float32Array(rows * columns);
  const stride = [1, volume.dimensions[0], volume.dimensions[0] * volume.dimensions[1]];
  const base = at * stride[axis]!;
  for (let r = 0; r < rows; r++) {
    const v = flipV ? rows - 1 - r : r;
    for (let c = 0; c < columns; c++) {
      const h = flipH ? columns - 1 - c : c;
      pixels[r * columns + c] = volume.data[base + v * stride[vAxis]! + h * stride[hAxis]!]!;
    }
  }
  const corner: [number, number, number] = [0, 0, 0];
  corner[axis] = at;
  corner[hAxis] = flipH ? columns - 1 : 0;
  corner[vAxis] = flipV ? rows - 1 : 0;
  const rowDir = scale(volume.direction[hAxis]!, flipH ? -1 : 1);
  const colDir = scale(volume.direction[vAxis]!, flipV ? -1 : 1);
  return {
    orientation,
    axis,
    index: at,
    rows,
    columns,
    pixels,
    pixelSpacing: [volume.spacing[vAxis]!, volume.spacing[hAxis]!],
    imagePositionPatient: volume.voxelToPatient(corner),
    imageOrientationPatient: [...rowDir, ...colDir].map((x) => (x === 0 ? 0 : x)) as unknown as VolumePlane['imageOrientationPatient'],
  };
}
