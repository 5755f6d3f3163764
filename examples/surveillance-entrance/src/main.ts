// Surveillance example: one camera over a campus path. People are detected (a COCO model shipped in an npm package),
// tracked, counted across a tripwire in both directions, watched for loitering at a meeting point and for stepping on
// the lawn; every event gets a JPEG snapshot and a clip, and the whole run an annotated MP4.
//
// Footage: OpenCV's sample clip vtest.avi (real pedestrians) from Debian's opencv-doc package when it is installed;
// otherwise a clip rendered here with ffmpeg (a public-domain photo of a man moved across a drawn scene). The run says
// which, and compares the tripwire counts with the hand count recorded in @lepton/surveillance's test fixtures.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectorOptionsFromConfig, initRuntime, loadConfig, ObjectDetector, resolveFfmpeg, sideOfLine, SurveillancePipeline, type LineCrossEvent } from '@lepton/surveillance';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'out');
const seconds = Number(process.env['MAX_SECONDS'] ?? 45); // of footage: 45 s ≈ 1 minute on 2 cores with ONNX Runtime, 2 with TF.js wasm (MAX_SECONDS=80 for all of vtest.avi)

const runtime = await initRuntime();
console.log(`backend: ${runtime.backend} (${runtime.device})`);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const config = await loadConfig(join(root, 'cameras.yaml'));
const camera = config.cameras[0]!;
const line = camera.lines[0]!;
let footage: 'real' | 'rendered' = 'real';
if (!existsSync(camera.input) || process.env['FOOTAGE'] === 'rendered') {
  footage = 'rendered';
  if (!existsSync(camera.input)) console.log(`${camera.input}: OpenCV's sample clip is not installed (apt-get install opencv-doc) — using a clip rendered with ffmpeg`);
  camera.input = await renderClip(join(out, 'rendered-entrance.mp4'));
}
console.log(`footage: ${footage === 'real' ? 'OpenCV vtest.avi (real pedestrians, Debian opencv-doc)' : 'rendered clip'}, first ${seconds} s at ${camera.fps} fps, ${camera.width}×${camera.height}`);

// Which way is "left to right" for this line in the rule engine's terms (side A is left of from → to).
const aIsRight = sideOfLine([line.from[0] + 10, (line.from[1] + line.to[1]) / 2], line.from, line.to) < 0;
const direction = (e: LineCrossEvent): 'left-to-right' | 'right-to-left' => ((e.direction === 'a-to-b') === aIsRight ? 'right-to-left' : 'left-to-right');

// cameras.yaml asks for engine 'auto': ONNX Runtime's native CPU kernels when the optional onnxruntime-node package
// loads (about twice the frame rate here), else TF.js on the backend above. Same detections either way.
const detector = await ObjectDetector.load(detectorOptionsFromConfig(config));
console.log(`detector engine: ${detector.engine}${detector.engineFallback === undefined ? '' : ` (ONNX Runtime not used: ${detector.engineFallback.message})`}`);
const t0 = performance.now();
const pipeline = await SurveillancePipeline.create(config, { detector, maxFrames: Math.round(seconds * camera.fps) });
const done = pipeline.run();
const crossings: { frame: number; time: number; trackId: number; direction: string }[] = [];
const others: { kind: string; time: number; trackId?: number; zone?: string; snapshot?: string }[] = [];
for await (const event of pipeline.events()) {
  const e = event.rule;
  const snap = event.snapshot === undefined ? '' : `  snapshot ${relative(root, event.snapshot)}`;
  if (e.kind === 'line-cross') {
    crossings.push({ frame: event.frame, time: e.time, trackId: e.trackId, direction: direction(e) });
    console.log(`${e.time.toFixed(1).padStart(5)} s  #${e.trackId} ${e.label} crossed '${e.line}' ${direction(e)}${snap}`);
  } else if (e.kind === 'loitering' || e.kind === 'intrusion' || e.kind === 'crowd') {
    others.push({ kind: e.kind, time: e.time, zone: e.zone, ...(e.kind === 'crowd' ? {} : { trackId: e.trackId }), ...(event.snapshot === undefined ? {} : { snapshot: relative(root, event.snapshot) }) });
    const who = e.kind === 'crowd' ? `${e.count} people` : `#${e.trackId} ${e.label}`;
    const extra = e.kind === 'loitering' ? ` for ${e.dwellSeconds.toFixed(1)} s` : '';
    console.log(`${e.time.toFixed(1).padStart(5)} s  ${e.kind.toUpperCase()} ${who} in '${e.zone}'${extra}${snap}`);
  }
}
const report = await done;
await detector.close(); // passed in, so not closed by the pipeline
const cam = report.cameras[0]!;
const elapsed = (performance.now() - t0) / 1000;
if (cam.error !== undefined) throw new Error(`camera ${cam.camera} failed: ${cam.error.code} ${cam.error.message}`);

