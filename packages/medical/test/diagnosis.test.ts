// Diagnosis and segmentation on a seeded synthetic chest-CT dataset written as real DICOM files (no patient data).
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  applyModalityLut,
  ctPhantom,
  DiagnosisModel,
  generateCtDataset,
  LesionSegmenter,
  readDicomFile,
  resizeBilinear,
  type DiagnosisTrainResult,
  type SyntheticCtPatient,
} from '@lepton/medical';

let dir: string;
let patients: SyntheticCtPatient[];
let trained: DiagnosisTrainResult;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-ct-'));
  // Slices of 128×128 for a 64×64 model: the heatmap must come back on the slice's own pixels, not the model's.
  patients = await generateCtDataset(dir, { patients: 24, slices: 8, size: 128, seed: 7 });
  // A file nobody labelled and a damaged file: both are reported by the folder load, neither stops it.
  await copyFile(patients[0]!.files[0]!, join(dir, 'unlabelled.dcm'));
  await writeFile(join(dir, 'broken.dcm'), Buffer.from('DICM? no'));
  trained = await DiagnosisModel.trainFromFolder(dir, join(dir, 'labels.csv'), { labels: ['normal', 'nodule'], filters: [8, 16, 32], epochs: 12, seed: 1, name: 'ct-nodule', version: '0.3.0' });
}, 600_000); // trains a 64×64 model on 128×128 slices: minutes on 2 loaded cores

