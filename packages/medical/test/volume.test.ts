// Series → volume, checked against the ground truth that gen_volume.py wrote from its generation parameters
// (fixtures/volume/expected.json): slice order, spacing, origin, axes and the voxel → patient matrix; voxel values
// against the toolkit-written slices; resampling and gap filling against an analytic (affine) HU field, where
// trilinear interpolation must be exact; planes against the volume through their own patient geometry.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyModalityLut,
  buildVolume,
  extractPlane,
  groupSeries,
  isLeptonError,
  readDicomFile,
  readDicomFolder,
  resampleVolume,
  Volume,
  type DicomImage,
  type Vec3,
  type VolumeBuild,
  type VolumeIssue,
} from '@lepton/medical';
import { dicomPath, FIXTURES } from './support/fixtures.js';

interface Expected {
  seriesInstanceUid: string;
  files: string[];
  dimensions: [number, number, number];
  spacing: [number, number, number];
  origin: Vec3;
  direction: [Vec3, Vec3, Vec3];
  matrix: number[][];
  issues: Record<string, unknown>[];
  hu?: { const: number; i: number; j: number; k: number };
}

const VOL = join(FIXTURES, 'volume');
const EXPECTED = JSON.parse(readFileSync(join(VOL, 'expected.json'), 'utf8')) as Record<string, Expected>;
const NAMES = ['ct_axial', 'ct_oblique', 'linear', 'linear_gap', 'linear_duplicate', 'linear_mixed'] as const;

const loaded = new Map<string, { images: DicomImage[]; build: VolumeBuild }>();
beforeAll(async () => {
  for (const name of NAMES) {
    const { images, failures } = await readDicomFolder(join(VOL, name));
    expect(failures).toEqual([]);
    loaded.set(name, { images, build: await buildVolume(groupSeries(images)[0]!) });
  }
});
const built = (name: string): VolumeBuild => loaded.get(name)!.build;

/** Solves M · [i, j, k, 1] = [x, y, z, 1] for a 4×4 affine M given as rows (Cramer's rule; independent of Volume). */
function solveAffine(m: number[][], p: Vec3): Vec3 {
  const a = [0, 1, 2].map((r) => [m[r]![0]!, m[r]![1]!, m[r]![2]!]);
  const b = [0, 1, 2].map((r) => p[r]! - m[r]![3]!);
  const det3 = (x: number[][]): number =>
    x[0]![0]! * (x[1]![1]! * x[2]![2]! - x[1]![2]! * x[2]![1]!) -
    x[0]![1]! * (x[1]![0]! * x[2]![2]! - x[1]![2]! * x[2]![0]!) +
    x[0]![2]! * (x[1]![0]! * x[2]![1]! - x[1]![1]! * x[2]![0]!);
  const d = det3(a);
  return [0, 1, 2].map((c) => det3(a.map((row, r) => row.map((v, cc) => (cc === c ? b[r]! : v)))) / d) as unknown as Vec3;
}

/** The phantom of gen_volume.py, in patient coordinates (LPS mm) → HU. */
function ctPhantom([x, y, z]: Vec3): number {
  let hu = -1000;
  if ((x / 24) ** 2 + (y / 18) ** 2 + (z / 40) ** 2 <= 1) hu = 40;
  for (const sx of [-1, 1]) if (((x - sx * 10) / 7) ** 2 + ((y + 2) / 10) ** 2 + (z / 26) ** 2 <= 1) hu = -850;
  if ((x / 4) ** 2 + ((y - 12) / 4) ** 2 <= 1) hu = 700;
  if ((x - 8) ** 2 + (y + 4) ** 2 + (z - 12) ** 2 <= 16) hu = 60;
  return hu;
}

describe('fixtures really test ordering', () => {
  it.each(['ct_axial', 'ct_oblique', 'linear'])('%s: neither file names nor Instance Numbers give the slice order', async (name) => {
    const e = EXPECTED[name]!;
    expect([...e.files].sort()).not.toEqual(e.files);
    const byInstance = [...loaded.get(name)!.images]
      .sort((a, b) => a.meta.instanceNumber! - b.meta.instanceNumber!)
      .map((im) => basename(im.source!));
    expect(byInstance).not.toEqual(e.files);
    expect([...byInstance].reverse()).not.toEqual(e.files);
  });
});

