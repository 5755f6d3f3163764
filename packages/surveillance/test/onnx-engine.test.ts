import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphModelToOnnx, initRuntime, tf } from '@lepton/core';
import { COCO_LABELS, loadLocalGraphModel, localModelHandler, ObjectDetector, parseConfig, shippedModelPath, type Detection, type Frame } from '@lepton/surveillance';

// The detector's network on ONNX Runtime: the shipped TF.js graph models converted to ONNX in memory must give TF.js's
// outputs on a real photo, and the detector on engine 'onnx' TF.js's detections on real footage (vtest.avi).

// onnxruntime-node is an optional peer of @lepton/core; resolve it from there, as the detector does.
const ort = createRequire(createRequire(import.meta.url).resolve('@lepton/core'))('onnxruntime-node') as {
  InferenceSession: { create(b: Uint8Array, o: object): Promise<{ run(f: object): Promise<Record<string, { data: Float32Array; dims: number[] }>>; release(): Promise<void> }> };
  Tensor: new (t: 'float32', d: Float32Array, dims: number[]) => object;
};

const IMAGE = fileURLToPath(new URL('./fixtures/images/astronaut.jpg', import.meta.url));
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const HAVE_VTEST = existsSync(VTEST);
if (!HAVE_VTEST) console.warn(`onnx-engine.test: ${VTEST} is missing (Debian package opencv-doc): the detections test is skipped.`);

/** The photo resized to the model input, as a batch of `n` (the second a mirror image, so frames differ). */
function photoBatch(size: number, n: number, nchw: boolean): tf.Tensor {
  const img = jpeg.decode(readFileSync(IMAGE), { useTArray: true });
  return tf.tidy(() => {
    const rgb = tf.slice(tf.tensor3d(img.data, [img.height, img.width, 4], 'float32'), [0, 0, 0], [-1, -1, 3]);
    const x = tf.image.resizeBilinear(rgb as tf.Tensor3D, [size, size]);
    const b = tf.stack(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? x : tf.reverse(x, 1))));
    return nchw ? tf.transpose(tf.div(b, 255), [0, 3, 1, 2]) : b;
  });
}