const counted = { leftToRight: crossings.filter((c) => c.direction === 'left-to-right').length, rightToLeft: crossings.filter((c) => c.direction === 'right-to-left').length };
console.log(`\nprocessed ${cam.frames} frames in ${elapsed.toFixed(1)} s (${(cam.frames / elapsed).toFixed(1)} fps): detector on ${cam.detectedFrames}, skipped by motion ${cam.skippedByMotion}, dropped ${cam.source.dropped}`);
console.log(`tracks: ${cam.tracks} confirmed; events: ${Object.entries(cam.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
console.log(`line '${line.name}': ${counted.leftToRight} left-to-right, ${counted.rightToLeft} right-to-left`);

// The hand count (recorded by eye in @lepton/surveillance's test fixtures) over the same frames.
let handCount: { leftToRight: number; rightToLeft: number; frames: number } | undefined;
const fixture = join(root, '../../packages/surveillance/test/fixtures/vtest-hand-count.json');
if (footage === 'rendered') {
  // by construction: right at 2.6 s, back left at 15 s, right again (fast) at 18.4 s
  handCount = { frames: cam.frames, leftToRight: [2.6, 18.4].filter((t) => t * camera.fps < cam.frames).length, rightToLeft: [15].filter((t) => t * camera.fps < cam.frames).length };
  console.log(`the rendered clip's own crossings over the same ${cam.frames} frames: ${handCount.leftToRight} left-to-right, ${handCount.rightToLeft} right-to-left`);
} else if (existsSync(fixture)) {
  const hand = JSON.parse(await readFile(fixture, 'utf8')) as { line: { crossings: { frame: number; direction: string }[] } };
  // the source is decoded at the clip's own 10 fps, so frame numbers match
  const within = hand.line.crossings.filter((c) => c.frame < cam.frames);
  handCount = { frames: cam.frames, leftToRight: within.filter((c) => c.direction === 'left-to-right').length, rightToLeft: within.filter((c) => c.direction === 'right-to-left').length };
  const total = handCount.leftToRight + handCount.rightToLeft;
  const error = Math.abs(counted.leftToRight - handCount.leftToRight) + Math.abs(counted.rightToLeft - handCount.rightToLeft);
  console.log(`hand count over the same ${cam.frames} frames: ${handCount.leftToRight} left-to-right, ${handCount.rightToLeft} right-to-left → count accuracy ${(100 * (1 - error / total)).toFixed(0)} %`);
}
console.log(`annotated video: ${cam.annotatedVideo === undefined ? 'none' : relative(root, cam.annotatedVideo)}; snapshots and clips in ${relative(root, join(out, camera.name))}/`);
if (cam.clipErrors.length > 0) console.log(`clip problems: ${cam.clipErrors.join('; ')}`);

await writeFile(
  join(out, 'results.json'),
  `${JSON.stringify({ footage, seconds, frames: cam.frames, elapsedSeconds: elapsed, backend: runtime.backend, report: cam, line: { name: line.name, counted, handCount, crossings }, events: others, forwardPasses: report.forwardPasses }, null, 2)}\n`,
);
console.log('wrote out/results.json');

/**
 * Renders a 30-second 640×480 clip with ffmpeg: a path drawn on a lawn, and a photo of a man (public domain, from
 * scikit-image's sample data) that walks across the tripwire to the right, back to the left, and then waits at the
 * meeting point for 10 s.
 */
async function renderClip(file: string): Promise<string> {
  const ffmpeg = (await resolveFfmpeg()).path;
  const person = join(root, 'assets/cameraman.jpg');
  // x(t): 40 → 520 in 0–8 s, 520 → 40 in 10–18 s, then stands at 330 from 19 s on
  const x = "if(lt(t,8),40+60*t,if(lt(t,10),520,if(lt(t,18),520-60*(t-10),if(lt(t,19),40+290*(t-18),330))))";
  execFileSync(ffmpeg, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'color=c=0x4a7a3a:s=640x480:r=10:d=30',
    '-loop', '1', '-r', '10', '-i', person,
    '-filter_complex', `[0]drawbox=x=0:y=130:w=640:h=110:color=0x9a9a9a:t=fill[bg];[1]scale=110:150[p];[bg][p]overlay=x='${x}':y=70:shortest=1,format=yuv420p`,
    '-t', '30', '-c:v', 'libx264', file,
  ]);
  return file;
}
