import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import { ObjectDetector, resolveDetectorOptions, type Frame } from '@lepton/surveillance';
import { loadEvalSet, missingMedia, rates, readEvalFrame, scoreImage, totals, type EvalImage, type EvalSet, type ImageScore } from './eval-support.js';

// Detection quality on hand-annotated real photographs (issue 17 §1). fixtures/eval/darknet.json (Debian 'darknet'),
// opencv-photos.json and opencv-docs.json (Debian 'opencv-doc') were held out until 2026-12-07 and are tuning data since
// (the tile merge was designed on their errors); the held-out sets are those annotated on 2026-12-07 before any detector
// ran on them (the second describe block). The floors are what was measured (bench/README.md) less one object's worth
// of margin, so a change that loses a person or a vehicle, or invents one, fails here.
const FORMER: EvalSet[] = [loadEvalSet('darknet'), loadEvalSet('opencv-photos'), loadEvalSet('opencv-docs')];
const missing = FORMER.flatMap(missingMedia);
if (missing.length > 0) {
  console.log(`skipping the detection-quality test on the darknet and opencv photos: ${missing.length} image(s) missing, e.g. ${missing[0]} (apt-get install darknet opencv-doc)`);
}

describe('tiles and flip options', () => {
  it("tiles is validated: an integer from 1 (off, the default) to 4, or 'auto'", () => {
    expect(resolveDetectorOptions({}).tiles).toBe(1);
    expect(resolveDetectorOptions({ tiles: 2 }).tiles).toBe(2);
    expect(resolveDetectorOptions({ tiles: 'auto' }).tiles).toBe('auto');
    for (const bad of [0, 5, 1.5, Number.NaN, 'AUTO', '2', true]) expect(() => resolveDetectorOptions({ tiles: bad as never })).toThrow(/tiles must be an integer from 1 \(off\) to 4 or 'auto'/);
  });

  it('flip is validated: a boolean, off by default', () => {
    expect(resolveDetectorOptions({}).flip).toBe(false);
    expect(resolveDetectorOptions({ flip: true }).flip).toBe(true);
    for (const bad of ['yes', 1, 0]) expect(() => resolveDetectorOptions({ flip: bad as unknown as boolean })).toThrow(/flip must be true or false/);
  });
});

