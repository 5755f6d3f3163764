// Hostile review 3 of the imaging core (volume, diagnosis, lut, pixels, results), sections numbered by finding. Each
// test builds the hostile file with the repository's test writer and expects a typed, bounded outcome.
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  buildVolume,
  DiagnosisModel,
  isLeptonError,
  LesionSegmenter,
  preprocessStack,
  readDicom,
  renderFrame,
  segmentationToDicomSeg,
  type DicomImage,
  type ImagePreprocessing,
  type LeptonError,
  type VolumeIssue,
} from '@lepton/medical';
import { ctSlice, words, type TestElement } from './support/dicom-writer.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

async function failure(p: Promise<unknown> | (() => unknown), code: string): Promise<LeptonError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${inspect(err, { depth: 0 })}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

/** A 4×4 CT slice with Image Position (Patient) `ipp` (z = instance by default) and optional extra elements. */
const slice = (instance: number, ipp?: readonly number[], extra: TestElement[] = []): DicomImage =>
  readDicom(ctSlice([...(ipp ? [{ tag: '00200032', vr: 'DS', value: ipp.join('\\') }] : []), ...extra], { instance, z: instance }), {
    source: `/data/PATIENT_NAME/s${instance}.dcm`,
  });
const byKind = <K extends VolumeIssue['kind']>(issues: readonly VolumeIssue[], kind: K): Extract<VolumeIssue, { kind: K }>[] =>
  issues.filter((i): i is Extract<VolumeIssue, { kind: K }> => i.kind === kind);

describe('1. buildVolume bounds the grid before allocating; a far-off slice is an outlier, not a stretched volume', () => {
  for (const z of [1e5, 5e6, 1e300]) {
    it(`a slice at z = ${z} among five 1 mm apart is left out and listed`, async () => {
      const images = [0, 1, 2, 3, 4].map((z) => slice(z + 1, [0, 0, z]));
      images.push(slice(6, [0, 0, z]));
      const { volume, issues, slices } = await buildVolume(images);
      expect(volume.dimensions).toEqual([4, 4, 5]);
      expect(slices).toHaveLength(5);
      const out = byKind(issues, 'outlierPosition');
      expect(out).toHaveLength(1);
      expect(out[0]!.reason).toBe('alongNormal');
      expect(out[0]!.sources).toEqual(['/data/PATIENT_NAME/s6.dcm']);
      expect(byKind(issues, 'gap')).toEqual([]);
    });
  }

  it('a volume above maxVoxels is VOLUME_TOO_LARGE before anything is allocated', async () => {
    const images = [0, 1, 2, 3, 4].map((z) => slice(z + 1, [0, 0, z]));
    const err = await failure(buildVolume(images, { maxVoxels: 79 }), 'VOLUME_TOO_LARGE');
    expect(err.details).toMatchObject({ slices: 5, maxVoxels: 79 });
    await expect(buildVolume(images, { maxVoxels: 80 })).resolves.toBeDefined();
    await failure(buildVolume(images, { maxVoxels: 0 }), 'INVALID_ARGUMENT');
    await failure(buildVolume(images, { maxGapSlices: -1 }), 'INVALID_ARGUMENT');
  });

  it('a gap within maxGapSlices is still filled, and its message gives a range, not every index', async () => {
    const images = [0, 1, 2, 3, 4, 45].map((z, i) => slice(i + 1, [0, 0, z]));
    const { volume, issues } = await buildVolume(images, { maxGapSlices: 40 });
    expect(volume.dimensions).toEqual([4, 4, 46]);
    const [gap] = byKind(issues, 'gap');
    expect(gap!.missingSlices).toBe(40);
    expect(gap!.filledSlices).toHaveLength(40);
    expect(gap!.message).toContain('volume slices 5–44');
    expect(gap!.message.length).toBeLessThan(300);
    // the same series with the default (32) leaves the far slice out instead
    const strict = await buildVolume(images);
    expect(strict.volume.dimensions).toEqual([4, 4, 5]);
    expect(byKind(strict.issues, 'outlierPosition')[0]!.offsets).toEqual([41]);
  });
});

