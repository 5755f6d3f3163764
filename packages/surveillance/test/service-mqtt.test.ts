import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, ObjectDetector, parseConfig, SurveillanceService, type EventPublisher } from '@lepton/surveillance';
import { ffmpeg, X264 } from './support/live.js';

// A broker that is away: at QoS 1 every publish waits for an acknowledgement that does not come (the publisher seam
// stands in for mqtt.js with its broker unreachable). Frames, the event store and the shutdown must not wait for it.

const HERE = dirname(fileURLToPath(import.meta.url));
let dir = '';
let detector: ObjectDetector;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-service-mqtt-'));
  await ffmpeg(['-loop', '1', '-framerate', '5', '-i', join(HERE, 'fixtures', 'images', 'astronaut.jpg'), '-t', '2', '-vf', 'scale=200:200,pad=256:256:28:0', ...X264, join(dir, 'person.mp4')]);
  detector = await ObjectDetector.load();
}, 120_000);

afterAll(async () => {
  detector?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SurveillanceService with an MQTT broker that never answers', () => {
  it('processes every frame, stores every event, and stops within the bounded wait, counting the unsent messages', { timeout: 180_000 }, async () => {
    const attempted: string[] = [];
    const hanging: EventPublisher = {
      publish: (topic) => {
        attempted.push(topic);
        return new Promise<void>(() => undefined);
      },
      close: async () => undefined,
    };
    const config = parseConfig({
      api: { auth: false, port: 0 },
      mqtt: { url: 'mqtt://127.0.0.1:9', topicPrefix: 'away' },
      output: { dir: join(dir, 'out'), clips: null, annotatedVideo: false },
      cameras: [{ name: 'door', input: join(dir, 'person.mp4'), fps: 5, width: 256, height: 256, zones: [{ name: 'all', polygon: [[0, 0], [256, 0], [256, 256], [0, 256]] }] }],
    });
    const service = await SurveillanceService.start(config, { detector, publisher: hanging });
    const t0 = Date.now();
    const report = await service.done; // the file ends: the service stops by itself
    const waited = Date.now() - t0;
    expect(report.reason).toBe('cameras-ended');
    expect(report.pipeline!.cameras[0]!.frames).toBe(10);
    expect(report.pipeline!.cameras[0]!.error).toBeUndefined();
    expect(report.pipeline!.cameras[0]!.events['zone-enter']).toBeGreaterThanOrEqual(1);
    expect(report.pipeline!.mqtt.failed).toBeGreaterThanOrEqual(1); // its rule events, never acknowledged
    expect(report.objectEvents.new).toBeGreaterThanOrEqual(1);
    expect(report.objectEvents.end).toBe(report.objectEvents.new);
    // Nothing was acknowledged; everything attempted or queued is counted as failed, nothing as published.
    expect(report.mqtt.published).toBe(0);
    expect(report.mqtt.failed).toBeGreaterThanOrEqual(report.objectEvents.new + report.objectEvents.end);
    expect(attempted[0]).toMatch(/^away\//);
    // Two bounded waits (the pipeline's rule events, the service's lifecycle messages) of 15 s, plus the detection.
    expect(waited).toBeLessThan(90_000);
  });
});