describe('buildVolume: geometry', () => {
  it.each(NAMES)('%s: order, dimensions, spacing, origin, axes and matrix match the generator', (name) => {
    const e = EXPECTED[name]!;
    const { volume, slices } = built(name);
    expect(slices.map((s) => basename(s.source!))).toEqual(e.files);
    expect(volume.dimensions).toEqual(e.dimensions);
    volume.spacing.forEach((s, a) => expect(s).toBeCloseTo(e.spacing[a]!, 5));
    volume.origin.forEach((v, a) => expect(v).toBeCloseTo(e.origin[a]!, 5));
    volume.direction.forEach((d, a) => d.forEach((v, c) => expect(v).toBeCloseTo(e.direction[a]![c]!, 5)));
    volume.matrix.forEach((v, idx) => expect(v).toBeCloseTo(e.matrix[Math.floor(idx / 4)]![idx % 4]!, 5));
    expect(volume.unit).toBe('HU');
    expect(volume.frameOfReferenceUid).toBe('2.25.200099990002');
  });

  it('voxelToPatient and patientToVoxel are inverse and follow the matrix', () => {
    const { volume } = built('ct_oblique');
    const e = EXPECTED.ct_oblique!;
    const p = volume.voxelToPatient([3, 7, 11]);
    const ijk = solveAffine(e.matrix, p);
    expect(ijk[0]).toBeCloseTo(3, 4);
    expect(ijk[1]).toBeCloseTo(7, 4);
    expect(ijk[2]).toBeCloseTo(11, 4);
    volume.patientToVoxel(p).forEach((v, a) => expect(v).toBeCloseTo([3, 7, 11][a]!, 9));
    // slice k's first voxel is that slice's Image Position (Patient)
    e.files.forEach((_, k) => volume.voxelToPatient([0, 0, k]).forEach((v, a) => expect(v).toBeCloseTo((e as unknown as { positions: Vec3[] }).positions[k]![a]!, 4)));
  });
});

describe('buildVolume: values', () => {
  it.each(['ct_axial', 'ct_oblique', 'linear'])('%s: slice k is the modality LUT of the k-th file in true order', async (name) => {
    const e = EXPECTED[name]!;
    const { volume } = built(name);
    const n = volume.dimensions[0] * volume.dimensions[1];
    for (const [k, file] of e.files.entries()) {
      const image = await readDicomFile(join(VOL, name, file));
      const hu = applyModalityLut(await image.decodeFrame(0), image.meta);
      expect(volume.data.subarray(k * n, (k + 1) * n)).toEqual(hu);
    }
  });

  it('ct_axial: the two rescale encodings give one HU scale (per-slice modality LUT)', async () => {
    const { images } = loaded.get('ct_axial')!;
    expect(new Set(images.map((im) => im.meta.rescale?.slope))).toEqual(new Set([1, 0.5]));
    const { volume } = built('ct_axial');
    expect(new Set(volume.data)).toEqual(new Set([-1000, 40, -850, 700, 60]));
  });

  it('axial and oblique volumes agree in patient space (analytic phantom at every voxel)', () => {
    for (const name of ['ct_axial', 'ct_oblique']) {
      const { volume } = built(name);
      let mismatches = 0;
      const [nx, ny, nz] = volume.dimensions;
      for (let k = 0; k < nz; k++)
        for (let j = 0; j < ny; j++)
          for (let i = 0; i < nx; i++) if (volume.at(i, j, k) !== ctPhantom(volume.voxelToPatient([i, j, k]))) mismatches++;
      // only voxels whose centre sits on a phantom surface may round differently in float64 here and in numpy
      expect(mismatches, name).toBeLessThanOrEqual(10); // of ~98 000 voxels; 0 with numpy 1.24 and Node 20
    }
    for (const name of ['ct_axial', 'ct_oblique']) {
      const { volume } = built(name);
      const [i, j, k] = volume.patientToVoxel([8, -4, 12]).map(Math.round) as [number, number, number];
      expect(volume.at(i, j, k), name).toBe(60); // the lesion
    }
  });

  it('linear: every voxel is the affine HU field of the generator', () => {
    const { volume } = built('linear');
    const c = EXPECTED.linear!.hu!;
    const [nx, ny, nz] = volume.dimensions;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) expect(volume.at(i, j, k)).toBe(c.const + c.i * i + c.j * j + c.k * k);
  });
});

