// GPU-machine entry of the surveillance benchmark (issue 5): ObjectDetector (CenterNet, 512×512 input) throughput at
// batch 1, 8 and 32 on `webgpu` and on `wasm` in the same run, and how many 10-fps 640×360 cameras one GPU sustains.
// Bundled by bench/surveillance-gpu-bundle.sh (`pnpm bench:surveillance-gpu-bundle`), which copies the CenterNet model
// files and 8 real vtest frames beside app.mjs, because the GPU machine has no registry and no ffmpeg may be there.
// Where no GPU adapter exists it runs on wasm alone, so the bundle can be checked on any machine.
//
// Frames: 8 frames of OpenCV's vtest.avi (every 100th from 0), scaled to 480×360 and pillarboxed to 640×360, packed
// RGB; batches cycle through them. Model: SURV_MODEL (a model.json path), else models/centernet.json beside the entry
// (bundled), else the copy shipped in @lepton/surveillance (models/). Timed: ObjectDetector.detect — letterbox into
// 512×512 and upload, one forward pass per batch, CenterNet decode and per-class NMS on the CPU (results read back, so
// the GPU work is finished). Not timed: video decode (CPU or NVDEC, see bench/surveillance.ts for the CPU rate).
// BENCH_SECONDS (default 3) is the time per measurement on webgpu, after at least BENCH_MIN_PASSES (default 5) timed
// passes (1 to check a software adapter such as lavapipe end to end in minutes); wasm is time-boxed to 2 timed passes per batch.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { initRuntime, runtimeInfo, seededRandom, tf, type BackendName } from '@lepton/core';
import { COCO_LABELS, ObjectDetector, type Frame, type ObjectDetectorOptions } from '@lepton/surveillance';

const here = dirname(fileURLToPath(import.meta.url));
if (existsSync(join(here, 'tfjs-backend-wasm-simd.wasm'))) {
  // Bundled: the wasm binaries sit beside app.mjs; the Emscripten loader reads the CommonJS `__dirname`.
  (globalThis as { __dirname?: string }).__dirname ??= here;
  setWasmPaths(`${here}/`);
}

const W = 640;
const H = 360;
const CAMERA_FPS = 10;
const BATCHES = (process.env['SURV_BATCHES'] ?? '1,8,32').split(',').map(Number);
const seconds = Number(process.env['BENCH_SECONDS'] ?? 3);
const minPasses = Math.max(1, Math.floor(Number(process.env['BENCH_MIN_PASSES'] ?? 5)) || 5);
const VTEST = process.env['VTEST'] ?? '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/** One timed case. */
interface Row {
  backend: string;
  device: string;
  /** Frames given to one detect() call. */
  batch: number;
  /** Frames a forward pass actually took: less than `batch` when the device refused the larger batch. */
  passBatch: number;
  refusedBatches: number;
  framesPerSecond: number;
  msPerBatch: number;
  iterations: number;
}

