import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anchorPoint,
  annotateFrame,
  binaryDilate,
  binaryErode,
  boxIou,
  classColor,
  drawLine,
  drawPolygon,
  drawRect,
  drawText,
  fillPolygon,
  fillRect,
  isLoopbackHost,
  labelComponents,
  MAX_LINE_THICKNESS,
  measureText,
  segmentsIntersect,
  selectCameras,
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
  parseConfig,
  parseShard,
  probeSource,
  Recorder,
  renderMetrics,
  resolveServiceConfig,
  RuleEngine,
  shardOf,
  sideOfLine,
  snapshot,
  SortTracker,
  VideoSource,
  VideoWriter,
} from '@lepton/surveillance';
import { expectRejected, expectTypedOrOk, HOSTILE } from '../../../tests/support/hostile.js';

/** JavaScript's own wrong values, beside {@link HOSTILE}'s: null, undefined and a plain number where an object is due. */
const WRONG: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['undefined', undefined],
  ['42', 42],
];

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

  it('geometry and assignment: boxIou, segmentsIntersect, anchorPoint(anchor), linearSumAssignment matrix and options', async () => {
    await expectRejected('boxIou(a.x)', (v) => boxIou(boxWith(v), box), 'INVALID_ARGUMENT');
    await expectRejected('boxIou(b)', (v) => boxIou(box, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...WRONG]);
    expect(() => boxIou({ ...box, x: Number.NaN }, box)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(boxIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 })).toBeCloseTo(2 / 6, 12);
    await expectRejected('segmentsIntersect(a1[0])', (v) => segmentsIntersect([v as number, 0], [2, 2], [0, 2], [2, 0]), 'INVALID_ARGUMENT');
    await expectRejected('segmentsIntersect(b2)', (v) => segmentsIntersect([0, 0], [2, 2], [0, 2], v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...WRONG]);
    expect(segmentsIntersect([0, 0], [2, 2], [0, 2], [2, 0])).toBe(true);
    // An unknown anchor once fell back to 'bottom-center' silently.
    await expectRejected('anchorPoint(anchor)', (v) => anchorPoint(box, v as 'center'), 'INVALID_ARGUMENT', [...HOSTILE, ['centre', 'centre']]);
    await expectRejected('linearSumAssignment(cost)', (v) => linearSumAssignment(v as number[][]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('linearSumAssignment(cost[0])', (v) => linearSumAssignment([v as number[], [1, 2]]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['undefined', undefined]]);
    await expectRejected('linearSumAssignment(options)', (v) => linearSumAssignment([[1, 2], [2, 1]], v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['null', null], ['42', 42]]);
    await expectRejected('linearSumAssignment(options.maxCost)', (v) => linearSumAssignment([[1, 2], [2, 1]], { maxCost: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ["'1'", '1'], ['{}', {}]]);
    expect(linearSumAssignment([[1, 2], [2, 1]], { maxCost: 1.5 }).cost).toBe(2);
  });

  it('tracker, rules and motion options that are not objects or arrays: typed, never a TypeError', async () => {
    await expectRejected('new SortTracker(options)', (v) => new SortTracker(v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['42', 42]]);
    const zone2 = { name: 'z', polygon: [[0, 0], [10, 0], [10, 10]] as [number, number][] };
    await expectRejected('new RuleEngine(zones[0].classes)', (v) => new RuleEngine([{ name: 'cam', zones: [{ ...zone2, classes: v as string[] }] }]), 'CONFIG_INVALID', [...HOSTILE, ['42', 42]]);
    await expectRejected('new RuleEngine(zones[0].crowdClasses)', (v) => new RuleEngine([{ name: 'cam', zones: [{ ...zone2, crowdClasses: v as string[] }] }]), 'CONFIG_INVALID', [...HOSTILE, ['42', 42]]);
    await expectRejected('new RuleEngine(hysteresis)', (v) => new RuleEngine([{ name: 'cam' }], { hysteresis: v as never }), 'CONFIG_INVALID', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['42', 42], ["'x'", 'x']]);
    await expectRejected('new MotionDetector(options)', (v) => new MotionDetector(v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['null', null], ['42', 42]]);
    await expectRejected('new MotionDetector(masks)', (v) => new MotionDetector({ masks: v as never }), 'INVALID_ARGUMENT', [...HOSTILE, ['42', 42]]);
    await expectRejected('MotionDetector.setMasks(masks)', (v) => new MotionDetector().setMasks(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['42', 42]]);
    await expectRejected('binaryDilate(mask)', (v) => binaryDilate(v as never), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['undefined', undefined]]);
    await expectRejected('labelComponents(mask)', (v) => labelComponents(v as never), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['undefined', undefined]]);
  });

  it('huge but valid iteration counts return (they hung): binaryErode/binaryDilate and MotionDetector erode/dilate passes', () => {
    const mask = { width: 5, height: 5, data: new Uint8Array(25).fill(1) };
    mask.data[0] = 0;
    expect(Array.from(binaryErode(mask, 1e308).data)).toEqual(Array.from(binaryErode(mask, 5).data));
    expect(Array.from(binaryDilate({ width: 5, height: 5, data: new Uint8Array(25).fill(0).fill(1, 12, 13) }, 1e308).data)).toEqual(new Array(25).fill(1));
    const motion = new MotionDetector({ erodeIterations: 1e308, dilateIterations: 1e308, warmupFrames: 1 });
    const frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
    motion.update(frame);
    const moved = { ...frame, data: new Uint8Array(16 * 16 * 3).fill(255) };
    expect(motion.update(moved).boxes.every((b) => [b.x, b.y, b.width, b.height].every(Number.isFinite))).toBe(true);
  });

  it('raster primitives: colours, alpha, points, polygons, text and thickness are checked (TypeErrors, coercion and a hang before)', async () => {
    await expectRejected('fillRect(color)', (v) => fillRect(image(), box, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["['1', 0, 0]", ['1', 0, 0]], ['[NaN, 0, 0]', [Number.NaN, 0, 0]]]);
    await expectRejected('fillRect(color[0])', (v) => fillRect(image(), box, [v as number, 0, 0]), 'INVALID_ARGUMENT');
    await expectRejected('fillRect(alpha)', (v) => fillRect(image(), box, [1, 2, 3], v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['NaN', Number.NaN]]);
    await expectRejected('fillRect(box)', (v) => fillRect(image(), v as never, [1, 2, 3]), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['undefined', undefined]]);
    expect(fillRect(image(), { ...box, x: Number.NaN }, [1, 2, 3])).toBe(0); // documented: non-finite coordinates draw nothing
    await expectRejected('drawRect(color)', (v) => drawRect(image(), box, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('drawLine(from)', (v) => drawLine(image(), v as never, [5, 5], [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('drawLine(color)', (v) => drawLine(image(), [0, 0], [5, 5], v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    // A valid but huge thickness never returned.
    await expectRejected('drawLine(thickness)', (v) => drawLine(image(), [0, 0], [5, 5], [1, 2, 3], v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['1e308', 1e308], ['MAX + 1', MAX_LINE_THICKNESS + 1]]);
    expect(drawLine(image(), [0, 0], [5, 5], [1, 2, 3], MAX_LINE_THICKNESS)).toBe(6 * 16); // six whole columns
    await expectRejected('drawPolygon(polygon)', (v) => drawPolygon(image(), v as never, [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('drawPolygon(polygon[1])', (v) => drawPolygon(image(), [[0, 0], v as never, [5, 5]], [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('drawPolygon(thickness)', (v) => drawPolygon(image(), [[0, 0], [5, 0], [5, 5]], [1, 2, 3], v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['1e308', 1e308]]);
    await expectRejected('fillPolygon(polygon)', (v) => fillPolygon(image(), v as never, [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('fillPolygon(polygon[1])', (v) => fillPolygon(image(), [[0, 0], v as never, [5, 5]], [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('fillPolygon(alpha)', (v) => fillPolygon(image(), [[0, 0], [5, 0], [5, 5]], [1, 2, 3], v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('drawText(text)', (v) => drawText(image(), v as string, 0, 0, [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('drawText(color)', (v) => drawText(image(), 'AB', 0, 0, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
  });

  it('text and annotation: measureText, classColor, drawLabel, drawAnnotations lists, annotateFrame, snapshot options, isLoopbackHost', async () => {
    await expectRejected('measureText(text)', (v) => measureText(v as string), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    // A NaN, fractional or 1e308 scale came back as a NaN, fractional or Infinity size.
    await expectRejected('measureText(scale)', (v) => measureText('AB', v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['1.5', 1.5], ['-1', -1], ['1e308', 1e308]]);
    expect(measureText('ID 7', 2)).toEqual({ width: 46, height: 16 });
    await expectRejected('classColor(label)', (v) => classColor(v as string), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['42', 42]]);
    await expectRejected('drawLabel(text)', (v) => drawLabel(image(), v as string, 0, 0, { background: [0, 0, 0] }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('drawLabel(x)', (v) => drawLabel(image(), 'a', v as number, 0, { background: [0, 0, 0] }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['undefined', undefined]]);
    await expectRejected('drawLabel(options)', (v) => drawLabel(image(), 'a', 0, 0, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['undefined', undefined]]);
    await expectRejected('drawAnnotations(options)', (v) => drawAnnotations(image(), v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['null', null], ['undefined', undefined]]);
    for (const key of ['zones', 'lines', 'motionBoxes', 'detections', 'tracks']) {
      await expectRejected(`drawAnnotations(${key})`, (v) => drawAnnotations(image(), { [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['42', 42]]);
    }
    await expectRejected('drawAnnotations(colors.line)', (v) => drawAnnotations(image(), { lines: [{ name: 'l', from: [0, 0], to: [5, 5] }], colors: { line: v as never } }), 'INVALID_ARGUMENT', [...HOSTILE, ["'red'", 'red']]);
    const frame = { camera: 'cam', index: 0, sourceIndex: 0, time: 0, wallTime: 0, ...image() };
    await expectRejected('annotateFrame(options)', (v) => annotateFrame(frame, v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['null', null]]);
    // A finite wallTime past the Date range threw a RangeError from toISOString; a hostile camera name a TypeError.
    await expectTypedOrOk('annotateFrame(frame.wallTime)', (v) => annotateFrame({ ...frame, wallTime: v as number }), [['1e308', 1e308], ['-1e16', -1e16]]);
    await expectTypedOrOk('annotateFrame(frame.camera)', (v) => annotateFrame({ ...frame, camera: v as string }), HOSTILE);
    await expectRejected('snapshot(options)', (v) => snapshot(image(), box, v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['null', null]]);
    for (const [name, v] of HOSTILE) expect(isLoopbackHost(v as string), name).toBe(false);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
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

  it('service pieces used directly: EventStore put/list/setClip/open, Recorder backoff, ObjectLifecycle, selectCameras, resolveServiceConfig, drawAnnotations colours', async () => {
    // Values that passed before and then misbehaved: NaN and Infinity delays made the reconnect timer fire at once (a
    // tight loop of ffmpeg starts against a dead camera), '100' compared as a number, a shard that cannot exist
    // selected no camera, a numeric token skipped the length check, a list filter of NaN matched nothing.
    const odd: ReadonlyArray<readonly [string, unknown]> = [['NaN', Number.NaN], ['Infinity', Infinity], ["'100'", '100'], ['-1', -1], ['1e308', 1e308]];
    const finiteOnly = odd.filter(([n]) => n !== '1e308');
    const rec = { camera: 'cam', input: 'rtsp://127.0.0.1:1/x', dir, segmentSeconds: 10 };
    for (const key of ['initialDelayMs', 'maxDelayMs', 'factor']) {
      await expectRejected(`new Recorder(reconnect.${key})`, (v) => new Recorder({ ...rec, reconnect: { [key]: v } as never }), 'INVALID_ARGUMENT', key === 'factor' ? finiteOnly : odd);
    }
    await expectRejected('new Recorder(reconnect)', (v) => new Recorder({ ...rec, reconnect: v as never }), 'INVALID_ARGUMENT', [['null', null], ['42', 42], ["'fast'", 'fast']]);
    await expectRejected('new Recorder(inputOptions)', (v) => new Recorder({ ...rec, inputOptions: v as never }), 'INVALID_ARGUMENT', [['null', null], ["'-re'", '-re'], ['[1]', [1]]]);
    await expectRejected('new Recorder(segmentSeconds huge)', (v) => new Recorder({ ...rec, segmentSeconds: v as number }), 'INVALID_ARGUMENT', [['1e308', 1e308], ['86401', 86_401]]);
    expect(() => new Recorder({ ...rec, reconnect: { initialDelayMs: 0, maxDelayMs: 2_147_483_647, factor: 1 } })).not.toThrow();
    const source = { camera: 'cam', input: 'rtsp://127.0.0.1:1/x', fps: 5, width: 16, height: 16 };
    for (const key of ['initialDelayMs', 'stallTimeoutMs', 'openTimeoutMs']) {
      await expectRejected(`new VideoSource(reconnect.${key})`, (v) => new VideoSource({ ...source, reconnect: { [key]: v } as never }), 'CONFIG_INVALID', key === 'initialDelayMs' ? odd : odd.filter(([n]) => n !== '-1'));
    }
    await expectRejected('new ObjectLifecycle(snapshots)', (v) => new ObjectLifecycle('cam', { snapshots: v as boolean }), 'INVALID_ARGUMENT', [['null', null], ["'false'", 'false'], ['0', 0]]);
    await expectRejected('new ObjectLifecycle(quality)', (v) => new ObjectLifecycle('cam', { quality: v as number }), 'INVALID_ARGUMENT', [...odd, ['0', 0], ['101', 101], ['85.5', 85.5]]);
    await expectRejected('new ObjectLifecycle(options)', (v) => new ObjectLifecycle('cam', v as never), 'INVALID_ARGUMENT', [['null', null], ['42', 42]]);

    await expectRejected('EventStore.open(persistPath)', (v) => EventStore.open({ capacity: 5, persistPath: v as string }), 'INVALID_ARGUMENT', [['undefined', undefined], ['42', 42], ["''", '']]);
    await expectRejected('EventStore.open(deleteFiles)', (v) => EventStore.open({ capacity: 5, persistPath: null, deleteFiles: v as boolean }), 'INVALID_ARGUMENT', [['null', null], ["'no'", 'no']]);
    const store = await EventStore.open({ capacity: 5, persistPath: null });
    const object = {
      id: 'cam-01J00000000000000000000000', camera: 'cam', label: 'person', trackId: 1, startTime: 1_700_000_000_000, endTime: null, startMediaTime: 0, lastMediaTime: 0,
      score: 0.9, topScore: 0.9, box, currentZones: [], enteredZones: [], rules: [], snapshot: null, hasSnapshot: false, hasClip: false, endReason: null,
    };
    const event = { object, snapshotPath: null, clipPath: null, clip: 'none' as const };
    store.put(event as never);
    expect(store.size).toBe(1);
    for (const [field, v] of [['startTime', Number.NaN], ['startTime', '1700000000000'], ['score', Infinity], ['id', '../../etc/passwd'], ['box', null]] as const) {
      expect(() => store.put({ ...event, object: { ...object, id: 'cam-01J00000000000000000000001', [field]: v } } as never), `put(object.${field} = ${String(v)})`).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    await expectRejected('EventStore.put(event)', (v) => store.put(v as never), 'INVALID_ARGUMENT');
    expect(store.size).toBe(1); // nothing refused was kept
    for (const key of ['after', 'before', 'limit']) {
      await expectRejected(`EventStore.list(${key})`, (v) => store.list({ [key]: v } as never), 'INVALID_ARGUMENT', key === 'limit' ? [...finiteOnly, ['2.5', 2.5]] : finiteOnly.filter(([n]) => n !== '-1'));
    }
    await expectRejected('EventStore.list(inProgress)', (v) => store.list({ inProgress: v as boolean }), 'INVALID_ARGUMENT', [['null', null], ["'true'", 'true'], ['1', 1]]);
    expect(store.list({ limit: 1 })).toHaveLength(1);
    await expectRejected('EventStore.setClip(clip)', (v) => store.setClip(object.id, v as never), 'INVALID_ARGUMENT', [['null', null], ["'done'", 'done']]);

    const config = parseConfig({ cameras: ['a', 'b', 'c'].map((name) => ({ name, input: `${name}.mp4`, labels: { site: 'north' } })), api: { auth: false } });
    await expectRejected('selectCameras(shard.index)', (v) => selectCameras(config, { shard: { index: v as number, count: 2 } }), 'INVALID_ARGUMENT', [...WRONG, ...odd, ['3 of 2', 3], ['1.5', 1.5], ['0', 0]]);
    await expectRejected('selectCameras(shard.count)', (v) => selectCameras(config, { shard: { index: 1, count: v as number } }), 'INVALID_ARGUMENT', [['null', null], ['undefined', undefined], ...odd, ['0', 0], ['1025', 1025]]);
    await expectRejected('selectCameras(cameras)', (v) => selectCameras(config, { cameras: v as string[] }), 'INVALID_ARGUMENT', [['null', null], ["'a'", 'a'], ['[1]', [1]]]);
    await expectRejected('selectCameras(selector value)', (v) => selectCameras(config, { selector: { site: v as string } }), 'INVALID_ARGUMENT', [['null', null], ['1', 1]]);
    await expectRejected('selectCameras(selection)', (v) => selectCameras(config, v as never), 'INVALID_ARGUMENT', WRONG);
    expect(selectCameras(config, { selector: { site: 'north' } }).cameras).toHaveLength(3);
    expect(selectCameras(config, { selector: { constructor: 'x' } as never }).cameras).toHaveLength(0); // not read off Object.prototype

    await expectRejected('resolveServiceConfig(instance)', (v) => resolveServiceConfig(config, { instance: v as string }), 'INVALID_ARGUMENT', [['null', null], ["'../../tmp/x'", '../../tmp/x'], ["''", ''], ['42', 42]]);
    await expectRejected('resolveServiceConfig(config)', (v) => resolveServiceConfig(v as never), 'INVALID_ARGUMENT', WRONG);
    const tokened = parseConfig({ cameras: [{ name: 'a', input: 'a.mp4' }] });
    expect(() => resolveServiceConfig({ ...tokened, api: { token: 1234567890123456789 as never } }, { env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(resolveServiceConfig(config, { instance: 'shard-1-of-2' }).events.persistPath).toMatch(/events-shard-1-of-2\.jsonl$/);

    const img = image();
    await expectRejected('drawAnnotations(colors)', (v) => drawAnnotations(img, { colors: v as never }), 'INVALID_ARGUMENT', [["'red'", 'red'], ['42', 42], ['[1, 2, 3]', [1, 2, 3]]]);
    await expectRejected('drawAnnotations(colors.zone)', (v) => drawAnnotations(img, { zones: [zone], colors: { zone: v as never } }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["'red'", 'red'], ['[1, 2]', [1, 2]]]);
    await expectRejected('drawAnnotations(colors.classes)', (v) => drawAnnotations(img, { colors: { classes: { person: v as never } } }), 'INVALID_ARGUMENT', [['null', null], ["'red'", 'red'], ['[NaN, 0, 0]', [Number.NaN, 0, 0]]]);
    await expectRejected('drawAnnotations(banner)', (v) => drawAnnotations(img, { banner: v as boolean }), 'INVALID_ARGUMENT', [['null', null], ["'no'", 'no'], ['0', 0]]);
    expect(img.data.every((b) => b === 0)).toBe(true); // refused before anything was drawn
  });
});
