// Surveillance benchmark (issue 5): `pnpm bench` runs it with the other suites (BENCH_SUITES=surveillance alone);
// directly: `node --import tsx bench/surveillance.ts`.
//
// Footage: OpenCV's sample clip vtest.avi (Debian opencv-doc; 768×576, 10 fps, 795 frames of pedestrians; VTEST
// overrides the path). Everything is measured at 640×360: the 4:3 picture is scaled to 480×360 and pillarboxed (black
// bars of 80 px left and right, `scale=480:360,pad=640:360:80:0`), so the aspect and every hand-counted person are
// kept. Only the ffmpeg ceiling and the VideoSource decode row read vtest.avi itself with a plain `scale=640:360`
// (the command, and what VideoSource does with any input).
//
// Rows:
// - decode: ffmpeg decode-only rate (`ffmpeg -i vtest.avi -vf scale=640:360 -f null -`, the ceiling; also with the
//   RGB conversion) and VideoSource delivering packed RGB frames of the same clip, in the same run;
// - stages on frames held in memory: MotionDetector.update (the pipeline's settings), ObjectDetector.detect at batch 1
//   and 8 (CenterNet, 512×512), SortTracker.update and RuleEngine.process replayed on the detector's outputs of 100
//   consecutive frames, annotateFrame (as the pipeline draws: tracks, line, banner, on a copy), JPEG snapshots;
// - end to end: SurveillancePipeline (motion gating on; one camera; frames decoded by its own VideoSource with a
//   blocking queue, so nothing is dropped) on a "typical scene" and on the busy clip. The typical scene is built here:
//   the people-free background plate (per-pixel median of 50 vtest frames, every 16th) held for 40 s with seeded
//   temporal sensor noise (ffmpeg `noise=alls=6:allf=t`, seeds 101 and 202), then 10 s of real footage (vtest frames
//   300–399), then the plate again for 40 s, encoded with x264 (crf 23, so compression noise exists too): 900
//   frames, 100 of them (11.1 %) with people. The busy clip (every frame has people) is the worst case; it is
//   time-boxed to its first SURV_BUSY_FRAMES frames (default 100; 0 = all 795, which also reports the line count
//   against the hand count of 27 crossings).
// - detection quality: person counts on the 12 hand-counted frames of
//   packages/surveillance/test/fixtures/vtest-hand-count.json (frame numbers are ffmpeg's, from 0);
// - detection accuracy on hand-annotated real photos the settings were not tuned on (issue 17 §1): per set, per class
//   group (person; vehicle = bicycle, car, motorcycle, bus, truck), recall and precision at IoU ≥ 0.5 for each detector
//   and setting in ACCURACY_VARIANTS (packages/surveillance/test/fixtures/eval/*.json; media from Debian darknet,
//   opencv-doc, python3-skimage, and the held-out sets' packages unpacked by .ci/run; a set whose pictures are missing is
//   reported as absent). Alone:
//   `node --import tsx bench/surveillance.ts accuracy` (about 10 minutes on the 2-core machine; SURV_EVAL_SETS=a,b
//   runs only those sets; SURV_ENGINE=onnx runs the detector on ONNX Runtime).
// Takes about 2–3 minutes on the 2-core machine.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRuntime } from '@lepton/core';
import { EVAL_SET_NAMES, loadEvalSet, missingMedia, rates, readEvalFrame, scoreImage, totals, type ImageScore } from '../packages/surveillance/test/eval-support.js';
import {
  annotateFrame,
  linearSumAssignment,
  MotionDetector,
  ObjectDetector,
  parseConfig,
  resolveFfmpeg,
  RuleEngine,
  snapshot,
  SortTracker,
  SurveillancePipeline,
  usesLegacyVsync,
  VideoSource,
  type CameraReport,
  type Detection,
  type FfmpegBinary,
  type Frame,
  type FrameInfo,
  type ObjectDetectorOptions,
  type Track,
} from '@lepton/surveillance';

/** OpenCV's sample clip. */
export const VTEST = process.env['VTEST'] ?? '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
/** Benchmark frame size. */
export const WIDTH = 640;
export const HEIGHT = 360;
/** vtest (768×576, 4:3) into 640×360 keeping its aspect: 480×360 with 80-px bars left and right. */
export const PILLARBOX = 'scale=480:360,pad=640:360:80:0,setsar=1';
export const FPS = 10;
const TARGET_FPS = 15;
/** End-to-end target on the busy clip (people in every frame: the detector runs on each), issue 13. */
const BUSY_TARGET_FPS = 8;
/** The hand count's tripwire (x = 300, y 180–370 in vtest pixels) in pillarboxed 640×360 pixels. */
const LINE = { name: 'path', from: [80 + 300 * 0.625, 180 * 0.625] as [number, number], to: [80 + 300 * 0.625, 370 * 0.625] as [number, number] };

/** One stage's throughput. */
export interface StageRow {
  stage: string;
  /** What was timed. */
  what: string;
  frames: number;
  seconds: number;
  framesPerSecond: number;
}

