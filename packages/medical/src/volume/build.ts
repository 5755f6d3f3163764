import { describeValue, LeptonError, isLeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { volumeError } from './errors.js';
import type { VolumeIssue } from './issues.js';
import type { DicomSeries } from './series.js';
import { checkImages } from './series.js';
import { selectSlices, type PlacedSlice } from './slices.js';
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
}

function resolveOptions(o: BuildVolumeOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new LeptonError('INVALID_ARGUMENT', `buildVolume: options must be an object, got ${describeValue(o)}.`);
  const r = { position: o.positionTolerance ?? 0.01, orientation: o.orientationTolerance ?? 1e-4, spacing: o.spacingTolerance ?? 0.01 };
  for (const [name, v] of Object.entries(r)) {
    if (!(Number.isFinite(v) && v > 0)) throw new LeptonError('INVALID_ARGUMENT', `buildVolume: the ${name} tolerance must be a positive number; got ${describeValue(v)}.`);
  }
  return r;
}

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
 * geometry or that fail to decode (left out), gantry tilt (the volume is sheared, still exact).
 *
 * @param series - one series (from {@link groupSeries}) or the images of one series
 * @param options - tolerances
 * @returns the volume, its issues and the slices used
 * @throws {@link @lepton/core!LeptonError} `VOLUME_EMPTY` (no images, or none decodes), `VOLUME_MULTIPLE_SERIES`,
 *   `VOLUME_NO_GEOMETRY` (no image has position and orientation), `VOLUME_UNSUPPORTED` (only colour or
 *   multi-frame images), `INVALID_ARGUMENT` (a tolerance that is not positive, options that are not an object, or a
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

  // Decode every candidate (duplicates too, to tell a re-sent copy from conflicting data). A slice that fails to
  // decode is reported and left out; the gap it leaves is then reported and filled like any other.
  const decoded: DecodedSlice[] = [];
  for (const s of selection.slices) {
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
    step = scale(sub(last.position, first.position), 1 / (nz - 1));
  }
  const dt = dot(step, selection.normal); // grid spacing along the normal
  const spacingK = norm(step);
  const angle = (Math.acos(Math.min(1, Math.abs(dt) / spacingK)) * 180) / Math.PI;
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
          message: `Two neighbouring slices are ${d.toFixed(3)} mm apart where the series' spacing is ${dt.toFixed(3)} mm: ${missing} slice(s) missing, filled by linear interpolation (volume slices ${filled.join(', ')}).`,
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
