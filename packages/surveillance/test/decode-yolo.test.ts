import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cameraThreshold,
  decodeYoloV5,
  decodeYoloV8,
  detectorOptionsFromConfig,
  initRuntime,
  loadConfig,
  ObjectDetector,
  parseConfig,
  tf,
  type DecodeContext,
  type Frame,
} from '@lepton/surveillance';
import { writeConstantYolo } from './support/graph-model.js';

// The built-in YOLO decoders on hand-written head outputs (expected boxes worked out by hand below), and a YAML
// configuration that names one for a model of its own: a tiny graph written here whose head is constant.

const LABELS = ['person', 'car', 'dog'];
const ctx = (over: Partial<DecodeContext> = {}): DecodeContext => ({ batchSize: 1, inputWidth: 640, inputHeight: 480, labels: LABELS, classIndices: [0, 1, 2], minScore: 0.25, maxCandidates: 100, ...over });
const round = (d: { x1: number; y1: number; x2: number; y2: number; classIndex: number; score: number }[][]): unknown =>
  d.map((f) => f.map((r) => ({ box: [r.x1, r.y1, r.x2, r.y2].map((v) => Math.round(v * 100) / 100), c: r.classIndex, s: Math.round(r.score * 1000) / 1000 })));

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

/** What the rows below decode to (input pixels, 640 × 480): worked out by hand next to each row. */
const EXPECTED_V5 = [
  { box: [270, 140, 370, 340], c: 0, s: 0.72 },
  { box: [0, 460, 20, 480], c: 2, s: 0.45 },
  { box: [80, 40, 120, 60], c: 1, s: 0.3 },
];