const short = (issue: VolumeIssue): Record<string, unknown> => ({ ...issue, sources: issue.sources.map((s) => basename(s)) });

describe('buildVolume: issues', () => {
  it('clean series report no issue', () => {
    for (const name of ['ct_axial', 'ct_oblique', 'linear']) {
      expect(built(name).issues, name).toEqual([]);
      expect(built(name).interpolatedSlices).toEqual([]);
    }
  });

  it('a gap is reported with the slices around it and filled exactly by interpolation', () => {
    const { issues, volume, interpolatedSlices } = built('linear_gap');
    const e = EXPECTED.linear_gap!.issues[0]!;
    expect(issues).toHaveLength(1);
    expect(short(issues[0]!)).toMatchObject({
      kind: 'gap',
      sources: [e.afterFile, e.beforeFile],
      missingSlices: 1,
      filledSlices: [4],
    });
    const gap = issues[0] as Extract<VolumeIssue, { kind: 'gap' }>;
    expect(gap.spacing).toBeCloseTo(4, 4);
    expect(gap.expectedSpacing).toBeCloseTo(2, 4);
    expect(gap.message).toMatch(/1 slice\(s\) missing/);
    expect(interpolatedSlices).toEqual([4]);
    const full = built('linear').volume;
    for (let p = 0; p < volume.data.length; p++) expect(volume.data[p]).toBeCloseTo(full.data[p]!, 4);
  });

  it('a duplicate is reported, one copy is used and the volume is unchanged', () => {
    const { issues, volume, slices } = built('linear_duplicate');
    expect(issues.map(short)).toEqual([
      expect.objectContaining({ kind: 'duplicate', sources: expect.arrayContaining(EXPECTED.linear_duplicate!.issues[0]!.files as string[]), identicalPixels: true }),
    ]);
    expect(basename((issues[0] as Extract<VolumeIssue, { kind: 'duplicate' }>).kept)).not.toBe('IM_DUPLICATE.dcm'); // lower Instance Number wins
    expect(slices).toHaveLength(10);
    expect(volume.data).toEqual(built('linear').volume.data);
  });

  it('a slice of another orientation is left out and reported', () => {
    const { issues, volume } = built('linear_mixed');
    expect(issues.map(short)).toEqual([
      expect.objectContaining({ kind: 'mixedOrientation', sources: ['IM_LOCALIZER.dcm'], excludedOrientations: [[0, 1, 0, 0, 0, -1]] }),
    ]);
    expect(volume.data).toEqual(built('linear').volume.data);
  });

  it('does not depend on the order the images are given in', async () => {
    const { images } = loaded.get('ct_oblique')!;
    const { volume } = await buildVolume([...images].reverse());
    expect(volume.data).toEqual(built('ct_oblique').volume.data);
    expect(volume.matrix).toEqual(built('ct_oblique').volume.matrix);
  });
});

