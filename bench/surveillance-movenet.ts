// MoveNet multipose as a second opinion for people (issue 17 §1): CenterNet (the default detector, engine 'onnx')
// plus MoveNet's person boxes, merged by one of two rules. `node --import tsx bench/surveillance-movenet.ts tune`
// scores every setting on the TUNING part only (vtest's 12 hand-counted frames, 74 people; scikit-image's photos);
// `… heldout <size> <minScore> <rule> <iou>` runs one chosen setting on the held-out sets (darknet, opencv-photos,
// opencv-docs). Rules: 'nms' = per-class NMS over the
// union (IoU > iou drops the lower score); 'add' = a MoveNet box is added only where no CenterNet person overlaps
// it with IoU ≥ iou (CenterNet's boxes and scores are kept as they are).
import { initRuntime } from '@lepton/core';
import { boxIou, nonMaxSuppression, ObjectDetector, type Detection, type Frame } from '@lepton/surveillance';
import { f2, heldOutRun, scoreSet, tuningClip } from './eval-runs.js';
import { countQuality } from './surveillance.js';
import { MoveNet } from './surveillance-movenet-model.js';

export type MergeRule = 'nms' | 'add';

export function mergePeople(base: Detection[], extra: Detection[], rule: MergeRule, iou: number): Detection[] {
  if (rule === 'nms') return nonMaxSuppression([...base, ...extra], iou);
  const people = base.filter((d) => d.label === 'person');
  return [...base, ...extra.filter((e) => people.every((p) => boxIou(p.box, e.box) < iou))];
}

await initRuntime({ backend: 'wasm' }, {});
const mode = process.argv[2] ?? 'tune';
const centernet = await ObjectDetector.load({ engine: 'onnx' });
/** MoveNet outputs at a low floor, cached per (size, frame); thresholds are applied afterwards. */
const cache = new Map<string, Detection[]>();
const nets = new Map<number, MoveNet>();
async function movenet(size: number, key: string, frame: Frame): Promise<Detection[]> {
  const k = `${size}/${key}`;
  let d = cache.get(k);
  if (d === undefined) {
    let net = nets.get(size);
    if (net === undefined) nets.set(size, (net = await MoveNet.load(size, 'onnx')));
    d = await net.people(frame, 0.05);
    cache.set(k, d);
  }
  return d;
}
const cnCache = new Map<string, Detection[]>();
async function cn(key: string, frame: Frame): Promise<Detection[]> {
  let d = cnCache.get(key);
  if (d === undefined) cnCache.set(key, (d = (await centernet.detect([frame]))[0] ?? []));
  return d;
}
function combined(size: number, minScore: number, rule: MergeRule, iou: number, prefix: string): Pick<ObjectDetector, 'detect'> {
  return {
    detect: (async (frames: Frame[]) => {
      const out: Detection[][] = [];
      for (const f of frames) {
        const key = `${prefix}/${f.index}`;
        const extra = size === 0 ? [] : (await movenet(size, key, f)).filter((d) => d.score >= minScore);
        out.push(mergePeople(await cn(key, f), extra, rule, iou));
      }
      return out;
    }) as ObjectDetector['detect'],
  };
}

if (mode === 'tune') {
  const { bin, hand } = await tuningClip();
  console.log('| size | min score | rule | IoU | vtest recall | vtest precision | count acc. | skimage people found / false | skimage vehicles found / false |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |');
  const grid: Array<[number, number, MergeRule, number]> = [[0, 1, 'add', 0.5]];
  for (const size of (process.env['MV_SIZES'] ?? '256,384,512,640').split(',').map(Number)) {
    for (const s of [0.1, 0.15, 0.2, 0.25, 0.3, 0.4]) for (const [rule, iou] of [['add', 0.3], ['add', 0.5], ['nms', 0.5]] as const) grid.push([size, s, rule, iou]);
  }
  for (const [size, s, rule, iou] of grid) {
    const det = combined(size, s, rule, iou, 'vtest');
    const q = await countQuality(bin, det, hand);
    const sk = await scoreSet('skimage', combined(size, s, rule, iou, 'skimage'));
    console.log(`| ${size === 0 ? 'CenterNet alone' : size} | ${size === 0 ? '–' : s} | ${size === 0 ? '–' : rule} | ${size === 0 ? '–' : iou} | ${f2(q.recall)} | ${f2(q.precision)} | ${f2(q.countAccuracy)} | ${sk.person.hits}/${sk.person.required} / ${sk.person.falseAlarms} | ${sk.vehicle.hits}/${sk.vehicle.required} / ${sk.vehicle.falseAlarms} |`);
  }
} else if (mode === 'heldout') {
  const [size, s, rule, iou] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5] as MergeRule, Number(process.argv[6])];
  await heldOutRun(`CenterNet 0.4 + MoveNet ${size} px ≥ ${s}, ${rule} ${iou}`, (name) => combined(size, s, rule, iou, name));
}
for (const n of nets.values()) await n.close();
await centernet.close();
