import { describeValue, LeptonError } from '@lepton/core';
import { dot, invert3, scale, type Vec3 } from './vec.js';

/** What {@link Volume}'s constructor takes. */
export interface VolumeInit {
  /** Voxel values, `i` (column) fastest, then `j` (row), then `k` (slice): `data[i + nx * (j + ny * k)]`. */
  readonly data: Float32Array;
  /** `[nx, ny, nz]`: columns, rows, slices. */
  readonly dimensions: readonly [number, number, number];
  /** Distance in mm between neighbouring voxels along `i`, `j` and `k`. */
  readonly spacing: readonly [number, number, number];
  /** Patient position (LPS, mm) of the centre of voxel (0, 0, 0). */
  readonly origin: Vec3;
  /** Unit vectors of the `i`, `j` and `k` axes in patient coordinates. */
  readonly direction: readonly [Vec3, Vec3, Vec3];
  /** Unit of the values, e.g. `HU` (Rescale Type, or `HU` for CT), when known. */
  readonly unit?: string;
  /** Frame of Reference UID shared by the slices, when present. */
  readonly frameOfReferenceUid?: string;
}

/**
 * A 3-D image on a regular grid with its place in patient space. Voxel `(i, j, k)` — column, row, slice — lies at
 * `origin + i·spacing[0]·direction[0] + j·spacing[1]·direction[1] + k·spacing[2]·direction[2]` in DICOM patient
 * coordinates (LPS: x to the patient's left, y posterior, z superior, mm); {@link Volume.matrix} is that map as a 4×4
 * matrix. Made by {@link buildVolume} and {@link resampleVolume}.
 */
export class Volume {
  /** Voxel values (Float32, e.g. Hounsfield units), `data[i + nx * (j + ny * k)]`. */
  readonly data: Float32Array;
  /** `[nx, ny, nz]`: columns, rows, slices. */
  readonly dimensions: readonly [number, number, number];
  /** Voxel spacing in mm along `i`, `j`, `k`. */
  readonly spacing: readonly [number, number, number];
  /** Patient position (LPS, mm) of the centre of voxel (0, 0, 0). */
  readonly origin: Vec3;
  /**
   * Unit vectors of the `i`, `j`, `k` axes (LPS). `i` and `j` are the slices' row and column directions; `k` is the
   * slice normal, or the slice-to-slice direction when the series is sheared (gantry tilt).
   */
  readonly direction: readonly [Vec3, Vec3, Vec3];
  /**
   * Voxel → patient (LPS) transform, 4×4, row-major: `[x, y, z, 1]ᵀ = M · [i, j, k, 1]ᵀ`. Its columns are the three
   * axis steps (direction × spacing) and the origin.
   */
  readonly matrix: readonly number[];
  /** Unit of the values, when known (`HU` for CT). */
  readonly unit: string | undefined;
  /** Frame of Reference UID of the series, when present. */
  readonly frameOfReferenceUid: string | undefined;
  readonly #inverse: [Vec3, Vec3, Vec3];

  /**
   * @param init - values, grid and geometry
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `data` does not hold nx·ny·nz values, a spacing is
   *   not positive, or the axes are degenerate
   */
  constructor(init: VolumeInit) {
    const [nx, ny, nz] = init.dimensions;
    if (![nx, ny, nz].every((n) => Number.isInteger(n) && n > 0) || init.data.length !== nx * ny * nz) {
      throw new LeptonError(
        'INVALID_ARGUMENT',
        `A volume of ${[nx, ny, nz].map((n) => describeValue(n)).join('×')} voxels needs ${[nx, ny, nz].every((n) => typeof n === 'number') ? nx * ny * nz : 'whole-number dimensions and'} values; got ${describeValue(init.data?.length)}.`,
      );
    }
    if (!init.spacing.every((s) => Number.isFinite(s) && s > 0)) {
      throw new LeptonError('INVALID_ARGUMENT', `Voxel spacing must be positive; got [${init.spacing.map((s) => describeValue(s)).join(', ')}].`);
    }
    this.data = init.data;
    this.dimensions = [nx, ny, nz];
    this.spacing = [...init.spacing] as [number, number, number];
    this.origin = [...init.origin] as [number, number, number];
    this.direction = init.direction.map((d) => [...d]) as unknown as [Vec3, Vec3, Vec3];
    const steps = this.direction.map((d, a) => scale(d, this.spacing[a]!)) as [Vec3, Vec3, Vec3];
    const [ci, cj, ck] = steps;
    this.matrix = [
      ci[0], cj[0], ck[0], this.origin[0],
      ci[1], cj[1], ck[1], this.origin[1],
      ci[2], cj[2], ck[2], this.origin[2],
      0, 0, 0, 1,
    ];
    this.#inverse = invert3(ci, cj, ck);
    if (!this.#inverse.every((row) => row.every(Number.isFinite))) {
      throw new LeptonError('INVALID_ARGUMENT', 'The volume axes are degenerate (two directions are parallel).');
    }
    this.unit = init.unit;
    this.frameOfReferenceUid = init.frameOfReferenceUid;
  }