describe('groupSeries and typed errors', () => {
  it('groups a folder of several series by Series Instance UID, in Series Number order', async () => {
    const dirs = ['ct_oblique', 'linear', 'ct_axial'];
    const images = dirs.flatMap((d) => loaded.get(d)!.images);
    const series = groupSeries(images);
    expect(series.map((s) => [s.seriesNumber, s.seriesInstanceUid, s.images.length, s.modality])).toEqual([
      [1, EXPECTED.ct_axial!.seriesInstanceUid, 24, 'CT'],
      [2, EXPECTED.ct_oblique!.seriesInstanceUid, 24, 'CT'],
      [3, EXPECTED.linear!.seriesInstanceUid, 10, 'CT'],
    ]);
    await expect(buildVolume(images)).rejects.toSatisfy((e) => isLeptonError(e, 'VOLUME_MULTIPLE_SERIES'));
  });

  it('throws a typed error when no volume can be built', async () => {
    await expect(buildVolume([])).rejects.toSatisfy((e) => isLeptonError(e, 'VOLUME_EMPTY'));
    const cr = await readDicomFile(dicomPath('mlut')); // a radiograph: no slice geometry
    await expect(buildVolume([cr])).rejects.toSatisfy((e) => isLeptonError(e, 'VOLUME_NO_GEOMETRY'));
    const mf = await readDicomFile(dicomPath('mf16'));
    const rgb = await readDicomFile(dicomPath('rgb'));
    await expect(buildVolume([mf, rgb])).rejects.toSatisfy((e) => isLeptonError(e, 'VOLUME_UNSUPPORTED'));
    await expect(buildVolume(loaded.get('linear')!.images, { positionTolerance: 0 })).rejects.toSatisfy((e) => isLeptonError(e, 'INVALID_ARGUMENT'));
  });

  it('builds around images it cannot use and says which', async () => {
    const cr = await readDicomFile(dicomPath('mlut'));
    const linear = loaded.get('linear')!.images;
    // same series UID as the linear series, so that the mix is one "series" with a radiograph in it
    const stray = Object.assign(Object.create(Object.getPrototypeOf(cr) as object) as DicomImage, cr, {
      meta: { ...cr.meta, seriesInstanceUid: linear[0]!.meta.seriesInstanceUid },
    });
    const { volume, issues } = await buildVolume([...linear, stray]);
    expect(volume.dimensions).toEqual([16, 12, 10]);
    expect(issues.map((i) => i.kind)).toEqual(['missingGeometry']);
  });

  /** The same image with another Image Position (Patient): what a sheared or irregular series looks like. */
  const moved = (image: DicomImage, ipp: Vec3): DicomImage =>
    ({ meta: { ...image.meta, imagePositionPatient: ipp }, source: image.source, decodeFrame: (i: number) => image.decodeFrame(i), modalityFrame: (i: number, out?: Float32Array) => image.modalityFrame(i, out) }) as unknown as DicomImage;
  const linearSorted = (): DicomImage[] => {
    const byName = new Map(loaded.get('linear')!.images.map((im) => [basename(im.source!), im]));
    return EXPECTED.linear!.files.map((f) => byName.get(f)!);
  };

  it('irregular spacing: reported, and the slice axis is resampled to the series spacing', async () => {
    const e = EXPECTED.linear!;
    const n = e.direction[2];
    const images = linearSorted().map((im, k) =>
      k === 5 ? moved(im, im.meta.imagePositionPatient!.map((v, a) => v + 0.6 * n[a]!) as unknown as Vec3) : im,
    );
    const { volume, issues, interpolatedSlices } = await buildVolume(images);
    expect(volume.dimensions).toEqual([16, 12, 10]);
    expect(issues.map((i) => i.kind)).toEqual(['irregularSpacing', 'irregularSpacing']);
    const [first, second] = issues as Extract<VolumeIssue, { kind: 'irregularSpacing' }>[];
    expect(first!.spacing).toBeCloseTo(2.6, 4);
    expect(first!.interpolatedSlices).toEqual([5]);
    expect(second!.spacing).toBeCloseTo(1.4, 4);
    expect(interpolatedSlices).toEqual([5]);
    // grid plane 5 lies 2 mm into the 2.6 mm between acquired slices 4 and 5: linear interpolation by 2/2.6
    const c = e.hu!;
    expect(volume.at(3, 2, 5)).toBeCloseTo(c.const + c.i * 3 + c.j * 2 + c.k * (4 + 2 / 2.6), 3);
  });

  it('gantry tilt: a sheared volume whose k axis follows the slice positions', async () => {
    const e = EXPECTED.linear!;
    const row = e.direction[0];
    const images = linearSorted().map((im, k) => moved(im, im.meta.imagePositionPatient!.map((v, a) => v + 0.5 * k * row[a]!) as unknown as Vec3));
    const { volume, issues } = await buildVolume([...images].reverse());
    expect(issues.map((i) => i.kind)).toEqual(['sheared']);
    expect((issues[0] as Extract<VolumeIssue, { kind: 'sheared' }>).angle).toBeCloseTo((Math.atan(0.5 / 2) * 180) / Math.PI, 3);
    images.forEach((im, k) => volume.voxelToPatient([0, 0, k]).forEach((v, a) => expect(v).toBeCloseTo(im.meta.imagePositionPatient![a]!, 5)));
    expect(volume.data).toEqual(built('linear').volume.data);
    volume.patientToVoxel(volume.voxelToPatient([3, 4, 5])).forEach((v, a) => expect(v).toBeCloseTo([3, 4, 5][a]!, 9));
  });

  it('a single slice is a one-slice volume with the file slice thickness as spacing', async () => {
    const { images } = loaded.get('linear')!;
    const { volume, issues } = await buildVolume([images[0]!]);
    expect(volume.dimensions).toEqual([16, 12, 1]);
    expect(volume.spacing[2]).toBe(2);
    expect(issues).toEqual([]);
  });
});