/** One end-to-end pipeline run. */
export interface EndToEndRow {
  clip: 'typical' | 'busy';
  /** Detector worker threads (1: in the pipeline's thread). */
  workers: number;
  /** 'off': no snapshots, clips or annotated video; 'on': all three. */
  outputs: 'off' | 'on';
  /** Detector classes ('default' = person, bicycle, car, motorcycle, bus, truck). */
  classes: string;
  frames: number;
  /** Frames with people in the footage. */
  activeFrames: number;
  /** Frames the detector ran on (motion or live tracks). */
  detectedFrames: number;
  skippedByMotion: number;
  dropped: number;
  events: number;
  seconds: number;
  framesPerSecond: number;
  /**
   * Typical clip: people-free frames at least 3 s from the start and from the last person (frames 30–399 and
   * 530–899), and how many of them the detector still ran on.
   */
  idle?: { frames: number; detected: number };
  /** Line crossings counted (left → right, right → left), when the whole busy clip ran. */
  lineCount?: { leftToRight: number; rightToLeft: number };
}

/** Person-count accuracy on the hand-counted frames. */
export interface CountQuality {
  frames: Array<{ frame: number; hand: number; detected: number; matched: number }>;
  /** 1 − Σ|detected − hand| ÷ Σ hand. */
  countAccuracy: number;
  /** Frames whose count is exactly right. */
  exactFrames: number;
  /** Hand-counted people matched by a detection (|Δx| ≤ 25 px in vtest pixels) ÷ hand-counted people. */
  recall: number;
  /** Matched detections ÷ detections (detections at the far-away "tiny" people are left out of both). */
  precision: number;
}

/** Recall and precision of one detector setting on one evaluation set (IoU ≥ 0.5; see test/eval-support.ts). */
export interface AccuracyRow {
  setting: string;
  set: string;
  role: 'tuning' | 'held-out';
  images: number;
  person: { found: number; required: number; falseAlarms: number; recall: number; precision: number };
  vehicle: { found: number; required: number; falseAlarms: number; recall: number; precision: number };
  /** Forward-pass time per image, wasm, this machine. */
  secondsPerImage: number;
}

/** Detector settings compared on the evaluation sets. */
export const ACCURACY_VARIANTS: Array<[string, ObjectDetectorOptions]> = [
  ['CenterNet 0.4 (default)', {}],
  ['CenterNet 0.3', { defaultThreshold: 0.3 }],
  ['CenterNet 0.4, tiles 2', { tiles: 2 }],
  ['NanoDet 0.4', { model: 'nanodet' }],
  ['NanoDet 0.4, tiles 2', { model: 'nanodet', tiles: 2 }],
  ['CenterNet 0.4, flip', { flip: true }],
  ['CenterNet 0.4, flip + tiles 2', { flip: true, tiles: 2 }],
  ['CenterNet 0.4, tiles auto', { tiles: 'auto' }],
];

/**
 * Runs every setting of {@link ACCURACY_VARIANTS} on every evaluation set whose media are installed and prints one
 * table (per set) plus the held-out totals.
 */
