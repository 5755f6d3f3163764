import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { DefectClassifier, DefectInspector, generatePart, generateParts, PART_LABELS, type PartImage } from '@lepton/manufacturing';

// Synthetic part images throughout (see generateParts): seeded, so every number below is reproducible.
const SIZE = 64;
const PIXELS = SIZE * SIZE;
let dir: string;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-inspection-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const errorCode = (code: string): unknown => expect.objectContaining({ code });

describe('synthetic part images', () => {
  it('are deterministic per seed and differ between seeds', () => {
    const a = generateParts(6, { seed: 4, labels: PART_LABELS });
    const b = generateParts(6, { seed: 4, labels: PART_LABELS });
    const c = generateParts(6, { seed: 5, labels: PART_LABELS });
    expect(a.map((p) => p.label)).toEqual(['good', 'scratch', 'dent', 'good', 'scratch', 'dent']);
    a.forEach((p, i) => {
      expect(p.image).toEqual(b[i]!.image);
      expect(p.mask).toEqual(b[i]!.mask);
      expect(p.image).not.toEqual(c[i]!.image);
    });
    expect(generatePart('dent', 9).image).toEqual(generatePart('dent', 9).image);
  });

  it('stay in [0, 1] and mark exactly the defect pixels', () => {
    const parts = generateParts(60, { seed: 6, labels: PART_LABELS });
    for (const p of parts) {
      expect(p.image).toHaveLength(PIXELS);
      expect(p.mask).toHaveLength(PIXELS);
      expect(p.image.every((v) => v >= 0 && v <= 1)).toBe(true);
      const area = p.mask.reduce((s, v) => s + v, 0);
      if (p.label === 'good') expect(area).toBe(0);
      // A scratch is a thin line (a few dozen pixels), a dent a small blob; neither covers much of the part.
      else expect(area).toBeGreaterThan(p.label === 'scratch' ? 8 : 5);
      expect(area).toBeLessThan(PIXELS * 0.05);
    }
    // The same seed draws the same part; the mask marks where the defect changed it (outside: sensor noise only).
    for (const label of ['scratch', 'dent'] as const) {
      const bad = generatePart(label, 1234);
      const good = generatePart('good', 1234);
      let inside = 0;
      let outside = 0;
      bad.mask.forEach((m, i) => (m ? (inside += Math.abs(bad.image[i]! - good.image[i]!)) : (outside += Math.abs(bad.image[i]! - good.image[i]!))));
      const area = bad.mask.reduce((a, v) => a + v, 0);
      expect(inside / area).toBeGreaterThan(3 * (outside / (PIXELS - area)));
    }
    expect(() => generateParts(2, { labels: ['rust' as never] })).toThrow(errorCode('INVALID_ARGUMENT'));
    expect(() => generatePart('good', 1, 16)).toThrow(errorCode('INVALID_ARGUMENT'));
  });
});