/** The frames: bundled file, else decoded from vtest with ffmpeg, else seeded noise (said so). */
function loadFrames(): { frames: Uint8Array[]; source: string } {
  const size = W * H * 3;
  const split = (buf: Uint8Array): Uint8Array[] => Array.from({ length: Math.floor(buf.length / size) }, (_, i) => buf.slice(i * size, (i + 1) * size));
  for (const p of [process.env['SURV_FRAMES'], join(here, 'vtest-640x360-8.rgb.gz')]) {
    if (p && existsSync(p)) return { frames: split(gunzipSync(readFileSync(p))), source: p };
  }
  if (existsSync(VTEST)) {
    try {
      const out = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', VTEST, '-vf', "select='not(mod(n\\,100))',scale=480:360,pad=640:360:80:0", '-fps_mode', 'vfr', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 64 << 20 });
      return { frames: split(new Uint8Array(out)), source: `${VTEST} via ffmpeg` };
    } catch {
      // fall through
    }
  }
  const rnd = seededRandom(5);
  const frames = Array.from({ length: 8 }, () => Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return { frames, source: 'seeded noise (no vtest frames found: timings only, no detections expected)' };
}

/** The CenterNet model: an explicit or bundled copy as a custom model with the shipped model's settings. */
function modelOption(): { model: NonNullable<ObjectDetectorOptions['model']>; path: string } {
  const path = [process.env['SURV_MODEL'], join(here, 'models', 'centernet.json')].find((p) => p && existsSync(p));
  if (!path) return { model: 'centernet', path: '@lepton/surveillance/models/centernet.json' };
  // The same plan the detector uses for 'centernet' (detector.ts): its two heads, NHWC, 0–255 pixels.
  return { model: { modelPath: path, labels: [...COCO_LABELS], decode: 'centernet', outputs: ['tower_0/keypoints', 'tower_0/wh'], layout: 'nhwc', inputScale: 1 }, path };
}

async function timeBatch(detector: ObjectDetector, frames: Frame[], minIterations: number, budget: number): Promise<{ median: number; iterations: number; people: number }> {
  const first = await detector.detect(frames); // warm-up (shader compilation for a new batch shape on webgpu)
  const times: number[] = [];
  const until = performance.now() + budget * 1000;
  while (times.length < minIterations || (performance.now() < until && times.length < 200)) {
    const t0 = performance.now();
    await detector.detect(frames);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, iterations: times.length, people: first.reduce((n, d) => n + d.filter((x) => x.label === 'person').length, 0) };
}

const { frames: raw, source } = loadFrames();
const { model, path: modelPath } = modelOption();
console.log(`frames: ${raw.length} × ${W}×${H} from ${source}`);
console.log(`model: ${modelPath}`);
// LEPTON_BACKEND is honoured: `LEPTON_BACKEND=webgpu node app.mjs` runs the bundle on a software adapter (lavapipe),
// which automatic selection refuses, to check the WebGPU path end to end on a machine without a GPU.
const auto = await initRuntime({ backend: 'auto' });
console.log(`auto-selected backend: ${auto.backend} (${auto.device})`);
for (const a of auto.attempts.filter((t) => !t.ok)) console.log(`  skipped ${a.backend}: ${a.reason}`);
const backends: BackendName[] = auto.backend === 'wasm' ? ['wasm'] : [auto.backend as BackendName, 'wasm'];

const rows: Row[] = [];
const peoplePerBackend: Record<string, number> = {};
for (const b of backends) {
  const info = await initRuntime({ backend: b }, {});
  console.log(`\n${b} (${info.device}):`);
  for (const batch of BATCHES) {
    // One detector per batch size: a batch the device refuses (e.g. over lavapipe's 128 MiB storage-binding limit) runs
    // again as halves, and that detector keeps the smaller size; the row says what a forward pass really took.
    const detector = await ObjectDetector.load({ model, batchSize: batch });
    const frames: Frame[] = Array.from({ length: batch }, (_, i) => ({ camera: `cam-${i}`, index: i, sourceIndex: i, time: 0, wallTime: 0, width: W, height: H, data: raw[i % raw.length]! }));
    const before = tf.memory().numTensors;
    const t = b === 'wasm' ? await timeBatch(detector, frames, 2, 0) : await timeBatch(detector, frames, minPasses, seconds);
    if (tf.memory().numTensors !== before) console.log(`  warning: ${tf.memory().numTensors - before} tensors leaked`);
    if (batch === 8) peoplePerBackend[b] = t.people;
    const row: Row = { backend: b, device: info.device, batch, passBatch: detector.batchSize, refusedBatches: detector.stats.refusedBatches, framesPerSecond: (batch * 1000) / t.median, msPerBatch: t.median, iterations: t.iterations };
    rows.push(row);
    const refused = row.refusedBatches > 0 ? `; the device refused ${batch} frames a pass, so ${row.passBatch} a pass` : '';
    console.log(`  batch ${batch} (${detector.batchMode}${refused}): ${row.msPerBatch.toFixed(1)} ms per batch, ${row.framesPerSecond.toFixed(1)} frames/s (${t.iterations} timed passes; ${t.people} people in the first pass)`);
    detector.dispose();
  }
}

const gpu = backends[0]!;
const best = rows.filter((r) => r.backend === gpu).reduce((a, r) => (r.framesPerSecond > a.framesPerSecond ? r : a));
const cameras = Math.floor(best.framesPerSecond / CAMERA_FPS);
console.log('\n| backend | batch | ms per batch | frames/s | ÷ wasm at the same batch |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const w = rows.find((x) => x.backend === 'wasm' && x.batch === r.batch)!;
  console.log(`| ${r.backend} | ${r.batch} | ${r.msPerBatch.toFixed(1)} | ${r.framesPerSecond.toFixed(1)} | ${(r.framesPerSecond / w.framesPerSecond).toFixed(2)}× |`);
}
if (gpu !== 'wasm' && peoplePerBackend[gpu] !== peoplePerBackend['wasm']) {
  console.log(`note: ${gpu} found ${peoplePerBackend[gpu]} people in the batch-8 frames, wasm ${peoplePerBackend['wasm']} (float differences near the threshold)`);
}
console.log(
  `\n${gpu} sustains ${cameras} cameras at ${CAMERA_FPS} fps, 640×360 (best: batch ${best.batch}, ${best.framesPerSecond.toFixed(1)} frames/s ÷ ${CAMERA_FPS}); ` +
    'detection only, every frame detected (no motion gating), video decode not counted (NVDEC or CPU cores).',
);
const out = process.env['OUT'] ?? here;
const file = join(out, 'surveillance-gpu-bench.json');
await writeFile(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), runtime: runtimeInfo(), auto: auto.attempts, frames: source, model: modelPath, rows, cameras: { count: cameras, cameraFps: CAMERA_FPS, backend: gpu, batch: best.batch, framesPerSecond: best.framesPerSecond, assumptions: 'detection only (ObjectDetector.detect: letterbox, upload, forward pass, decode, NMS), every frame detected, decode not counted' } }, null, 2)}\n`,
);
console.log(`wrote ${file}`);