export async function runDetectionAccuracy(log: (s: string) => void = console.log): Promise<{ rows: AccuracyRow[]; absent: string[] }> {
  // SURV_EVAL_SETS=a,b limits the run to those sets (e.g. a set added later, run once for every setting).
  const only = process.env['SURV_EVAL_SETS']?.split(',').filter((n) => n !== '');
  const sets = EVAL_SET_NAMES.filter((n) => only === undefined || only.includes(n)).map((n) => loadEvalSet(n));
  const absent = sets.filter((s) => missingMedia(s).length > 0).map((s) => `${s.name} (apt-get install ${s.package})`);
  const present = sets.filter((s) => missingMedia(s).length === 0);
  const frames = present.map((s) => s.images.map((im, i) => readEvalFrame(s, im, i)));
  const rows: AccuracyRow[] = [];
  // SURV_EVAL_DETAIL=file.json also writes each picture's misses and false alarms per setting (for reading the errors).
  const detail: Array<{ setting: string; set: string; file: string; missed: unknown[]; falseAlarms: unknown[] }> = [];
  const pct = (x: number): string => x.toFixed(2);
  for (const [setting, options] of ACCURACY_VARIANTS) {
    // SURV_ENGINE=onnx runs every setting on ONNX Runtime (the detector's engine option).
    const engine = process.env['SURV_ENGINE'] as ObjectDetectorOptions['engine'] | undefined;
    const detector = await ObjectDetector.load({ ...options, ...(engine === undefined ? {} : { engine }) });
    try {
      for (const [si, set] of present.entries()) {
        const scores: ImageScore[] = [];
        const t0 = performance.now();
        for (const [ii, image] of set.images.entries()) scores.push(scoreImage(image, (await detector.detect([frames[si]![ii]!]))[0] ?? []));
        const seconds = (performance.now() - t0) / 1000;
        for (const sc of scores) if (sc.missed.length + sc.falseAlarms.length > 0) detail.push({ setting, set: set.name, file: sc.file, missed: sc.missed, falseAlarms: sc.falseAlarms });
        const t = totals(scores);
        const p = rates(t.person);
        const v = rates(t.vehicle);
        rows.push({
          setting,
          set: set.name,
          role: set.role,
          images: set.images.length,
          person: { found: t.person.hits, required: p.required, falseAlarms: t.person.falseAlarms, recall: p.recall, precision: p.precision },
          vehicle: { found: t.vehicle.hits, required: v.required, falseAlarms: t.vehicle.falseAlarms, recall: v.recall, precision: v.precision },
          secondsPerImage: seconds / set.images.length,
        });
      }
    } finally {
      await detector.close();
    }
  }
  log('\ndetection accuracy on hand-annotated real photos (IoU ≥ 0.5; person / vehicle: found of required, false alarms, recall, precision):');
  log('| setting | set | role | people found | false | recall | precision | vehicles found | false | recall | precision | s / image |');
  log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    log(`| ${r.setting} | ${r.set} | ${r.role} | ${r.person.found}/${r.person.required} | ${r.person.falseAlarms} | ${pct(r.person.recall)} | ${pct(r.person.precision)} | ${r.vehicle.found}/${r.vehicle.required} | ${r.vehicle.falseAlarms} | ${pct(r.vehicle.recall)} | ${pct(r.vehicle.precision)} | ${r.secondsPerImage.toFixed(2)} |`);
  }
  log('held-out totals:');
  for (const [setting] of ACCURACY_VARIANTS) {
    const h = rows.filter((r) => r.setting === setting && r.role === 'held-out');
    // No held-out set ran (packages missing, or SURV_EVAL_SETS left them out): empty tallies would read as 'met'.
    if (h.length === 0) {
      log(`| ${setting} | no held-out set ran |`);
      continue;
    }
    const sum = (g: 'person' | 'vehicle'): { hits: number; misses: number; falseAlarms: number } =>
      h.reduce((a, r) => ({ hits: a.hits + r[g].found, misses: a.misses + r[g].required - r[g].found, falseAlarms: a.falseAlarms + r[g].falseAlarms }), { hits: 0, misses: 0, falseAlarms: 0 });
    const p = rates(sum('person'));
    const v = rates(sum('vehicle'));
    log(`| ${setting} | people recall ${pct(p.recall)} precision ${pct(p.precision)} (target ≥ 0.85 / ≥ 0.90: ${p.recall >= 0.85 && p.precision >= 0.9 ? 'met' : 'missed'}) | vehicles recall ${pct(v.recall)} precision ${pct(v.precision)} (target ≥ 0.80 / ≥ 0.90: ${v.recall >= 0.8 && v.precision >= 0.9 ? 'met' : 'missed'}) |`);
  }
  for (const a of absent) log(`absent: ${a}`);
  const detailFile = process.env['SURV_EVAL_DETAIL'];
  if (detailFile !== undefined && detailFile !== '') await writeFile(detailFile, JSON.stringify(detail, null, 1));
  return { rows, absent };
}

/** The suite's result (written into bench/results/core.json by run.ts). */
export interface SurveillanceBench {
  skipped?: string;
  backend?: string;
  ffmpeg?: string;
  stages?: StageRow[];
  endToEnd?: EndToEndRow[];
  quality?: CountQuality;
  typicalScene?: { frames: number; activeFrames: number; activeFraction: number; noiseSigma: string; build: string };
  target?: { framesPerSecond: number; typicalOutputsOff: number; met: boolean };
  /** Detector frames/s with 2 worker threads ÷ in-process (one engine), batch 1 and batch 8; target ≥ 1.6×. */
  workerScaling?: { batch1: number; batch8: number; target: number };
  /** Detection accuracy on the hand-annotated photo sets (issue 17 §1). */
  accuracy?: { rows: AccuracyRow[]; absent: string[] };
}

/** vtest's hand count (packages/surveillance/test/fixtures/vtest-hand-count.json). */
export interface HandCount {
  frames: Array<{ frame: number; people: number; x: number[]; tiny?: Array<[number, number]> }>;
  line: { leftToRight: number; rightToLeft: number };
}