  /**
   * Index into {@link Volume.data} of voxel `(i, j, k)`.
   *
   * @param i - column
   * @param j - row
   * @param k - slice
   * @returns `i + nx * (j + ny * k)`
   */
  index(i: number, j: number, k: number): number {
    return i + this.dimensions[0] * (j + this.dimensions[1] * k);
  }

  /**
   * The value of voxel `(i, j, k)`, or undefined outside the grid.
   *
   * @param i - column
   * @param j - row
   * @param k - slice
   * @returns the voxel value
   */
  at(i: number, j: number, k: number): number | undefined {
    const [nx, ny, nz] = this.dimensions;
    if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) return undefined;
    return this.data[this.index(i, j, k)];
  }

  /**
   * Patient position (LPS, mm) of a voxel position; fractional indices are allowed.
   *
   * @param ijk - `[i, j, k]`
   * @returns `[x, y, z]`
   */
  voxelToPatient(ijk: Vec3): Vec3 {
    const m = this.matrix;
    const [i, j, k] = ijk;
    return [
      m[0]! * i + m[1]! * j + m[2]! * k + m[3]!,
      m[4]! * i + m[5]! * j + m[6]! * k + m[7]!,
      m[8]! * i + m[9]! * j + m[10]! * k + m[11]!,
    ];
  }

  /**
   * Continuous voxel position of a patient point (the inverse of {@link Volume.voxelToPatient}).
   *
   * @param xyz - patient position, LPS mm
   * @returns `[i, j, k]`, fractional
   * @example
   * ```ts
   * import { readDicomFolder, groupSeries, buildVolume } from '@lepton/medical';
   * const { images } = await readDicomFolder('packages/medical/test/fixtures/volume/ct_axial');
   * const { volume } = await buildVolume(groupSeries(images)[0]!);
   * const [i, j, k] = volume.patientToVoxel([8, -4, 12]).map(Math.round);
   * console.log(volume.at(i!, j!, k!)); // 60: the phantom's lesion
   * ```
   */
  patientToVoxel(xyz: Vec3): Vec3 {
    const d: Vec3 = [xyz[0] - this.origin[0], xyz[1] - this.origin[1], xyz[2] - this.origin[2]];
    const [r0, r1, r2] = this.#inverse;
    return [dot(r0, d), dot(r1, d), dot(r2, d)];
  }

  /**
   * Trilinear interpolation at a continuous voxel position.
   *
   * @param ijk - `[i, j, k]`, fractional
   * @param outside - value for positions outside the grid (default `NaN`)
   * @returns the interpolated value
   */
  sample(ijk: Vec3, outside = Number.NaN): number {
    return trilinear(this, ijk[0], ijk[1], ijk[2], outside);
  }
}

/**
 * Trilinear interpolation on a volume's grid. A coordinate within 1e-6 of the last index counts as on the grid, so
 * that resampling onto a grid whose extent equals the original's never loses its last plane to rounding.
 * @internal
 */
export function trilinear(v: Volume, x: number, y: number, z: number, outside: number): number {
  const [nx, ny, nz] = v.dimensions;
  const eps = 1e-6;
  if (x < -eps || y < -eps || z < -eps || x > nx - 1 + eps || y > ny - 1 + eps || z > nz - 1 + eps) return outside;
  const cx = Math.min(Math.max(x, 0), nx - 1);
  const cy = Math.min(Math.max(y, 0), ny - 1);
  const cz = Math.min(Math.max(z, 0), nz - 1);
  const x0 = Math.min(Math.floor(cx), Math.max(nx - 2, 0));
  const y0 = Math.min(Math.floor(cy), Math.max(ny - 2, 0));
  const z0 = Math.min(Math.floor(cz), Math.max(nz - 2, 0));
  const fx = cx - x0;
  const fy = cy - y0;
  const fz = cz - z0;
  const x1 = Math.min(x0 + 1, nx - 1);
  const y1 = Math.min(y0 + 1, ny - 1);
  const z1 = Math.min(z0 + 1, nz - 1);
  const d = v.data;
  const sxy = nx * ny;
  const at = (i: number, j: number, k: number): number => d[i + nx * j + sxy * k]!;
  const c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx;
  const c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx;
  const c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx;
  const c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx;
  const c0 = c00 * (1 - fy) + c10 * fy;
  const c1 = c01 * (1 - fy) + c11 * fy;
  return c0 * (1 - fz) + c1 * fz;
}