describe('graphModelToOnnx on the shipped detectors', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
  });

  const cases = [
    { model: 'centernet', size: 512, nchw: false, batch: 2, outputs: ['tower_0/keypoints', 'tower_0/wh'] },
    // NanoDet's graph reshapes to a batch of 1 (as on TF.js, the detector runs it frame by frame).
    { model: 'nanodet', size: 416, nchw: true, batch: 1, outputs: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3', 'Identity_4', 'Identity_5'] },
  ] as const;

  it.each(cases)('$model: ONNX Runtime outputs equal TF.js outputs on a real photo (|Δ| ≤ 1e-3 · max(1, |x|))', async ({ model, size, nchw, batch, outputs }) => {
    const artifacts = await (localModelHandler(shippedModelPath(model)).load as () => Promise<object>)();
    const onnx = graphModelToOnnx(artifacts, { outputs });
    expect(onnx.outputs).toEqual(outputs);
    const session = await ort.InferenceSession.create(onnx.bytes, { intraOpNumThreads: 1 });
    const graph = await loadLocalGraphModel(shippedModelPath(model));
    const x = photoBatch(size, batch, nchw);
    const ref = graph.execute(x, [...outputs]) as tf.Tensor[];
    const got = await session.run({ [onnx.inputs[0]?.name as string]: new ort.Tensor('float32', (await x.data()) as Float32Array, x.shape) });
    try {
      for (const [k, name] of outputs.entries()) {
        const want = (await ref[k]?.data()) as Float32Array;
        const out = got[name];
        expect(out?.dims).toEqual(ref[k]?.shape);
        let worst = 0;
        let worstAbs = 0;
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs((want[i] as number) - (out?.data[i] as number));
          worstAbs = Math.max(worstAbs, d);
          worst = Math.max(worst, d / Math.max(1, Math.abs(want[i] as number)));
        }
        console.log(`onnx parity ${model} ${name} [${out?.dims.join('×')}]: max |Δ| ${worstAbs.toExponential(2)}, max |Δ|/max(1,|x|) ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(1e-3);
      }
    } finally {
      tf.dispose([x, ...ref]);
      graph.dispose();
      await session.release();
    }
  }, 60_000);

  it('names the op it cannot convert in a typed INVALID_MODEL error', async () => {
    const artifacts = (await (localModelHandler(shippedModelPath('centernet')).load as () => Promise<{ modelTopology: { node: Array<{ name: string; op: string }> } }>)());
    // The graph's own detections head (TopKV2, FloorDiv, …) is not convertible.
    // The first op without a conversion on the way from the output (the converter walks the graph depth-first).
    expect(() => graphModelToOnnx(artifacts, { outputs: ['tower_0/detections'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 'tower_0/Equal', op: 'Equal' } }));
    const node = artifacts.modelTopology.node.find((n) => n.name === 'tower_0/keypoints');
    if (node === undefined) throw new Error('fixture: no tower_0/keypoints node');
    node.op = 'Erfinv';
    expect(() => graphModelToOnnx(artifacts, { outputs: ['tower_0/keypoints'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringContaining('Erfinv') }));
    expect(() => graphModelToOnnx({ modelTopology: { layers: [] } })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }));
    expect(() => graphModelToOnnx(artifacts, { outputs: ['no/such/node'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 'no/such/node' } }));
  });
});

describe('ObjectDetector engine option', () => {
  it('validates engine and onnxThreads, and the YAML takes detector.engine', async () => {
    await expect(ObjectDetector.load({ engine: 'gpu' as 'onnx' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('engine') });
    await expect(ObjectDetector.load({ engine: 'onnx', onnxThreads: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const cameras = [{ name: 'a', input: 'a.mp4', width: 64, height: 48 }];
    expect(parseConfig({ cameras }).detector.engine).toBeUndefined();
    expect(parseConfig({ cameras, detector: { engine: 'onnx' } }).detector.engine).toBe('onnx');
    expect(() => parseConfig({ cameras, detector: { engine: 'cuda' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it("'auto' falls back to TF.js, with the reason, when the graph has an op the converter lacks; 'onnx' refuses", async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const model = { modelPath: shippedModelPath('centernet'), labels: [...COCO_LABELS], decode: 'centernet' as const, outputs: ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections'] };
    const auto = await ObjectDetector.load({ engine: 'auto', model });
    try {
      expect(auto.engine).toBe('tfjs');
      expect(auto.engineFallback).toMatchObject({ code: 'INVALID_MODEL' });
    } finally {
      await auto.close();
    }
    await expect(ObjectDetector.load({ engine: 'onnx', model })).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { op: expect.any(String) } });
  }, 60_000);

  it("without onnxruntime-node, 'auto' runs on TF.js with BACKEND_UNAVAILABLE as the reason and 'onnx' fails with it", () => {
    // core's test preload makes importing 'onnxruntime-node' fail as it does where the package is not installed
    const preload = new URL('../../core/test/fixtures/ort-missing.mjs', import.meta.url).href;
    const script = `import { ObjectDetector } from '@lepton/surveillance';
      const auto = await ObjectDetector.load({ engine: 'auto' });
      console.log(JSON.stringify({ engine: auto.engine, reason: auto.engineFallback?.code }));
      await auto.close();
      await ObjectDetector.load({ engine: 'onnx' }).catch((e) => console.log(JSON.stringify({ onnx: e.code })));`;
    const out = execFileSync(process.execPath, ['--import', preload, '--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 60_000 });
    const lines = out.trim().split('\n').slice(-2).map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([{ engine: 'tfjs', reason: 'BACKEND_UNAVAILABLE' }, { onnx: 'BACKEND_UNAVAILABLE' }]);
  }, 60_000);
});

describe("ObjectDetector engine 'auto' on a graph ONNX Runtime loads but cannot run", () => {
  // A VALID 9 × 9 convolution on a free input size, given an 8 × 8 input: TF.js computes an empty [1, 0, 0, 2] map,
  // ONNX Runtime converts and loads the graph but fails its first run ("Invalid input shape"), as it did for SAME
  // convolutions with a dilation before the converter wrote their pads. 'auto' must find that at load, not later.
  let dir: string;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    dir = mkdtempSync(join(tmpdir(), 'onnx-auto-'));
    const node = (name: string, op: string, input: string[], attr: object): object => ({ name, op, input, attr });
    const modelTopology = {
      versions: { producer: 1 },
      node: [
        node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [-1, -1, -1, 3].map((d) => ({ size: String(d) })) } } }),
        node('w', 'Const', [], { dtype: { type: 'DT_FLOAT' } }),
        node('c', 'Conv2D', ['x', 'w'], { T: { type: 'DT_FLOAT' }, padding: { s: Buffer.from('VALID').toString('base64') }, strides: { list: { i: ['1', '1', '1', '1'] } }, dilations: { list: { i: ['1', '1', '1', '1'] } }, data_format: { s: Buffer.from('NHWC').toString('base64') } }),
      ],
    };
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(9 * 9 * 3 * 2 * 4));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [9, 9, 3, 2], dtype: 'float32' }] }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one blank image on ONNX Runtime at load and falls back to TF.js with the run error as the reason', async () => {
    const model = { modelPath: join(dir, 'model.json'), labels: ['thing'], outputs: ['c'], inputSize: 8, layout: 'nhwc' as const, decode: async (outs: tf.Tensor[]) => Array.from({ length: outs[0]?.shape[0] ?? 0 }, () => []) };
    const auto = await ObjectDetector.load({ engine: 'auto', model });
    try {
      expect(auto.engine).toBe('tfjs');
      expect(auto.engineFallback).toMatchObject({ code: 'MODEL_LOAD_FAILED', message: expect.stringContaining('forward pass'), cause: expect.objectContaining({ message: expect.stringContaining('Invalid input shape') }) });
      const frame: Frame = { camera: 'c', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
      expect(await auto.detect([frame])).toEqual([[]]);
    } finally {
      await auto.close();
    }
    // Engine 'onnx' is not probed at load: its warm-up fails with the run error.
    await expect(ObjectDetector.load({ engine: 'onnx', model })).rejects.toMatchObject({ message: expect.stringContaining('Invalid input shape') });
  }, 60_000);
});

describe.skipIf(!HAVE_VTEST)('ObjectDetector engine onnx on vtest.avi', () => {
  const W = 384;
  const H = 288;
  let frames: Frame[];
  let tfjs: ObjectDetector;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-ss', '5', '-i', VTEST, '-frames:v', '6', '-vf', `scale=${W}:${H}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 26 });
    frames = Array.from({ length: 6 }, (_, i) => ({ camera: 'vtest', index: i, sourceIndex: i, time: i / 10, wallTime: 0, width: W, height: H, data: new Uint8Array(raw.subarray(i * W * H * 3, (i + 1) * W * H * 3)) }));
    tfjs = await ObjectDetector.load({ batchSize: 3, defaultThreshold: 0.3 });
  }, 60_000);
  afterAll(async () => {
    await tfjs?.close();
  });

  const same = (a: Detection[][], b: Detection[][]): void => {
    expect(b.map((d) => d.length)).toEqual(a.map((d) => d.length));
    a.forEach((frame, f) =>
      frame.forEach((d, i) => {
        const o = b[f]?.[i] as Detection;
        expect(o.label).toBe(d.label);
        expect(Math.abs(o.score - d.score)).toBeLessThanOrEqual(1e-3);
        for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(o.box[k] - d.box[k])).toBeLessThanOrEqual(1);
      }),
    );
  };

  it.each([
    { workers: 1, note: 'in this thread' },
    { workers: 2, note: 'on 2 worker threads' },
  ])("detections equal engine 'tfjs' ($note): same classes, boxes within 1 px, scores within 1e-3", async ({ workers }) => {
    const onnx = await ObjectDetector.load({ batchSize: 3, defaultThreshold: 0.3, engine: 'onnx', workers });
    try {
      expect(onnx.engine).toBe('onnx');
      const [want, got] = [await tfjs.detect(frames), await onnx.detect(frames)];
      expect(want.flat().length).toBeGreaterThan(10); // people in every frame
      same(want, got);
      expect(onnx.stats.frames).toBe(frames.length);
      const before = tf.memory().numTensors; // ORT's outputs become TF.js tensors for decoding: all freed again
      await onnx.detect(frames.slice(0, 4));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await onnx.close();
    }
  }, 90_000);
});
