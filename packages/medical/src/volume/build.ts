import { describeValue, LeptonError, isLeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { MAX_BUILD_VOXELS, volumeError } from './errors.js';
import type { VolumeIssue } from './issues.js';
import type { DicomSeries } from './series.js';
import { checkImages } from './series.js';
import { selectSlices, type PlacedSlice, type SliceSelection } from './slices.js';
import { dot, norm, scale, sub, type Vec3 } from './vec.js';
import { Volume } from './volume.js';

/** Options for {@link buildVolume}. Every tolerance has a default that suits CT and MR exports. */
export interface BuildVolumeOptions {
  /**
   * Two slices closer than this along the normal (mm) are duplicates; a grid plane this close to an acquired slice
   * takes that slice's values as they are (default 0.01 mm).
   */
  readonly positionTolerance?: number;
  /** Largest difference between two direction cosines still counted as the same orientation (default 1e-4). */
  readonly orientationTolerance?: number;
  /** Relative deviation from the series' slice spacing reported as irregular spacing (default 0.01, i.e. 1 %). */
  readonly spacingTolerance?: number;
  /**
   * Largest in-plane distance (mm) of a slice's Image Position (Patient) from the line the series' slices lie on
   * (default: half the smaller pixel spacing). A slice further off is left out as an `outlierPosition` issue, never
   * stacked at a place its file does not say.
   */
  readonly inPlaneTolerance?: number;
  /**
   * Most slices that may be missing between two neighbouring slices (default 32). A slice further than this from the
   * rest of the series along the normal is taken as a wrong position and left out (`outlierPosition`) instead of
   * stretching the volume; when the series splits into several such runs, the one with the most slices is kept.
   */
  readonly maxGapSlices?: number;
  /** Most voxels the volume may have, checked before allocating (default {@link MAX_BUILD_VOXELS}); `VOLUME_TOO_LARGE` above. */
  readonly maxVoxels?: number;
}

/** The outcome of {@link buildVolume}. */
export interface VolumeBuild {
  /** The volume, in modality units (Hounsfield units for CT). */
  readonly volume: Volume;
  /** What was found and worked around; empty for a clean series. */
  readonly issues: readonly VolumeIssue[];
  /** The images the volume was built from, in slice order (duplicates and excluded images left out). */
  readonly slices: readonly DicomImage[];
  /** Volume slice indices (`k`) interpolated between acquired slices (gaps, irregular spacing); empty when none. */
  readonly interpolatedSlices: readonly number[];
}

interface ResolvedOptions {
  readonly position: number;
  readonly orientation: number;
  readonly spacing: number;
  readonly inPlane: number | undefined;
  readonly maxGapSlices: number;
  readonly maxVoxels: number;
}

function resolveOptions(o: BuildVolumeOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new LeptonError('INVALID_ARGUMENT', `buildVolume: options must be an object, got ${describeValue(o)}.`);
  // inPlane's default depends on the pixel spacing (see rejectOutliers); 1 here only stands in for "not given" in the check
  const r = { position: o.positionTolerance ?? 0.01, orientation: o.orientationTolerance ?? 1e-4, spacing: o.spacingTolerance ?? 0.01, inPlane: o.inPlaneTolerance ?? 1 };
  for (const [name, v] of Object.entries(r)) {
    if (!(Number.isFinite(v) && v > 0)) throw new LeptonError('INVALID_ARGUMENT', `buildVolume: the ${name} tolerance must be a positive number; got ${describeValue(v)}.`);
  }
  const maxGapSlices: unknown = o.maxGapSlices ?? 32;
  if (!(Number.isSafeInteger(maxGapSlices) && (maxGapSlices as number) >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `buildVolume: maxGapSlices must be a whole number ≥ 0; got ${describeValue(maxGapSlices)}.`);
  }
  const maxVoxels: unknown = o.maxVoxels ?? MAX_BUILD_VOXELS;
  if (!(Number.isSafeInteger(maxVoxels) && (maxVoxels as number) >= 1 && (maxVoxels as number) <= 2 ** 31)) {
    throw new LeptonError('INVALID_ARGUMENT', `buildVolume: maxVoxels must be a whole number from 1 to 2^31; got ${describeValue(maxVoxels)}.`);
  }
  return { ...r, inPlane: o.inPlaneTolerance, maxGapSlices: maxGapSlices as number, maxVoxels: maxVoxels as number };
}

/** Positions along the normal (`t`) and in the slice plane (`u` along rows, `v` along columns) of each slice. */
interface Coords {
  readonly t: number;
  readonly u: number;
  readonly v: number;
}

/** At most this many slices take part in the repeated-median fit (evenly spaced), to keep it O(1) in the series size. */
const FIT_SAMPLE = 200;

/**
 * Fits `u = u0 + su·t`, `v = v0 + sv·t` robustly (Siegel's repeated median: up to half the slices may be wrong), then
 * refines it by least squares on the slices within `4·tol` of the robust line. Returns each slice's in-plane distance
 * from the final line and the line's slope.
 */
function fitSliceLine(c: readonly Coords[], tol: number, positionTol: number): { residual: number[]; slope: [number, number] } {
  const n = c.length;
  const sample = n <= FIT_SAMPLE ? c.map((_, i) => i) : Array.from({ length: FIT_SAMPLE }, (_, i) => Math.round((i * (n - 1)) / (FIT_SAMPLE - 1)));
  const su: number[] = [];
  const sv: number[] = [];
  for (const i of sample) {
    const pu: number[] = [];
    const pv: number[] = [];
    for (const j of sample) {
      const dt = c[j]!.t - c[i]!.t;
      if (Math.abs(dt) <= positionTol) continue;
      pu.push((c[j]!.u - c[i]!.u) / dt);
      pv.push((c[j]!.v - c[i]!.v) / dt);
    }
    if (pu.length > 0) (su.push(median(pu)), sv.push(median(pv)));
  }
  let a = su.length > 0 ? median(su) : 0;
  let b = sv.length > 0 ? median(sv) : 0;
  let u0 = median(c.map((p) => p.u - a * p.t));
  let v0 = median(c.map((p) => p.v - b * p.t));
  const dist = (p: Coords): number => Math.hypot(p.u - (u0 + a * p.t), p.v - (v0 + b * p.t));
  const near = c.filter((p) => dist(p) <= 4 * tol);
  if (near.length >= 2) {
    const mt = near.reduce((s, p) => s + p.t, 0) / near.length;
    const mu = near.reduce((s, p) => s + p.u, 0) / near.length;
    const mv = near.reduce((s, p) => s + p.v, 0) / near.length;
    const stt = near.reduce((s, p) => s + (p.t - mt) ** 2, 0);
    if (stt > 0) {
      a = near.reduce((s, p) => s + (p.t - mt) * (p.u - mu), 0) / stt;
      b = near.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0) / stt;
    }
    u0 = mu - a * mt;
    v0 = mv - b * mt;
  }
  return { residual: c.map(dist), slope: [a, b] };
}