describe.skipIf(missing.length > 0)('photos held out until 2026-12-07 (darknet, opencv-doc samples and documentation) against the hand annotation', () => {
  let detector: ObjectDetector;
  let frames: { set: EvalSet; image: EvalImage; frame: Frame }[];
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    detector = await ObjectDetector.load();
    frames = FORMER.flatMap((set) => set.images.map((image, i) => ({ set, image, frame: readEvalFrame(set, image, i) })));
  });
  afterAll(() => detector?.dispose());

  it('default CenterNet at 0.4: people recall ≥ 11/17 / precision ≥ 0.75, vehicles recall ≥ 8/11 / precision ≥ 0.90', async () => {
    const scores: ImageScore[] = [];
    for (const f of frames) scores.push(scoreImage(f.image, (await detector.detect([f.frame]))[0] ?? []));
    const t = totals(scores);
    const person = rates(t.person);
    const vehicle = rates(t.vehicle);
    const missed = scores.flatMap((s) => s.missed.map((o) => `${s.file} ${o.label} [${o.box.join(',')}]`));
    console.log(`darknet + opencv: person ${t.person.hits}/${person.required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${vehicle.required} found, ${t.vehicle.falseAlarms} false; missed: ${missed.join('; ')}`);
    // measured 2026-12-06: people 12/17 found (0.71), 3 false (precision 0.80); vehicles 9/11 (0.82), none false.
    // Floors: one person or vehicle fewer, or one more false alarm (12/16 = 0.75 people, 9/10 vehicles).
    expect(person.required).toBe(17);
    expect(vehicle.required).toBe(11);
    expect(person.recall).toBeGreaterThanOrEqual(11 / 17);
    expect(person.precision).toBeGreaterThanOrEqual(12 / 16);
    expect(vehicle.recall).toBeGreaterThanOrEqual(8 / 11);
    expect(vehicle.precision).toBeGreaterThanOrEqual(9 / 10);
  });

  it('flip: each frame is detected whole and mirrored (2 passes); a mirror image gets the mirrored detections', async () => {
    const walker = frames.find((f) => f.image.file === 'person.jpg');
    expect(walker).toBeDefined();
    const f = walker!.frame;
    const mirrored = new Uint8Array(f.data.length);
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) mirrored.set(f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3), (y * f.width + f.width - 1 - x) * 3);
    }
    const flip = await ObjectDetector.load({ flip: true });
    try {
      const [a] = await flip.detect([f]);
      expect(flip.stats.frames).toBe(2);
      const [b] = await flip.detect([{ ...f, data: mirrored }]);
      expect(a!.some((d) => d.label === 'person')).toBe(true);
      expect(b!.map((d) => [d.label, d.score])).toEqual(a!.map((d) => [d.label, d.score]));
      b!.forEach((d, i) => {
        expect(d.box.x).toBeCloseTo(f.width - a![i]!.box.x - a![i]!.box.width, 3);
        expect(d.box.width).toBeCloseTo(a![i]!.box.width, 3);
        expect(d.box.y).toBeCloseTo(a![i]!.box.y, 3);
      });
    } finally {
      await flip.close();
    }
  });

  it("tiles: 'auto' tiles only frames larger than the model input, never enlarging a tile", async () => {
    const auto = await ObjectDetector.load({ tiles: 'auto' });
    try {
      const scores: ImageScore[] = [];
      const passes: Record<string, number> = {};
      for (const f of frames) {
        const before = auto.stats.frames;
        scores.push(scoreImage(f.image, (await auto.detect([f.frame]))[0] ?? []));
        passes[f.image.file.split('/').pop()!] = auto.stats.frames - before;
      }
      // 1 + n² passes with n = floor(1.25 × long side ÷ 512), at most 4: the 640 × 424 walker 1, the 1004 × 958 sign 1 + 4,
      // the 1352 × 900 beach and the 1280 × 720 street 1 + 9.
      expect([passes['person.jpg'], passes['scenetext03.jpg'], passes['kite.jpg'], passes['detect_test2.jpg']]).toEqual([1, 5, 10, 10]);
      const t = totals(scores);
      const person = rates(t.person);
      const vehicle = rates(t.vehicle);
      console.log(`darknet + opencv, tiles auto: person ${t.person.hits}/${person.required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${vehicle.required} found, ${t.vehicle.falseAlarms} false`);
      // measured 2026-12-07 with the first tile merge: people 14/17 (0.82), 3 false; with the merge that leaves an
      // object fitting inside a tile to that tile (designed on these sets' errors): people 16/17, none false; vehicles
      // 11/11, none false. Floors: one object fewer or one more false alarm (15/17, 16/17; 10/11, 11/12).
      expect(person.recall).toBeGreaterThanOrEqual(15 / 17);
      expect(person.precision).toBeGreaterThanOrEqual(16 / 17);
      expect(vehicle.recall).toBeGreaterThanOrEqual(10 / 11);
      expect(vehicle.precision).toBeGreaterThanOrEqual(11 / 12);
    } finally {
      await auto.close();
    }
  });

  it('tiles: 2 finds more of the small people on the 1352 × 900 beach photo without more false alarms', async () => {
    const kite = frames.find((f) => f.image.file === 'kite.jpg');
    expect(kite).toBeDefined();
    const tiled = await ObjectDetector.load({ tiles: 2 });
    try {
      const plain = scoreImage(kite!.image, (await detector.detect([kite!.frame]))[0] ?? []);
      const more = scoreImage(kite!.image, (await tiled.detect([kite!.frame]))[0] ?? []);
      expect(tiled.stats.frames).toBe(5); // the whole frame and its 2 × 2 tiles
      console.log(`kite.jpg people: whole frame ${plain.tally.person.hits}/8 (${plain.tally.person.falseAlarms} false), tiles 2 ${more.tally.person.hits}/8 (${more.tally.person.falseAlarms} false)`);
      // measured: whole frame 4/8 found, 3 false; tiles 2: 5/8, 3 false with the first tile merge, 6/8, none false since
      expect(more.tally.person.hits).toBeGreaterThan(plain.tally.person.hits);
      expect(more.tally.person.falseAlarms).toBeLessThanOrEqual(plain.tally.person.falseAlarms);
    } finally {
      await tiled.close();
    }
  });
});

// The held-out sets annotated on 2026-12-07 before any detector ran on them (fixtures/eval/README.md): 42 pictures,
// 97 required people, 33 required vehicles. Their packages are unpacked by .ci/run under /var/cache/lepton-eval.
const HELD_OUT: EvalSet[] = ['dlib', 'kphotoalbum', 'motion', 'gimp-help', 'colorbox', 'gramps'].map((n) => loadEvalSet(n));
// The second batch (annotated after the first batch's run, before any detector ran on it): 12 frames of two real video
// clips and a 29-person group photo; 52 required people, 12 required bicycles.
const HELD_OUT_2: EvalSet[] = ['mecavideo', 'visp'].map((n) => loadEvalSet(n));
const missingHeldOut = HELD_OUT.flatMap(missingMedia);
const missingHeldOut2 = HELD_OUT_2.flatMap(missingMedia);
for (const [batch, missed] of [['first', missingHeldOut], ['second', missingHeldOut2]] as const) {
  if (missed.length > 0) console.log(`skipping the ${batch} held-out batch's detection-quality tests: ${missed.length} image(s) missing, e.g. ${missed[0]} (.ci/run unpacks their packages)`);
}