describe('resampleVolume', () => {
  it('reproduces the affine HU field at every output voxel (trilinear is exact on it)', () => {
    const e = EXPECTED.linear!;
    const c = e.hu!;
    const iso = resampleVolume(built('linear').volume, 0.5);
    expect(iso.dimensions).toEqual([22, 20, 37]); // floor(15·0.7/0.5)+1, floor(11·0.9/0.5)+1, floor(9·2/0.5)+1
    expect(iso.spacing).toEqual([0.5, 0.5, 0.5]);
    expect(iso.origin).toEqual(built('linear').volume.origin);
    const [nx, ny, nz] = iso.dimensions;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          // where is this voxel in the original grid? from the generator's matrix, not from the Volume class
          const [oi, oj, ok] = solveAffine(e.matrix, iso.voxelToPatient([i, j, k]));
          expect(iso.at(i, j, k)).toBeCloseTo(c.const + c.i * oi + c.j * oj + c.k * ok, 3);
        }
  });

  it('halving the slice spacing keeps acquired slices and averages between them', () => {
    const { volume } = built('ct_axial');
    const half = resampleVolume(volume, [0.75, 0.8, 1.25]);
    expect(half.dimensions).toEqual([64, 64, 47]);
    // the spacing as a typed array (as parsed from DICOM) gives the same volume
    expect(resampleVolume(volume, Float64Array.from([0.75, 0.8, 1.25]) as unknown as [number, number, number]).data).toEqual(half.data);
    const n = 64 * 64;
    for (let k = 0; k < 47; k++) {
      const got = half.data.subarray(k * n, (k + 1) * n);
      if (k % 2 === 0) expect(got).toEqual(volume.data.subarray((k / 2) * n, (k / 2 + 1) * n));
      else for (let p = 0; p < n; p += 97) expect(got[p]).toBeCloseTo((volume.data[((k - 1) / 2) * n + p]! + volume.data[((k + 1) / 2) * n + p]!) / 2, 4);
    }
  });

  it('1 mm isotropic CT: the extent is kept', () => {
    const iso = resampleVolume(built('ct_axial').volume, 1);
    expect(iso.dimensions).toEqual([48, 51, 58]);
    expect(iso.voxelToPatient([47, 50, 57])[2]).toBeCloseTo(-28.75 + 57, 6);
    expect(() => resampleVolume(iso, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('extractPlane', () => {
  /** Every plane pixel must equal the volume voxel at the patient position its own geometry gives it. */
  function checkPlaneGeometry(volume: Volume, plane: ReturnType<typeof extractPlane>): void {
    const [rx, ry, rz, cx, cy, cz] = plane.imageOrientationPatient;
    const [rowSpacing, colSpacing] = plane.pixelSpacing;
    for (let r = 0; r < plane.rows; r++)
      for (let c = 0; c < plane.columns; c++) {
        const p: Vec3 = [
          plane.imagePositionPatient[0] + c * colSpacing * rx + r * rowSpacing * cx,
          plane.imagePositionPatient[1] + c * colSpacing * ry + r * rowSpacing * cy,
          plane.imagePositionPatient[2] + c * colSpacing * rz + r * rowSpacing * cz,
        ];
        const ijk = volume.patientToVoxel(p);
        ijk.forEach((v) => expect(Math.abs(v - Math.round(v))).toBeLessThan(1e-6));
        const [i, j, k] = ijk.map(Math.round) as [number, number, number];
        expect(plane.pixels[r * plane.columns + c]).toBe(volume.at(i, j, k));
      }
  }

  it('axial, coronal and sagittal planes of an axial CT in radiological orientation', () => {
    const { volume } = built('ct_axial');
    const axial = extractPlane(volume, 'axial', 5);
    expect(axial).toMatchObject({ axis: 2, index: 5, rows: 64, columns: 64, imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.8, 0.75] });
    expect(axial.pixels).toEqual(volume.data.subarray(5 * 4096, 6 * 4096));
    const coronal = extractPlane(volume, 'coronal');
    expect(coronal).toMatchObject({ axis: 1, index: 32, rows: 24, columns: 64, imageOrientationPatient: [1, 0, 0, 0, 0, -1], pixelSpacing: [2.5, 0.75] });
    const sagittal = extractPlane(volume, 'sagittal', 40);
    expect(sagittal).toMatchObject({ axis: 0, index: 40, rows: 24, columns: 64, imageOrientationPatient: [0, 1, 0, 0, 0, -1], pixelSpacing: [2.5, 0.8] });
    expect(sagittal.imagePositionPatient).toEqual([-24 + 40 * 0.75, -25.6, 28.75]); // head at the top
    for (const plane of [axial, coronal, sagittal]) checkPlaneGeometry(volume, plane);
  });

  it('oblique volumes give the nearest patient-aligned planes, each placed exactly', () => {
    const { volume } = built('ct_oblique');
    for (const o of ['axial', 'coronal', 'sagittal'] as const) {
      const plane = extractPlane(volume, o);
      checkPlaneGeometry(volume, plane);
      const [rx, ry, rz, cx, cy, cz] = plane.imageOrientationPatient;
      const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
      const patientAxis = { sagittal: 0, coronal: 1, axial: 2 }[o];
      expect(Math.abs(normal[patientAxis]!), o).toBeGreaterThan(0.9);
    }
  });

  it('rejects an index outside the volume', () => {
    expect(() => extractPlane(built('linear').volume, 'axial', 10)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('Volume', () => {
  it('validates its grid', () => {
    const base = { spacing: [1, 1, 1], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] } as const;
    expect(() => new Volume({ ...base, data: new Float32Array(7), dimensions: [2, 2, 2] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new Volume({ ...base, data: new Float32Array(8), dimensions: [2, 2, 2], spacing: [1, 0, 1] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new Volume({ ...base, data: new Float32Array(8), dimensions: [2, 2, 2], direction: [[1, 0, 0], [1, 0, 0], [0, 0, 1]] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const v = new Volume({ ...base, data: Float32Array.from({ length: 8 }, (_, i) => i), dimensions: [2, 2, 2] });
    expect(v.sample([0.5, 0.5, 0.5])).toBe(3.5);
    expect(v.sample([2, 0, 0])).toBeNaN();
    expect(v.at(1, 1, 1)).toBe(7);
  });
});

it('the volume fixtures folder holds the series the tests expect', () => {
  expect(readdirSync(VOL).sort()).toEqual([...NAMES, 'expected.json'].sort());
});
