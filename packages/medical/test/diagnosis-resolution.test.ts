// DiagnosisModel at clinical resolution: input sizes from 32 to 512, 2.5-D stacks of adjacent slices placed by
// geometry (order, spacing, gaps, edges), letterboxed non-square images, bundles that record and check all of it, and
// heatmaps on the source image's own pixels. The stack tests use the committed volume fixtures (series with shuffled
// file names and Instance Numbers, oblique, with a gap, a duplicate, a localizer: see fixtures/gen_volume.py); the
// models are tiny so the file stays quick on two cores. Synthetic data only.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import {
  DiagnosisModel,
  generateCtDataset,
  preprocessImage,
  preprocessStack,
  readDicomFile,
  readDicomFolder,
  type DicomImage,
  type ImagePreprocessing,
  type LabelledImage,
} from '@lepton/medical';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const VOLUME = join(FIXTURES, 'volume');
const expected = JSON.parse(readFileSync(join(VOLUME, 'expected.json'), 'utf8')) as Record<string, { files: string[]; positions: number[][] }>;

/** A window wide enough that no fixture value clips, so interpolated planes compare linearly. */
const PREP: ImagePreprocessing = { window: { center: 0, width: 5000 }, size: [32, 32], mean: 0, std: 1, slices: 3, sliceSpacingMm: 2.5, fit: 'letterbox', resample: 'area' };

/** The series' images in slice order (expected.json) and shuffled (as a folder load might give them). */
async function series(name: string): Promise<{ ordered: DicomImage[]; shuffled: DicomImage[] }> {
  const { images } = await readDicomFolder(join(VOLUME, name));
  const byFile = new Map(images.map((im) => [im.source!.split('/').pop()!, im]));
  const ordered = expected[name]!.files.map((f) => byFile.get(f)!);
  const shuffled = [...images].sort((a, b) => (a.meta.sopInstanceUid! < b.meta.sopInstanceUid! ? -1 : 1));
  return { ordered, shuffled };
}

const plane = async (image: DicomImage, prep: ImagePreprocessing = PREP): Promise<Float32Array> => (await preprocessImage(image, { ...prep, slices: 1 })).input;
const channel = (input: Float32Array, k: number, j: number): Float32Array => input.filter((_, i) => i % k === j);

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