/** Largest angle between the slice normal and the slice-to-slice direction still taken as gantry tilt, degrees. */
const MAX_SHEAR_DEGREES = 45;

interface DecodedSlice extends PlacedSlice {
  readonly values: Float32Array;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const sameValues = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Stacks the slices of one series into a {@link Volume} of modality values (Hounsfield units for CT): slices are
 * ordered along the slice normal from Image Position/Orientation (Patient) — never by file name or Instance Number —
 * the slice spacing is derived from the positions, and each slice's own modality LUT (rescale) is applied.
 *
 * Problems that still allow a volume come back as `issues` rather than errors: gaps (missing slices are filled by
 * linear interpolation between their neighbours and listed), irregular spacing (the slice axis is resampled to the
 * series' spacing), duplicates (one is kept), images of another orientation or size (left out), images without
 * geometry or that fail to decode (left out), gantry tilt (the volume is sheared, still exact), slices whose Image
 * Position (Patient) is off the series' slice line or far beyond its other slices (`outlierPosition`: left out, so
 * one typo never stretches or misplaces the volume). The grid is bounded (`maxVoxels`) before it is allocated.
 *
 * @param series - one series (from {@link groupSeries}) or the images of one series
 * @param options - tolerances
 * @returns the volume, its issues and the slices used
 * @throws {@link @lepton/core!LeptonError} `VOLUME_EMPTY` (no images, or none decodes), `VOLUME_MULTIPLE_SERIES`,
 *   `VOLUME_NO_GEOMETRY` (no image has position and orientation, a degenerate or non-perpendicular orientation,
 *   or slice positions that lie on a line more than 45° from the normal, which is no gantry tilt),
 *   `VOLUME_UNSUPPORTED` (only colour or multi-frame images), `VOLUME_TOO_LARGE` (the grid would exceed `maxVoxels`), `INVALID_ARGUMENT` (a tolerance that is not positive, options that are not an object, or a
 *   series that is not an array of DicomImages or a DicomSeries)
 * @example
 * ```ts
 * import { readDicomFolder, groupSeries, buildVolume } from '@lepton/medical';
 * const { images } = await readDicomFolder('packages/medical/test/fixtures/volume/linear_gap');
 * const { volume, issues } = await buildVolume(groupSeries(images)[0]!);
 * console.log(volume.dimensions); // [16, 12, 10]
 * console.log(issues[0]?.kind, issues[0]?.message); // 'gap', '… 1 slice missing …'
 * ```
 */
export async function buildVolume(series: DicomSeries | readonly DicomImage[], options: BuildVolumeOptions = {}): Promise<VolumeBuild> {
  const tol = resolveOptions(options);
  const images: unknown = typeof series === 'object' && series !== null && !Array.isArray(series) ? (series as DicomSeries).images : series;
  checkImages(images, 'buildVolume');
  const selection = selectSlices(images, tol);
  const issues: VolumeIssue[] = [...selection.issues];
  const { rows, columns } = selection;
  const pixelsPerSlice = rows * columns;

  const candidates = rejectOutliers(selection, tol, issues);

  // Decode every candidate (duplicates too, to tell a re-sent copy from conflicting data). A slice that fails to
  // decode is reported and left out; the gap it leaves is then reported and filled like any other.
  const decoded: DecodedSlice[] = [];
  for (const s of candidates) {
    try {
      decoded.push({ ...s, values: await s.image.modalityFrame(0) });
    } catch (err) {
      if (!isLeptonError(err)) throw err;
      issues.push({ kind: 'unreadable', code: err.code, sources: [s.label], message: `A slice could not be decoded (${err.code}) and was left out.` });
    }
  }
  if (decoded.length === 0) throw volumeError('VOLUME_EMPTY', 'Every slice of the series failed to decode; see the DICOM errors of the single images.');

  const kept: DecodedSlice[] = [];
  for (let a = 0; a < decoded.length; ) {
    let b = a + 1;
    while (b < decoded.length && decoded[b]!.t - decoded[a]!.t <= tol.position) b++;
    const group = decoded.slice(a, b);
    const instance = (s: DecodedSlice): number => s.image.meta.instanceNumber ?? Number.MAX_SAFE_INTEGER;
    // positions within tolerance may differ in the last digits, so choose by Instance Number, not by sort position
    const chosen = group.reduce((best, g) => (instance(g) < instance(best) ? g : best), group[0]!);
    kept.push(chosen);
    if (group.length > 1) {
      const identical = group.every((g) => sameValues(g.values, chosen.values));
      issues.push({
        kind: 'duplicate',
        sources: group.map((g) => g.label),
        kept: chosen.label,
        identicalPixels: identical,
        position: chosen.t,
        message: `${group.length} images lie at the same position along the slice normal (${identical ? 'identical pixels' : 'different pixels'}); the first by Instance Number was used.`,
      });
    }
    a = b;
  }

  const first = kept[0]!;
  const last = kept[kept.length - 1]!;
  let nz: number;
  let step: Vec3;
  if (kept.length === 1) {
    const m = first.image.meta;
    const spacing = m.spacingBetweenSlices ?? m.sliceThickness;
    if (spacing === undefined || !(spacing > 0)) {
      issues.push({ kind: 'assumedSpacing', axis: 'slice', value: 1, sources: [first.label], message: 'A single slice without Spacing Between Slices or Slice Thickness: 1 mm was assumed along the normal.' });
    }
    nz = 1;
    step = scale(selection.normal, spacing !== undefined && spacing > 0 ? spacing : 1);
  } else {
    const diffs = kept.slice(1).map((s, i) => s.t - kept[i]!.t);
    const nominal = median(diffs);
    nz = Math.round((last.t - first.t) / nominal) + 1;
    // bound the grid before allocating (outliers are gone, so this only trips on genuinely huge series or a tiny maxVoxels)
    if (!(Number.isFinite(nz) && nz >= 2 && pixelsPerSlice * nz <= tol.maxVoxels)) {
      throw volumeError(
        'VOLUME_TOO_LARGE',
        `The volume would have ${columns}×${rows}×${nz} voxels, more than maxVoxels (${tol.maxVoxels}).`,
        { columns, rows, slices: nz, maxVoxels: tol.maxVoxels },
      );
    }
    step = scale(sub(last.position, first.position), 1 / (nz - 1));
  }
  if (pixelsPerSlice * nz > tol.maxVoxels) {
    throw volumeError('VOLUME_TOO_LARGE', `The volume would have ${columns}×${rows}×${nz} voxels, more than maxVoxels (${tol.maxVoxels}).`, {
      columns,
      rows,
      slices: nz,
      maxVoxels: tol.maxVoxels,
    });
  }
  const dt = dot(step, selection.normal); // grid spacing along the normal
  const spacingK = norm(step);
  const angle = (Math.acos(Math.min(1, Math.abs(dt) / spacingK)) * 180) / Math.PI;
  if (angle > MAX_SHEAR_DEGREES) {
    // rejectOutliers leaves only collinear slices; a line this far from the normal is not a gantry tilt
    throw volumeError(
      'VOLUME_NO_GEOMETRY',
      `The slices are stacked ${angle.toFixed(2)}° away from their normal; that is not a gantry tilt, so their Image Positions (Patient) are inconsistent.`,
      { angle },
    );
  }
  if (angle > 0.05) {
    issues.push({
      kind: 'sheared',
      angle,
      sources: [],
      message: `The slices are stacked ${angle.toFixed(2)}° away from their normal (gantry tilt); the volume's k axis follows the slice positions, so it is sheared but exact.`,
    });
  }

  // Fill the regular grid. A grid plane within positionTolerance of an acquired slice copies it exactly (so a clean
  // series comes out value for value); any other plane is interpolated linearly between the two slices around it.
  const data = new Float32Array(pixelsPerSlice * nz);
  const interpolated: number[] = [];
  const interpolatedByPair = new Map<number, number[]>();
  let a = 0;
  for (let k = 0; k < nz; k++) {
    const tk = first.t + k * dt;
    while (a < kept.length - 1 && kept[a + 1]!.t <= tk + tol.position) a++;
    const sa = kept[a]!;
    const out = data.subarray(k * pixelsPerSlice, (k + 1) * pixelsPerSlice);
    if (Math.abs(sa.t - tk) <= tol.position || a === kept.length - 1) {
      out.set(sa.values);
      continue;
    }
    const sb = kept[a + 1]!;
    const w = (tk - sa.t) / (sb.t - sa.t);
    for (let p = 0; p < pixelsPerSlice; p++) out[p] = sa.values[p]! * (1 - w) + sb.values[p]! * w;
    interpolated.push(k);
    const list = interpolatedByPair.get(a) ?? [];
    list.push(k);
    interpolatedByPair.set(a, list);
  }

  if (kept.length > 1) {
    for (let i = 0; i + 1 < kept.length; i++) {
      const d = kept[i + 1]!.t - kept[i]!.t;
      const sources = [kept[i]!.label, kept[i + 1]!.label];
      const filled = interpolatedByPair.get(i) ?? [];
      if (d > dt * 1.5) {
        const missing = Math.round(d / dt) - 1;
        issues.push({
          kind: 'gap',
          spacing: d,
          expectedSpacing: dt,
          missingSlices: missing,
          filledSlices: filled,
          sources,
          message: `Two neighbouring slices are ${d.toFixed(3)} mm apart where the series' spacing is ${dt.toFixed(3)} mm: ${missing} slice(s) missing, filled by linear interpolation (${
            filled.length === 0 ? 'no volume slices' : filled.length === 1 ? `volume slice ${filled[0]}` : `volume slices ${filled[0]}–${filled[filled.length - 1]}`
          }).`,
        });
      } else if (Math.abs(d - dt) > Math.max(tol.position, tol.spacing * dt)) {
        issues.push({
          kind: 'irregularSpacing',
          spacing: d,
          expectedSpacing: dt,
          interpolatedSlices: filled,
          sources,
          message: `Two neighbouring slices are ${d.toFixed(3)} mm apart where the series' spacing is ${dt.toFixed(3)} mm; the slice axis was resampled to a regular grid.`,
        });
      }
    }
  }

  const meta = first.image.meta;
  const unit = meta.rescale?.type ?? (meta.modality === 'CT' && meta.modalityLut === undefined ? 'HU' : undefined);
  const volume = new Volume({
    data,
    dimensions: [columns, rows, nz],
    spacing: [selection.pixelSpacing[1], selection.pixelSpacing[0], spacingK],
    origin: first.position,
    direction: [selection.rowDirection, selection.columnDirection, scale(step, 1 / spacingK)],
    ...(unit === undefined ? {} : { unit }),
    ...(meta.frameOfReferenceUid === undefined ? {} : { frameOfReferenceUid: meta.frameOfReferenceUid }),
  });
  return { volume, issues, slices: kept.map((s) => s.image), interpolatedSlices: interpolated };
}

/**
 * Leaves out slices whose Image Position (Patient) does not fit the series (see {@link OutlierPositionIssue}): first
 * those off the line the others lie on (in-plane), then runs of slices separated from the largest run by more than
 * `maxGapSlices` slice spacings along the normal.
 */
function rejectOutliers(selection: SliceSelection, tol: ResolvedOptions, issues: VolumeIssue[]): PlacedSlice[] {
  const slices = selection.slices;
  if (slices.length < 2) return slices;
  const inPlaneTol = tol.inPlane ?? 0.5 * Math.min(selection.pixelSpacing[0], selection.pixelSpacing[1]);
  const coords = slices.map((s) => ({ t: s.t, u: dot(s.position, selection.rowDirection), v: dot(s.position, selection.columnDirection) }));
  const { residual } = fitSliceLine(coords, inPlaneTol, tol.position);
  const off = slices.map((s, i) => ({ s, r: residual[i]! })).filter((x) => !(x.r <= inPlaneTol));
  if (off.length > 0) {
    issues.push({
      kind: 'outlierPosition',
      reason: 'inPlane',
      sources: off.map((x) => x.s.label),
      offsets: off.map((x) => x.r),
      message: `${off.length} slice(s) lie off the line of the series' other slices (by up to ${Math.max(...off.map((x) => x.r)).toPrecision(3)} mm in the slice plane, more than ${inPlaneTol} mm): their Image Position (Patient) is taken as wrong and they were left out.`,
    });
  }
  const inPlane = slices.filter((_, i) => residual[i]! <= inPlaneTol);
  if (inPlane.length === 0) {
    throw volumeError('VOLUME_NO_GEOMETRY', 'The slices\' Image Positions (Patient) disagree in the slice plane, so there is no consistent slice line to stack them on.', {
      slices: slices.length,
    });
  }
  // Runs of distinct positions along the normal, split where neighbours are more than maxGapSlices + 1 spacings apart.
  const distinct: number[] = [];
  for (const s of inPlane) if (distinct.length === 0 || s.t - distinct[distinct.length - 1]! > tol.position) distinct.push(s.t);
  if (distinct.length < 3) return inPlane;
  const diffs = distinct.slice(1).map((t, i) => t - distinct[i]!);
  const sorted = [...diffs].sort((a, b) => a - b);
  const nominal = sorted[(sorted.length - 1) >> 1]!; // lower median: one far outlier among three slices must not set it
  const limit = (tol.maxGapSlices + 1.5) * nominal;
  const runs: { from: number; to: number }[] = [{ from: distinct[0]!, to: distinct[0]! }];
  diffs.forEach((d, i) => {
    if (d > limit) runs.push({ from: distinct[i + 1]!, to: distinct[i + 1]! });
    else runs[runs.length - 1]!.to = distinct[i + 1]!;
  });
  if (runs.length === 1) return inPlane;
  const count = (r: { from: number; to: number }): number => inPlane.filter((s) => s.t >= r.from - tol.position && s.t <= r.to + tol.position).length;
  const best = runs.reduce((b, r) => (count(r) > count(b) ? r : b), runs[0]!);
  const inRun = (s: PlacedSlice): boolean => s.t >= best.from - tol.position && s.t <= best.to + tol.position;
  const far = inPlane.filter((s) => !inRun(s));
  issues.push({
    kind: 'outlierPosition',
    reason: 'alongNormal',
    sources: far.map((s) => s.label),
    offsets: far.map((s) => (s.t < best.from ? best.from - s.t : s.t - best.to)),
    message: `${far.length} slice(s) lie more than ${tol.maxGapSlices} slice spacings (${nominal.toPrecision(4)} mm each) away from the series' other slices along the normal: their Image Position (Patient) is taken as wrong and they were left out.`,
  });
  return inPlane.filter(inRun);
}