describe('held-out sets of 2026-12-07 (dlib, KPhotoAlbum, motion, GIMP manual, Colorbox, Gramps; then pymecavideo clips and ViSP) against the hand annotation', () => {
  let frames: { image: EvalImage; frame: Frame }[];
  let frames2: { image: EvalImage; frame: Frame }[];
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    frames = missingHeldOut.length > 0 ? [] : HELD_OUT.flatMap((set) => set.images.map((image, i) => ({ image, frame: readEvalFrame(set, image, i) })));
    frames2 = missingHeldOut2.length > 0 ? [] : HELD_OUT_2.flatMap((set) => set.images.map((image, i) => ({ image, frame: readEvalFrame(set, image, i) })));
  });

  async function score(options: Parameters<typeof ObjectDetector.load>[0], batch = frames): Promise<ReturnType<typeof totals>> {
    const detector = await ObjectDetector.load(options);
    try {
      const scores: ImageScore[] = [];
      for (const f of batch) scores.push(scoreImage(f.image, (await detector.detect([f.frame]))[0] ?? []));
      return totals(scores);
    } finally {
      await detector.close();
    }
  }

  // Measured once, 2026-12-07 (bench/README.md): the default finds 63 of 97 people and 18 of 33 vehicles, tiles 'auto'
  // 66 and 22, none false in either. Both miss the targets (people ≥ 0.85 / 0.90, vehicles ≥ 0.80 / 0.90).
  // Floors: one object fewer, or one false alarm.
  it.skipIf(missingHeldOut.length > 0)('default CenterNet at 0.4: people 63/97, vehicles 18/33, no false alarm', async () => {
    const t = await score({});
    const person = rates(t.person);
    const vehicle = rates(t.vehicle);
    console.log(`held-out (2026-12-07 sets), default: person ${t.person.hits}/${person.required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${vehicle.required} found, ${t.vehicle.falseAlarms} false`);
    expect([person.required, vehicle.required]).toEqual([97, 33]);
    expect(t.person.hits).toBeGreaterThanOrEqual(62);
    expect(person.precision).toBeGreaterThanOrEqual(63 / 64);
    expect(t.vehicle.hits).toBeGreaterThanOrEqual(17);
    expect(vehicle.precision).toBeGreaterThanOrEqual(18 / 19);
  });

  it.skipIf(missingHeldOut.length > 0)("tiles: 'auto': people 66/97, vehicles 22/33, no false alarm (tiles only the two street scenes over 820 px wide)", async () => {
    const t = await score({ tiles: 'auto' });
    const person = rates(t.person);
    const vehicle = rates(t.vehicle);
    console.log(`held-out (2026-12-07 sets), tiles auto: person ${t.person.hits}/${person.required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${vehicle.required} found, ${t.vehicle.falseAlarms} false`);
    expect(t.person.hits).toBeGreaterThanOrEqual(65);
    expect(person.precision).toBeGreaterThanOrEqual(66 / 67);
    expect(t.vehicle.hits).toBeGreaterThanOrEqual(21);
    expect(vehicle.precision).toBeGreaterThanOrEqual(22 / 23);
  });

  // Second batch, measured once (2026-12-07): the video frames 21 of 24 people and 10 of 12 bicycles, the Solvay photo 6
  // of 28 people (a tight group is the weakness); tiles 'auto' (3 × 3 tiles on the 1280 × 881 photo) 7 of 28, 1 false.
  it.skipIf(missingHeldOut2.length > 0)('second batch, default: people 27/52, bicycles 10/12, no false alarm', async () => {
    const t = await score({}, frames2);
    console.log(`held-out (second batch), default: person ${t.person.hits}/${rates(t.person).required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${rates(t.vehicle).required} found, ${t.vehicle.falseAlarms} false`);
    expect([rates(t.person).required, rates(t.vehicle).required]).toEqual([52, 12]);
    expect(t.person.hits).toBeGreaterThanOrEqual(26);
    expect(rates(t.person).precision).toBeGreaterThanOrEqual(27 / 28);
    expect(t.vehicle.hits).toBeGreaterThanOrEqual(9);
    expect(rates(t.vehicle).precision).toBeGreaterThanOrEqual(10 / 11);
  });

  it.skipIf(missingHeldOut2.length > 0)("second batch, tiles: 'auto': people 28/52 (1 false), bicycles 10/12", async () => {
    const t = await score({ tiles: 'auto' }, frames2);
    console.log(`held-out (second batch), tiles auto: person ${t.person.hits}/${rates(t.person).required} found, ${t.person.falseAlarms} false; vehicle ${t.vehicle.hits}/${rates(t.vehicle).required} found, ${t.vehicle.falseAlarms} false`);
    expect(t.person.hits).toBeGreaterThanOrEqual(27);
    expect(rates(t.person).precision).toBeGreaterThanOrEqual(28 / 30);
    expect(t.vehicle.hits).toBeGreaterThanOrEqual(9);
    expect(rates(t.vehicle).precision).toBeGreaterThanOrEqual(10 / 11);
  });
});