describe('slice stacks (2.5-D inputs)', () => {
  it('take the neighbours along the slice normal by Image Position (Patient), whatever the file order, and repeat the edge slice', async () => {
    const { ordered, shuffled } = await series('ct_oblique'); // oblique, names and Instance Numbers shuffled
    const planes = await Promise.all(ordered.map((im) => plane(im)));
    const n = ordered.length;
    for (const i of [0, 1, 11, n - 2, n - 1]) {
      const { input, windowed } = await preprocessStack(ordered[i]!, shuffled, PREP);
      expect(input).toHaveLength(32 * 32 * 3);
      expect(channel(input, 3, 0)).toEqual(planes[Math.max(0, i - 1)]); // below along the normal (edge: itself)
      expect(channel(input, 3, 1)).toEqual(planes[i]);
      expect(channel(input, 3, 2)).toEqual(planes[Math.min(n - 1, i + 1)]); // above (edge: itself)
      expect(windowed).toEqual(planes[i]);
    }
    const five = await preprocessStack(ordered[5]!, shuffled, { ...PREP, slices: 5 });
    expect([0, 1, 2, 3, 4].map((j) => channel(five.input, 5, j))).toEqual([3, 4, 5, 6, 7].map((k) => planes[k]));
  });

  it('keep the model\'s slice spacing on series with another one: every other slice, or halfway between two', async () => {
    const { ordered, shuffled } = await series('ct_axial'); // 2.5 mm
    const planes = await Promise.all(ordered.map((im) => plane(im)));
    const wide = await preprocessStack(ordered[10]!, shuffled, { ...PREP, sliceSpacingMm: 5 });
    expect(channel(wide.input, 3, 0)).toEqual(planes[8]);
    expect(channel(wide.input, 3, 2)).toEqual(planes[12]);
    const thin = await preprocessStack(ordered[10]!, shuffled, { ...PREP, sliceSpacingMm: 1.25 });
    const half = channel(thin.input, 3, 0);
    planes[9]!.forEach((v, i) => expect(half[i]).toBeCloseTo((v + planes[10]![i]!) / 2, 6));
  });

  it('fill a missing slice by interpolating its neighbours; a duplicate position changes nothing', async () => {
    // HU is an affine function of position in these series, so the interpolated plane equals the missing slice's.
    const full = await series('linear');
    const gap = await series('linear_gap');
    const missing = full.ordered.findIndex((im) => !gap.shuffled.some((g) => g.meta.sopInstanceUid === im.meta.sopInstanceUid));
    expect(missing).toBeGreaterThan(0);
    const prep = { ...PREP, sliceSpacingMm: 2 };
    const truth = await plane(full.ordered[missing]!, prep);
    const before = gap.shuffled.find((im) => im.meta.sopInstanceUid === full.ordered[missing - 1]!.meta.sopInstanceUid)!;
    const filled = channel((await preprocessStack(before, gap.shuffled, prep)).input, 3, 2);
    truth.forEach((v, i) => expect(Math.abs(filled[i]! - v)).toBeLessThan(2e-4)); // 0.5 HU stored steps / 5000 HU window
    const dup = await series('linear_duplicate');
    const one = full.ordered[3]!;
    const inDup = dup.shuffled.find((im) => im.meta.sopInstanceUid === one.meta.sopInstanceUid)!;
    expect((await preprocessStack(inDup, dup.shuffled, prep)).input).toEqual((await preprocessStack(one, full.shuffled, prep)).input);
  });

  it('refuse a series mixing orientations, images without geometry, and an image outside the series', async () => {
    const mixed = await series('linear_mixed'); // a localizer in the series
    await expect(preprocessStack(mixed.shuffled[0]!, mixed.shuffled, PREP)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('oriented differently') });
    const a = await readDicomFile(join(FIXTURES, 'dicom/i32.dcm')); // no Image Position/Orientation (Patient)
    const b = await readDicomFile(join(FIXTURES, 'dicom/i32.dcm'));
    await expect(preprocessStack(a, [a, b], PREP)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('Image Position/Orientation') });
    const alone = await preprocessStack(a, [a], PREP); // a lone image needs no geometry: every channel is the image
    expect(channel(alone.input, 3, 0)).toEqual(channel(alone.input, 3, 1));
    const { ordered } = await series('ct_axial');
    await expect(preprocessStack(ordered[0]!, ordered.slice(1), PREP)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(preprocessImage(ordered[0]!, PREP)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('preprocessStack') });
  });

  it('letterbox non-square images: the aspect ratio kept, the padding at the bottom of the window', async () => {
    const { ordered } = await series('linear'); // 12 rows × 16 columns → 24 × 32 inside the 32 × 32 input
    const p = await plane(ordered[4]!);
    const rows = Array.from({ length: 32 }, (_, r) => p.subarray(r * 32, r * 32 + 32));
    for (const r of [0, 3, 28, 31]) expect(Math.max(...rows[r]!)).toBe(0);
    for (const r of [4, 16, 27]) expect(Math.min(...rows[r]!)).toBeGreaterThan(0);
    const stretched = await plane(ordered[4]!, { ...PREP, fit: 'stretch' });
    expect(Math.min(...stretched)).toBeGreaterThan(0);
  });
});

describe('input size and stack depth', () => {
  it('refuses sizes outside 32–512, even or out-of-range stack depths and unknown fit/resample, before any work', async () => {
    const image = await readDicomFile(join(FIXTURES, 'dicom/ct_u12.dcm'));
    const data: LabelledImage[] = [{ image, label: 'normal', patientId: 'A' }];
    const bad: Array<[string, unknown]> = [['size', 16], ['size', 513], ['size', 100.5], ['size', '128'], ['slices', 2], ['slices', 0], ['slices', 11], ['sliceSpacingMm', -1], ['sliceSpacingMm', Number.NaN], ['fit', 'crop'], ['resample', 'cubic']];
    for (const [option, value] of bad) {
      await expect(DiagnosisModel.train(data, { labels: ['normal', 'nodule'], [option]: value } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { option } });
    }
  });
});

