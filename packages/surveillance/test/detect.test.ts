import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import {
  COCO_LABELS,
  FaceDetector,
  ObjectDetector,
  blurRegions,
  boxIou,
  decodeNanoDet,
  initRuntime,
  nonMaxSuppression,
  seededRandom,
  shippedModelPath,
  tf,
  type Box,
  type Detection,
  type Frame,
} from '@lepton/surveillance';
import { placeholder, writeGraphModel } from './support/graph-model.js';

// Real photographs (public domain / CC0, see fixtures/images/README.md) and boxes recorded by hand on a pixel grid.
const IMAGES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'images');
const ASTRONAUT_PERSON: Box = { x: 20, y: 15, width: 345, height: 497 };
const ASTRONAUT_FACE: Box = { x: 180, y: 77, width: 90, height: 103 };
const CAMERAMAN_PERSON: Box = { x: 0, y: 65, width: 330, height: 447 };

async function image(name: string, index = 0): Promise<Frame> {
  const raw = jpeg.decode(await readFile(join(IMAGES, `${name}.jpg`)), { formatAsRGBA: false, useTArray: true });
  expect(raw.data.length).toBe(raw.width * raw.height * 3);
  return { camera: name, index, sourceIndex: index, time: 0, wallTime: 0, width: raw.width, height: raw.height, data: new Uint8Array(raw.data) };
}

function best(dets: Detection[], label: string, truth: Box): { iou: number; score: number } {
  return dets.filter((d) => d.label === label).reduce((b, d) => (boxIou(d.box, truth) > b.iou ? { iou: boxIou(d.box, truth), score: d.score } : b), { iou: 0, score: 0 });
}

async function loadError(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

let detector: ObjectDetector;
let astronaut: Frame;
let cameraman: Frame;
let coffee: Frame;
let cat: Frame;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  detector = await ObjectDetector.load();
  [astronaut, cameraman, coffee, cat] = await Promise.all([image('astronaut'), image('camera'), image('coffee'), image('chelsea')]);
});

afterAll(() => detector?.dispose());