describe('2. slices whose in-plane position disagrees with the series are left out and listed, never placed elsewhere', () => {
  const placed = (volume: Awaited<ReturnType<typeof buildVolume>>['volume'], images: readonly DicomImage[]): void => {
    images.forEach((im, k) => volume.voxelToPatient([0, 0, k]).forEach((v, a) => expect(v).toBeCloseTo(im.meta.imagePositionPatient![a]!, 6)));
  };

  it('the last slice at x = 500: left out as inPlane, the others stay where their files say (no "sheared")', async () => {
    const images = [0, 1, 2, 3].map((z) => slice(z + 1, [0, 0, z]));
    const bad = slice(5, [500, 0, 4]);
    const { volume, issues, slices } = await buildVolume([...images, bad]);
    expect(byKind(issues, 'sheared')).toEqual([]);
    const out = byKind(issues, 'outlierPosition');
    expect(out.map((o) => [o.reason, o.sources])).toEqual([['inPlane', ['/data/PATIENT_NAME/s5.dcm']]]);
    expect(out[0]!.offsets[0]).toBeCloseTo(500, 6);
    expect(slices).toEqual(images);
    placed(volume, images);
  });

  it('a middle slice at x = 500: left out and listed (then a gap), not silently stacked at x = 0', async () => {
    const images = [0, 1, 2, 3, 4].map((z) => slice(z + 1, z === 2 ? [500, 0, z] : [0, 0, z]));
    const { issues, slices } = await buildVolume(images);
    expect(byKind(issues, 'outlierPosition').map((o) => o.sources)).toEqual([['/data/PATIENT_NAME/s3.dcm']]);
    expect(byKind(issues, 'gap')).toHaveLength(1);
    expect(slices).not.toContain(images[2]);
  });

  it('the first (reference) slice off: it is the one left out, the rest form the volume', async () => {
    const images = [0, 1, 2, 3, 4].map((z) => slice(z + 1, z === 0 ? [0, 30, z] : [0, 0, z]));
    const { volume, issues } = await buildVolume(images);
    expect(byKind(issues, 'outlierPosition').map((o) => o.sources)).toEqual([['/data/PATIENT_NAME/s1.dcm']]);
    expect(volume.dimensions).toEqual([4, 4, 4]);
    placed(volume, images.slice(1));
  });

  it('collinear slices on a line 89° from the normal are no gantry tilt: VOLUME_NO_GEOMETRY', async () => {
    await failure(buildVolume([slice(1, [0, 0, 0]), slice(2, [100, 0, 1])]), 'VOLUME_NO_GEOMETRY');
  });

  it('a gantry tilt (collinear, 14°) is still one sheared volume with every slice kept', async () => {
    const images = [0, 1, 2, 3, 4].map((z) => slice(z + 1, [0, 0.25 * z, z]));
    const { volume, issues } = await buildVolume(images);
    expect(issues.map((i) => i.kind)).toEqual(['sheared']);
    placed(volume, images);
  });
});

describe('3. LesionSegmenter.predictSeries never returns a scaled, negative, NaN or partial volume', () => {
  let seg: LesionSegmenter;
  const mk = (z: number, extra: TestElement[] = []): DicomImage =>
    readDicom(ctSlice([{ tag: '7FE00010', vr: 'OW', value: words(...Array.from({ length: 16 }, () => 1100)) }, ...extra], { instance: z + 1, z }), { source: `/data/PATIENT_NAME/s${z}.dcm` });
  beforeAll(async () => {
    seg = await LesionSegmenter.fit([0, 1].map((z) => ({ image: mk(z), mask: new Uint8Array(16).fill(1) })), { size: 8, depth: 1, baseFilters: 2, epochs: 1, window: { center: 0, width: 400 } });
  });

  it('a non-unit Image Orientation does not scale the slice spacing', async () => {
    const r = await seg.predictSeries([0, 1, 2].map((z) => mk(z, [{ tag: '00200037', vr: 'DS', value: '2\\0\\0\\0\\2\\0' }])));
    expect(r.sliceSpacingMm).toBeCloseTo(1, 9);
    expect(r.volumeMm3).toBeCloseTo(r.slices.reduce((a, s) => a + s.areaMm2, 0), 6);
  });

  it('Slice Thickness -5 or none on a single slice: INVALID_INPUT, not -80 or NaN mm³', async () => {
    await failure(seg.predictSeries([mk(0, [{ tag: '00180050', vr: 'DS', value: '-5' }])]), 'INVALID_INPUT');
    await failure(seg.predictSeries([mk(0)]), 'INVALID_INPUT');
    const ok = await seg.predictSeries([mk(0, [{ tag: '00180050', vr: 'DS', value: '2' }])]);
    expect(ok.sliceSpacingMm).toBe(2);
  });

  it('a slice without Pixel Spacing: INVALID_INPUT naming its index, not a sum that counts it as 0 mm²', async () => {
    const err = await failure(seg.predictSeries([mk(0), mk(1), mk(2, [{ tag: '00280030', vr: 'DS', value: '1' }])]), 'INVALID_INPUT');
    expect(err.details).toMatchObject({ index: 2 });
    expect(err.message).not.toContain('PATIENT_NAME');
  });

  it('a degenerate orientation: INVALID_INPUT', async () => {
    await failure(seg.predictSeries([0, 1].map((z) => mk(z, [{ tag: '00200037', vr: 'DS', value: '1\\0\\0\\1\\0\\0' }]))), 'INVALID_INPUT');
  });
});