/** Runs ffmpeg; resolves with stdout (when kept) and the wall time. */
function ffmpeg(bin: FfmpegBinary, args: string[], keepStdout = false): Promise<{ ms: number; stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(bin.path, ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', ...args], { stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout?.on('data', (b: Buffer) => out.push(b));
    p.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve({ ms: performance.now() - t0, stdout: Buffer.concat(out) });
      else reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

const vfr = (bin: FfmpegBinary): string[] => (usesLegacyVsync(bin) ? ['-vsync', 'vfr'] : ['-fps_mode', 'vfr']);

/** Raw 640×360 RGB frames out of ffmpeg. */
async function rawFrames(bin: FfmpegBinary, input: string, filter: string): Promise<Uint8Array[]> {
  const { stdout } = await ffmpeg(bin, ['-i', input, '-map', '0:v:0', '-vf', filter, ...vfr(bin), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], true);
  const size = WIDTH * HEIGHT * 3;
  return Array.from({ length: Math.floor(stdout.length / size) }, (_, i) => new Uint8Array(stdout.subarray(i * size, (i + 1) * size)));
}

const toFrame = (data: Uint8Array, index: number, camera = 'bench'): Frame => ({ camera, index, sourceIndex: index, time: index / FPS, wallTime: 0, width: WIDTH, height: HEIGHT, data });

/** Per-byte median of frames (the background plate). */
function medianPlate(frames: Uint8Array[]): Uint8Array {
  const n = frames.length;
  const out = new Uint8Array(WIDTH * HEIGHT * 3);
  const v = new Uint8Array(n);
  for (let p = 0; p < out.length; p++) {
    for (let k = 0; k < n; k++) v[k] = frames[k]![p]!;
    v.sort();
    out[p] = v[n >> 1]!;
  }
  return out;
}

/** Builds the typical-scene clip (see the header) and the pillarboxed busy clip in `dir`. */
export async function buildClips(bin: FfmpegBinary, dir: string): Promise<{ typical: string; busy: string; plateSeconds: number; activeFrames: number; buildSeconds: number }> {
  const t0 = performance.now();
  const plate = medianPlate(await rawFrames(bin, VTEST, `select='not(mod(n\\,16))',${PILLARBOX}`));
  const platePath = join(dir, 'plate.rgb');
  await writeFile(platePath, plate);
  const plateFrames = 400;
  const activeFrames = 100;
  const typical = join(dir, 'typical.mp4');
  const graph = [
    `[0:v]loop=loop=${plateFrames - 1}:size=1:start=0,setpts=N/${FPS}/TB,format=yuv420p,split=2[p1][p2]`,
    `[p1]noise=alls=6:allf=t:all_seed=101,setsar=1[a]`,
    `[p2]noise=alls=6:allf=t:all_seed=202,setsar=1[c]`,
    `[1:v]trim=start_frame=300:end_frame=${300 + activeFrames},setpts=PTS-STARTPTS,${PILLARBOX},format=yuv420p[b]`,
    `[a][b][c]concat=n=3:v=1:a=0[out]`,
  ].join(';');
  const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-g', '20', '-pix_fmt', 'yuv420p'];
  const busy = join(dir, 'busy.mp4');
  await Promise.all([
    ffmpeg(bin, ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-framerate', String(FPS), '-i', platePath, '-i', VTEST, '-filter_complex', graph, '-map', '[out]', ...x264, '-y', typical]),
    ffmpeg(bin, ['-i', VTEST, '-map', '0:v:0', '-vf', PILLARBOX, ...x264.slice(0, 4), '-crf', '20', '-g', '20', '-pix_fmt', 'yuv420p', '-y', busy]),
  ]);
  return { typical, busy, plateSeconds: plateFrames / FPS, activeFrames, buildSeconds: (performance.now() - t0) / 1000 };
}

/** Decodes a whole file through VideoSource (blocking queue: every frame delivered); keeps the first `keep` frames. */
export async function throughSource(bin: FfmpegBinary, input: string, keep = 0, from = 0): Promise<{ frames: number; seconds: number; dropped: number; kept: Frame[] }> {
  const source = new VideoSource({ camera: 'bench', input, fps: FPS, width: WIDTH, height: HEIGHT, queue: { maxFrames: 8, policy: 'block' }, ffmpeg: bin });
  const kept: Frame[] = [];
  const t0 = performance.now();
  let n = 0;
  for await (const f of source) {
    if (n >= from && kept.length < keep) kept.push(f);
    n++;
  }
  return { frames: n, seconds: (performance.now() - t0) / 1000, dropped: source.stats.dropped, kept };
}

/** Repeats `step` (which processes some frames and returns how many) for at least `seconds` and `minFrames`. */
export async function timeFrames(seconds: number, minFrames: number, step: (i: number) => number | Promise<number>): Promise<{ frames: number; seconds: number }> {
  let frames = 0;
  const t0 = performance.now();
  for (let i = 0; frames < minFrames || performance.now() - t0 < seconds * 1000; i++) frames += await step(i);
  return { frames, seconds: (performance.now() - t0) / 1000 };
}

const stageRow = (stage: string, what: string, t: { frames: number; seconds: number }): StageRow => ({ stage, what, frames: t.frames, seconds: t.seconds, framesPerSecond: t.frames / t.seconds });

/** Person-count accuracy of the detector on the hand-counted vtest frames. */
export async function countQuality(bin: FfmpegBinary, detector: Pick<ObjectDetector, 'detect'>, hand: HandCount): Promise<CountQuality> {
  const select = hand.frames.map((f) => `eq(n\\,${f.frame})`).join('+');
  const data = await rawFrames(bin, VTEST, `select='${select}',${PILLARBOX}`);
  if (data.length !== hand.frames.length) throw new Error(`expected ${hand.frames.length} hand-counted frames, ffmpeg gave ${data.length}`);
  const dets = await detector.detect(data.map((d, i) => toFrame(d, hand.frames[i]!.frame)));
  // Back to vtest pixels: x = (x' − 80) × 1.6, y = y' × 1.6.
  const rows = hand.frames.map((h, i) => {
    const people = (dets[i] ?? [])
      .filter((d) => d.label === 'person')
      .map((d) => ({ x: (d.box.x + d.box.width / 2 - 80) * 1.6, y: (d.box.y + d.box.height / 2) * 1.6 }))
      .filter((p) => !(h.tiny ?? []).some(([tx, ty]) => Math.abs(p.x - tx) <= 30 && Math.abs(p.y - ty) <= 30));
    const cost = h.x.map((hx) => people.map((p) => Math.abs(p.x - hx)));
    const matched = people.length && h.x.length ? linearSumAssignment(cost, { maxCost: 25 }).rows.length : 0;
    return { frame: h.frame, hand: h.people, detected: people.length, matched };
  });
  const sum = (f: (r: (typeof rows)[number]) => number): number => rows.reduce((a, r) => a + f(r), 0);
  return {
    frames: rows,
    countAccuracy: 1 - sum((r) => Math.abs(r.detected - r.hand)) / sum((r) => r.hand),
    exactFrames: rows.filter((r) => r.detected === r.hand).length,
    recall: sum((r) => r.matched) / sum((r) => r.hand),
    precision: sum((r) => r.matched) / Math.max(1, sum((r) => r.detected)),
  };
}

interface EndToEndSpec {
  clip: 'typical' | 'busy';
  input: string;
  outputs: 'off' | 'on';
  classes?: string[];
  activeFrames: (frames: number) => number;
  maxFrames?: number;
  outDir: string;
  /** Whether a frame index counts as idle (typical clip). */
  isIdle?: (index: number) => boolean;
  /** Receives every frame's detections (for the tracking replay). */
  onDetections?: (d: Detection[], frame: Frame) => void;
}

export async function endToEnd(bin: FfmpegBinary, detector: ObjectDetector, spec: EndToEndSpec): Promise<EndToEndRow> {
  const idle = { frames: 0, detected: 0 };
  const on = spec.outputs === 'on';
  const config = parseConfig({
    detector: spec.classes ? { classes: spec.classes } : {},
    output: { dir: spec.outDir, snapshots: on, clips: on ? { before: 2, after: 2 } : null, annotatedVideo: on },
    cameras: [{ name: 'cam', input: spec.input, fps: FPS, width: WIDTH, height: HEIGHT, lines: [LINE] }],
  });
  const pipeline = await SurveillancePipeline.create(config, {
    detector,
    sources: { cam: { queue: { maxFrames: 8, policy: 'block' }, ffmpeg: bin } },
    ...(spec.maxFrames ? { maxFrames: spec.maxFrames } : {}),
    onFrame: (info: FrameInfo) => {
      spec.onDetections?.(info.detections, info.frame);
      if (spec.isIdle?.(info.frame.index)) {
        idle.frames++;
        if (info.detected) idle.detected++;
      }
    },
  });
  const drain = (async () => {
    for await (const _ of pipeline.events()) void _;
  })();
  const report = await pipeline.run();
  await drain;
  const cam = report.cameras[0] as CameraReport;
  if (cam.error) throw new Error(`pipeline camera failed: ${cam.error.code} ${cam.error.message}`);
  const line = cam.counts.lines[LINE.name]?.['person'];
  return {
    clip: spec.clip,
    workers: detector.workers,
    outputs: spec.outputs,
    classes: spec.classes ? spec.classes.join(',') : 'default',
    frames: cam.frames,
    activeFrames: spec.activeFrames(cam.frames),
    detectedFrames: cam.detectedFrames,
    skippedByMotion: cam.skippedByMotion,
    dropped: cam.source.dropped,
    events: report.events,
    seconds: report.seconds,
    framesPerSecond: cam.frames / report.seconds,
    ...(spec.isIdle ? { idle } : {}),
    ...(spec.clip === 'busy' && !spec.maxFrames && line ? { lineCount: { leftToRight: line.aToB, rightToLeft: line.bToA } } : {}),
  };
}

const f1 = (x: number): string => x.toFixed(1);

/** Runs the surveillance benchmark and prints its tables. */
export async function runSurveillanceBench(log: (s: string) => void = console.log): Promise<SurveillanceBench> {
  log('\nsurveillance (issue 5): 640×360, OpenCV vtest.avi');
  if (!existsSync(VTEST)) {
    log(`surveillance suite skipped: ${VTEST} not found (Debian package opencv-doc; or set VTEST)`);
    return { skipped: `${VTEST} not found` };
  }
  let bin: FfmpegBinary;
  try {
    bin = await resolveFfmpeg();
  } catch (err) {
    log(`surveillance suite skipped: ${(err as Error).message}`);
    return { skipped: (err as Error).message };
  }
  const runtime = await initRuntime();
  const hand = JSON.parse(await readFile(new URL('../packages/surveillance/test/fixtures/vtest-hand-count.json', import.meta.url), 'utf8')) as HandCount;
  const busyFrames = Number(process.env['SURV_BUSY_FRAMES'] ?? 100);
  const dir = await mkdtemp(join(tmpdir(), 'lepton-surv-bench-'));
  const stages: StageRow[] = [];
  const endToEndRows: EndToEndRow[] = [];
  try {
    const clips = await buildClips(bin, dir);
    log(`clips built in ${f1(clips.buildSeconds)} s (typical scene: ${clips.plateSeconds} s plate + ${clips.activeFrames / FPS} s of vtest + ${clips.plateSeconds} s plate)`);

    // Decode: the ffmpeg ceiling and VideoSource on the same file, three alternating rounds (median).
    const rounds = { ceiling: [] as number[], rgb: [] as number[], source: [] as number[] };
    let vtestFrames = 0;
    for (let r = 0; r < 3; r++) {
      rounds.ceiling.push((await ffmpeg(bin, ['-i', VTEST, '-vf', `scale=${WIDTH}:${HEIGHT}`, '-f', 'null', '-'])).ms / 1000);
      rounds.rgb.push((await ffmpeg(bin, ['-i', VTEST, '-vf', `scale=${WIDTH}:${HEIGHT},format=rgb24`, '-f', 'null', '-'])).ms / 1000);
      const s = await throughSource(bin, VTEST);
      vtestFrames = s.frames;
      rounds.source.push(s.seconds);
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    stages.push(stageRow('decode', 'ffmpeg -i vtest.avi -vf scale=640:360 -f null - (ceiling)', { frames: vtestFrames, seconds: med(rounds.ceiling) }));
    stages.push(stageRow('decode', 'ffmpeg, same + RGB conversion (format=rgb24)', { frames: vtestFrames, seconds: med(rounds.rgb) }));
    stages.push(stageRow('decode', 'VideoSource: vtest.avi → 640×360 RGB frames', { frames: vtestFrames, seconds: med(rounds.source) }));
    const typicalDecode = await throughSource(bin, clips.typical, 100, 0);
    stages.push(stageRow('decode', 'VideoSource: typical-scene clip (x264) → RGB frames', typicalDecode));
    const busyDecode = await throughSource(bin, clips.busy, 100, 0);
    stages.push(stageRow('decode', 'VideoSource: pillarboxed busy clip (x264) → RGB frames', busyDecode));
    log(`  decode measured (${f1(stages[2]!.framesPerSecond)} frames/s through VideoSource)`);
    const busy = busyDecode.kept;
    const plate = typicalDecode.kept;

    // Motion, as the pipeline sets it up (analysed at 160 px wide).
    for (const [name, frames] of [['empty plate + noise', plate], ['busy vtest', busy]] as const) {
      const md = new MotionDetector({ targetWidth: 160 });
      stages.push(stageRow('motion', `MotionDetector.update, ${name}`, await timeFrames(1.5, frames.length, (i) => (md.update(frames[i % frames.length]!), 1))));
    }

    // Detection: CenterNet on wasm/auto, batch 1 and batch 8, busy frames.
    const detector = await ObjectDetector.load({ batchSize: 8 });
    // A people-counting camera's detector (the pipeline is handed a loaded detector, so its classes rule).
    const personDetector = await ObjectDetector.load({ batchSize: 8, classes: ['person'] });
    stages.push(stageRow('detection', 'ObjectDetector.detect, batch 1', await timeFrames(2, 6, async (i) => (await detector.detect([busy[i % busy.length]!]), 1))));
    stages.push(stageRow('detection', 'ObjectDetector.detect, batch 8', await timeFrames(2, 16, async (i) => (await detector.detect(busy.slice((i * 8) % 96, (i * 8) % 96 + 8)), 8))));
    // The same detector on 2 worker threads (one TF.js engine each): two single frames at once, and two batches of 8.
    const pooled = await ObjectDetector.load({ batchSize: 8, workers: 2 });
    const pooledPerson = await ObjectDetector.load({ batchSize: 8, classes: ['person'], workers: 2 });
    const pair = (i: number): Frame[] => [busy[(2 * i) % busy.length]!, busy[(2 * i + 1) % busy.length]!];
    stages.push(stageRow('detection', 'ObjectDetector.detect, 2 workers, 2 calls of 1 frame at once', await timeFrames(2, 6, async (i) => (await Promise.all(pair(i).map((f) => pooled.detect([f]))), 2))));
    stages.push(stageRow('detection', 'ObjectDetector.detect, 2 workers, 16 frames (2 batches of 8 at once)', await timeFrames(2, 32, async (i) => (await pooled.detect(busy.slice((i * 16) % 80, (i * 16) % 80 + 16)), 16))));
    const rate = (what: string): number => stages.find((r) => r.what === what)!.framesPerSecond;
    const workerScaling = {
      batch1: rate('ObjectDetector.detect, 2 workers, 2 calls of 1 frame at once') / rate('ObjectDetector.detect, batch 1'),
      batch8: rate('ObjectDetector.detect, 2 workers, 16 frames (2 batches of 8 at once)') / rate('ObjectDetector.detect, batch 8'),
      target: 1.6,
    };
    const quality = await countQuality(bin, personDetector, hand);
    log(`  detection measured (batch 1: ${f1(stages.at(-2)!.framesPerSecond)} frames/s); end to end next`);

    // End to end (the busy run also records detections for the tracking replay).
    const replay: Array<{ dets: Detection[]; frame: Frame }> = [];
    const typicalActive = (n: number): number => Math.max(0, Math.min(n, clips.plateSeconds * FPS + clips.activeFrames) - clips.plateSeconds * FPS);
    const peopleFrom = clips.plateSeconds * FPS;
    const isIdle = (i: number): boolean => (i >= 3 * FPS && i < peopleFrom) || i >= peopleFrom + clips.activeFrames + 3 * FPS;
    const e2e = (s: Omit<EndToEndSpec, 'input' | 'outDir' | 'activeFrames'>, outDir: string, workers = 1): Promise<EndToEndRow> =>
      endToEnd(bin, workers > 1 ? (s.classes ? pooledPerson : pooled) : s.classes ? personDetector : detector, {
        ...s,
        input: s.clip === 'typical' ? clips.typical : clips.busy,
        outDir: join(dir, outDir),
        activeFrames: s.clip === 'typical' ? typicalActive : (n) => n,
        ...(s.clip === 'typical' ? { isIdle } : {}),
      });
    endToEndRows.push(await e2e({ clip: 'typical', outputs: 'off', classes: ['person'] }, 'e2e-1'));
    endToEndRows.push(await e2e({ clip: 'typical', outputs: 'on', classes: ['person'] }, 'e2e-2'));
    // Default classes: the parked van and car in the plate are detected on the warm-up frames and become tracks that
    // never end, so the detector runs on every frame; time-boxed to the first 10 s (no people in them).
    endToEndRows.push(await e2e({ clip: 'typical', outputs: 'off', maxFrames: 10 * FPS }, 'e2e-3'));
    endToEndRows.push(
      await e2e(
        {
          clip: 'busy',
          outputs: 'off',
          classes: ['person'],
          ...(busyFrames > 0 ? { maxFrames: busyFrames } : {}),
          onDetections: (dets, frame) => replay.length < 100 && replay.push({ dets, frame }),
        },
        'e2e-4',
      ),
    );

    // With the detector on 2 worker threads (the pipeline then keeps 2 frames of the camera in detection at once).
    endToEndRows.push(await e2e({ clip: 'typical', outputs: 'off', classes: ['person'] }, 'e2e-5', 2));
    endToEndRows.push(await e2e({ clip: 'busy', outputs: 'off', classes: ['person'], ...(busyFrames > 0 ? { maxFrames: busyFrames } : {}) }, 'e2e-6', 2));
    await Promise.all([pooled.close(), pooledPerson.close()]);

    log(`  end to end measured (${endToEndRows.map((e) => f1(e.framesPerSecond)).join(', ')} frames/s)`);

    // Tracking and rules replayed on the recorded detections; annotation and snapshots on the same frames.
    const tracksPerFrame: Track[][] = [];
    const tracker = new SortTracker();
    stages.push(
      stageRow('tracking', `SortTracker.update, ${replay.length} recorded frames replayed`, await timeFrames(1, replay.length, (i) => {
        const k = i % replay.length;
        if (k === 0) tracker.reset();
        const t = tracker.update(replay[k]!.dets);
        if (tracksPerFrame.length < replay.length) tracksPerFrame.push(t.filter((x) => x.confirmed));
        return 1;
      })),
    );
    const config = parseConfig({ cameras: [{ name: 'cam', input: 'x', lines: [LINE] }] });
    let rules = new RuleEngine(config.cameras.map((c) => ({ name: c.name, zones: c.zones, lines: c.lines })));
    stages.push(
      stageRow('rules', 'RuleEngine.process (one tripwire), replayed tracks', await timeFrames(1, replay.length, (i) => {
        const k = i % replay.length;
        if (k === 0) rules = new RuleEngine(config.cameras.map((c) => ({ name: c.name, zones: c.zones, lines: c.lines })));
        rules.process('cam', k / FPS, tracksPerFrame[k]!);
        return 1;
      })),
    );
    stages.push(
      stageRow('annotate', 'annotateFrame (tracks, line, banner; on a copy)', await timeFrames(1, replay.length, (i) => {
        const k = i % replay.length;
        annotateFrame(replay[k]!.frame, { tracks: tracksPerFrame[k]!, lines: [{ ...LINE, counts: 'person 3/4' }], camera: 'cam', timestamp: `${(k / FPS).toFixed(1)} s`, copy: true });
        return 1;
      })),
    );
    stages.push(
      stageRow('snapshot', 'snapshot (JPEG, box + caption)', await timeFrames(1, 10, (i) => {
        const k = i % replay.length;
        const t = tracksPerFrame[k]![0];
        snapshot(replay[k]!.frame, t?.box, { label: '#1 person line-cross' });
        return 1;
      })),
    );
    detector.dispose();
    personDetector.dispose();

    // Tables.
    log(`\nbackend ${runtime.backend}; ${bin.origin} ffmpeg ${bin.version}; stage rates on frames held in memory (decode rows: whole files, median of 3)`);
    log('| stage | what | frames | seconds | frames/s |');
    log('| --- | --- | ---: | ---: | ---: |');
    for (const s of stages) log(`| ${s.stage} | ${s.what} | ${s.frames} | ${s.seconds.toFixed(2)} | ${f1(s.framesPerSecond)} |`);
    log(`\nend to end (SurveillancePipeline, one camera, motion gating on, tripwire "${LINE.name}"; target ≥ ${TARGET_FPS} fps on the typical scene)`);
    log('| clip | detector workers | classes | outputs | frames | with people | detector ran | detector ran on people-free frames | seconds | frames/s | ≥ 15 fps typical, ≥ 8 busy |');
    log('| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const e of endToEndRows) {
      const idle = e.idle ? `${e.idle.detected} of ${e.idle.frames}` : '–';
      const target = e.clip === 'busy' ? BUSY_TARGET_FPS : TARGET_FPS;
      log(`| ${e.clip} | ${e.workers} | ${e.classes} | ${e.outputs} | ${e.frames} | ${e.activeFrames} | ${e.detectedFrames} | ${idle} | ${e.seconds.toFixed(1)} | ${f1(e.framesPerSecond)} | ${e.framesPerSecond >= target ? 'met' : 'MISSED'} |`);
    }
    for (const e of endToEndRows) {
      if (e.dropped) log(`warning: ${e.clip}/${e.outputs}: ${e.dropped} frames dropped by the source`);
      if (e.lineCount) log(`line count, whole busy clip: ${e.lineCount.leftToRight} left→right, ${e.lineCount.rightToLeft} right→left (hand count ${hand.line.leftToRight} / ${hand.line.rightToLeft})`);
    }
    log(`\ndetector on 2 worker threads ÷ in-process: batch 1 ${workerScaling.batch1.toFixed(2)}×, batch 8 ${workerScaling.batch8.toFixed(2)}× (target ≥ ${workerScaling.target}×)`);
    log(`\nperson counts on the ${quality.frames.length} hand-counted vtest frames (CenterNet, threshold 0.4, at 640×360 pillarboxed):`);
    log(`| frame | ${quality.frames.map((r) => r.frame).join(' | ')} |`);
    log(`| --- | ${quality.frames.map(() => '---:').join(' | ')} |`);
    log(`| hand | ${quality.frames.map((r) => r.hand).join(' | ')} |`);
    log(`| detected | ${quality.frames.map((r) => r.detected).join(' | ')} |`);
    log(`count accuracy (1 − Σ|error| ÷ Σ hand) ${(quality.countAccuracy * 100).toFixed(1)} %, ${quality.exactFrames}/${quality.frames.length} frames exact; recall ${(quality.recall * 100).toFixed(1)} %, precision ${(quality.precision * 100).toFixed(1)} % (matched by |Δx| ≤ 25 px)`);
    const accuracy = await runDetectionAccuracy(log);
    const headline = endToEndRows[0]!;
    const total = clips.plateSeconds * 2 * FPS + clips.activeFrames;
    return {
      backend: runtime.backend,
      ffmpeg: `${bin.origin} ${bin.version}`,
      stages,
      endToEnd: endToEndRows,
      quality,
      typicalScene: {
        frames: total,
        activeFrames: clips.activeFrames,
        activeFraction: clips.activeFrames / total,
        noiseSigma: 'ffmpeg noise=alls=6:allf=t (seeds 101, 202) then x264 crf 23: ≈2.3 grey levels temporal σ per pixel',
        build: '50-frame per-pixel median plate (vtest frames 0, 16, … 784) × 400, vtest frames 300–399, plate × 400; pillarboxed 640×360, 10 fps',
      },
      target: { framesPerSecond: TARGET_FPS, typicalOutputsOff: headline.framesPerSecond, met: headline.framesPerSecond >= TARGET_FPS },
      workerScaling,
      accuracy,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'accuracy') {
    await initRuntime({ backend: 'wasm' }, {});
    await runDetectionAccuracy();
  } else await runSurveillanceBench();
}
