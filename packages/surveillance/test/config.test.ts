import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import { cameraThreshold, detectorOptionsFromConfig, loadConfig, parseConfig } from '@lepton/surveillance';

const YAML = `
detector:
  thresholds: { person: 0.45 }
mqtt:
  url: mqtt://127.0.0.1:1883
cameras:
  - name: entrance
    input: clips/entrance.mp4
    fps: 8
    motion:
      masks:
        - [[0, 0], [120, 0], [120, 40]]
    zones:
      - name: lobby
        polygon: [[100, 100], [500, 100], [500, 350], [100, 350]]
        loiterSeconds: 20
        classes: [person]
    lines:
      - name: door
        from: [320, 0]
        to: [320, 360]
        direction: a-to-b
  - name: yard
    input: rtsp://10.0.0.7/stream2
    record: rtsp://10.0.0.7/stream1
    width: 1280
    height: 720
`;

async function problemsOf(fn: () => unknown): Promise<string[]> {
  try {
    await fn();
  } catch (err) {
    if (isLeptonError(err) && err.code === 'CONFIG_INVALID') return err.details['problems'] as string[];
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('multi-camera YAML configuration', () => {
  it('loads a file: defaults filled in, relative paths resolved against the file, URLs kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-cfg-'));
    await writeFile(join(dir, 'cameras.yaml'), YAML);
    const config = await loadConfig(join(dir, 'cameras.yaml'));
    expect(config.cameras.map((c) => c.name)).toEqual(['entrance', 'yard']);
    const [entrance, yard] = config.cameras;
    expect(entrance!.input).toBe(join(dir, 'clips/entrance.mp4'));
    expect(entrance!.fps).toBe(8);
    expect([entrance!.width, entrance!.height]).toEqual([640, 360]);
    expect(entrance!.motion).toEqual({ enabled: true, masks: [[[0, 0], [120, 0], [120, 40]]] });
    expect(entrance!.zones[0]).toEqual({ name: 'lobby', polygon: [[100, 100], [500, 100], [500, 350], [100, 350]], loiterSeconds: 20, classes: ['person'] });
    expect(entrance!.lines[0]!.direction).toBe('a-to-b');
    expect(yard!.input).toBe('rtsp://10.0.0.7/stream2');
    expect(yard!.record).toBe('rtsp://10.0.0.7/stream1');
    expect(yard!.fps).toBe(10);
    expect(config.detector).toEqual({ model: 'centernet', batchSize: 8, workers: 1, thresholds: { person: 0.45 } }); // workers: the default, one detector thread
    expect(config.mqtt).toEqual({ url: 'mqtt://127.0.0.1:1883', topicPrefix: 'lepton/surveillance' });
    expect(config.privacy.blurFaces).toBe(false);
    expect(config.output.dir).toBe(join(dir, 'out'));
    expect(config.output.clips).toEqual({ before: 3, after: 3 });
    expect(config.output.evidence).toEqual(['line-cross', 'loitering', 'intrusion', 'crowd']);
  });

  it('names the camera and the field of every problem, all at once', async () => {
    const problems = await problemsOf(() =>
      parseConfig({
        cameras: [
          { name: 'entrance', input: 'a.mp4', zones: [{ name: 'z', polygon: [[0, 0], [10, 10]] }], fps: -1 },
          { name: 'yard', input: 'b.mp4', lines: [{ name: 'l', from: [5, 5], to: [5, 5] }], colour: 'red' },
          { name: 'entrance', input: 'c.mp4', zones: [{ name: 'z', polygon: [[0, 0], [10, 0], [900, 10]] }] },
        ],
      }),
    );
    expect(problems).toContain("camera 'entrance' (cameras[0]): zones[0].polygon: needs at least 3 points");
    expect(problems.some((p) => p.startsWith("camera 'entrance' (cameras[0]): fps: "))).toBe(true);
    expect(problems).toContain("camera 'yard' (cameras[1]): unknown field(s) 'colour'");
    expect(problems).toHaveLength(3); // schema problems first; the cross-field checks run on a schema-valid document
    const second = await problemsOf(() =>
      parseConfig({
        cameras: [
          { name: 'yard', input: 'b.mp4', lines: [{ name: 'l', from: [5, 5], to: [5, 5] }] },
          { name: 'yard', input: 'c.mp4', zones: [{ name: 'z', polygon: [[0, 0], [10, 0], [900, 10]] }, { name: 'z', polygon: [[0, 0], [10, 0], [9, 10]] }] },
        ],
      }),
    );
    expect(second).toEqual([
      "camera 'yard' (cameras[0]): lines[0]: 'from' and 'to' are the same point",
      "camera 'yard' (cameras[1]): name: another camera has the same name",
      "camera 'yard' (cameras[1]): zones[1].name: 'z' is used twice",
      "camera 'yard' (cameras[1]): zones[0].polygon: a point lies outside the 640×360 frame",
    ]);
  });

  it('rejects a file that is not YAML, a missing file and a document without cameras', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-cfg-'));
    await writeFile(join(dir, 'bad.yaml'), 'cameras: [ { name: x\n');
    await expect(loadConfig(join(dir, 'bad.yaml'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not valid YAML') });
    await expect(loadConfig(join(dir, 'none.yaml'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await problemsOf(() => parseConfig({ cameras: [] }))).toEqual(['cameras: needs at least one camera']);
    expect((await problemsOf(() => parseConfig({ cameras: [{ name: 'bad name!', input: 'x' }] })))[0]).toMatch(/^camera 'bad name!' \(cameras\[0\]\): name: letters/);
  });

  it('rejects unknown class names at load time, naming the camera, the field and the known classes (issue 15)', async () => {
    // Before: 'unicorn' and 'Person' passed loadConfig; the threshold then failed SurveillancePipeline.create() with
    // INVALID_ARGUMENT, and the zone and line silently counted nothing.
    const dir = await mkdtemp(join(tmpdir(), 'lepton-cfg-'));
    await writeFile(join(dir, 'cameras.yaml'), `
cameras:
  - name: gate
    input: gate.mp4
    thresholds: { unicorn: 0.5 }
    zones:
      - name: lawn
        polygon: [[0, 0], [100, 0], [100, 100]]
        classes: [person, unicorn]
    lines:
      - name: door
        from: [0, 200]
        to: [640, 200]
        classes: [Person, dog]
`);
    let caught: unknown;
    await loadConfig(join(dir, 'cameras.yaml')).catch((err: unknown) => (caught = err));
    expect(isLeptonError(caught, 'CONFIG_INVALID')).toBe(true);
    const err = caught as Error & { details: { problems: string[]; issues: { path: string; message: string }[]; source: string } };
    const known = 'person, bicycle, car, motorcycle, bus, truck';
    expect(err.details.problems).toEqual([
      `camera 'gate' (cameras[0]): thresholds.unicorn: unknown class 'unicorn'; known classes (reported by the detector): ${known}`,
      `camera 'gate' (cameras[0]): zones[0].classes[1]: unknown class 'unicorn'; known classes (reported by the detector): ${known}`,
      `camera 'gate' (cameras[0]): lines[0].classes[0]: unknown class 'Person' (did you mean 'person'?); known classes (reported by the detector): ${known}`,
      `camera 'gate' (cameras[0]): lines[0].classes[1]: class 'dog' is not reported by the detector (it reports: ${known}); add it to detector.classes`,
    ]);
    expect(err.details.issues.map((i) => i.path)).toEqual(['cameras[0].thresholds.unicorn', 'cameras[0].zones[0].classes[1]', 'cameras[0].lines[0].classes[0]', 'cameras[0].lines[0].classes[1]']);
    expect(err.message).toContain(join(dir, 'cameras.yaml'));
  });

  it("checks detector.classes against the model's 80 COCO classes, and other names against detector.classes or a custom list", async () => {
    const unicorn = await problemsOf(() => parseConfig({ detector: { classes: ['person', 'unicorn'] }, cameras: [{ name: 'a', input: 'a.mp4' }] }));
    expect(unicorn).toHaveLength(1);
    expect(unicorn[0]).toMatch(/^detector\.classes\[1\]: unknown class 'unicorn'; the centernet model knows the 80 COCO classes: person, bicycle, .*, toothbrush$/);
    // dog is fine once the detector reports it
    const zone = { name: 'yard', polygon: [[0, 0], [100, 0], [100, 100]], classes: ['dog'] };
    expect(parseConfig({ detector: { classes: ['person', 'dog'] }, cameras: [{ name: 'a', input: 'a.mp4', zones: [zone] }] }).cameras[0]!.zones[0]!.classes).toEqual(['dog']);
    // a custom detector's classes replace COCO's
    expect(parseConfig({ cameras: [{ name: 'a', input: 'a.mp4', zones: [{ ...zone, classes: ['forklift'] }] }] }, { classes: ['forklift', 'pallet'] }).cameras[0]!.zones[0]!.classes).toEqual(['forklift']);
    expect(await problemsOf(() => parseConfig({ cameras: [{ name: 'a', input: 'a.mp4', zones: [zone] }] }, { classes: ['forklift', 'pallet'] }))).toEqual([
      "camera 'a' (cameras[0]): zones[0].classes[0]: unknown class 'dog'; known classes (reported by the detector): forklift, pallet",
    ]);
    // a crowd zone counts people by default: a detector without people needs crowdClasses
    expect(await problemsOf(() => parseConfig({ detector: { classes: ['car'] }, cameras: [{ name: 'a', input: 'a.mp4', zones: [{ name: 'lot', polygon: zone.polygon, crowdThreshold: 3 }] }] }))).toEqual([
      "camera 'a' (cameras[0]): zones[0].crowdThreshold: a crowd counts people unless crowdClasses says otherwise, and the detector does not report 'person' (it reports: car); set crowdClasses",
    ]);
  });
});

describe('detector.tiles and detector.flip (issue 17 §1)', () => {
  const camera = { name: 'a', input: 'a.mp4' };
  it('are read from YAML and left out when not set (the detector then uses its defaults: off)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-config-'));
    const path = join(dir, 'cameras.yaml');
    await writeFile(path, 'detector:\n  tiles: 2\n  flip: true\ncameras:\n  - name: a\n    input: a.mp4\n');
    expect((await loadConfig(path)).detector).toEqual({ model: 'centernet', batchSize: 8, workers: 1, tiles: 2, flip: true });
    const plain = parseConfig({ cameras: [camera] }).detector;
    expect('tiles' in plain || 'flip' in plain).toBe(false);
  });

  it('reject a tile grid outside 1–4 or not whole, and a flip that is not a boolean, naming the field', async () => {
    for (const tiles of [0, 5, 1.5, 'two', 'AUTO', null]) {
      expect(await problemsOf(() => parseConfig({ detector: { tiles }, cameras: [camera] }))).toEqual(['detector.tiles: an integer from 1 (off) to 4, or auto']);
    }
    expect(parseConfig({ detector: { tiles: 'auto' }, cameras: [camera] }).detector.tiles).toBe('auto');
    expect((await problemsOf(() => parseConfig({ detector: { flip: 'yes' }, cameras: [camera] })))[0]).toMatch(/^detector\.flip: /);
  });

  it('reach the options the pipeline loads its detector with, beside the lowest threshold of each class', async () => {
    const config = parseConfig({
      detector: { tiles: 3, flip: true, thresholds: { person: 0.45, car: 0.5 }, iouThreshold: 0.6 },
      cameras: [{ ...camera, thresholds: { person: 0.3 } }, { name: 'b', input: 'b.mp4', thresholds: { person: 0.35, car: 0.6 } }],
    });
    expect(detectorOptionsFromConfig(config)).toEqual({ model: 'centernet', batchSize: 8, workers: 1, tiles: 3, flip: true, iouThreshold: 0.6, thresholds: { person: 0.3, car: 0.5 } });
    expect(detectorOptionsFromConfig(parseConfig({ cameras: [camera] }))).toEqual({ model: 'centernet', batchSize: 8, workers: 1, thresholds: {} });
    // a configuration edited after parsing is validated again
    expect(await problemsOf(() => detectorOptionsFromConfig({ ...config, detector: { ...config.detector, tiles: 9 } }))).toEqual(['detector.tiles: an integer from 1 (off) to 4, or auto']);
  });

  it("one camera's stricter threshold does not raise the detector's for the others (they keep the detector's 0.4)", async () => {
    const gate = { ...camera, thresholds: { person: 0.7 } };
    const yard = { name: 'yard', input: 'yard.mp4' };
    // gate asks for more confidence than the default, yard for nothing: the detector must still report people from 0.4
    expect(detectorOptionsFromConfig(parseConfig({ cameras: [gate, yard] })).thresholds).toEqual({ person: 0.4 });
    expect(detectorOptionsFromConfig(parseConfig({ detector: { thresholds: { person: 0.5 } }, cameras: [gate, yard] })).thresholds).toEqual({ person: 0.5 });
    // and a lower one lowers it, while yard still applies the detector's own after detection
    const lower = parseConfig({ cameras: [{ ...camera, thresholds: { person: 0.25 } }, yard] });
    expect(detectorOptionsFromConfig(lower).thresholds).toEqual({ person: 0.25 });
    expect(cameraThreshold(lower, lower.cameras[1]!, 'person')).toBe(0.4);
    expect(cameraThreshold(lower, lower.cameras[0]!, 'person')).toBe(0.25);
    expect(cameraThreshold(lower, lower.cameras[0]!, 'car')).toBe(0.4);
  });
});