describe('4. 2.5-D stacks normalise the slice normal and refuse a degenerate orientation', () => {
  const mk = (z: number, iop: string): DicomImage =>
    readDicom(ctSlice([{ tag: '7FE00010', vr: 'OW', value: words(...Array.from({ length: 16 }, () => 1024 + 100 * z)) }, { tag: '00200037', vr: 'DS', value: iop }], { instance: z + 1, z }), {
      source: `/data/PATIENT_NAME/s${z}.dcm`,
    });
  const prep: ImagePreprocessing = { window: { center: 500, width: 1000 }, size: [4, 4], mean: 0, std: 1, slices: 3, sliceSpacingMm: 1, fit: 'stretch', resample: 'bilinear' };

  it('IOP 2\\0\\0\\0\\2\\0 takes the same neighbours as the unit orientation', async () => {
    const series = [0, 1, 2, 3, 4].map((z) => mk(z, '2\\0\\0\\0\\2\\0'));
    const { input } = await preprocessStack(series[2]!, series, prep);
    expect(Array.from(input.slice(0, 3)).map((v) => Number(v.toFixed(4)))).toEqual([0.1, 0.2, 0.3]);
  });

  for (const iop of ['0\\0\\0\\0\\0\\0', '1\\0\\0\\1\\0\\0']) {
    it(`IOP ${iop}: INVALID_INPUT, the path in details only`, async () => {
      const series = [0, 1, 2, 3, 4].map((z) => mk(z, iop));
      const err = await failure(preprocessStack(series[2]!, series, prep), 'INVALID_INPUT');
      expect(err.message).not.toContain('PATIENT_NAME');
    });
  }

  it('a SEG over sources with a zero orientation is refused (not every frame at position 1)', async () => {
    const images = [0, 1].map((z) => readDicom(ctSlice([{ tag: '00200037', vr: 'DS', value: '0\\0\\0\\0\\0\\0' }], { instance: z + 1, z })));
    const masks = images.map(() => ({ mask: new Uint8Array(16).fill(1), rows: 4, columns: 4, pixels: 16, areaMm2: 16 }));
    await failure(() => segmentationToDicomSeg(masks, images, { algorithm: { name: 'x', version: '1' } }), 'DICOM_RESULT_INVALID_INPUT');
  });
});