describe('DefectInspector: autoencoder trained on good parts only', () => {
  let inspector: DefectInspector;
  let test: PartImage[];

  beforeAll(async () => {
    const good = generateParts(160, { seed: 11 }).map((p) => p.image);
    inspector = await DefectInspector.fit(good, { seed: 3 });
    test = generateParts(90, { seed: 99, labels: PART_LABELS });
  }, 60_000);

  afterAll(() => inspector?.dispose());

  it('separates defective from good parts and localises the defects', async () => {
    const e = await inspector.evaluate(test);
    console.log(`inspection: image AUROC ${e.imageAuroc.toFixed(4)}, pixel AUROC ${e.pixelAuroc?.toFixed(4)}, detection ${e.detectionRate.toFixed(3)}, false alarms ${e.falseAlarmRate.toFixed(3)}`);
    // Measured on wasm with these seeds: image 0.987, pixel 0.985, detection 0.88, false alarms 0.03 (other seeds:
    // image 0.99–1.0, pixel 0.98–0.99, detection 0.72–0.93 — the threshold is the top of only 40 held-out good parts).
    expect(e.imageAuroc).toBeGreaterThan(0.95);
    expect(e.pixelAuroc).toBeGreaterThan(0.95);
    expect(e.detectionRate).toBeGreaterThan(0.7);
    expect(e.falseAlarmRate).toBeLessThan(0.15);
    // The hottest pixel of a clearly flagged defect lies on (or next to) its mask.
    const dents = test.filter((p) => p.label === 'dent');
    const verdicts = await inspector.inspectBatch(dents.map((p) => p.image));
    const dent = dents[verdicts.findIndex((v) => v.defective)]!;
    const r = await inspector.inspect(dent.image);
    const hot = r.heatmap.indexOf(Math.max(...r.heatmap));
    const near = (i: number): boolean => Math.abs((i % SIZE) - (hot % SIZE)) <= 2 && Math.abs(Math.floor(i / SIZE) - Math.floor(hot / SIZE)) <= 2;
    expect(Array.from(dent.mask).some((m, i) => m === 1 && near(i))).toBe(true);
  });

  it('moves the threshold without retraining and renders an overlay PNG', async () => {
    const before = inspector.threshold;
    const strict = await inspector.evaluate(test);
    inspector.setThresholdQuantile(0.5);
    expect(inspector.threshold).toBeLessThan(before);
    const lenient = await inspector.evaluate(test);
    expect(lenient.detectionRate).toBeGreaterThanOrEqual(strict.detectionRate);
    expect(lenient.falseAlarmRate).toBeGreaterThanOrEqual(strict.falseAlarmRate);
    inspector.setThreshold(before);
    expect(inspector.threshold).toBe(before);
    const png = await inspector.overlayPng(test[1]!.image);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('saves and loads with identical scores, heatmaps and threshold', async () => {
    await inspector.save(join(dir, 'inspector'), { name: 'bore-face-ae', version: '1.0.0' });
    const loaded = await DefectInspector.load(join(dir, 'inspector'));
    try {
      const images = test.slice(0, 12).map((p) => p.image);
      const a = await inspector.inspectBatch(images);
      const b = await loaded.inspectBatch(images);
      expect(b.map((r) => r.score)).toEqual(a.map((r) => r.score));
      expect(b[4]!.heatmap).toEqual(a[4]!.heatmap);
      expect(loaded.threshold).toBe(inspector.threshold);
      loaded.setThresholdQuantile(0.99);
    } finally {
      loaded.dispose();
    }
  });

  it('calibrates its threshold on more good parts, closer to the false-alarm rate its quantile asks for', async () => {
    const fresh = generateParts(600, { seed: 77 }).map((p) => p.image);
    const rate = async (): Promise<number> => (await inspector.inspectBatch(fresh)).filter((r) => r.defective).length / fresh.length;
    inspector.setThresholdQuantile(0.99);
    expect(inspector.goodImages).toBe(40); // the quarter of 160 that fit held out
    const before = await rate();
    const nan = Float32Array.from(fresh[0]!);
    nan[7] = NaN;
    // Refused calibrations add nothing.
    await expect(inspector.calibrate([])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(inspector.calibrate([fresh[1]!, nan])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(inspector.calibrate([fresh[1]!], { quantile: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(inspector.calibrate([fresh[1]!], null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(inspector.goodImages).toBe(40);
    const cal = await inspector.calibrate(generateParts(300, { seed: 78 }).map((p) => p.image));
    expect(cal).toMatchObject({ added: 300, goodImages: 340, threshold: inspector.threshold });
    const after = await rate();
    console.log(`inspection: flagged ${(before * 100).toFixed(2)} % of 600 fresh good parts after fit (40 held out), ${(after * 100).toFixed(2)} % after calibrating with 300 (asked 1 %)`);
    // Measured on wasm with these seeds: 2.00 % after fit (the threshold is the largest of 40 scores), 0.50 % calibrated.
    expect(after).toBeLessThan(0.02);
    expect(after).toBeLessThan(before);
    // The quantile last set is kept: calibrating again without one uses 0.99, and the threshold is that quantile.
    const threshold = inspector.threshold;
    inspector.setThresholdQuantile(0.99);
    expect(inspector.threshold).toBe(threshold);
    // Scores and quantile travel with the bundle; a damaged score list, threshold or quantile is BUNDLE_INVALID.
    await inspector.save(join(dir, 'calibrated'), { name: 'bore-face-ae', version: '1.0.1' });
    const loaded = await DefectInspector.load(join(dir, 'calibrated'));
    expect([loaded.goodImages, loaded.threshold]).toEqual([340, threshold]);
    loaded.dispose();
    const file = join(dir, 'calibrated', 'lepton.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { preprocessing: Record<string, unknown> };
    const scores = manifest.preprocessing['validationScores'] as number[];
    for (const damage of [{ validationScores: [] }, { validationScores: [null, ...scores] }, { validationScores: [...scores].reverse() }, { validationScores: 'x' }, { threshold: null }, { quantile: 2 }]) {
      await writeFile(file, JSON.stringify({ ...manifest, preprocessing: { ...manifest.preprocessing, ...damage } }));
      await expect(DefectInspector.load(join(dir, 'calibrated')), JSON.stringify(damage).slice(0, 40)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    }
  }, 60_000);

  it('refuses bad images with INVALID_INPUT and leaks no tensors', async () => {
    const few = generateParts(10, { seed: 1 }).map((p) => p.image);
    await expect(DefectInspector.fit(few)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(DefectInspector.fit([...few, ...few, new Float32Array(100)])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(DefectInspector.fit([...few, ...few], { width: 60 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const nan = Float32Array.from(test[0]!.image);
    nan[100] = NaN;
    await expect(inspector.inspect(nan)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(inspector.inspect(new Float32Array(32 * 32))).rejects.toThrow(/4096/);
    await expect(inspector.inspect(test[0]!.image.map((v) => v * 255))).rejects.toThrow(/255/);
    expect(() => inspector.setThresholdQuantile(1.5)).toThrow(errorCode('INVALID_ARGUMENT'));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) await inspector.inspect(test[i % test.length]!.image);
    await expect(inspector.inspect(nan)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DefectClassifier: residual CNN on labelled parts', () => {
  let classifier: DefectClassifier;
  let test: PartImage[];

  beforeAll(async () => {
    classifier = await DefectClassifier.fit(generateParts(900, { seed: 21, labels: PART_LABELS }), { seed: 3 });
    test = generateParts(150, { seed: 77, labels: PART_LABELS });
  }, 90_000);

  afterAll(() => classifier?.dispose());

  it('classifies good, scratch and dent well above chance', async () => {
    const e = await classifier.evaluate(test);
    console.log(`classifier: accuracy ${e.accuracy.toFixed(3)}, confusion ${JSON.stringify(e.confusion.matrix)}`);
    expect(classifier.labels).toEqual(['good', 'scratch', 'dent']);
    expect(e.confusion.labels).toEqual(['good', 'scratch', 'dent']);
    // Measured 0.953 with these seeds (0.91–0.94 with others); chance is 1/3.
    expect(e.accuracy).toBeGreaterThan(0.8);
    expect(e.confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(150);
    const p = await classifier.predict(test[2]!.image);
    expect(Object.keys(p.probabilities)).toEqual(['good', 'scratch', 'dent']);
    expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(p.label).toBe(classifier.labels[p.classIndex]);
  });

  it('explains a prediction with a full-resolution Grad-CAM heatmap', async () => {
    const cam = await classifier.explain(test[1]!.image);
    expect(cam.width).toBe(SIZE);
    expect(cam.height).toBe(SIZE);
    expect(cam.data).toHaveLength(PIXELS);
    expect(Math.max(...cam.data)).toBeLessThanOrEqual(1);
  });

  it('saves and loads with identical probabilities', async () => {
    await classifier.save(join(dir, 'classifier'), { name: 'bore-face-cnn', version: '1.0.0' });
    const loaded = await DefectClassifier.load(join(dir, 'classifier'));
    try {
      const images = test.slice(0, 9).map((p) => p.image);
      expect(await loaded.predictBatch(images)).toEqual(await classifier.predictBatch(images));
      expect(loaded.labels).toEqual(classifier.labels);
      await expect(DefectInspector.load(join(dir, 'classifier'))).rejects.toMatchObject({ code: 'BUNDLE_INCOMPATIBLE' });
    } finally {
      loaded.dispose();
    }
  });

  it('refuses bad images with INVALID_INPUT and leaks no tensors', async () => {
    await expect(classifier.predict(new Float32Array(10))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(classifier.predict(new Float32Array(PIXELS).fill(NaN))).rejects.toThrow(/non-finite/);
    await expect(classifier.evaluate([{ image: test[0]!.image, label: 'rust' }])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await classifier.explain(test[0]!.image); // builds Grad-CAM's cached sub-models once
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) await classifier.predict(test[i]!.image);
    await classifier.predictBatch(test.slice(0, 20).map((p) => p.image));
    await classifier.explain(test[3]!.image);
    expect(tf.memory().numTensors).toBe(before);
  });
});
