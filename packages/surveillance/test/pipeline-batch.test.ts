import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { ObjectDetector, parseConfig, SurveillancePipeline } from '@lepton/surveillance';

// Frames of several cameras go through the detector together: one forward pass per "tick" of all running cameras,
// not one per camera frame. Two cameras on the same 20 people-filled frames of OpenCV's vtest.avi.
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const HAVE_VTEST = existsSync(VTEST);
if (!HAVE_VTEST) console.warn(`pipeline-batch.test: ${VTEST} is missing (Debian package opencv-doc): skipped.`);

describe.skipIf(!HAVE_VTEST)('several cameras, one detector', () => {
  let dir: string;
  let detector: ObjectDetector;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    dir = await mkdtemp(join(tmpdir(), 'lepton-batch-'));
    execFileSync('ffmpeg', ['-v', 'error', '-ss', '5', '-i', VTEST, '-frames:v', '20', '-vf', 'scale=384:288', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'seg.mp4')]);
    detector = await ObjectDetector.load({ classes: ['person'], batchSize: 8 });
  });
  afterAll(async () => {
    detector?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('batches the frames of two cameras into shared forward passes, with the same detections as one camera alone', async () => {
    const camera = (name: string): Record<string, unknown> => ({ name, input: join(dir, 'seg.mp4'), fps: 10, width: 384, height: 288, motion: { enabled: false } });
    const output = { dir: join(dir, 'out'), snapshots: false, clips: null, annotatedVideo: false };
    const perFrame = new Map<string, number[]>();
    const run = async (names: string[]): Promise<{ passes: number; frames: number }> => {
      const pipeline = await SurveillancePipeline.create(parseConfig({ output, cameras: names.map(camera) }), {
        detector,
        onFrame: (f) => perFrame.set(`${names.length}:${f.camera}:${f.frame.index}`, f.detections.map((d) => Math.round(d.box.x))),
      });
      const report = await pipeline.run();
      return { passes: report.forwardPasses, frames: report.cameras.reduce((a, c) => a + c.detectedFrames, 0) };
    };
    const before = tf.memory().numTensors;
    const alone = await run(['a']);
    const both = await run(['a', 'b']);
    expect(alone).toEqual({ passes: 20, frames: 20 });
    expect(both.frames).toBe(40);
    // one pass per tick of both cameras (a few ticks may run one camera alone when their reads are out of step)
    expect(both.passes).toBeLessThanOrEqual(24);
    for (let i = 0; i < 20; i++) {
      expect(perFrame.get(`2:a:${i}`)).toEqual(perFrame.get(`1:a:${i}`));
      expect(perFrame.get(`2:b:${i}`)).toEqual(perFrame.get(`1:a:${i}`));
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