describe('5. DiagnosisModel.train frees every tensor on failure and in the multiclass path', () => {
  const img = (i: number, bright: boolean): DicomImage =>
    readDicom(ctSlice([{ tag: '7FE00010', vr: 'OW', value: words(...Array.from({ length: 16 }, (_, p) => (bright ? 2000 : 100) + ((p * 37 + i * 11) % 50))) }], { instance: i + 1, z: i }), { source: `img${i}` });
  const data = Array.from({ length: 8 }, (_, i) => ({ image: img(i, i % 2 === 1), label: i % 2 ? 'b' : 'a', patientId: `P${i}` }));
  const opts = { size: 32, filters: [2, 4], epochs: 1, batchSize: 8, flipAugment: false, window: { center: 1000, width: 3000 } };
  const rgb = readDicom(
    ctSlice([
      { tag: '00280002', vr: 'US', value: words(3) },
      { tag: '00280004', vr: 'CS', value: 'RGB' },
      { tag: '00280100', vr: 'US', value: words(8) },
      { tag: '00280101', vr: 'US', value: words(8) },
      { tag: '00280102', vr: 'US', value: words(7) },
      { tag: '7FE00010', vr: 'OB', value: new Uint8Array(48) },
    ]),
    { source: 'rgb' },
  );

  it('a validation image that fails preprocessing: INVALID_INPUT and no tensor left behind', async () => {
    const bad = data.map((d, i) => (i === 0 ? { ...d, image: rgb } : d));
    const before = tf.memory().numTensors;
    await failure(DiagnosisModel.train(bad, { ...opts, labels: ['a', 'b'], seed: 2 }), 'INVALID_INPUT');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a 3-class train followed by close() leaves no tensor behind', async () => {
    const labels = ['a', 'b', 'c'];
    const d = data.map((x, i) => ({ ...x, label: labels[i % 3]! }));
    const before = tf.memory().numTensors;
    const { model } = await DiagnosisModel.train(d, { ...opts, labels });
    await model.close();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('6. window widths and VOI LUTs the renderer cannot use are left out at read time, with an issue', () => {
  it('a LINEAR width of 0.5 is an issue, and the image renders by default', async () => {
    const im = readDicom(ctSlice([{ tag: '00281050', vr: 'DS', value: '40' }, { tag: '00281051', vr: 'DS', value: '0.5' }]));
    expect(im.meta.windows).toEqual([]);
    expect(im.issues.map((i) => i.keyword)).toEqual(['WindowWidth']);
    expect(renderFrame(await im.decodeFrame(0), im.meta)).toHaveLength(16);
  });

  it('a SIGMOID width of 0.5 is kept (allowed for that function)', () => {
    const im = readDicom(ctSlice([{ tag: '00281050', vr: 'DS', value: '40' }, { tag: '00281051', vr: 'DS', value: '0.5' }, { tag: '00281056', vr: 'CS', value: 'SIGMOID' }]));
    expect(im.meta.windows).toHaveLength(1);
    expect(im.issues).toEqual([]);
  });

  const item = (desc: number[], data: Uint8Array): TestElement[] => [
    { tag: '00283002', vr: 'US', value: words(...desc) },
    { tag: '00283006', vr: 'OW', value: data },
  ];
  const cases: [string, TestElement[]][] = [
    ['bits 0', [{ tag: '00283010', vr: 'SQ', value: [item([4, 0, 0], words(0, 1, 2, 3))] }]],
    ['bits 17', [{ tag: '00283010', vr: 'SQ', value: [item([4, 0, 17], words(0, 100, 200, 300))] }]],
    ['16 entries, data for 4', [{ tag: '00283010', vr: 'SQ', value: [item([16, 0, 12], words(0, 1, 2, 3))] }]],
    ['a descriptor of 2 values', [{ tag: '00283010', vr: 'SQ', value: [[{ tag: '00283002', vr: 'US', value: words(4, 0) }, { tag: '00283006', vr: 'OW', value: words(0, 1, 2, 3) }]] }]],
  ];
  for (const [name, extra] of cases) {
    it(`a VOI LUT item with ${name} is left out with an issue, and the image renders`, async () => {
      const im = readDicom(ctSlice(extra));
      expect(im.meta.voiLuts).toEqual([]);
      expect(im.issues.map((i) => i.keyword)).toEqual(['VOILUTSequence']);
      const f = await im.decodeFrame(0);
      expect(renderFrame(f, im.meta)).toHaveLength(16);
    });
  }

  it('a Modality LUT of 0 bits is no usable table (an issue), not kept with bits 0', () => {
    const im = readDicom(ctSlice([{ tag: '00283000', vr: 'SQ', value: [item([1, 0, 0], words(7))] }]));
    expect(im.meta.modalityLut).toBeUndefined();
    expect(im.issues.map((i) => i.keyword)).toEqual(['ModalityLUTSequence']);
  });
});

describe('7. a PALETTE COLOR descriptor of other than 8 or 16 bits is DICOM_MALFORMED', () => {
  const pal = (bits: number): TestElement[] => {
    const desc = words(16, 0, bits);
    const lut = words(...Array.from({ length: 16 }, (_, i) => i * 4000));
    return [
      { tag: '00280004', vr: 'CS', value: 'PALETTE COLOR' },
      { tag: '00280100', vr: 'US', value: words(8) },
      { tag: '00280101', vr: 'US', value: words(8) },
      { tag: '00280102', vr: 'US', value: words(7) },
      { tag: '00281052', vr: 'DS', value: '0' },
      { tag: '7FE00010', vr: 'OB', value: Uint8Array.from({ length: 16 }, (_, i) => i) },
      ...['1101', '1102', '1103'].map((t) => ({ tag: '0028' + t, vr: 'US', value: desc })),
      ...['1201', '1202', '1203'].map((t) => ({ tag: '0028' + t, vr: 'OW', value: lut })),
    ];
  };
  for (const bits of [0, 24, 40]) {
    it(`bits ${bits}`, async () => {
      await failure(readDicom(ctSlice(pal(bits))).decodeFrame(0), 'DICOM_MALFORMED');
    });
  }
  it('bits 16 still decodes', async () => {
    const f = await readDicom(ctSlice(pal(16))).decodeFrame(0);
    expect(f.bitsStored).toBe(16);
  });
});

describe('8. segmentationToDicomSeg refuses non-finite mask values', () => {
  it('a NaN mask is DICOM_RESULT_INVALID_INPUT with its index, not 16 lesion pixels', async () => {
    const images = [0, 1].map((z) => readDicom(ctSlice([], { instance: z + 1, z })));
    const nan = new Float32Array(16).fill(Number.NaN) as unknown as Uint8Array;
    const err = await failure(
      () =>
        segmentationToDicomSeg(
          [
            { mask: new Uint8Array(16), rows: 4, columns: 4, pixels: 0, areaMm2: 0 },
            { mask: nan, rows: 4, columns: 4, pixels: 0, areaMm2: 0 },
          ],
          images,
          { algorithm: { name: 'x', version: '1' } },
        ),
      'DICOM_RESULT_INVALID_INPUT',
    );
    expect(err.details).toMatchObject({ index: 1 });
  });
});

describe('9. buildVolume refuses or reports a non-orthogonal Image Orientation', () => {
  const series = (iop: string): DicomImage[] => [0, 1, 2].map((z) => slice(z + 1, undefined, [{ tag: '00200037', vr: 'DS', value: iop }]));
  for (const iop of ['1\\0\\0\\0.5\\0.8660254\\0', '1\\0\\0\\0.8660254\\0.5\\0']) {
    it(`row and column ${iop.startsWith('1\\0\\0\\0.5') ? 60 : 30}° apart: VOLUME_NO_GEOMETRY`, async () => {
      await failure(buildVolume(series(iop)), 'VOLUME_NO_GEOMETRY');
    });
  }
  it('slightly off (0.6°) or non-unit: a nonOrthogonalOrientation issue, still built', async () => {
    const { issues } = await buildVolume(series('1\\0\\0\\0.01\\0.99995\\0'));
    const [o] = byKind(issues, 'nonOrthogonalOrientation');
    expect(o!.angle).toBeCloseTo(89.427, 2);
    const scaled = await buildVolume(series('2\\0\\0\\0\\2\\0'));
    expect(byKind(scaled.issues, 'nonOrthogonalOrientation')[0]!.norms).toEqual([2, 2]);
    expect(scaled.volume.spacing).toEqual([1, 1, 1]);
  });
  it('a clean orientation has no such issue', async () => {
    expect((await buildVolume(series('1\\0\\0\\0\\1\\0'))).issues).toEqual([]);
  });
});

describe('10. diagnosis errors keep the file path out of the message', () => {
  it('preprocessing an RGB image: INVALID_INPUT, the path in details.source only', async () => {
    const source = '/data/MUELLER_JORG_1950-01-01/ct1.dcm';
    const rgb = readDicom(
      ctSlice([
        { tag: '00280002', vr: 'US', value: words(3) },
        { tag: '00280004', vr: 'CS', value: 'RGB' },
        { tag: '00280100', vr: 'US', value: words(8) },
        { tag: '00280101', vr: 'US', value: words(8) },
        { tag: '00280102', vr: 'US', value: words(7) },
        { tag: '7FE00010', vr: 'OB', value: new Uint8Array(48) },
      ]),
      { source },
    );
    const series = [rgb];
    const err = await failure(preprocessStack(rgb, series, { window: { center: 40, width: 400 }, size: [4, 4], mean: 0, std: 1, slices: 1, fit: 'stretch', resample: 'bilinear' }), 'INVALID_INPUT');
    expect(err.message).not.toContain('MUELLER');
    expect(err.details).toMatchObject({ source });
  });

  it('a stack image without geometry: the path in details only', async () => {
    const source = '/data/MUELLER_JORG_1950-01-01/ct2.dcm';
    const a = readDicom(ctSlice([], { instance: 1, z: 0 }), { source: '/data/MUELLER_JORG_1950-01-01/ct1.dcm' });
    const b = readDicom(ctSlice([{ tag: '00200032', vr: 'DS', value: '' }], { instance: 2, z: 1 }), { source });
    const prep: ImagePreprocessing = { window: { center: 40, width: 400 }, size: [4, 4], mean: 0, std: 1, slices: 3, sliceSpacingMm: 1, fit: 'stretch', resample: 'bilinear' };
    const err = await failure(preprocessStack(a, [a, b], prep), 'INVALID_INPUT');
    expect(err.message).not.toContain('MUELLER');
  });
});
