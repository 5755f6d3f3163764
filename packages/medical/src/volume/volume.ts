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

/** An integer, or ±Infinity (outside every grid): what {@link Volume.at} takes. */
const isVoxelIndex = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v) && (!Number.isFinite(v) || Number.isInteger(v));

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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `data` is not a Float32Array of nx·ny·nz values,
   *   a dimension is not a positive integer, a spacing is not a positive finite number, the origin or an axis is not
   *   three finite numbers, the axes are degenerate, or `unit`/`frameOfReferenceUid` is not a string
   */
  constructor(init: VolumeInit) {
    if (typeof init !== 'object' || init === null) throw new LeptonError('INVALID_ARGUMENT', `A volume needs { data, dimensions, spacing, origin, direction }, got ${describeValue(init)}.`);
    const dims: unknown = init.dimensions;
    if (!Array.isArray(dims) || dims.length !== 3) throw new LeptonError('INVALID_ARGUMENT', `Volume dimensions must be [nx, ny, nz], got ${describeValue(dims)}.`);
    const [nx, ny, nz] = dims as [unknown, unknown, unknown];
    const data: unknown = init.data;
    if (![nx, ny, nz].every((n) => Number.isInteger(n) && (n as number) > 0) || !(data instanceof Float32Array) || data.length !== (nx as number) * (ny as number) * (nz as number)) {
      const shown = data instanceof Float32Array ? describeValue(data.length) : `${describeValue(data)} (a Float32Array is needed)`;
      throw new LeptonError(
        'INVALID_ARGUMENT',
        `A volume of ${[nx, ny, nz].map((n) => describeValue(n)).join('×')} voxels needs ${[nx, ny, nz].every((n) => Number.isInteger(n) && (n as number) > 0) ? (nx as number) * (ny as number) * (nz as number) : 'whole-number dimensions and'} values; got ${shown}.`,
      );
    }
    if (!isVec3(init.spacing) || !init.spacing.every((s) => s > 0)) {
      throw new LeptonError('INVALID_ARGUMENT', `Voxel spacing must be three positive finite numbers; got ${Array.isArray(init.spacing) ? `[${(init.spacing as unknown[]).map((s) => describeValue(s)).join(', ')}]` : describeValue(init.spacing)}.`);
    }
    if (!isVec3(init.origin)) throw new LeptonError('INVALID_ARGUMENT', `The volume origin must be three finite numbers (mm); got ${describeValue(init.origin)}.`);
    const direction: unknown = init.direction;
    if (!Array.isArray(direction) || direction.length !== 3 || !direction.every((d) => isVec3(d))) {
      throw new LeptonError('INVALID_ARGUMENT', `The volume direction must be three axes of three finite numbers; got ${describeValue(direction)}.`);
    }
    for (const [name, v] of [['unit', init.unit], ['frameOfReferenceUid', init.frameOfReferenceUid]] as const) {
      if (v !== undefined && typeof v !== 'string') throw new LeptonError('INVALID_ARGUMENT', `The volume ${name} must be a string when given; got ${describeValue(v)}.`);
    }
    this.data = init.data;
    this.dimensions = [nx as number, ny as number, nz as number];
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `i`, `j` or `k` is not an integer inside the grid
   *   (a NaN or fractional index was a NaN or fractional offset; a Symbol a TypeError)
   */
  index(i: number, j: number, k: number): number {
    const [nx, ny, nz] = this.dimensions;
    if (!isIndex(i, nx) || !isIndex(j, ny) || !isIndex(k, nz)) {
      throw new LeptonError('INVALID_ARGUMENT', `index: (i, j, k) must be integers inside the ${nx}×${ny}×${nz} grid, got (${describeValue(i)}, ${describeValue(j)}, ${describeValue(k)}).`);
    }
    return i + nx * (j + ny * k);
  }

  /**
   * The value of voxel `(i, j, k)`, or undefined outside the grid.
   *
   * @param i - column
   * @param j - row
   * @param k - slice
   * @returns the voxel value
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an index that is not a number, NaN or fractional
   */
  at(i: number, j: number, k: number): number | undefined {
    // typeof first: `<` on a Symbol throws a TypeError, on an object runs its valueOf; a NaN or 1.5 index is no voxel
    if (!isVoxelIndex(i) || !isVoxelIndex(j) || !isVoxelIndex(k)) {
      throw new LeptonError('INVALID_ARGUMENT', `at: (i, j, k) must be integer voxel indices (use sample() for fractional positions), got (${describeValue(i)}, ${describeValue(j)}, ${describeValue(k)}).`);
    }
    const [nx, ny, nz] = this.dimensions;
    if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) return undefined;
    return this.data[i + nx * (j + ny * k)]; // checked above: no second check through index()
  }

  /**
   * Patient position (LPS, mm) of a voxel position; fractional indices are allowed.
   *
   * @param ijk - `[i, j, k]`
   * @returns `[x, y, z]`
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless given three finite numbers
   */
  voxelToPatient(ijk: Vec3): Vec3 {
    checkPoint(ijk, 'voxelToPatient');
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless given three finite numbers
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
    checkPoint(xyz, 'patientToVoxel');
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless `ijk` is three finite numbers and `outside` a number
   */
  sample(ijk: Vec3, outside = Number.NaN): number {
    checkPoint(ijk, 'sample');
    if (typeof outside !== 'number') throw new LeptonError('INVALID_ARGUMENT', `sample: outside must be a number (NaN allowed), got ${describeValue(outside)}.`);
    return trilinear(this, ijk[0], ijk[1], ijk[2], outside);
  }
}

/** An integer index in [0, n). */
const isIndex = (v: unknown, n: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n;

/** Three finite numbers (a point, a spacing, an axis): what a JavaScript caller passes is checked, not trusted. */
function isVec3(v: unknown): v is Vec3 {
  // a typed array (a position parsed from DICOM) is as good as an array
  const list = Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<unknown>) : undefined;
  return list !== undefined && list.length === 3 && list.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** A point from a caller: a NaN or infinite coordinate would come back as NaN coordinates or a NaN value. */
function checkPoint(p: unknown, where: string): void {
  if (!isVec3(p)) throw new LeptonError('INVALID_ARGUMENT', `${where}: expected three finite numbers, got ${Array.isArray(p) ? `[${p.slice(0, 3).map((x: unknown) => describeValue(x)).join(', ')}${p.length > 3 ? ', …' : ''}]` : describeValue(p)}.`);
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