describe('ObjectDetector (shipped CenterNet, COCO)', () => {
  it('finds the person in each photo with a box matching the hand-recorded one, and no person in the cat and coffee photos', async () => {
    expect(detector.classes).toEqual(['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck']);
    expect(detector.inputSize).toEqual([512, 512]);
    const [a, c, k, t] = await detector.detect([astronaut, cameraman, coffee, cat]);
    const pa = best(a ?? [], 'person', ASTRONAUT_PERSON);
    const pc = best(c ?? [], 'person', CAMERAMAN_PERSON);
    expect(pa.iou).toBeGreaterThanOrEqual(0.5);
    expect(pc.iou).toBeGreaterThanOrEqual(0.5);
    expect(pa.score).toBeGreaterThanOrEqual(0.4);
    expect(k).toEqual([]);
    expect(t).toEqual([]);
    for (const d of [...(a ?? []), ...(c ?? [])]) {
      expect(d.box.x).toBeGreaterThanOrEqual(0);
      expect(d.box.y + d.box.height).toBeLessThanOrEqual(512 + 1e-9);
    }
  });

  it('batches frames of different sizes into one forward pass with the same detections as one frame at a time', async () => {
    const frames = [astronaut, coffee, cat];
    const loose = await ObjectDetector.load({ classes: 'all', defaultThreshold: 0.15 });
    try {
      const before = loose.stats.forwardPasses;
      const batched = await loose.detect(frames);
      expect(loose.stats.forwardPasses - before).toBe(1);
      expect(loose.batchMode).toBe('batched');
      expect(batched.flat().length).toBeGreaterThanOrEqual(5);
      for (const [i, f] of frames.entries()) {
        const [single] = await loose.detect([f]);
        const b = batched[i] ?? [];
        expect(b.map((d) => d.label)).toEqual((single ?? []).map((d) => d.label));
        b.forEach((d, j) => {
          const s = (single ?? [])[j] as Detection;
          expect(d.score).toBeCloseTo(s.score, 4);
          for (const k of ['x', 'y', 'width', 'height'] as const) expect(d.box[k]).toBeCloseTo(s.box[k], 2);
        });
      }
      expect(loose.stats.forwardPasses - before).toBe(4);
    } finally {
      loose.dispose();
    }
  });

  it('applies per-class thresholds: a class keeps exactly its detections scoring at or above its own threshold', async () => {
    const base = await ObjectDetector.load({ classes: 'all', defaultThreshold: 0.1 });
    const [all] = await base.detect([astronaut]);
    base.dispose();
    const persons = (all ?? []).filter((d) => d.label === 'person').map((d) => d.score);
    expect(persons.length).toBeGreaterThanOrEqual(2);
    const cut = ((persons[0] as number) + (persons[1] as number)) / 2; // between the best and second-best person
    const strict = await ObjectDetector.load({ classes: 'all', defaultThreshold: 0.1, thresholds: { person: cut } });
    expect(strict.threshold('person')).toBe(cut);
    expect(strict.threshold('car')).toBe(0.1);
    const [some] = await strict.detect([astronaut]);
    strict.dispose();
    expect(some).toEqual((all ?? []).filter((d) => d.label !== 'person' || d.score >= cut));
    expect((some ?? []).filter((d) => d.label === 'person')).toHaveLength(1);
  });

  it('rejects thresholds out of [0, 1] and class names the model does not know', async () => {
    const e1 = await loadError(ObjectDetector.load({ thresholds: { person: 1.5 } }));
    expect(isLeptonError(e1, 'INVALID_ARGUMENT')).toBe(true);
    const e2 = await loadError(ObjectDetector.load({ classes: ['person', 'unicorn'] }));
    expect(isLeptonError(e2, 'INVALID_ARGUMENT')).toBe(true);
    expect((e2 as Error).message).toContain("'unicorn'");
  });

  it('skips an invalid frame, reports it, and still detects in the others', async () => {
    const bad: Frame = { ...cameraman, camera: 'broken', data: new Uint8Array(10) };
    const seen: string[] = [];
    const d = await ObjectDetector.load({ onInvalidFrame: (f, err) => seen.push(`${f.camera}:${err.code}`) });
    const [x, y] = await d.detect([bad, astronaut]);
    expect(x).toEqual([]);
    expect(best(y ?? [], 'person', ASTRONAUT_PERSON).iou).toBeGreaterThanOrEqual(0.5);
    expect(seen).toEqual(['broken:INVALID_INPUT']);
    expect(d.stats.invalidFrames).toBe(1);
    d.dispose();
  });

  it('leaks no tensors over 20 calls', async () => {
    const small: Frame = { ...cat, camera: 'small' };
    await detector.detect([small]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await detector.detect(i % 5 === 0 ? [small, coffee] : [small]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('nonMaxSuppression', () => {
  const d = (label: string, score: number, x: number, y: number, w: number, h: number): Detection => ({ label, score, box: { x, y, width: w, height: h } });
  const A = d('car', 0.9, 0, 0, 10, 10);
  const B = d('car', 0.8, 1, 0, 10, 10); // IoU with A = 90 / 110 = 0.818
  const C = d('car', 0.7, 5, 0, 10, 10); // IoU with A = 50 / 150 = 0.333, with B = 60 / 140 = 0.429
  const D = d('person', 0.85, 0, 0, 10, 10); // same box as A, other class
  const E = d('car', 0.6, 20, 20, 5, 5); // overlaps nothing

  it('drops same-class duplicates above the IoU threshold, never across classes (hand-computed)', () => {
    expect(nonMaxSuppression([E, C, B, D, A], 0.5)).toEqual([A, D, C, E]);
    expect(nonMaxSuppression([E, C, B, D, A], 0.3)).toEqual([A, D, E]);
    expect(nonMaxSuppression([E, C, B, D, A], 0.9)).toEqual([A, D, B, C, E]);
    expect(nonMaxSuppression([E, C, B, D, A], 0.5, 2)).toEqual([A, D]);
  });

  it('keeps the same boxes as tf.image.nonMaxSuppression on seeded random boxes of one class', async () => {
    const rand = seededRandom(7);
    const dets = Array.from({ length: 60 }, () => d('person', rand(), rand() * 80, rand() * 80, 5 + rand() * 30, 5 + rand() * 30));
    const corners = tf.tensor2d(dets.map((q) => [q.box.y, q.box.x, q.box.y + q.box.height, q.box.x + q.box.width]));
    const scores = tf.tensor1d(dets.map((q) => q.score));
    const idx = await tf.image.nonMaxSuppressionAsync(corners, scores, 60, 0.4);
    const reference = Array.from(await idx.data()).map((i) => dets[i]);
    tf.dispose([corners, scores, idx]);
    expect(reference.length).toBeGreaterThan(10);
    expect(reference.length).toBeLessThan(60);
    expect(nonMaxSuppression(dets, 0.4)).toEqual(reference);
  });
});

describe('custom graph models', () => {
  it('runs a user graph model with a declared label map (NanoDet files, built-in and own decode), batched like one by one', async () => {
    const calls: number[] = [];
    const custom = await ObjectDetector.load({
      model: {
        modelPath: shippedModelPath('nanodet'),
        labels: [...COCO_LABELS],
        decode: async (outputs, ctx) => {
          calls.push(ctx.batchSize);
          return decodeNanoDet(outputs, ctx);
        },
      },
      classes: ['person'],
    });
    try {
      expect(custom.inputSize).toEqual([416, 416]);
      const both = await custom.detect([astronaut, cameraman]);
      expect(calls.at(-1)).toBe(2);
      expect(best(both[0] ?? [], 'person', ASTRONAUT_PERSON).iou).toBeGreaterThanOrEqual(0.5);
      expect(best(both[1] ?? [], 'person', CAMERAMAN_PERSON).iou).toBeGreaterThanOrEqual(0.5);
      const [one] = await custom.detect([cameraman]);
      expect((both[1] ?? []).map((q) => q.score)).toEqual((one ?? []).map((q) => expect.closeTo(q.score, 4)));
    } finally {
      custom.dispose();
    }
    const named = await ObjectDetector.load({ model: { modelPath: shippedModelPath('nanodet'), labels: [...COCO_LABELS], decode: 'nanodet' }, classes: ['person'] });
    const [n] = await named.detect([astronaut]);
    named.dispose();
    expect(best(n ?? [], 'person', ASTRONAUT_PERSON).iou).toBeGreaterThanOrEqual(0.5);
  });

  it('runs frame by frame a graph that declares batch 1 and mixes the frames of a larger batch without an error', async () => {
    // [B, 8, 8, 3] → Transpose [3, 8, 8, B] → Reshape [-1, 8, 8, 3]: one frame comes back rearranged but whole, two come
    // back interleaved (as any graph that reshapes or transposes across the batch axis does).
    const dir = await mkdtemp(join(tmpdir(), 'lepton-mixing-graph-'));
    await writeGraphModel(
      dir,
      [
        placeholder('x', [1, 8, 8, 3]),
        { name: 't', op: 'Transpose', input: ['x', 'perm'], attr: { T: { type: 'DT_FLOAT' }, Tperm: { type: 'DT_INT32' } } },
        { name: 'y', op: 'Reshape', input: ['t', 'shape'], attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } } },
      ],
      [
        { name: 'perm', dtype: 'int32', shape: [4], values: [3, 1, 2, 0] },
        { name: 'shape', dtype: 'int32', shape: [4], values: [-1, 8, 8, 3] },
      ],
    );
    // One box per frame whose score is the output's mean: a mixed batch changes it. The decoder also lists the
    // frames backwards, so it mixes a batch of its own: frame by frame, each frame must be decoded alone.
    const means = async (outputs: tf.Tensor[]): Promise<number[]> => [...(await tf.tidy(() => tf.mean(outputs[0] as tf.Tensor, [1, 2, 3])).data())];
    const decode = async (outputs: tf.Tensor[]) => (await means(outputs)).map((m) => [{ x1: 1, y1: 1, x2: 7, y2: 7, classIndex: 0, score: m }]).reverse();
    const flat = (v: number): Frame => ({ camera: 'c', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });
    for (const engine of ['tfjs', 'onnx'] as const) {
      const mixing = await ObjectDetector.load({ model: { modelPath: join(dir, 'model.json'), labels: ['person'], decode }, defaultThreshold: 0, engine });
      try {
        expect(mixing.batchMode).toBe('per-frame');
        const both = await mixing.detect([flat(51), flat(204)]);
        expect(both.map((d) => d[0]?.score)).toEqual([expect.closeTo(0.2, 5), expect.closeTo(0.8, 5)]);
      } finally {
        await mixing.close();
      }
    }
    // A decoder's scores above 1 are dropped and counted; a decoder that throws is a typed INVALID_MODEL at detect().
    const loud = await ObjectDetector.load({ model: { modelPath: join(dir, 'model.json'), labels: ['person'], decode: async (o) => (await means(o)).map((m) => [{ x1: 1, y1: 1, x2: 7, y2: 7, classIndex: 0, score: 2 * m }]) }, defaultThreshold: 0 });
    const rude = await ObjectDetector.load({
      model: {
        modelPath: join(dir, 'model.json'),
        labels: ['person'],
        decode: async (o) => {
          const m = await means(o);
          if (m.some((v) => v > 0.7)) throw new Error('boom');
          if (m.some((v) => v > 0.15 && v < 0.25)) throw Object.create(null) as unknown; // not an Error, and String() of it throws
          return [[]];
        },
      },
      batchSize: 1,
    });
    try {
      const [low, high] = await loud.detect([flat(51), flat(204)]);
      expect(low?.map((d) => d.score)).toEqual([expect.closeTo(0.4, 5)]);
      expect(high).toEqual([]); // 1.6
      expect(loud.stats.rejectedCandidates).toBe(1);
      await expect(rude.detect([flat(204)])).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringContaining('boom') });
      await expect(rude.detect([flat(51)])).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringContaining('(object)') });
    } finally {
      await loud.close();
      await rude.close();
    }
  });

  it('refuses a label map that does not fit the model with MODEL_LOAD_FAILED', async () => {
    const err = await loadError(ObjectDetector.load({ model: { modelPath: shippedModelPath('nanodet'), labels: COCO_LABELS.slice(0, 79), decode: 'nanodet' } }));
    expect(isLeptonError(err, 'MODEL_LOAD_FAILED')).toBe(true);
  });

  it('fails with MODEL_LOAD_FAILED for a missing, garbled or truncated model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-detect-'));
    const spec = (modelPath: string) => ({ model: { modelPath, labels: ['person'], decode: 'centernet' as const } });
    const missing = await loadError(ObjectDetector.load(spec(join(dir, 'nope', 'model.json'))));
    expect(isLeptonError(missing, 'MODEL_LOAD_FAILED')).toBe(true);
    await writeFile(join(dir, 'garbled.json'), '{"modelTopology": {"node": [');
    const garbled = await loadError(ObjectDetector.load(spec(join(dir, 'garbled.json'))));
    expect(isLeptonError(garbled, 'MODEL_LOAD_FAILED')).toBe(true);
    await writeFile(join(dir, 'other.json'), JSON.stringify({ hello: 'world' }));
    const other = await loadError(ObjectDetector.load(spec(join(dir, 'other.json'))));
    expect(isLeptonError(other, 'MODEL_LOAD_FAILED')).toBe(true);
    const src = shippedModelPath('centernet');
    await copyFile(src, join(dir, 'centernet.json'));
    const bin = await readFile(src.replace(/\.json$/, '.bin'));
    await writeFile(join(dir, 'centernet.bin'), bin.subarray(0, bin.length - 1000));
    const truncated = await loadError(ObjectDetector.load(spec(join(dir, 'centernet.json'))));
    expect(isLeptonError(truncated, 'MODEL_LOAD_FAILED')).toBe(true);
    expect((truncated as Error).message).toContain('truncated');
  });
});

