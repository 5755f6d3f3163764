// Findings of a hostile black-box review (2026-12-07), each reproduced here before its fix: credentials that slipped
// past redaction or were printed by the YAML parser, callbacks and options that broke a whole batch, values that
// passed NMS and blurring unchecked, and configurations that could never work.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initRuntime, isLeptonError } from '@lepton/core';
import { outcome } from '../../../tests/support/hostile.js';
import { blurRegions, FaceDetector, loadConfig, nonMaxSuppression, ObjectDetector, parseConfig, RuleEngine, shardOf, type Frame } from '@lepton/surveillance';
import { redactCredentials } from '../dist/video/redact.js';

describe('credentials', () => {
  it.each([
    ['a password holding @', 'rtsp://admin:S3cret@PW@127.0.0.1:554/x: Connection refused', 'S3cret', 'rtsp://***@127.0.0.1:554/x'],
    ['a password holding a quote', 'http://admin:S3cret"PW@127.0.0.1:8080/x', 'S3cret', 'http://***@127.0.0.1:8080/x'],
    ['a pw= query parameter', 'http://cam/snap.jpg?user=admin&pw=S3cretPW', 'S3cretPW', '&pw=***'],
    ['a password parameter holding a quote', "http://cam/x?password=ab'cd&channel=2", "cd&", 'password=***&channel=2'],
  ])('redaction masks %s whole', (_, text, secret, shown) => {
    const out = redactCredentials(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(shown);
  });

  it('a YAML tag the loader does not expand (!secret) is CONFIG_INVALID by position, and nothing is printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-surv-hostile-'));
    const path = join(dir, 'cameras.yaml');
    await writeFile(path, 'cameras:\n  - name: gate\n    input: !secret rtsp://admin:S3cretPW@10.0.0.7/stream\n');
    const warn = vi.spyOn(process, 'emitWarning');
    const err = await loadConfig(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    try {
      expect(isLeptonError(err, 'CONFIG_INVALID')).toBe(true);
      expect(JSON.stringify({ message: (err as Error).message, details: (err as { details?: unknown }).details, cause: String((err as Error).cause) })).not.toContain('S3cretPW');
      expect((err as Error).message).toMatch(/line 3/);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('an MQTT URL with a port out of range or a topic prefix with wildcards is refused without echoing the password', async () => {
    const base = { cameras: [{ name: 'gate', input: 'clip.mp4' }] };
    for (const [mqtt, why] of [
      [{ url: 'mqtt://admin:S3cretPW@127.0.0.1:99999' }, /mqtt\.url: not a valid URL/],
      [{ url: 'mqtt://127.0.0.1:1883', topicPrefix: '#/+' }, /mqtt\.topicPrefix: must not hold the MQTT wildcards/],
    ] as const) {
      const err = await Promise.resolve()
        .then(() => parseConfig({ ...base, mqtt }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isLeptonError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(why);
      expect(JSON.stringify({ m: (err as Error).message, d: (err as { details?: unknown }).details })).not.toContain('S3cretPW');
    }
  });
});

describe('zones that could never fire', () => {
  it('a polygon without area is refused by the configuration and by RuleEngine', async () => {
    const zone = { name: 'z', polygon: [[0, 0], [10, 10], [20, 20]] as Array<[number, number]> };
    expect(() => parseConfig({ cameras: [{ name: 'gate', input: 'clip.mp4', zones: [zone] }] })).toThrow(/zones\[0\]\.polygon: has no area/);
    expect(() => new RuleEngine([{ name: 'gate', zones: [zone] }])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/has no area/) }));
    expect(await outcome(() => new RuleEngine([{ name: 'gate', zones: [{ ...zone, polygon: [[0, 0], [10, 0], [10, 10]] }] }]))).toBe('ok');
  });
});

describe('inputs that reached a raw TypeError or passed unchecked', () => {
  it('nonMaxSuppression refuses NaN boxes and scores, null entries and holes', async () => {
    const ok = { label: 'car', score: 0.9, box: { x: 0, y: 0, width: 10, height: 10 } };
    for (const bad of [{ ...ok, box: { ...ok.box, x: Number.NaN } }, { ...ok, score: Number.NaN }, { ...ok, box: { ...ok.box, width: Infinity } }, null, { label: 'car', score: 1 }]) {
      expect(await outcome(() => nonMaxSuppression([ok, bad as never], 0.5))).toBe('LeptonError INVALID_ARGUMENT');
    }
    // eslint-disable-next-line no-sparse-arrays
    expect(await outcome(() => nonMaxSuppression([ok, , ok] as never, 0.5))).toBe('LeptonError INVALID_ARGUMENT');
  });

  it('blurRegions refuses a missing image, boxes that are not an array, and a NaN box, before changing a pixel', async () => {
    const image = { width: 4, height: 4, data: new Uint8Array(48).fill(200) };
    expect(await outcome(() => blurRegions(null as never, []))).toBe('LeptonError INVALID_INPUT');
    expect(await outcome(() => blurRegions(image, null as never))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => blurRegions(image, [null as never]))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => blurRegions(image, [], null as never))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => blurRegions(image, [{ x: 0, y: 0, width: 4, height: 4 }, { x: Number.NaN, y: 0, width: 2, height: 2 }]))).toBe('LeptonError INVALID_ARGUMENT');
    expect(image.data.every((v) => v === 200)).toBe(true);
  });

  it('shardOf(null) and load(null) are INVALID_ARGUMENT', async () => {
    expect(await outcome(() => shardOf(null as never, 3))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => ObjectDetector.load(null as never))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => FaceDetector.load(null as never))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => ObjectDetector.load({ onInvalidFrame: 5 as never }))).toBe('LeptonError INVALID_ARGUMENT');
  });
});

describe('a throwing onInvalidFrame callback', () => {
  let detector: ObjectDetector;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    detector = await ObjectDetector.load({
      onInvalidFrame: () => {
        throw new Error('the application failed');
      },
    });
  }, 60_000);
  afterAll(async () => detector?.close());

  it('costs the bad frame only: the good frame of the batch is still detected', async () => {
    const good: Frame = { camera: 'a', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 64, height: 48, data: new Uint8Array(64 * 48 * 3) };
    const bad = { ...good, camera: 'b', data: new Uint8Array(5) };
    const out = await detector.detect([bad, good]);
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual([]);
    expect(Array.isArray(out[1])).toBe(true);
    expect(detector.stats.invalidFrames).toBe(1);
  });
});
