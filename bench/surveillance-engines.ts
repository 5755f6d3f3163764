// The surveillance detector on its two engines (issues 13 and 17: busy-scene fps): TF.js (wasm) vs ONNX Runtime
// (engine 'onnx', the graph converted to ONNX at load), at 1 and 2 detector workers, in the same run, on the same
// clips as bench/surveillance.ts (typical scene: 900 frames, 11 % with people; busy: the first SURV_BUSY_FRAMES frames
// of pillarboxed vtest.avi, people in every frame). Detector frames/s on 16 busy frames held in memory, batch 8.
// `node --import tsx bench/surveillance-engines.ts` (about 6 minutes on the 2-core machine).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRuntime } from '@lepton/core';
import { ObjectDetector, resolveFfmpeg, type DetectorEngine } from '@lepton/surveillance';
import { buildClips, endToEnd, FPS, throughSource, timeFrames } from './surveillance.js';

await initRuntime({ backend: 'wasm' }, {});
const bin = await resolveFfmpeg();
const busyFrames = Number(process.env['SURV_BUSY_FRAMES'] ?? 100);
const only = process.env['SURV_ENGINE_CASES']?.split(',');
const dir = await mkdtemp(join(tmpdir(), 'lepton-surv-engines-'));
const rows: string[] = [];
try {
  const clips = await buildClips(bin, dir);
  const busy = (await throughSource(bin, clips.busy, 16, 0)).kept;
  const cases: Array<[string, DetectorEngine, number, number | undefined]> = [
    ['tfjs, 1 worker', 'tfjs', 1, undefined],
    ['onnx, 1 worker (in-thread, 2 ORT threads)', 'onnx', 1, 2],
    ['onnx, 1 worker (in-thread, 1 ORT thread)', 'onnx', 1, 1],
    ['tfjs, 2 workers', 'tfjs', 2, undefined],
    ['onnx, 2 workers (1 ORT thread each)', 'onnx', 2, undefined],
  ];
  console.log('| engine, workers | detector frames/s (batch 8, busy frames) | typical fps | busy fps |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, engine, workers, threads] of cases) {
    if (only !== undefined && !only.some((o) => name.startsWith(o))) continue;
    const detector = await ObjectDetector.load({ batchSize: 8, classes: ['person'], engine, workers, ...(threads === undefined ? {} : { onnxThreads: threads }) });
    try {
      const per = workers > 1 ? 16 : 8;
      const t = await timeFrames(2, 16, async () => (await detector.detect(busy.slice(0, per)), per));
      const spec = { outputs: 'off' as const, classes: ['person'] };
      const typical = await endToEnd(bin, detector, { ...spec, clip: 'typical', input: clips.typical, outDir: join(dir, 't'), activeFrames: (n) => n });
      const busyRow = await endToEnd(bin, detector, { ...spec, clip: 'busy', input: clips.busy, outDir: join(dir, 'b'), activeFrames: (n) => n, ...(busyFrames > 0 ? { maxFrames: busyFrames } : {}) });
      const row = `| ${name} | ${(t.frames / t.seconds).toFixed(1)} | ${typical.framesPerSecond.toFixed(1)} | ${busyRow.framesPerSecond.toFixed(1)} |`;
      rows.push(row);
      console.log(row);
    } finally {
      await detector.close();
    }
  }
  console.log(`(typical: ${clips.plateSeconds * 2 * FPS + clips.activeFrames} frames; busy: ${busyFrames || 'all'} frames)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