describe('decodeYoloV5: [B, N, 5 + classes] rows', () => {
  // Row: cx, cy, w, h, objectness, p(person), p(car), p(dog)
  const rows = [
    [320, 240, 100, 200, 0.9, 0.8, 0.1, 0.0], // person 0.72, box 270..370 × 140..340
    [100, 50, 40, 20, 0.5, 0.1, 0.6, 0.2], // car 0.30
    [600, 400, 10, 10, 0.2, 0.9, 0.0, 0.0], // person 0.18: under the floor
    [10, 470, 20, 20, 0.9, 0.0, 0.1, 0.5], // dog 0.45
  ];
  it('scores objectness × class, keeps the best class a row, drops rows under the floor, boxes in input pixels', async () => {
    const out = tf.tensor3d([rows]);
    const got = await decodeYoloV5([out], ctx());
    out.dispose();
    expect(round(got)).toEqual([EXPECTED_V5]);
  });

  it('reads fractions of the input (YOLOv5 TF export) as such, and only the wanted classes', async () => {
    const out = tf.tensor3d([rows.map(([x, y, w, h, ...rest]) => [x! / 640, y! / 480, w! / 640, h! / 480, ...rest])]);
    const got = await decodeYoloV5([out], ctx({ classIndices: [1, 2] }));
    out.dispose();
    // Person is not wanted: row 1 is now its best wanted class, car 0.9 × 0.1 = 0.09 (dropped); row 4 dog 0.45, row 2 car 0.30.
    expect(round(got)).toEqual([
      [
        { box: [0, 460, 20, 480], c: 2, s: 0.45 },
        { box: [80, 40, 120, 60], c: 1, s: 0.3 },
      ],
    ]);
  });

  it('decodes each frame of a batch from its own rows, and unfolds a batch folded into [1, B·N, …]', async () => {
    const other = rows.map((r) => [...r.slice(0, 4), r[4] === 0.9 ? 0.1 : r[4]!, ...r.slice(5)]);
    const batch = tf.tensor3d([rows, other]);
    const folded = tf.reshape(batch, [1, 8, 8]);
    const a = await decodeYoloV5([batch], ctx({ batchSize: 2 }));
    const b = await decodeYoloV5([folded], ctx({ batchSize: 2 }));
    tf.dispose([batch, folded]);
    expect(round(a)).toEqual(round(b));
    expect(round(a)).toEqual([
      [
        { box: [270, 140, 370, 340], c: 0, s: 0.72 },
        { box: [0, 460, 20, 480], c: 2, s: 0.45 },
        { box: [80, 40, 120, 60], c: 1, s: 0.3 },
      ],
      [{ box: [80, 40, 120, 60], c: 1, s: 0.3 }],
    ]);
  });

  it('names the layout it expected when the outputs do not fit (MODEL_LOAD_FAILED), and refuses class indices outside the label map', async () => {
    const out = tf.zeros([1, 4, 7]);
    const odd = tf.zeros([1, 3, 8]);
    await expect(decodeYoloV5([out], ctx())).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringContaining('[B, N, 8]') });
    await expect(decodeYoloV5([odd], ctx({ batchSize: 2 }))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await expect(decodeYoloV5([odd], ctx({ classIndices: [0, 3] }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    tf.dispose([out, odd]);
  });

  it('never takes a row with a NaN box or score, and a NaN elsewhere does not change how the units are read', async () => {
    const frac = rows.map(([x, y, w, h, ...rest]) => [x! / 640, y! / 480, w! / 640, h! / 480, ...rest]);
    const nanBox = [Number.NaN, 0.5, 0.1, 0.1, 0.99, 0.99, 0, 0]; // would be the best row
    const nanScore = [0.5, 0.5, 0.1, 0.1, Number.NaN, 0.9, 0, 0];
    const out = tf.tensor3d([[...frac, nanBox, nanScore]]);
    const got = await decodeYoloV5([out], ctx());
    out.dispose();
    expect(round(got)).toEqual([EXPECTED_V5]);
  });
});

describe('decodeYoloV8: [B, 4 + classes, N], no objectness', () => {
  it('scores by class probability alone, from the transposed layout', async () => {
    // Columns: cx, cy, w, h, p(person), p(car), p(dog)
    const cols = [
      [320, 240, 100, 200, 0.8, 0.1, 0.0],
      [100, 50, 40, 20, 0.1, 0.6, 0.2],
      [600, 400, 10, 10, 0.2, 0.0, 0.0],
    ];
    const out = tf.transpose(tf.tensor3d([cols]), [0, 2, 1]);
    const got = await decodeYoloV8([out], ctx());
    out.dispose();
    expect(round(got)).toEqual([
      [
        { box: [270, 140, 370, 340], c: 0, s: 0.8 },
        { box: [80, 40, 120, 60], c: 1, s: 0.6 },
      ],
    ]);
  });
});

describe('a model of your own in the YAML configuration', () => {
  /**
   * An 8 × 8 graph whose head is a constant YOLOv8 output plus 0 × the input's mean (so it depends on the input and
   * keeps its batch): one person at centre (4, 4), 4 × 2 px, 0.9; one dog, 0.2.
   */
  it('loads the model from a path relative to the file, checks class names against its labels, and detects with decode yolov8 (in this thread and on 2 workers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-own-yolo-'));
    await writeConstantYolo(dir);
    const yaml = (zoneClass: string): string => `
detector:
  model: { path: model.json, labels: [person, dog], decode: yolov8 }
  thresholds: { person: 0.5 }
cameras:
  - name: yard
    input: yard.mp4
    width: 8
    height: 8
    zones:
      - { name: kennel, polygon: [[0, 0], [8, 0], [8, 8], [0, 8]], classes: [${zoneClass}] }
`;
    await writeFile(join(dir, 'cameras.yaml'), yaml('person'));
    const config = await loadConfig(join(dir, 'cameras.yaml'));
    expect(config.detector.model).toEqual({ path: join(dir, 'model.json'), labels: ['person', 'dog'], decode: 'yolov8' });
    // Of the default classes (person, bicycle, car, …) this model knows person: 'dog' is known but not reported, 'cat' unknown.
    await writeFile(join(dir, 'dog.yaml'), yaml('dog'));
    await expect(loadConfig(join(dir, 'dog.yaml'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining("class 'dog' is not reported by the detector (it reports: person)") });
    await writeFile(join(dir, 'cat.yaml'), yaml('cat'));
    await expect(loadConfig(join(dir, 'cat.yaml'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining("unknown class 'cat'") });
    const frame: Frame = { camera: 'yard', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) };
    for (const workers of [1, 2]) {
      const detector = await ObjectDetector.load({ ...detectorOptionsFromConfig(config), workers, defaultThreshold: 0.1 });
      try {
        expect(detector.classes).toEqual(['person']);
        const [dets] = await detector.detect([frame]);
        expect(dets).toEqual([{ label: 'person', score: expect.closeTo(0.9, 5), box: { x: 2, y: 3, width: 4, height: 2 } }]);
      } finally {
        await detector.close();
      }
    }
  });

  it("keeps a class named 'constructor' a class: a numeric threshold, and the other classes still reported", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-own-yolo-'));
    await writeConstantYolo(dir);
    const detector = await ObjectDetector.load({ model: { modelPath: join(dir, 'model.json'), labels: ['person', 'constructor'], decode: 'yolov8' }, classes: ['person', 'constructor'] });
    try {
      expect(detector.threshold('constructor')).toBe(0.4);
      const frame: Frame = { camera: 'yard', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
      const [dets] = await detector.detect([frame]);
      expect(dets?.map((d) => d.label)).toEqual(['person']); // the 'constructor' column scores 0.2, under 0.4
    } finally {
      await detector.close();
    }
  });

  it('refuses a decoder it does not know, in the YAML and in the API (an object key such as constructor included)', async () => {
    const cameras = [{ name: 'yard', input: 'yard.mp4' }];
    expect(() => parseConfig({ detector: { model: { path: 'm.json', labels: ['a'], decode: 'yolov3' } }, cameras })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseConfig({ detector: { model: { path: 'm.json', labels: [], decode: 'yolov8' } }, cameras })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseConfig({ detector: { model: { path: 's3://bucket/model.json', labels: ['a'], decode: 'yolov8' } }, cameras })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('URLs are not read') }));
    // A class named like an Object.prototype member is a class like any other (its threshold, its counts).
    const odd = parseConfig({ detector: { model: { path: 'm.json', labels: ['constructor', 'toString'], decode: 'yolov8', outputs: ['output0'] } }, cameras: [{ name: 'yard', input: 'yard.mp4', thresholds: { toString: 0.6 } }] });
    // (the detector reports down to the lowest threshold in force: the default 0.4; a plain lookup read a function, NaN)
    expect(detectorOptionsFromConfig(odd)).toMatchObject({ model: { outputs: ['output0'] }, thresholds: { toString: 0.4 } });
    expect([cameraThreshold(odd, odd.cameras[0]!, 'toString'), cameraThreshold(odd, odd.cameras[0]!, 'constructor')]).toEqual([0.6, 0.4]);
    for (const decode of ['constructor', 'toString', '__proto__']) {
      await expect(ObjectDetector.load({ model: { modelPath: '/nonexistent/model.json', labels: ['a'], decode: decode as 'yolov8' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});