describe('a 2.5-D model (3 slices) end to end', () => {
  let dir: string;
  let patients: Awaited<ReturnType<typeof generateCtDataset>>;
  let series3: DicomImage[][];
  let model: DiagnosisModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lepton-dx-stack-'));
    patients = await generateCtDataset(join(dir, 'ct'), { patients: 6, slices: 5, size: 48, seed: 11 });
    series3 = await Promise.all(patients.map((p) => Promise.all(p.files.map((f) => readDicomFile(f)))));
    const data = patients.flatMap((p, i) => series3[i]!.map((image, s) => ({ image, label: p.labels[s]!, patientId: p.patientId })));
    ({ model } = await DiagnosisModel.train(data, { labels: ['normal', 'nodule'], size: 32, slices: 3, filters: [4, 8], epochs: 1, flipAugment: false, validationFraction: 0.34, seed: 3 }));
  }, 120_000);

  afterAll(async () => {
    model?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('records size, stack depth and slice spacing in the bundle; the loaded model answers the same in any file order', async () => {
    expect(model.preprocessing).toMatchObject({ size: [32, 32], slices: 3, sliceSpacingMm: 5, fit: 'letterbox', resample: 'area' });
    await model.save(join(dir, 'model'));
    const manifest = JSON.parse(await readFile(join(dir, 'model/lepton.json'), 'utf8')) as { preprocessing: Record<string, unknown> };
    expect(manifest.preprocessing).toMatchObject({ size: [32, 32], slices: 3, sliceSpacingMm: 5 });
    const loaded = await DiagnosisModel.load(join(dir, 'model'));
    try {
      expect(loaded.preprocessing).toEqual(model.preprocessing);
      const images = series3[1]!;
      const a = await model.predictSeries(images);
      const reversed = await loaded.predictSeries([...images].reverse());
      expect(reversed.images.map((d) => d.probability).reverse()).toEqual(a.images.map((d) => d.probability));
      const one = await loaded.predict(images[2]!, { series: [...images].reverse() });
      expect(one.probability).toBe(a.images[2]!.probability);
      await expect(loaded.predict(images[2]!)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { option: 'series' } });
    } finally {
      loaded.dispose();
    }
  });

  it('puts the heatmap on the source image: 48×48 values and a 48×48 PNG for a 32×32 model', async () => {
    const p = patients.find((x) => x.hasLesion)!;
    const s = await model.predictSeries(series3[patients.indexOf(p)]!, { heatmap: true });
    expect([s.heatmap!.width, s.heatmap!.height, s.heatmap!.data.length]).toEqual([48, 48, 48 * 48]);
    const png = s.overlayPng!;
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([48, 48]); // IHDR width, height
    // A non-square image (48 rows × 64 columns, letterboxed into the model) gets a heatmap of its own shape.
    const odd = await readDicomFile(join(FIXTURES, 'dicom/ct_u12.dcm'));
    const d = await model.predict(odd, { heatmap: true, series: [odd] });
    expect([d.heatmap!.width, d.heatmap!.height]).toEqual([64, 48]);
    expect([d.overlayPng!.readUInt32BE(16), d.overlayPng!.readUInt32BE(20)]).toEqual([64, 48]);
  });

  it('refuses a bundle whose settings are out of range or disagree with its network', async () => {
    const edit = async (name: string, change: (p: Record<string, unknown>) => void): Promise<string> => {
      const to = join(dir, name);
      await model.save(to);
      const file = join(to, 'lepton.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as { preprocessing: Record<string, unknown> };
      change(m.preprocessing);
      await writeFile(file, JSON.stringify(m));
      return to;
    };
    await expect(DiagnosisModel.load(await edit('one-slice', (p) => (p['slices'] = 1)))).rejects.toMatchObject({ code: 'BUNDLE_INCOMPATIBLE' });
    await expect(DiagnosisModel.load(await edit('other-size', (p) => (p['size'] = [64, 64])))).rejects.toMatchObject({ code: 'BUNDLE_INCOMPATIBLE' });
    await expect(DiagnosisModel.load(await edit('even', (p) => (p['slices'] = 2)))).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { field: 'slices' } });
    await expect(DiagnosisModel.load(await edit('huge', (p) => (p['size'] = [1024, 1024])))).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { field: 'size' } });
    await expect(DiagnosisModel.load(await edit('no-spacing', (p) => delete p['sliceSpacingMm']))).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { field: 'sliceSpacingMm' } });
    await expect(DiagnosisModel.load(await edit('fit', (p) => (p['fit'] = 'crop')))).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { field: 'fit' } });
  });
});

describe('512×512 end to end', () => {
  it('trains a tiny model on full CT slices, scores, explains on the 512×512 slice and round-trips the bundle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-dx-512-'));
    try {
      const patients = await generateCtDataset(join(dir, 'ct'), { patients: 4, slices: 2, size: 512, seed: 5 });
      const data = (await Promise.all(patients.map(async (p) => Promise.all(p.files.map(async (f, s) => ({ image: await readDicomFile(f), label: p.labels[s]!, patientId: p.patientId })))))).flat();
      const { model } = await DiagnosisModel.train(data, { labels: ['normal', 'nodule'], size: 512, filters: [4], epochs: 1, batchSize: 4, flipAugment: false, validationFraction: 0.5, seed: 1 });
      try {
        expect(model.preprocessing.size).toEqual([512, 512]);
        const d = await model.predict(data[0]!.image, { heatmap: true });
        expect(d.heatmap!.data).toHaveLength(512 * 512);
        expect([d.overlayPng!.readUInt32BE(16), d.overlayPng!.readUInt32BE(20)]).toEqual([512, 512]);
        await model.save(join(dir, 'model'));
        const loaded = await DiagnosisModel.load(join(dir, 'model'));
        expect((await loaded.predict(data[0]!.image)).probability).toBe(d.probability);
        loaded.dispose();
      } finally {
        model.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
