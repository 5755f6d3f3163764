import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { ObjectDetector, parseConfig, SurveillancePipeline, type Detection, type Frame } from '@lepton/surveillance';

// The detector on worker threads (`workers` ≥ 2): each worker runs its own copy of the model, and the detections must
// be exactly those of the in-process detector, frame for frame — on real footage (OpenCV's vtest.avi).
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const HAVE_VTEST = existsSync(VTEST);
if (!HAVE_VTEST) console.warn(`workers.test: ${VTEST} is missing (Debian package opencv-doc): skipped.`);
const W = 384;
const H = 288;

function vtestFrames(n: number): Frame[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-ss', '5', '-i', VTEST, '-frames:v', String(n), '-vf', `scale=${W}:${H}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 26 });
  return Array.from({ length: n }, (_, i) => ({ camera: 'vtest', index: i, sourceIndex: i, time: i / 10, wallTime: 0, width: W, height: H, data: new Uint8Array(raw.subarray(i * W * H * 3, (i + 1) * W * H * 3)) }));
}

const summary = (dets: Detection[]): Array<[string, number, number, number, number, number]> =>
  dets.map((d) => [d.label, +d.score.toFixed(5), +d.box.x.toFixed(3), +d.box.y.toFixed(3), +d.box.width.toFixed(3), +d.box.height.toFixed(3)]);

describe('detector workers: options', () => {
  it('refuses a bad worker count and a custom decode function that cannot cross threads, with typed errors', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    await expect(ObjectDetector.load({ workers: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('workers') });
    await expect(ObjectDetector.load({ workers: 2.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      ObjectDetector.load({ workers: 2, model: { modelPath: '/nonexistent/model.json', labels: ['a'], decode: async () => [] } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('decode') });
  });

  it('the YAML configuration takes detector.workers (a count or auto), default 1', () => {
    const cameras = [{ name: 'a', input: 'a.mp4', width: 64, height: 48 }];
    expect(parseConfig({ cameras }).detector.workers).toBe(1);
    expect(parseConfig({ cameras, detector: { workers: 2 } }).detector.workers).toBe(2);
    expect(parseConfig({ cameras, detector: { workers: 'auto' } }).detector.workers).toBe('auto');
    expect(() => parseConfig({ cameras, detector: { workers: 0 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe.skipIf(!HAVE_VTEST)('detector workers on vtest.avi', () => {
  let dir: string;
  let local: ObjectDetector;
  let pooled: ObjectDetector;
  let frames: Frame[];
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    dir = await mkdtemp(join(tmpdir(), 'lepton-workers-'));
    frames = vtestFrames(12);
    execFileSync('ffmpeg', ['-v', 'error', '-ss', '5', '-i', VTEST, '-frames:v', '12', '-vf', `scale=${W}:${H}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'seg.mp4')]);
    local = await ObjectDetector.load({ classes: ['person'], batchSize: 4 });
    pooled = await ObjectDetector.load({ classes: ['person'], batchSize: 4, workers: 2 });
  }, 120_000);
  afterAll(async () => {
    local?.dispose(); // both are closed by the last test already; disposing twice is harmless
    await pooled?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('two workers give the in-process detections, frame for frame, and spread the batches over both', async () => {
    expect(local.workers).toBe(1);
    expect(pooled.workers).toBe(2);
    const before = tf.memory().numTensors;
    const [a, b] = [await local.detect(frames), await pooled.detect(frames)];
    expect(a.reduce((n, d) => n + d.length, 0)).toBeGreaterThan(frames.length); // several people per frame
    for (let i = 0; i < frames.length; i++) expect(summary(b[i]!)).toEqual(summary(a[i]!));
    expect(pooled.stats.frames).toBe(frames.length);
    expect(pooled.stats.forwardPasses).toBe(3); // 12 frames in batches of 4
    expect(tf.memory().numTensors).toBe(before); // nothing allocated here for pooled detection
  });

  it('an invalid frame is skipped and counted on the main thread; the rest are detected', async () => {
    const bad = { ...frames[0]!, data: new Uint8Array(10) };
    const out = await pooled.detect([bad, frames[1]!]);
    expect(out[0]).toEqual([]);
    expect(summary(out[1]!)).toEqual(summary((await local.detect([frames[1]!]))[0]!));
    expect(pooled.stats.invalidFrames).toBe(1);
  });

  it('the pipeline with a pooled detector gives the same per-frame detections as with the in-process one', async () => {
    const output = { dir: join(dir, 'out'), snapshots: false, clips: null, annotatedVideo: false };
    const config = parseConfig({ output, cameras: [{ name: 'a', input: join(dir, 'seg.mp4'), fps: 10, width: W, height: H, motion: { enabled: false } }] });
    const seen = new Map<string, ReturnType<typeof summary>>();
    for (const [name, detector] of [['local', local], ['pooled', pooled]] as const) {
      const pipeline = await SurveillancePipeline.create(config, { detector, onFrame: (f) => seen.set(`${name}:${f.frame.index}`, summary(f.detections)) });
      const report = await pipeline.run();
      expect(report.cameras[0]!.detectedFrames).toBe(12);
    }
    for (let i = 0; i < 12; i++) expect(seen.get(`pooled:${i}`)).toEqual(seen.get(`local:${i}`));
  });

  it('after close() the workers are gone and detection fails with a typed error', async () => {
    await pooled.close();
    await expect(pooled.detect([frames[0]!])).rejects.toMatchObject({ code: 'DETECTOR_CLOSED' });
    local.dispose();
    await expect(local.detect([frames[0]!])).rejects.toMatchObject({ code: 'DETECTOR_CLOSED' });
  });
});
