// The shipped CenterNet at input sizes other than its 512 × 512 (issue 17 §1, "input resolution and letterboxing
// choices"), measured as a candidate. The graph is fully convolutional except for its three upsampling steps, whose
// output sizes are constants (32², 64², 128²: input ÷ 16, ÷ 8, ÷ 4) and whose input placeholder is fixed to
// 512 × 512. A copy with those constants and the placeholder rewritten for W × H (multiples of 32) is written to a
// temporary folder and loaded as a custom model with the built-in CenterNet decoder; at 512 × 512 the copy gives the
// same detections as the shipped model (checked by `tune`, first row against the second).
//
//   node --import tsx bench/surveillance-input-size.ts tune [640x384,640x640,…]
//   node --import tsx bench/surveillance-input-size.ts heldout 640x640
//
// `tune` scores each size on the TUNING part only (vtest's 12 hand-counted frames, 74 people, and the tuning photo
// sets); `heldout` runs one size, chosen there, on every set (the held-out totals are the figure to quote). 'auto'
// (or 'auto1.5') sizes the input per picture: the picture's aspect ratio, 512² (or 1.5 × 512²) pixels, multiples of 32.
// wasm; threshold 0.4 (SURV_THRESHOLD to change).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRuntime } from '@lepton/core';
import { COCO_LABELS, ObjectDetector, shippedModelPath, type Frame } from '@lepton/surveillance';
import { f2, heldOutRun, scoreSet, tuningClip } from './eval-runs.js';
import { countQuality } from './surveillance.js';
import { EVAL_SET_NAMES, loadEvalSet, missingMedia } from '../packages/surveillance/test/eval-support.js';

const UPSAMPLING = ['c5_upsample/up_sampling2d', 'c4_upsample/up_sampling2d_1', 'c3_upsample/up_sampling2d_2'].map((s) => `tower_0/CenternetHead/${s}/mul`);
const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };
const threshold = Number(process.env['SURV_THRESHOLD'] ?? 0.4);
const dir = await mkdtemp(join(tmpdir(), 'centernet-size-'));

interface GraphJson {
  modelTopology: { node: Array<{ op: string; attr?: { shape?: { shape?: { dim?: Array<{ size: string }> } } } }> };
  weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }> }>;
}

/** Writes the shipped CenterNet rewritten for a `w × h` input; returns its model.json path. */
async function centerNetAt(w: number, h: number): Promise<string> {
  if (w % 32 !== 0 || h % 32 !== 0) throw new Error(`${w} × ${h}: both sides must be multiples of 32`);
  const src = shippedModelPath('centernet');
  const json = JSON.parse(await readFile(src, 'utf8')) as GraphJson;
  const bin = Buffer.from(await readFile(src.replace(/\.json$/, '.bin')));
  for (const node of json.modelTopology.node) {
    const dim = node.op === 'Placeholder' ? node.attr?.shape?.shape?.dim : undefined;
    if (dim?.length === 4) [dim[0]!.size, dim[1]!.size, dim[2]!.size] = ['-1', String(h), String(w)];
  }
  let offset = 0;
  let patched = 0;
  for (const group of json.weightsManifest) {
    for (const entry of group.weights) {
      const level = UPSAMPLING.indexOf(entry.name);
      if (level >= 0) {
        const stride = 16 >> level; // 16, 8, 4
        bin.writeInt32LE(h / stride, offset);
        bin.writeInt32LE(w / stride, offset + 4);
        patched++;
      }
      offset += entry.shape.reduce((a, b) => a * b, 1) * BYTES[entry.quantization?.dtype ?? entry.dtype]!;
    }
    group.paths = [`centernet-${w}x${h}.bin`];
  }
  if (patched !== 3 || offset !== bin.length) throw new Error(`unexpected CenterNet graph (${patched} upsampling sizes found, ${offset} of ${bin.length} weight bytes)`);
  await writeFile(join(dir, `centernet-${w}x${h}.bin`), bin);
  const path = join(dir, `centernet-${w}x${h}.json`);
  await writeFile(path, JSON.stringify(json));
  return path;
}