afterAll(async () => {
  trained?.model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('synthetic chest CT (phantom → DICOM)', () => {
  it('has plausible HU per tissue, a lesion mask where the nodule is, and survives the DICOM round trip pixel for pixel', async () => {
    const p = ctPhantom({ seed: 3, size: 64, slices: 10, lesion: 12, noiseHu: 0 });
    const k = Math.round(-p.lesion!.center[2] / p.sliceThickness);
    const hu = p.hu[k]!;
    expect(hu[0]).toBe(-1000); // air in the corner
    const inLesion = [...p.masks[k]!.keys()].filter((i) => p.masks[k]![i] === 1);
    expect(inLesion.length).toBeGreaterThan(5);
    for (const i of inLesion) expect(hu[i]).toBeGreaterThanOrEqual(20);
    expect(hu.filter((v) => v === -850).length).toBeGreaterThan(200); // lungs
    expect(hu.filter((v) => v === 700).length).toBeGreaterThan(5); // cortical bone
    // A patient's files read back as the HU they were written from (rounded, 12-bit stored, intercept −1024).
    const pt = patients.find((x) => x.hasLesion)!;
    for (const s of [0, 3]) {
      const image = await readDicomFile(pt.files[s]!);
      const back = applyModalityLut(await image.decodeFrame(0), image.meta);
      const ref = pt.phantom.hu[s]!;
      let worst = 0;
      for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]! - Math.max(-1024, Math.min(3071, Math.round(ref[i]!)))));
      expect(worst).toBe(0);
      expect(image.meta.imagePositionPatient).toEqual(pt.phantom.positions[s]);
      expect(image.meta.pixelSpacing![0]).toBeCloseTo(pt.phantom.pixelSpacing[0], 6);
      expect(image.meta.patientId).toBe(pt.patientId);
    }
    const dump = spawnSync('dcmdump', ['+E', pt.files[0]!], { encoding: 'utf8' });
    if (dump.error === undefined) expect(dump.status, dump.stderr).toBe(0);
  });

  it('resizes bilinearly with pixel centres aligned', () => {
    // 2×2 → 4×4: corners keep their values, the rest interpolate.
    const up = resizeBilinear([0, 1, 2, 3], 2, 2, [4, 4]);
    expect(Array.from(up.slice(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(up[15]).toBe(3);
    expect(Array.from(resizeBilinear([1, 2, 3, 4], 2, 2, [2, 2]))).toEqual([1, 2, 3, 4]);
  });
});

describe('DiagnosisModel', () => {
  it('splits by patient, reports unusable files, and separates nodule slices from normal ones on unseen patients', () => {
    const { split, validation, skipped } = trained;
    expect(split.train.filter((p) => split.validation.includes(p))).toEqual([]);
    expect([...split.train, ...split.validation].sort()).toEqual(patients.map((p) => p.patientId).sort());
    expect(skipped.map((s) => s.path).sort()).toEqual([expect.stringContaining('broken.dcm'), expect.stringContaining('unlabelled.dcm')].sort());
    expect(validation.rocAuc).toBeGreaterThan(0.75);
    // The operating point is the highest threshold reaching 90 % sensitivity on the validation patients.
    expect(validation.sensitivity).toBeGreaterThanOrEqual(0.9);
    const m = validation.confusion.matrix;
    expect(m[0]![0]! + m[0]![1]! + m[1]![0]! + m[1]![1]!).toBe(validation.n);
    expect(validation.sensitivity).toBeCloseTo(m[1]![1]! / (m[1]![0]! + m[1]![1]!), 12);
    expect(validation.specificity).toBeCloseTo(m[0]![0]! / (m[0]![0]! + m[0]![1]!), 12);
  });

  it('predicts a file with a structured result and a Grad-CAM heatmap and overlay, and a series by its key image', async () => {
    const val = new Set(trained.split.validation);
    const pt = patients.find((p) => val.has(p.patientId) && p.hasLesion)!;
    const images = await Promise.all(pt.files.map((f) => readDicomFile(f)));
    const nodule = pt.labels.indexOf('nodule');
    const d = await trained.model.predict(images[nodule]!, { heatmap: true });
    expect(d).toMatchObject({ model: { name: 'ct-nodule', version: '0.3.0' }, threshold: trained.model.threshold });
    expect(['normal', 'nodule']).toContain(d.label);
    expect(d.positive).toBe(d.probability >= d.threshold!);
    expect(d.probabilities['nodule']! + d.probabilities['normal']!).toBeCloseTo(1, 6);
    expect(d.heatmap!.data).toHaveLength(128 * 128); // the source slice's pixels
    expect(Math.max(...d.heatmap!.data)).toBeLessThanOrEqual(1);
    expect(d.overlayPng!.subarray(1, 4).toString()).toBe('PNG');
    const series = await trained.model.predictSeries(images);
    expect(series.images).toHaveLength(images.length);
    const probs = series.images.map((x) => x.probability);
    expect(series.keyImage).toBe(probs.indexOf(Math.max(...probs)));
    expect(series.probability).toBe(Math.max(...probs));
  });

  it('overlays Grad-CAM on the full-resolution slice: the PNG is 128×128 and the heat peaks at the nodule', async () => {
    const val = new Set(trained.split.validation);
    const checked: Array<{ beyondEdge: number; heatAtCentre: number }> = [];
    for (const pt of patients.filter((p) => val.has(p.patientId) && p.hasLesion)) {
      const k = pt.phantom.masks.reduce((best, m, i, all) => (m.reduce((a, v) => a + v, 0) > all[best]!.reduce((a, v) => a + v, 0) ? i : best), 0);
      const d = await trained.model.predict(await readDicomFile(pt.files[k]!), { heatmap: true });
      expect([d.heatmap!.width, d.heatmap!.height]).toEqual([128, 128]);
      expect([d.overlayPng!.readUInt32BE(16), d.overlayPng!.readUInt32BE(20)]).toEqual([128, 128]); // PNG IHDR
      const data = d.heatmap!.data;
      const peak = data.indexOf(Math.max(...data));
      // The nodule's centre in source pixels, from the generator's own geometry (LPS mm → column, row).
      const [px] = pt.phantom.pixelSpacing;
      const [x0, y0] = pt.phantom.positions[k]!;
      const { center, radiusMm } = pt.phantom.lesion!;
      const col = (center[0] - x0) / px;
      const row = (center[1] - y0) / px;
      const centre = Math.round(row) * 128 + Math.round(col);
      expect(pt.phantom.masks[k]![centre]).toBe(1);
      checked.push({ beyondEdge: Math.hypot((peak % 128) - col, Math.floor(peak / 128) - row) - radiusMm / px, heatAtCentre: data[centre]! });
    }
    expect(checked.length).toBeGreaterThanOrEqual(2);
    // Grad-CAM sees the 64×64 input through the last convolution's 16×16 cells, 8 source pixels each, so its peak falls
    // within about a cell of the nodule (measured: 3–9 px beyond the 3–4 px radius); a map placed on the model's 64×64
    // grid instead of the slice's 128×128 would put it 30–55 px away, towards the top left.
    for (const c of checked) {
      expect(c.beyondEdge).toBeLessThanOrEqual(12);
      expect(c.heatAtCentre).toBeGreaterThan(0.4);
    }
  });

  it('saves and loads with its preprocessing and operating point: identical answers; no tensors leak', async () => {
    const out = join(dir, 'bundle');
    await trained.model.save(out);
    const loaded = await DiagnosisModel.load(out);
    const image = await readDicomFile(patients[1]!.files[2]!);
    const before = tf.memory().numTensors;
    const a = await trained.model.predict(image);
    for (let i = 0; i < 5; i++) await trained.model.predict(image);
    expect(tf.memory().numTensors).toBe(before);
    const b = await loaded.predict(image);
    expect(b.probability).toBeCloseTo(a.probability, 6);
    expect(loaded.threshold).toBe(trained.model.threshold);
    expect(loaded.preprocessing).toEqual(trained.model.preprocessing);
    loaded.dispose();
  });

  it('rejects a labels CSV without the needed columns and labels it does not know', async () => {
    await writeFile(join(dir, 'bad.csv'), 'name,diagnosis\nx,y\n');
    await expect(DiagnosisModel.trainFromFolder(dir, join(dir, 'bad.csv'), { labels: ['normal', 'nodule'] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const image = await readDicomFile(patients[0]!.files[0]!);
    await expect(DiagnosisModel.train([{ image, label: 'fracture' }], { labels: ['normal', 'nodule'] })).rejects.toThrow(/fracture/);
  });
});

describe('LesionSegmenter', () => {
  it('learns nodule masks with Dice loss; masks come back in image coordinates with area and volume', async () => {
    const lesionPatients = patients.filter((p) => p.hasLesion);
    const held = new Set(lesionPatients.slice(-3).map((p) => p.patientId));
    const samples = async (ps: SyntheticCtPatient[]) =>
      Promise.all(ps.flatMap((p) => p.files.map(async (f, k) => ({ image: await readDicomFile(f), mask: p.phantom.masks[k]!, patient: p }))));
    const all = await samples(lesionPatients);
    const train = all.filter((s) => !held.has(s.patient.patientId));
    const test = all.filter((s) => held.has(s.patient.patientId));
    const seg = await LesionSegmenter.fit(train, { seed: 1 });
    try {
      const ev = await seg.evaluate(test);
      expect(ev.lesionDice).toBeGreaterThan(0.6);
      expect(ev.perImage).toHaveLength(test.length);
      // Volume of one held-out nodule: predicted vs the reference mask's, from the same spacing.
      const pt = lesionPatients.find((p) => held.has(p.patientId))!;
      const images = test.filter((s) => s.patient === pt).map((s) => s.image);
      const result = await seg.predictSeries(images);
      expect(result.slices[0]!.mask).toHaveLength(images[0]!.meta.rows * images[0]!.meta.columns);
      expect(result.sliceSpacingMm).toBeCloseTo(pt.phantom.sliceThickness, 6);
      const [sy, sx] = pt.phantom.pixelSpacing;
      const truth = pt.phantom.masks.reduce((a, m) => a + m.reduce((x, v) => x + v, 0), 0) * sy * sx * pt.phantom.sliceThickness;
      expect(result.volumeMm3).toBeGreaterThan(0.5 * truth);
      expect(result.volumeMm3).toBeLessThan(1.6 * truth);
      const slice = result.slices.find((s) => s.pixels > 0)!;
      expect(slice.areaMm2).toBeCloseTo(slice.pixels * sy * sx, 6);
      await expect(LesionSegmenter.fit([{ image: images[0]!, mask: new Uint8Array(3) }])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    } finally {
      seg.dispose();
    }
  }, 180_000);
});
