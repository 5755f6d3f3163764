// Child process of bench/medical.ts: times readDicom → modalityFrame → tf tensor → dispose for ONE file, in a V8
// isolate of its own, so no transfer syntax's figure depends on the JIT history of the files timed before it (with the
// per-pixel loop in JS, whichever file was timed second ran at ~55 % speed). Protocol (IPC): {file, seconds, api?} in →
// {imagesPerSecond} out; 'exit' ends it. api 'decodeFrames' times the generic path instead: readDicom(bytes).decodeFrames().
import { readFile } from 'node:fs/promises';
import { initRuntime, tf } from '@lepton/core';
import { readDicom } from '@lepton/medical';

interface Request {
  file: string;
  seconds: number;
  api?: 'modalityFrame' | 'decodeFrames';
}

/** APIs already warmed up in this process (per file): the first request for one runs it for WARMUP_SECONDS untimed. */
const warm = new Set<string>();
/**
 * Untimed warm-up before the first timed round of a file and API: V8 runs a new function, and WebAssembly kernels,
 * on baseline code first and swaps in optimised code after some hundreds of calls (in the background); without this
 * the first rounds measured mostly the baseline tier. pydicom needs none (CPython does not tier up).
 */
const WARMUP_SECONDS = 1;

async function rate(fn: () => Promise<void>, seconds: number, key: string): Promise<number> {
  if (!warm.has(key)) {
    warm.add(key);
    const w0 = performance.now();
    while (performance.now() - w0 < WARMUP_SECONDS * 1000) await fn();
  }
  for (let i = 0; i < 2; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  for (;;) {
    await fn();
    n++;
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds && n >= 3) return n / elapsed;
  }
}

await initRuntime();
let cached: { file: string; bytes: Uint8Array; buffer: Float32Array } | undefined;
process.on('message', (msg: Request | 'exit') => {
  if (msg === 'exit') {
    process.exit(0);
  }
  void (async () => {
    try {
      if (cached?.file !== msg.file) {
        const bytes = new Uint8Array(await readFile(msg.file));
        const meta = readDicom(bytes).meta;
        cached = { file: msg.file, bytes, buffer: new Float32Array(meta.rows * meta.columns) };
      }
      const { bytes, buffer } = cached;
      const once =
        msg.api === 'decodeFrames'
          ? async (): Promise<void> => {
              await readDicom(bytes).decodeFrames();
            }
          : async (): Promise<void> => {
              const image = readDicom(bytes);
              const hu = await image.modalityFrame(0, buffer);
              tf.tensor2d(hu, [image.meta.rows, image.meta.columns], 'float32').dispose();
            };
      process.send!({ imagesPerSecond: await rate(once, msg.seconds, `${msg.file} ${msg.api ?? 'modalityFrame'}`) });
    } catch (err) {
      process.send!({ error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.send!('ready');
