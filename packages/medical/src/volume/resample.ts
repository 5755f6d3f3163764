import { describeValue, LeptonError } from '@lepton/core';
import { MAX_RESAMPLE_VOXELS, MAX_RESAMPLE_VOXELS_LIMIT, volumeError } from './errors.js';
import { trilinear, Volume } from './volume.js';

/** Options for {@link resampleVolume}. */
export interface ResampleOptions {
  /** Value for output voxels whose position falls outside the input grid (cannot happen on the default grid). */
  readonly outside?: number;
  /**
   * Most voxels the output may have (default {@link MAX_RESAMPLE_VOXELS}, 2^27; at most
   * {@link MAX_RESAMPLE_VOXELS_LIMIT}, 2^29). Checked before anything is allocated.
   */
  readonly maxVoxels?: number;
}

/**
 * Resamples a volume onto a grid with another voxel spacing by trilinear interpolation. The new grid keeps the
 * volume's origin (voxel (0, 0, 0) stays where it was) and axis directions, and covers the same extent: along each
 * axis it has `floor((n − 1) · old / new) + 1` voxels. Typical use: isotropic voxels (`resampleVolume(v, 1)`) before a
 * 3-D model, or matching the spacing a model was trained with.
 *
 * @param volume - the input volume
 * @param spacing - new spacing in mm, one number for all three axes or `[i, j, k]`
 * @param options - the value for positions outside the input
 * @returns a new volume; the input is unchanged
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when a spacing is not a positive finite number, `volume`
 *   is not a Volume, or `options` is not an object, its `outside` not a number or its `maxVoxels` not an integer from 1
 *   to {@link MAX_RESAMPLE_VOXELS_LIMIT}; `VOLUME_TOO_LARGE` (before allocating) when the output grid would have more
 *   than `maxVoxels` voxels (a spacing far finer than the volume's, or slices absurdly far apart)
 * @example
 * ```ts
 * import { readDicomFolder, groupSeries, buildVolume, resampleVolume } from '@lepton/medical';
 * const { images } = await readDicomFolder('packages/medical/test/fixtures/volume/ct_axial');
 * const { volume } = await buildVolume(groupSeries(images)[0]!);
 * const iso = resampleVolume(volume, 1); // 0.75 × 0.8 × 2.5 mm → 1 mm voxels
 * console.log(iso.dimensions); // [48, 51, 58]
 * ```
 */
export function resampleVolume(volume: Volume, spacing: number | readonly [number, number, number], options: ResampleOptions = {}): Volume {
  if (!(volume instanceof Volume)) throw new LeptonError('INVALID_ARGUMENT', `resampleVolume: expected a Volume (from buildVolume), got ${describeValue(volume)}.`);
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `resampleVolume: options must be an object, got ${describeValue(options)}.`);
  // a typed array (spacing parsed from DICOM) is as good as an array
  const target = typeof spacing === 'number' ? ([spacing, spacing, spacing] as const) : ArrayBuffer.isView(spacing) && !(spacing instanceof DataView) ? (Array.from(spacing as unknown as ArrayLike<number>) as unknown as readonly [number, number, number]) : spacing;
  if (!Array.isArray(target) || target.length !== 3 || !target.every((s) => Number.isFinite(s) && s > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `resampleVolume: spacing must be a positive number or three of them (mm); got ${Array.isArray(target) ? `[${target.map((s) => describeValue(s)).join(', ')}]` : describeValue(spacing)}.`);
  }
  const outside: unknown = options.outside ?? Number.NaN;
  // a Float32Array would coerce '5' to 5 and throw on a Symbol or a BigInt
  if (typeof outside !== 'number') throw new LeptonError('INVALID_ARGUMENT', `resampleVolume: outside must be a number (NaN allowed), got ${describeValue(outside)}.`);
  const maxVoxels: unknown = options.maxVoxels ?? MAX_RESAMPLE_VOXELS;
  if (typeof maxVoxels !== 'number' || !Number.isInteger(maxVoxels) || maxVoxels < 1 || maxVoxels > MAX_RESAMPLE_VOXELS_LIMIT) {
    throw new LeptonError('INVALID_ARGUMENT', `resampleVolume: maxVoxels must be an integer from 1 to ${MAX_RESAMPLE_VOXELS_LIMIT}, got ${describeValue(maxVoxels)}.`);
  }
  const ratio = target.map((s, a) => s / volume.spacing[a]!) as [number, number, number];
  // 1e-9 relative slack: 0.75 × 63 / 1 must give 48 voxels, not 47 because of binary rounding
  const dims = volume.dimensions.map((n, a) => Math.floor(((n - 1) * volume.spacing[a]!) / target[a]! + 1e-9) + 1) as [number, number, number];
  const [nx, ny, nz] = dims;
  // Bounded before the allocation: a spacing of 1e-6 mm, or slices 1e300 mm apart, gave a raw RangeError (or an
  // Infinity length), and slices 1e7 mm apart a silent 640 MB allocation. The product is compared in floating point,
  // which cannot overflow to a wrong "small" number.
  if (!dims.every((n) => Number.isFinite(n) && n >= 1) || nx * ny * nz > maxVoxels) {
    const shown = dims.map((n) => (Number.isFinite(n) ? String(n) : 'too many')).join(' × ');
    throw volumeError(
      'VOLUME_TOO_LARGE',
      `resampleVolume: the new grid would be ${shown} voxels, more than the ${maxVoxels} allowed; use a coarser spacing, check the volume's spacing (${volume.spacing.map((s) => describeValue(s)).join(', ')} mm), or raise maxVoxels (at most ${MAX_RESAMPLE_VOXELS_LIMIT}).`,
      { dimensions: dims.map((n) => (Number.isFinite(n) ? n : null)), maxVoxels },
    );
  }
  const data = new Float32Array(nx * ny * nz);
  let p = 0;
  for (let k = 0; k < nz; k++) {
    const z = k * ratio[2];
    for (let j = 0; j < ny; j++) {
      const y = j * ratio[1];
      for (let i = 0; i < nx; i++) data[p++] = trilinear(volume, i * ratio[0], y, z, outside);
    }
  }
  return new Volume({
    data,
    dimensions: dims,
    spacing: target,
    origin: volume.origin,
    direction: volume.direction,
    ...(volume.unit === undefined ? {} : { unit: volume.unit }),
    ...(volume.frameOfReferenceUid === undefined ? {} : { frameOfReferenceUid: volume.frameOfReferenceUid }),
  });
}
