import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import { ObjectDetector, type Frame } from '@lepton/surveillance';

// Detection quality on the example footage: the shipped detector's people count per frame against the hand count
// recorded in fixtures/vtest-hand-count.json (12 frames of OpenCV's vtest.avi, 74 people counted by eye).
const hand = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/vtest-hand-count.json'), 'utf8')) as {
  video: string;
  frames: { frame: number; people: number; x: number[] }[];
};
const HAVE_VTEST = existsSync(hand.video);
if (!HAVE_VTEST) console.log(`skipping the detection-quality test: ${hand.video} is missing (apt-get install opencv-doc)`);

/** Frame `n` of the clip at its own size, decoded by ffmpeg. */
function frameAt(n: number): Frame {
  const data = execFileSync('ffmpeg', ['-v', 'error', '-i', hand.video, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 });
  return { camera: 'vtest', index: n, sourceIndex: n, time: n / 10, wallTime: 0, width: 768, height: 576, data: new Uint8Array(data) };
}

describe.skipIf(!HAVE_VTEST)('people counts on vtest.avi against the hand count', () => {
  let detector: ObjectDetector;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    detector = await ObjectDetector.load({ classes: ['person'] });
  });
  afterAll(() => detector?.dispose());

  it('counts people within 15 % over the 12 hand-counted frames, and finds most of the marked people', async () => {
    const frames = hand.frames.map((f) => frameAt(f.frame));
    const results = await detector.detect(frames);
    let absError = 0;
    let total = 0;
    let matched = 0;
    const rows: string[] = [];
    results.forEach((dets, i) => {
      const h = hand.frames[i]!;
      absError += Math.abs(dets.length - h.people);
      total += h.people;
      // a marked person is found when a detection's centre lies within 25 px of the marked x (one detection per mark)
      const free = dets.map((d) => d.box.x + d.box.width / 2);
      for (const x of h.x) {
        const k = free.findIndex((c) => Math.abs(c - x) <= 25);
        if (k >= 0) {
          matched++;
          free.splice(k, 1);
        }
      }
      rows.push(`frame ${h.frame}: hand ${h.people}, detector ${dets.length}`);
    });
    const accuracy = 1 - absError / total;
    console.log(`${rows.join('\n')}\ncount accuracy ${(100 * accuracy).toFixed(1)} %, marked people found ${matched}/${total}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
    expect(matched / total).toBeGreaterThanOrEqual(0.85);
  });
});