const loaded = new Map<string, Promise<ObjectDetector>>();
function detectorAt(w: number, h: number): Promise<ObjectDetector> {
  const key = `${w}x${h}`;
  let d = loaded.get(key);
  if (d === undefined) {
    d = centerNetAt(w, h).then((modelPath) =>
      ObjectDetector.load({ defaultThreshold: threshold, model: { modelPath, labels: [...COCO_LABELS], decode: 'centernet', outputs: ['tower_0/keypoints', 'tower_0/wh'], inputSize: [w, h] } }),
    );
    loaded.set(key, d);
  }
  return d;
}

/** A detector for one setting: 'shipped', 'W×H' (fixed input), or 'auto' / 'auto1.5' (sized per picture). */
async function setting(name: string): Promise<Pick<ObjectDetector, 'detect'>> {
  if (name === 'shipped') {
    const d = ObjectDetector.load({ defaultThreshold: threshold });
    loaded.set(name, d);
    return d;
  }
  const auto = /^auto([0-9.]*)$/.exec(name);
  if (auto !== null) {
    const area = Number(auto[1] || 1) * 512 * 512;
    const round32 = (x: number): number => Math.max(32, 32 * Math.round(x / 32));
    return {
      detect: (async (frames: Frame[]) => {
        const out = [];
        for (const f of frames) {
          const s = Math.sqrt(area / (f.width * f.height));
          out.push(...(await (await detectorAt(round32(f.width * s), round32(f.height * s))).detect([f])));
        }
        return out;
      }) as ObjectDetector['detect'],
    };
  }
  const m = /^(\d+)x(\d+)$/.exec(name);
  if (m === null) throw new Error(`setting ${name}: expected shipped, auto, auto<area factor> or <width>x<height>`);
  return detectorAt(Number(m[1]), Number(m[2]));
}

await initRuntime({ backend: 'wasm' }, {});
const mode = process.argv[2] ?? 'tune';
try {
  if (mode === 'tune') {
    const names = ['shipped', '512x512', ...(process.argv[3] ?? '640x384,640x640,768x448,768x768,1024x576,1024x1024,auto,auto1.5').split(',')];
    const { bin, hand } = await tuningClip();
    const tuningSets = EVAL_SET_NAMES.filter((n) => loadEvalSet(n).role === 'tuning' && missingMedia(loadEvalSet(n)).length === 0);
    console.log(`threshold ${threshold}; tuning photo sets: ${tuningSets.join(', ')}`);
    console.log('| input | vtest recall | vtest precision | count acc. | photo people found / false | photo vehicles found / false | s / photo (decoding included) |');
    console.log('| --- | ---: | ---: | ---: | --- | --- | ---: |');
    for (const name of names) {
      const det = await setting(name);
      const q = await countQuality(bin, det, hand);
      const sum = { ph: 0, pr: 0, pf: 0, vh: 0, vr: 0, vf: 0 };
      let images = 0;
      const t0 = performance.now();
      for (const s of tuningSets) {
        const r = await scoreSet(s, det);
        images += loadEvalSet(s).images.length;
        Object.assign(sum, { ph: sum.ph + r.person.hits, pr: sum.pr + r.person.required, pf: sum.pf + r.person.falseAlarms, vh: sum.vh + r.vehicle.hits, vr: sum.vr + r.vehicle.required, vf: sum.vf + r.vehicle.falseAlarms });
      }
      const sec = (performance.now() - t0) / 1000 / images;
      console.log(`| ${name} | ${f2(q.recall)} | ${f2(q.precision)} | ${f2(q.countAccuracy)} | ${sum.ph}/${sum.pr} / ${sum.pf} | ${sum.vh}/${sum.vr} / ${sum.vf} | ${sec.toFixed(2)} |`);
    }
  } else if (mode === 'heldout') {
    const name = process.argv[3];
    if (name === undefined) throw new Error('heldout needs the setting chosen by tune, e.g. 640x640');
    const det = await setting(name);
    await heldOutRun(`CenterNet ${threshold}, input ${name}`, () => det);
  } else throw new Error(`unknown mode ${mode}: tune or heldout`);
} finally {
  for (const d of loaded.values()) await (await d).close();
  await rm(dir, { recursive: true, force: true });
}
