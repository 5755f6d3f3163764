import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anchorPoint,
  binaryErode,
  cutClip,
  cutRecordingClip,
  drawAnnotations,
  drawLabel,
  EventStore,
  FrameRing,
  KalmanBoxFilter,
  linearSumAssignment,
  MotionDetector,
  ObjectLifecycle,
  parseShard,
  probeSource,
  Recorder,
  renderMetrics,
  RuleEngine,
  shardOf,
  sideOfLine,
  snapshot,
  SortTracker,
  VideoSource,
  VideoWriter,
} from '@lepton/surveillance';
import { expectRejected, expectTypedOrOk, HOSTILE } from '../../../tests/support/hostile.js';

// Outside src/detect (the integrator's): every position below is validated, and a hostile value there must be
// refused with a LeptonError, never a TypeError from building the message (`${value}`, String(value) or
// JSON.stringify of a box holding a BigInt).

const image = (): { width: number; height: number; data: Uint8Array } => ({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) });
const box = { x: 1, y: 1, width: 4, height: 4 };
/** A box whose field is the hostile value (a BigInt there broke JSON.stringify in the message). */
const boxWith = (v: unknown): never => ({ ...box, x: v }) as never;
const zone = { name: 'z', polygon: [[0, 0], [10, 0], [10, 10]] as [number, number][] };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-surv-hostile-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('surveillance entry points with hostile values: a LeptonError, never a TypeError', () => {
  it('geometry and tracking: anchorPoint, sideOfLine, KalmanBoxFilter, SortTracker options, linearSumAssignment', async () => {
    await expectRejected('anchorPoint(box.x)', (v) => anchorPoint(boxWith(v)), 'INVALID_ARGUMENT');
    await expectRejected('sideOfLine(point)', (v) => sideOfLine([v as number, 1], [0, 0], [1, 1]), 'INVALID_ARGUMENT');
    await expectRejected('new KalmanBoxFilter(box.x)', (v) => new KalmanBoxFilter(boxWith(v)), 'INVALID_ARGUMENT');
    for (const key of ['iouThreshold', 'minHits', 'maxMisses', 'perClass']) {
      await expectRejected(`new SortTracker(${key})`, (v) => new SortTracker({ [key]: v }), 'INVALID_ARGUMENT');
    }
    await expectRejected('linearSumAssignment(cost[0][0])', (v) => linearSumAssignment([[v as number, 1], [1, 0]]), 'INVALID_ARGUMENT');
  });

  it('rules: RuleEngine options and zone settings (CONFIG_INVALID naming the field)', async () => {
    await expectRejected('new RuleEngine(anchor)', (v) => new RuleEngine([{ name: 'cam', zones: [zone] }], { anchor: v as 'center' }), 'CONFIG_INVALID');
    await expectRejected('new RuleEngine(hysteresis.frames)', (v) => new RuleEngine([{ name: 'cam' }], { hysteresis: { frames: v as number } }), 'CONFIG_INVALID');
    await expectRejected('new RuleEngine(zones[0].loiterSeconds)', (v) => new RuleEngine([{ name: 'cam', zones: [{ ...zone, loiterSeconds: v as number }] }]), 'CONFIG_INVALID');
    await expectRejected('new RuleEngine(zones[0].crowdThreshold)', (v) => new RuleEngine([{ name: 'cam', zones: [{ ...zone, crowdThreshold: v as number }] }]), 'CONFIG_INVALID');
    await expectRejected('new RuleEngine(lines[0].direction)', (v) => new RuleEngine([{ name: 'cam', lines: [{ name: 'l', from: [0, 0], to: [5, 5], direction: v as 'both' }] }]), 'CONFIG_INVALID');
    await expectRejected('new RuleEngine(cameras[0].name)', (v) => new RuleEngine([{ name: v as string }, { name: v as string }]), 'CONFIG_INVALID', HOSTILE);
  });

  it('motion and drawing: MotionDetector masks and scale, binaryErode, drawLabel, drawAnnotations labels, snapshot', async () => {
    await expectRejected('new MotionDetector(scale)', (v) => new MotionDetector({ scale: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('new MotionDetector(masks[0])', (v) => new MotionDetector({ masks: [[[0, 0], [v as number, 0], [1, 1]]] }), 'INVALID_ARGUMENT');
    await expectRejected('binaryErode(mask.width)', (v) => binaryErode({ width: v as number, height: 2, data: new Uint8Array(4) }), 'INVALID_INPUT');
    await expectRejected('binaryErode(mask.data)', (v) => binaryErode({ width: 2, height: 2, data: v as Uint8Array }), 'INVALID_INPUT');
    await expectRejected('binaryErode(iterations)', (v) => binaryErode({ width: 2, height: 2, data: new Uint8Array(4) }, v as number), 'INVALID_ARGUMENT');
    await expectRejected('drawLabel(scale)', (v) => drawLabel(image(), 'x', 0, 0, { background: [0, 0, 0], scale: v as number }), 'INVALID_ARGUMENT');
    // The image itself: a hostile width, height or data is INVALID_INPUT (the message once interpolated a Symbol).
    for (const key of ['width', 'height', 'data']) {
      await expectRejected(`drawAnnotations(image.${key})`, (v) => drawAnnotations({ ...image(), [key]: v } as never, {}), 'INVALID_INPUT');
      await expectRejected(`MotionDetector.update(frame.${key})`, (v) => new MotionDetector().update({ ...image(), [key]: v } as never), 'INVALID_INPUT');
    }
    await expectRejected('drawAnnotations(textScale)', (v) => drawAnnotations(image(), { textScale: v as number }), 'INVALID_ARGUMENT');
    // A label is drawn text: anything is described, never a TypeError.
    await expectTypedOrOk('drawAnnotations(detections[0].label)', (v) => drawAnnotations(image(), { detections: [{ box, label: v as string, score: 0.9 }] }), HOSTILE);
    await expectTypedOrOk('drawAnnotations(zones[0].name)', (v) => drawAnnotations(image(), { zones: [{ ...zone, name: v as string }] }), HOSTILE);
    await expectRejected('snapshot(box.x)', (v) => snapshot(image(), boxWith(v)), 'INVALID_ARGUMENT');
    await expectRejected('snapshot(quality)', (v) => snapshot(image(), undefined, { quality: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('snapshot(cropMargin)', (v) => snapshot(image(), box, { crop: true, cropMargin: v as number }), 'INVALID_ARGUMENT');
  });

  it('video and service options: VideoSource, VideoWriter, FrameRing, cutClip, cutRecordingClip, Recorder, EventStore, ObjectLifecycle, probeSource, shards, metrics', async () => {
    const source = { camera: 'cam', input: join(dir, 'in.mp4'), fps: 5, width: 16, height: 16 };
    for (const key of ['fps', 'width', 'height']) {
      await expectRejected(`new VideoSource(${key})`, (v) => new VideoSource({ ...source, [key]: v }), 'CONFIG_INVALID');
    }
    await expectRejected('new VideoSource(queue.policy)', (v) => new VideoSource({ ...source, queue: { policy: v as 'block' } }), 'CONFIG_INVALID');
    const writer = { output: join(dir, 'out.mp4'), width: 16, height: 16, fps: 5 };
    for (const key of ['width', 'fps', 'crf']) {
      await expectRejected(`new VideoWriter(${key})`, (v) => new VideoWriter({ ...writer, [key]: v }), 'INVALID_ARGUMENT');
    }
    // A frame's fields: a hostile size is a SHAPE_MISMATCH (its message once threw a TypeError on a Symbol), hostile
    // data or a getter that throws an INVALID_INPUT; nothing reaches ffmpeg, so close() has no frame to finish.
    const open = new VideoWriter(writer);
    const frame = { camera: 'cam', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
    await expectRejected('VideoWriter.write(width)', (v) => open.write({ ...frame, width: v } as never), 'SHAPE_MISMATCH');
    await expectRejected('VideoWriter.write(data)', (v) => open.write({ ...frame, data: v } as never), 'INVALID_INPUT');
    const throwing = Object.defineProperty({ ...frame }, 'data', {
      get(): never {
        throw new Error('boom');
      },
    });
    await expect(open.write(throwing)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/reading the frame's fields threw/) });
    await expect(open.write({ ...frame, data: new Proxy(new Uint8Array(16 * 16 * 3), {}) })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(open.close()).rejects.toMatchObject({ code: 'VIDEO_WRITE_FAILED' });
    await expectRejected('new FrameRing(seconds)', (v) => new FrameRing({ seconds: v as number, fps: 5 }), 'INVALID_ARGUMENT');
    const ring = new FrameRing({ seconds: 2, fps: 5 });
    for (const key of ['time', 'width', 'data']) {
      await expectRejected(`FrameRing.push(frame.${key})`, (v) => ring.push({ ...frame, [key]: v } as never), 'INVALID_INPUT');
    }
    expect(() => ring.push({ ...frame, time: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/time NaN is not a finite number/) }));
    expect(() => ring.push(throwing)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    ring.push({ ...frame, time: 0.2 });
    expect(ring.frames(0, 1)).toHaveLength(1); // the bad ones left nothing behind
    await expectRejected('FrameRing.clipAround(before)', (v) => ring.clipAround(1, v as number, 1, writer.output), 'INVALID_ARGUMENT');
    await expectRejected('cutClip(start)', (v) => cutClip({ input: source.input, output: writer.output, start: v as number, end: 2 }), 'INVALID_ARGUMENT');
    await expectRejected('cutClip(encoder)', (v) => cutClip({ input: source.input, output: writer.output, start: 0, end: 2, encoder: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    const clip = { dir, camera: 'cam', from: 0, to: 1000, output: writer.output };
    await expectRejected('cutRecordingClip(from)', (v) => cutRecordingClip({ ...clip, from: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('cutRecordingClip(camera)', (v) => cutRecordingClip({ ...clip, camera: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('new Recorder(segmentSeconds)', (v) => new Recorder({ camera: 'cam', input: source.input, dir, segmentSeconds: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('EventStore.open(capacity)', (v) => EventStore.open({ capacity: v as number, persistPath: null }), 'INVALID_ARGUMENT');
    await expectRejected('new ObjectLifecycle(updateSeconds)', (v) => new ObjectLifecycle('cam', { updateSeconds: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('probeSource(timeoutMs)', (v) => probeSource(source.input, { timeoutMs: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('parseShard(text)', (v) => parseShard(v as string), 'INVALID_ARGUMENT');
    await expectRejected('shardOf(count)', (v) => shardOf('cam', v as number), 'INVALID_ARGUMENT');
    await expectRejected('renderMetrics(name)', (v) => renderMetrics([{ name: v as string, help: 'h', type: 'gauge', samples: [] }]), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('renderMetrics(label value)', (v) => renderMetrics([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { camera: v as string }, value: 1 }] }]), 'INVALID_ARGUMENT', HOSTILE);
    expect(renderMetrics([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { camera: 'gate' }, value: 1 }] }])).toBe('# HELP m h\n# TYPE m gauge\nm{camera="gate"} 1\n');
  });
});
