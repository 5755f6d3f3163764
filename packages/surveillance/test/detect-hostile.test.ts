// The detection entry points (detector and face-detector options, frames, NMS, blurring) with values a JavaScript caller
// can pass and a naive error message cannot show (a Symbol, Object.create(null), { toString: '' } …, and a 10 MB
// string): each is refused with a typed LeptonError whose message is bounded, never a TypeError from building it.
import { describe, expect, it } from 'vitest';
import { FaceDetector, ObjectDetector, blurRegions, nonMaxSuppression, resolveDetectorOptions, type Frame } from '@lepton/surveillance';
import { HOSTILE, expectRejected } from '../../../tests/support/hostile.js';

const W = 64;
const H = 48;
const image = (): { width: number; height: number; data: Uint8Array } => ({ width: W, height: H, data: new Uint8Array(W * H * 3) });
const box = { x: 4, y: 4, width: 10, height: 10 };

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
});