describe('FaceDetector and blurRegions', () => {
  let faces: FaceDetector;
  beforeAll(async () => {
    faces = await FaceDetector.load();
  });
  afterAll(() => faces?.dispose());

  it("finds the astronaut's face where it was recorded by hand", async () => {
    const [found] = await faces.detect([astronaut]);
    expect(found?.length).toBe(1);
    const face = found?.[0] as Detection;
    expect(face.label).toBe('face');
    expect(boxIou(face.box, ASTRONAUT_FACE)).toBeGreaterThanOrEqual(0.5);
    expect(face.score).toBeGreaterThanOrEqual(0.5);
  });

  it('batches frames of different sizes like one by one', async () => {
    const both = await faces.detect([cameraman, astronaut]);
    const [one] = await faces.detect([cameraman]);
    expect(both[0]?.length).toBeGreaterThanOrEqual(1);
    expect(both[0]?.map((f) => f.score)).toEqual(one?.map((f) => expect.closeTo(f.score, 4)));
  });

  it.each(['pixelate', 'box'] as const)('blurs (%s) only pixels in the padded face box, and most of the face', async (method) => {
    const [found] = await faces.detect([astronaut]);
    const box = (found?.[0] as Detection).box;
    const img: Frame = { ...astronaut, data: astronaut.data.slice() };
    expect(blurRegions(img, [box], { method, padding: 0.1 })).toBe(1);
    const x0 = Math.floor(box.x - 0.1 * box.width);
    const x1 = Math.ceil(box.x + 1.1 * box.width);
    const y0 = Math.floor(box.y - 0.1 * box.height);
    const y1 = Math.ceil(box.y + 1.1 * box.height);
    let outside = 0;
    let insideFace = 0;
    let faceArea = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const o = (y * img.width + x) * 3;
        const changed = img.data[o] !== astronaut.data[o] || img.data[o + 1] !== astronaut.data[o + 1] || img.data[o + 2] !== astronaut.data[o + 2];
        const inPadded = x >= x0 && x < x1 && y >= y0 && y < y1;
        if (changed && !inPadded) outside++;
        if (x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height) {
          faceArea++;
          if (changed) insideFace++;
        }
      }
    }
    expect(outside).toBe(0);
    expect(insideFace / faceArea).toBeGreaterThan(0.8);
    // the face is no longer found once blurred
    const [after] = await faces.detect([img]);
    expect((after ?? []).filter((f) => boxIou(f.box, box) > 0.3)).toEqual([]);
  });

  it('rejects an image whose buffer does not match its size', () => {
    let err: unknown;
    try {
      blurRegions({ width: 4, height: 4, data: new Uint8Array(5) }, [{ x: 0, y: 0, width: 2, height: 2 }]);
    } catch (e) {
      err = e;
    }
    expect(isLeptonError(err, 'INVALID_INPUT')).toBe(true);
  });

  it('leaks no tensors over 20 calls', async () => {
    await faces.detect([cat]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await faces.detect([cat, astronaut]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
