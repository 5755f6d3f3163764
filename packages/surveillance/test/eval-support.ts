// Detection-quality evaluation on hand-annotated real photographs (issue 17 §1), shared by test/eval.test.ts and
// bench/surveillance.ts. The media come from Debian packages (see fixtures/eval/*.json for each set's package, path,
// licence and how it was annotated); only the annotations are committed.
//
// Matching (per image, per class group): detections sorted by score; each takes the unmatched annotated object of its
// group with the highest IoU ≥ 0.5. A match with a required object is a hit, a match with a 'difficult' one is
// neither hit nor false alarm, an unmatched detection whose centre lies in an 'ignore' region is skipped, any other
// unmatched detection is a false alarm; required objects left unmatched are misses. Groups: 'person', and 'vehicle'
// (bicycle, car, motorcycle, bus, truck: a pickup reported as 'car' is a found vehicle — a surveillance rule cares
// that a vehicle is there, and COCO itself labels vans and pickups inconsistently).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection, Frame } from '@lepton/surveillance';

/** One annotated object. */
export interface EvalObject {
  label: string;
  /** [x1, y1, x2, y2], image pixels. */
  box: [number, number, number, number];
  difficult?: boolean;
  note?: string;
}

/** One annotated image. */
export interface EvalImage {
  file: string;
  /** For a video file: which frame (ffmpeg's decoded-frame number, from 0) is annotated; absent for a picture. */
  frame?: number;
  width: number;
  height: number;
  objects: EvalObject[];
  ignore?: [number, number, number, number][];
}

/** One evaluation set (a fixtures/eval/*.json file). */
export interface EvalSet {
  name: string;
  role: 'tuning' | 'held-out';
  /** How the set's role changed, where it did. */
  history?: string;
  package: string;
  packageVersion: string;
  dir: string;
  licence: string;
  images: EvalImage[];
}

export const EVAL_DIR = join(import.meta.dirname, 'fixtures', 'eval');
/**
 * Tuning sets first (scikit-image's photos; darknet's and OpenCV's were held out until 2026-12-07, when the tile merge
 * was designed on their errors), then the held-out sets annotated that day, before any detector ran on them.
 */
export const EVAL_SET_NAMES = ['skimage', 'darknet', 'opencv-photos', 'opencv-docs', 'dlib', 'kphotoalbum', 'motion', 'gimp-help', 'colorbox', 'gramps', 'mecavideo', 'visp'] as const;

/**
 * Where a set's pictures are looked for when its package is not installed: the package's files unpacked (`dpkg -x`)
 * under this root, keeping their paths (`.ci/run` unpacks the packages whose dependencies are too heavy to install).
 */
export const EVAL_MEDIA_ROOT = process.env['LEPTON_EVAL_MEDIA'] ?? '/var/cache/lepton-eval';
export const VEHICLES = new Set(['bicycle', 'car', 'motorcycle', 'bus', 'truck']);
export type Group = 'person' | 'vehicle';

export function groupOf(label: string): Group | undefined {
  if (label === 'person') return 'person';
  return VEHICLES.has(label) ? 'vehicle' : undefined;
}

export function loadEvalSet(name: string): EvalSet {
  return JSON.parse(readFileSync(join(EVAL_DIR, `${name}.json`), 'utf8')) as EvalSet;
}

/** Where an image of the set is on this machine: its package's path, else the same path under {@link EVAL_MEDIA_ROOT}. */
export function mediaPath(set: EvalSet, image: EvalImage): string {
  const installed = join(set.dir, image.file);
  return existsSync(installed) ? installed : join(EVAL_MEDIA_ROOT, set.dir, image.file);
}

/** Paths of the set's images that are missing on this machine (empty when the Debian package is installed or unpacked). */
export function missingMedia(set: EvalSet): string[] {
  return set.images.map((im) => mediaPath(set, im)).filter((p) => !existsSync(p));
}

/** Decodes an image file to a packed RGB frame with ffmpeg (no scaling), checking the annotated size. */
export function readEvalFrame(set: EvalSet, image: EvalImage, index = 0): Frame {
  const path = mediaPath(set, image);
  const select = image.frame === undefined ? [] : ['-vf', `select=eq(n\\,${image.frame})`];
  const data = execFileSync('ffmpeg', ['-v', 'error', '-i', path, ...select, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  if (data.length !== image.width * image.height * 3) throw new Error(`${path}: decoded ${data.length} bytes, expected ${image.width}×${image.height}×3 (annotation size wrong?)`);
  return { camera: `${set.name}/${image.file}`, index, sourceIndex: index, time: 0, wallTime: 0, width: image.width, height: image.height, data: new Uint8Array(data) };
}

function iou(a: [number, number, number, number], b: [number, number, number, number]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Hits, misses and false alarms of one group. */
export interface Tally {
  hits: number;
  misses: number;
  falseAlarms: number;
}

export function emptyTally(): Tally {
  return { hits: 0, misses: 0, falseAlarms: 0 };
}

export function addTally(a: Tally, b: Tally): Tally {
  return { hits: a.hits + b.hits, misses: a.misses + b.misses, falseAlarms: a.falseAlarms + b.falseAlarms };
}

/** Recall (hits ÷ required objects) and precision (hits ÷ counted detections); 1 where nothing was to be found / said. */
export function rates(t: Tally): { recall: number; precision: number; required: number } {
  const required = t.hits + t.misses;
  return { recall: required === 0 ? 1 : t.hits / required, precision: t.hits + t.falseAlarms === 0 ? 1 : t.hits / (t.hits + t.falseAlarms), required };
}

/** What happened to each object and detection of one image (for reports). */
export interface ImageScore {
  file: string;
  tally: Record<Group, Tally>;
  missed: EvalObject[];
  falseAlarms: Detection[];
}

/** Scores one image's detections against its annotation (see the matching rule at the top of this file). */
export function scoreImage(image: EvalImage, detections: readonly Detection[]): ImageScore {
  const tally: Record<Group, Tally> = { person: emptyTally(), vehicle: emptyTally() };
  const used = new Set<number>();
  const falseAlarms: Detection[] = [];
  for (const d of [...detections].sort((a, b) => b.score - a.score)) {
    const g = groupOf(d.label);
    if (g === undefined) continue;
    const box: [number, number, number, number] = [d.box.x, d.box.y, d.box.x + d.box.width, d.box.y + d.box.height];
    let best = -1;
    let bestIou = 0.5;
    image.objects.forEach((o, i) => {
      if (used.has(i) || groupOf(o.label) !== g) return;
      const v = iou(box, o.box);
      if (v >= bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0) {
      used.add(best);
      if (!image.objects[best]!.difficult) tally[g].hits++;
      continue;
    }
    const cx = (box[0] + box[2]) / 2;
    const cy = (box[1] + box[3]) / 2;
    if ((image.ignore ?? []).some((r) => cx >= r[0] && cx <= r[2] && cy >= r[1] && cy <= r[3])) continue;
    tally[g].falseAlarms++;
    falseAlarms.push(d);
  }
  const missed = image.objects.filter((o, i) => !o.difficult && !used.has(i) && groupOf(o.label) !== undefined);
  for (const o of missed) tally[groupOf(o.label)!].misses++;
  return { file: image.file, tally, missed, falseAlarms };
}

/** Totals of several image scores. */
export function totals(scores: readonly ImageScore[]): Record<Group, Tally> {
  return scores.reduce((acc, s) => ({ person: addTally(acc.person, s.tally.person), vehicle: addTally(acc.vehicle, s.tally.vehicle) }), {
    person: emptyTally(),
    vehicle: emptyTally(),
  });
}
