// The detection entry points (detector and face-detector options, frames, NMS, blurring) with values a JavaScript caller
// can pass and a naive error message cannot show (a Symbol, Object.create(null), { toString: '' } …, and a 10 MB
// string): each is refused with a typed LeptonError whose message is bounded, never a TypeError from building it.
import { describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FaceDetector,
  ObjectDetector,
  blurRegions,
  decodeCenterNet,
  decodeNanoDet,
  decodeYolo,
  decodeYoloV8,
  nonMaxSuppression,
  resolveDetectorOptions,
  tf,
  type DecodeContext,
  type Frame,
} from '@lepton/surveillance';
import { writeConstantYolo } from './support/graph-model.js';
import { HOSTILE, expectRejected } from '../../../tests/support/hostile.js';

const W = 64;
const H = 48;
const image = (): { width: number; height: number; data: Uint8Array } => ({ width: W, height: H, data: new Uint8Array(W * H * 3) });
const box = { x: 4, y: 4, width: 10, height: 10 };

const CTX: DecodeContext = { batchSize: 1, inputWidth: 8, inputHeight: 8, labels: ['person', 'dog'], classIndices: [0], minScore: 0.1, maxCandidates: 10 };

describe('detection with hostile values', () => {
  it('resolveDetectorOptions refuses a hostile value in every checked option with INVALID_ARGUMENT', async () => {
    for (const key of ['defaultThreshold', 'iouThreshold', 'maxDetections', 'batchSize', 'tiles', 'engine', 'onnxThreads', 'flip', 'resize', 'model', 'workers']) {
      await expectRejected(`resolveDetectorOptions({ ${key} })`, (v) => resolveDetectorOptions({ [key]: v }), 'INVALID_ARGUMENT');
    }
    await expectRejected('resolveDetectorOptions({ thresholds: { person } })', (v) => resolveDetectorOptions({ thresholds: { person: v as number } }), 'INVALID_ARGUMENT');
  });

  it('nonMaxSuppression and blurRegions refuse hostile settings and sizes', async () => {
    const dets = [{ box, label: 'person', score: 0.9 }];
    await expectRejected('nonMaxSuppression(iouThreshold)', (v) => nonMaxSuppression(dets, v as number), 'INVALID_ARGUMENT');
    await expectRejected('nonMaxSuppression(maxDetections)', (v) => nonMaxSuppression(dets, 0.5, v as number), 'INVALID_ARGUMENT');
    for (const key of ['padding', 'strength', 'method']) {
      await expectRejected(`blurRegions({ ${key} })`, (v) => blurRegions(image(), [box], { [key]: v }), 'INVALID_ARGUMENT');
    }
    for (const key of ['width', 'height', 'data']) {
      await expectRejected(`blurRegions(image.${key})`, (v) => blurRegions({ ...image(), [key]: v } as never, [box]), 'INVALID_INPUT');
    }
  });

  it('FaceDetector.load refuses hostile options before it loads anything', async () => {
    for (const key of ['minScore', 'iouThreshold', 'maxFaces', 'batchSize']) {
      await expectRejected(`FaceDetector.load({ ${key} })`, () => FaceDetector.load({ [key]: HOSTILE[0]![1] } as never), 'INVALID_ARGUMENT', [HOSTILE[0]!]);
      await expectRejected(`FaceDetector.load({ ${key} })`, (v) => FaceDetector.load({ [key]: v } as never), 'INVALID_ARGUMENT');
    }
  });

  it('ObjectDetector: hostile class names are INVALID_ARGUMENT at load; frames with hostile fields are skipped with a typed error', async () => {
    await expectRejected('ObjectDetector.load({ classes: [v] })', (v) => ObjectDetector.load({ classes: [v as string] }), 'INVALID_ARGUMENT', [...HOSTILE, ['10 MB string', 'x'.repeat(10 * 1024 * 1024)]]);
    const skipped: { code: string; message: string; details: unknown }[] = [];
    const detector = await ObjectDetector.load({ onInvalidFrame: (_f, err) => skipped.push({ code: err.code, message: err.message, details: err.details }) });
    try {
      const good: Frame = { camera: 'gate', index: 1, sourceIndex: 1, time: 0, wallTime: 0, ...image() };
      const bad = HOSTILE.map(([, v]) => ({ ...good, camera: v, index: v, width: v }) as unknown as Frame);
      const out = await detector.detect([...bad, { ...good, camera: 'x'.repeat(10 * 1024 * 1024), width: -1 }, good]);
      expect(out).toHaveLength(HOSTILE.length + 2);
      expect(skipped.map((s) => s.code)).toEqual(new Array(HOSTILE.length + 1).fill('INVALID_INPUT'));
      for (const s of skipped) {
        expect(s.message.length).toBeLessThan(400);
        expect(() => JSON.stringify(s.details)).not.toThrow();
      }
      expect(skipped[0]!.message).toMatch(/^Frame Symbol\(hostile\)#Symbol\(hostile\): skipped: width Symbol\(hostile\) × height 48/);
      expect(skipped[1]!.message).toMatch(/^Frame \(object\)#\(object\)/);
      expect(detector.stats.invalidFrames).toBe(HOSTILE.length + 1);
      expect(detector.stats.frames).toBe(1); // the good frame still ran
    } finally {
      await detector.close();
    }
  });

  it('frames with a getter that throws, a Proxy whose trap throws, a proxied or lying buffer, or a size that changes after the check are skipped, typed', async () => {
    const skipped: { code: string; message: string }[] = [];
    const detector = await ObjectDetector.load({ onInvalidFrame: (_f, err) => skipped.push({ code: err.code, message: err.message }) });
    try {
      const good: Frame = { camera: 'gate', index: 1, sourceIndex: 1, time: 0, wallTime: 0, ...image() };
      const throwing = Object.defineProperty({ ...good }, 'data', {
        get() {
          throw new Error('boom');
        },
      });
      const throwingCamera = Object.defineProperty({ ...good }, 'camera', {
        get() {
          throw new Error('boom');
        },
      });
      const trap = new Proxy(good, {
        get() {
          throw new Error('trap');
        },
      });
      const proxiedData = { ...good, data: new Proxy(new Uint8Array(W * H * 3), {}) };
      const lying = { ...good, data: Object.defineProperty(new Uint8Array(3), 'length', { value: W * H * 3 }) };
      // A width that is right when checked and wrong when read again: the detector reads each field once.
      let reads = 0;
      const shifty = Object.defineProperty({ ...good }, 'width', { get: () => (++reads === 1 ? W : 100_000) });
      const proxiedGood = new Proxy({ ...good }, {}); // a Proxy that only forwards is a frame like any other
      const out = await detector.detect([throwing, throwingCamera, trap, proxiedData, lying, shifty, proxiedGood, good] as Frame[]);
      expect(out).toHaveLength(8);
      expect(skipped.map((s) => s.code)).toEqual(new Array(5).fill('INVALID_INPUT'));
      expect(skipped.map((s) => s.message.replace(/^Frame [^:]*: skipped: /, ''))).toEqual([
        'reading its fields threw.',
        'reading its fields threw.',
        'reading its fields threw.',
        'data is not a Uint8Array.',
        `data holds 3 bytes, expected width × height × 3 = ${W * H * 3}.`,
      ]);
      expect(skipped[1]!.message).toMatch(/^Frame undefined#undefined: skipped/); // its camera could not be read
      expect(reads).toBe(1);
      expect(detector.stats.frames).toBe(3); // shifty (as first read), the forwarding Proxy and the good frame ran
      expect(out[5]).toEqual(out[7]);
      const faces = await FaceDetector.load();
      try {
        await expect(faces.detect({ length: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(await faces.detect([throwing, trap, good] as Frame[])).toHaveLength(3);
        expect(faces.stats.invalidFrames).toBe(2);
      } finally {
        faces.dispose();
      }
    } finally {
      await detector.close();
    }
  });

  it('the built-in decoders refuse hostile outputs and context fields with INVALID_ARGUMENT; decodeYolo a hostile kind', async () => {
    const out = tf.zeros([1, 6, 2]);
    try {
      for (const [name, decode] of [['decodeCenterNet', decodeCenterNet], ['decodeNanoDet', decodeNanoDet], ['decodeYoloV8', decodeYoloV8]] as const) {
        await expectRejected(`${name}(outputs)`, (v) => decode(v as tf.Tensor[], CTX), 'INVALID_ARGUMENT');
        await expectRejected(`${name}(context)`, (v) => decode([out], v as DecodeContext), 'INVALID_ARGUMENT');
        for (const key of Object.keys(CTX)) {
          await expectRejected(`${name}(context.${key})`, (v) => decode([out], { ...CTX, [key]: v }), 'INVALID_ARGUMENT');
        }
      }
      await expectRejected('decodeYolo(kind)', (v) => decodeYolo(v as 'yolov5'), 'INVALID_ARGUMENT');
      expect(await decodeYoloV8([out], CTX)).toEqual([[]]); // the valid context still decodes (all-zero scores: none kept)
    } finally {
      out.dispose();
    }
  });

  it("a model.json's hostile format or weight paths (absolute, climbing out, not a string) are MODEL_LOAD_FAILED", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-hostile-model-'));
    try {
      const path = await writeConstantYolo(dir);
      const json = JSON.parse(await readFile(path, 'utf8')) as { format: unknown; weightsManifest: { paths: unknown[] }[] };
      const load = async (edit: (j: typeof json) => void): Promise<unknown> => {
        const copy = structuredClone(json);
        edit(copy);
        await writeFile(join(dir, 'edited.json'), JSON.stringify(copy));
        return ObjectDetector.load({ model: { modelPath: join(dir, 'edited.json'), labels: ['person', 'dog'], decode: 'yolov8' }, batchSize: 1 });
      };
      for (const format of [{ toString: '' }, ['graph-model'], 'layers-model']) {
        await expect(load((j) => (j.format = format))).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringMatching(/has format/) });
      }
      for (const p of [{ toString: '' }, 12, '', '/etc/passwd', '../outside.bin', 'sub/../../outside.bin']) {
        await expect(load((j) => (j.weightsManifest[0]!.paths = [p])), JSON.stringify(p)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringMatching(/not a relative path inside the model's folder/) });
      }
      // a path inside the folder, through a sub-folder, still loads
      await mkdir(join(dir, 'w'));
      await copyFile(join(dir, 'weights.bin'), join(dir, 'w', 'weights.bin'));
      const ok = (await load((j) => (j.weightsManifest[0]!.paths = ['w/../w/weights.bin']))) as ObjectDetector;
      await ok.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
