// MoveNet multipose: output [1, 6, 56] with the network on ONNX Runtime (+ the graph's decoding on TF.js) vs the whole
// graph on TF.js (wasm), on scikit-image's photos at input 256 and 640; then ms a frame on each (5 runs, 1 ORT thread).
// `node --import tsx bench/surveillance-movenet-parity.ts`
import { initRuntime, tf } from '@lepton/core';
import { loadEvalSet, readEvalFrame } from '../packages/surveillance/test/eval-support.js';
import { MoveNet } from './surveillance-movenet-model.js';
await initRuntime({ backend: 'wasm' }, {});
const set = loadEvalSet('skimage');
const frame = readEvalFrame(set, set.images[0]!, 0);
for (const S of (process.env["MV_SIZES"] ?? "256,640").split(",").map(Number)) {
  const a = await MoveNet.load(S, 'tfjs');
  const b = await MoveNet.load(S, 'onnx');
  for (const [k, im] of set.images.entries()) {
    const fr = readEvalFrame(set, im, k);
    const { x } = a.input(fr);
    const ra = await a.raw(x); const rb = await b.raw(x);
    let worst = 0; for (let i = 0; i < ra.length; i++) worst = Math.max(worst, Math.abs(ra[i]! - rb[i]!));
    const scores = (r: Float32Array) => Array.from({ length: 6 }, (_, p) => r[p * 56 + 55]!.toFixed(3)).join(' ');
    console.log(`S=${S} img ${k} ${fr.width}x${fr.height}: max|Δ| ${worst.toExponential(2)}  tfjs ${scores(ra)} | onnx ${scores(rb)}`);
    x.dispose();
  }
  // timing
  const { x } = a.input(frame);
  for (const [name, m] of [['tfjs', a], ['onnx', b]] as const) {
    await m.raw(x); const t0 = performance.now(); const n = 5; for (let i = 0; i < n; i++) await m.raw(x);
    console.log(`S=${S} ${name}: ${((performance.now() - t0) / n).toFixed(0)} ms / frame`);
  }
  x.dispose(); await a.close(); await b.close();
}
