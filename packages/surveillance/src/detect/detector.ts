import { types } from 'node:util';
import { LeptonError, createWorkerPool, describeValue, ensureRuntime, isLeptonError, tf, type WorkerPool } from '@lepton/core';
import type { DetectorWorkerInit, DetectorWorkerResult } from './detector-worker.js';
import { ownValue, surveillanceError } from '../types.js';
import type { Detection, Frame } from '../types.js';
import { DEFAULT_DETECTION_CLASSES } from './coco.js';
import { batchesLikeOneByOne } from './batch-check.js';
import type { DecodeContext, RawDetection } from './decode.js';
import { frameToInput, inputBoxToFrame, invalidFrameError, readFrame, type InputPlacement } from './letterbox.js';
import { loadDetectorNet, type DetectorNet } from './engine.js';
import { nonMaxSuppression } from './nms.js';
import {
  MAX_CANDIDATES,
  inputSizeOf,
  invalid,
  layoutOf,
  planModel,
  resolveDetectorOptions,
  type DetectorStats,
  type InputLayout,
  type ModelPlan,
  type ObjectDetectorOptions,
  type ResolvedDetectorOptions,
} from './options.js';
import { autoTileGrid } from './tiles.js';
import { expandViews, mergeViews } from './views.js';

export {
  BUILT_IN_DECODERS,
  DEFAULT_DETECTION_THRESHOLD,
  resolveDetectorOptions,
  type BuiltInDecoder,
  type CustomDetectorModel,
  type DetectorStats,
  type InputLayout,
  type ObjectDetectorOptions,
  type ResolvedDetectorOptions,
  type ShippedDetectorModel,
} from './options.js';

/**
 * Pretrained object detection on batches of frames: COCO people and vehicles out of the box, or any TF.js graph
 * model with a declared label map.
 *
 * Each {@link ObjectDetector.detect} call fits every frame into the model input (letterbox by default), stacks them
 * into one batch tensor, runs one forward pass per `batchSize` frames, decodes, applies the per-class thresholds and
 * per-class NMS, and maps boxes back to each frame's pixels. All tensors are freed before it returns.
 *
 * **Defaults.** Model `'centernet'`, threshold 0.4 for every class (`defaultThreshold`), NMS IoU 0.5, letterbox.
 * Chosen on OpenCV's `vtest.avi` pedestrian clip (12 hand-counted frames, 74 people): CenterNet at 0.4 finds 92 % of
 * the people with 94 % of its boxes right (0.35: 95 % / 80 %; 0.5: 82 % / 98 %). NanoDet scores people slightly
 * better there (95 % / 96 % at 0.4) and fits tighter boxes, but missed every car that CenterNet found on the test
 * photos and runs ~10 % slower on wasm (≈ 0.22 s vs 0.20 s CPU per 640 × 360 frame), hence CenterNet. Lower a class's
 * threshold where misses cost more than false alarms (e.g. `{ person: 0.3 }` for an intrusion zone at night).
 * On 42 held-out real photos annotated by hand (street scenes, group snapshots, a security camera; IoU ≥ 0.5; the
 * package README's "Detection accuracy") the default finds 63 of 97 people and 18 of 33 vehicles, with no false
 * alarm; many of the people it misses stand close together in groups, partly hidden by one another, and `tiles: 'auto'`
 * finds 3 more people and 4 more vehicles on the wide street scenes.
 *
 * @example
 * ```ts
 * import { ObjectDetector, initRuntime } from '@lepton/surveillance';
 * await initRuntime({ backend: 'wasm' }, {});
 * const detector = await ObjectDetector.load({ thresholds: { person: 0.4 } });
 * const [fromCam1, fromCam2] = await detector.detect([frame1, frame2]); // one forward pass
 * for (const d of fromCam1) console.log(d.label, d.score.toFixed(2), d.box);
 * detector.dispose();
 * ```
 */
export class ObjectDetector {
  /** The model's label map (index → class name). */
  readonly labels: readonly string[];
  /** Classes this detector reports. */
  readonly classes: readonly string[];
  /** Model input size `[width, height]`. */
  readonly inputSize: readonly [number, number];
  /** Options in force. */
  readonly options: ResolvedDetectorOptions;
  /** Counters since load. */
  readonly stats: DetectorStats = { frames: 0, forwardPasses: 0, invalidFrames: 0, rejectedCandidates: 0, refusedBatches: 0 };

  readonly #net: DetectorNet;
  readonly #fallback: LeptonError | undefined;
  readonly #plan: ModelPlan;
  readonly #outputs: string[];
  readonly #classIndices: number[];
  readonly #thresholds: Map<string, number>;
  readonly #layout: InputLayout;
  #batched = true;
  /** Frames a forward pass: `batchSize`, lowered when the WebGPU device refuses a batch (see #runHalving). */
  #batchLimit: number;
  #pool: WorkerPool<Frame[], DetectorWorkerResult> | undefined;
  #disposed = false;

  private constructor(net: DetectorNet, fallback: LeptonError | undefined, p: ModelPlan, options: ResolvedDetectorOptions) {
    this.#net = net;
    this.#fallback = fallback;
    this.#plan = p;
    this.options = options;
    this.#batchLimit = options.batchSize;
    this.labels = p.labels;
    this.#layout = layoutOf(net, p);
    this.inputSize = p.inputSize ?? inputSizeOf(net, this.#layout, p.path);
    this.#outputs = p.outputs ?? net.outputNames;
    const known = new Set(p.labels);
    let classes: string[];
    if (options.classes === 'all') classes = [...new Set(p.labels)];
    else if (options.classes === undefined) {
      classes = DEFAULT_DETECTION_CLASSES.filter((c) => known.has(c));
      if (classes.length === 0) classes = [...new Set(p.labels)];
    } else {
      if (!Array.isArray(options.classes) || options.classes.length === 0) throw invalid("classes must be a non-empty array of class names or 'all'.");
      const unknown = options.classes.filter((c) => !known.has(c));
      if (unknown.length > 0) {
        const shown = unknown.slice(0, 10).map((c) => describeValue(c));
        throw invalid(`Unknown classes ${shown.join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}; the model knows: ${p.labels.join(', ')}.`, { unknown: shown });
      }
      classes = [...new Set(options.classes)];
    }
    const stray = Object.keys(options.thresholds).filter((c) => !classes.includes(c));
    if (stray.length > 0) throw invalid(`thresholds name classes that are not reported: ${stray.join(', ')}; add them to classes or drop their thresholds.`, { stray });
    this.classes = classes;
    const wanted = new Set(classes);
    this.#classIndices = p.labels.flatMap((l, i) => (wanted.has(l) ? [i] : []));
    this.#thresholds = new Map(classes.map((c) => [c, ownValue(options.thresholds, c) ?? options.defaultThreshold]));
  }

  /**
   * Load a detector. The model is read from local files and checked with one warm-up pass on a blank frame (which
   * also catches a label map that does not fit the model).
   *
   * @param options - see {@link ObjectDetectorOptions}
   * @returns a ready detector
   * @throws LeptonError `MODEL_LOAD_FAILED` (missing or garbled model files, outputs that do not fit the decoder or
   *   the label map), `INVALID_ARGUMENT` (bad thresholds, unknown class names)
   */
  static async load(options: ObjectDetectorOptions = {}): Promise<ObjectDetector> {
    const resolved = resolveDetectorOptions(options);
    await ensureRuntime(); // the fastest backend here (initRuntime's choice), unless the application chose one already
    const p = planModel(resolved.model);
    // 'auto' runs one blank image on ONNX Runtime first (the warm-up below then runs on whichever engine it chose).
    const probeShape = (n: DetectorNet): number[] => {
      const layout = layoutOf(n, p);
      const [w, h] = p.inputSize ?? inputSizeOf(n, layout, p.path);
      return layout === 'nhwc' ? [1, h, w, 3] : [1, 3, h, w];
    };
    const { net, fallback } = await loadDetectorNet(p.path, p.outputs, resolved.engine, resolved.onnxThreads, probeShape);
    let detector: ObjectDetector;
    try {
      detector = new ObjectDetector(net, fallback, p, resolved);
      await detector.#warmUp();
      if (resolved.workers > 1) detector.#pool = await startPool(resolved);
    } catch (err) {
      net.dispose();
      if (isLeptonError(err)) throw err;
      throw surveillanceError('MODEL_LOAD_FAILED', `Model ${p.path} failed its warm-up pass: ${thrownMessage(err)}. Check outputs, inputSize, layout and decode.`, { path: p.path }, err);
    }
    return detector;
  }

  /** The runtime computing the network: `'onnx'` (ONNX Runtime) or `'tfjs'` (see {@link ObjectDetectorOptions.engine}). */
  get engine(): 'tfjs' | 'onnx' {
    return this.#net.engine;
  }

  /** With engine `'auto'`, why ONNX Runtime was not used (the typed error it gave); undefined otherwise. */
  get engineFallback(): LeptonError | undefined {
    return this.#fallback;
  }

  /**
   * Frames per forward pass now: the `batchSize` option, or the largest half of a batch that ran after the WebGPU
   * device refused a larger one (`stats.refusedBatches`). With `workers`, each worker lowers its own.
   */
  get batchSize(): number {
    return this.#batchLimit;
  }

  /** Whether frames run as one batch per forward pass (`'batched'`) or one by one because the graph is fixed to batch 1. */
  get batchMode(): 'batched' | 'per-frame' {
    return this.#batched ? 'batched' : 'per-frame';
  }

  /** Confidence threshold in force for a class (undefined for classes not reported). */
  threshold(label: string): number | undefined {
    return this.#thresholds.get(label);
  }

  async #warmUp(): Promise<void> {
    const [w, h] = this.inputSize;
    const blank: Frame = { camera: 'warm-up', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: w, height: h, data: new Uint8Array(w * h * 3) };
    const [result] = await this.#run([blank]);
    if (!Array.isArray(result)) throw surveillanceError('MODEL_LOAD_FAILED', `The decoder of ${this.#plan.path} did not return one detection list per frame.`, { path: this.#plan.path });
    // A model of your own runs two different images batched and one by one once; frame by frame unless they agree.
    if (typeof this.options.model === 'object' && (this.options.batchSize > 1 || this.options.tiles !== 1 || this.options.flip)) {
      const [iw, ih] = this.inputSize;
      const input = { width: iw, height: ih, scale: this.#plan.scale, offset: this.#plan.offset, layout: this.#layout, labels: this.labels, classIndices: this.#classIndices };
      this.#batched = await batchesLikeOneByOne((x) => this.#net.execute(x, this.#outputs), this.#plan.decode, input);
    }
    this.stats.frames = 0;
    this.stats.forwardPasses = 0;
    this.stats.rejectedCandidates = 0;
    this.stats.refusedBatches = 0;
  }

  /**
   * Detect objects in frames, from any mix of cameras and sizes. Frames are batched into one forward pass (up to
   * `batchSize` frames a pass).
   *
   * @param frames - packed RGB frames
   * @returns per frame (same order), its detections, best first; an invalid frame gets `[]` and is reported to
   *   `onInvalidFrame`
   * @throws LeptonError `INVALID_ARGUMENT` when `frames` is not an array; `DETECTOR_CLOSED` after
   *   {@link ObjectDetector.dispose} / {@link ObjectDetector.close};
   *   with workers, `WORKER_CRASHED` for the frames of a worker that died (a replacement serves the next call)
   */
  async detect(frames: readonly Frame[]): Promise<Detection[][]> {
    if (this.#disposed) throw surveillanceError('DETECTOR_CLOSED', 'This detector was disposed; load a new one with ObjectDetector.load().');
    if (!Array.isArray(frames)) throw invalid(`detect() takes an array of frames (one per camera), got ${frames === null ? 'null' : typeof frames}.`);
    const out: Detection[][] = frames.map(() => []);
    const valid: number[] = [];
    // Each frame read once into a plain copy: the checks and the forward pass see the same fields.
    const read = frames.map((f, i) => {
      const r = readFrame(f);
      if (r.problem === undefined) {
        valid.push(i);
        return r.frame;
      }
      this.stats.invalidFrames++;
      try {
        this.options.onInvalidFrame?.(f, invalidFrameError(f, `skipped: ${r.problem}`));
      } catch {
        // The application's callback failing must not cost the other frames their detections: the frame is counted.
      }
      return f;
    });
    if (this.options.tiles !== 1 || this.options.flip) {
      await this.#detectViews(read, valid, out);
      return out;
    }
    await this.#detectValid(read, valid, out);
    return out;
  }

  /** Runs the valid frames (by index) in `batchSize` batches, on the workers when there are some. */
  async #detectValid(frames: readonly Frame[], valid: number[], out: Detection[][]): Promise<void> {
    if (this.#pool !== undefined) {
      await this.#detectPooled(this.#pool, frames, valid, out);
      return;
    }
    for (let start = 0; start < valid.length; ) {
      const idx = valid.slice(start, start + this.#batchLimit);
      const dets = await this.#runHalving(idx.map((i) => frames[i] as Frame));
      idx.forEach((fi, j) => {
        out[fi] = dets[j] ?? [];
      });
      start += idx.length;
    }
  }

  /**
   * {@link ObjectDetector.#run}, splitting a batch that the WebGPU device refuses (`GPU_ERROR`: a buffer over its
   * storage-binding limit, e.g. 128 MiB on lavapipe) into halves down to single frames. Each half is built again from
   * the frames' own bytes: slicing the refused batch's input tensor read wrong data on lavapipe. The largest half that
   * ran bounds later batches ({@link ObjectDetector.batchSize}); `stats.refusedBatches` counts the refusals.
   */
  async #runHalving(frames: Frame[]): Promise<Detection[][]> {
    try {
      return await this.#run(frames);
    } catch (err) {
      // A model that runs frame by frame was refused one frame: smaller batches cannot help.
      if (frames.length === 1 || !this.#batched || !isLeptonError(err, 'GPU_ERROR')) throw err;
      this.stats.refusedBatches++;
      const half = Math.ceil(frames.length / 2);
      const out = [...(await this.#runHalving(frames.slice(0, half))), ...(await this.#runHalving(frames.slice(half)))];
      // Lowered only once the halves ran: a device that fails altogether (lost, out of memory) leaves it as it was.
      this.#batchLimit = Math.min(this.#batchLimit, half);
      return out;
    }
  }

  /**
   * Test-time views: every valid frame becomes itself, its mirror image (`flip`) and its `tiles × tiles` crops, all
   * detected together (so the views share batches and workers), then each frame's results are merged back (see
   * `mergeViews`).
   */
  async #detectViews(frames: readonly Frame[], valid: number[], out: Detection[][]): Promise<void> {
    const { tiles } = this.options;
    const gridOf = tiles === 'auto' ? (w: number, h: number): number => autoTileGrid(w, h, this.inputSize) : (): number => tiles;
    const { expanded, plans } = expandViews(frames, valid, gridOf, this.options.flip);
    const results: Detection[][] = expanded.map(() => []);
    await this.#detectValid(expanded, expanded.map((_, i) => i), results);
    for (const p of plans) out[p.frame] = mergeViews(results, p, frames[p.frame] as Frame, this.options.iouThreshold, this.options.maxDetections);
  }

  /** Splits the valid frames into `batchSize` batches and runs them on free workers at once. */
  async #detectPooled(pool: WorkerPool<Frame[], DetectorWorkerResult>, frames: readonly Frame[], valid: number[], out: Detection[][]): Promise<void> {
    const batches: number[][] = [];
    for (let start = 0; start < valid.length; start += this.options.batchSize) batches.push(valid.slice(start, start + this.options.batchSize));
    await Promise.all(
      batches.map(async (idx) => {
        const r = await pool.run(idx.map((i) => frames[i] as Frame));
        this.stats.frames += r.frames;
        this.stats.forwardPasses += r.forwardPasses;
        this.stats.rejectedCandidates += r.rejectedCandidates;
        this.stats.refusedBatches += r.refusedBatches;
        idx.forEach((fi, j) => {
          out[fi] = r.detections[j] ?? [];
        });
      }),
    );
  }

  /** Worker threads detecting (1 when the detector runs in this thread). */
  get workers(): number {
    return this.#pool?.size ?? 1;
  }

  async #run(frames: Frame[]): Promise<Detection[][]> {
    const [iw, ih] = this.inputSize;
    const places: InputPlacement[] = [];
    const batch = tf.tidy(() => {
      const parts = frames.map((f) => {
        const { tensor, place } = frameToInput(f, iw, ih, this.options.resize);
        places.push(place);
        return tensor;
      });
      let x: tf.Tensor = tf.stack(parts);
      if (this.#plan.scale !== 1) x = tf.mul(x, this.#plan.scale);
      if (this.#plan.offset !== 0) x = tf.add(x, this.#plan.offset);
      return this.#layout === 'nchw' ? tf.transpose(x, [0, 3, 1, 2]) : x;
    });
    try {
      const ctx: DecodeContext = {
        batchSize: frames.length,
        inputWidth: iw,
        inputHeight: ih,
        labels: this.labels,
        classIndices: this.#classIndices,
        minScore: Math.min(...this.#thresholds.values()),
        maxCandidates: MAX_CANDIDATES,
      };
      const raw = await this.#infer(batch, ctx);
      this.stats.frames += frames.length;
      return places.map((place, b) => {
        const dets: Detection[] = [];
        for (const r of raw[b] ?? []) {
          const label = this.labels[r.classIndex];
          const min = label === undefined ? undefined : this.#thresholds.get(label);
          // A custom decoder's NaN, infinite or out-of-range score never becomes a detection (NaN fails the comparisons too).
          if (label === undefined || min === undefined || !(r.score >= min) || !(r.score <= 1)) {
            if (label === undefined || !(r.score >= 0 && r.score <= 1)) this.stats.rejectedCandidates++;
            continue;
          }
          const box = inputBoxToFrame(r.x1, r.y1, r.x2, r.y2, place);
          if (box !== undefined) dets.push({ box, label, score: r.score });
        }
        dets.sort((a, c) => c.score - a.score);
        if (dets.length > MAX_CANDIDATES) dets.length = MAX_CANDIDATES;
        return nonMaxSuppression(dets, this.options.iouThreshold, this.options.maxDetections);
      });
    } finally {
      batch.dispose();
    }
  }

  async #execute(x: tf.Tensor): Promise<tf.Tensor[]> {
    const r = await this.#net.execute(x, this.#outputs);
    this.stats.forwardPasses++;
    return r;
  }

  /**
   * Forward pass and decoding of a batch: in one pass, or, for a model that runs frame by frame ({@link
   * ObjectDetector.batchMode}), each frame on its own and decoded on its own (`batchSize` 1), so that neither the graph
   * nor its decoder sees two frames at once.
   */
  async #infer(batch: tf.Tensor, ctx: DecodeContext): Promise<RawDetection[][]> {
    const n = ctx.batchSize;
    if (this.#batched || n === 1) {
      let outputs: tf.Tensor[] | undefined;
      try {
        outputs = await this.#execute(batch);
      } catch (err) {
        // A batch the WebGPU device refused (GPU_ERROR) goes back to #runHalving, which builds smaller batches from the
        // frames again: running slices of this batch's input tensor read wrong data on lavapipe.
        if (n === 1 || isLeptonError(err, 'GPU_ERROR')) throw err;
        // Graphs that reshape to a hard-coded batch of 1 fail here; run them frame by frame from now on.
        this.#batched = false;
      }
      if (outputs !== undefined) {
        try {
          return await this.#decode(outputs, ctx);
        } finally {
          tf.dispose(outputs);
        }
      }
    }
    const raw: RawDetection[][] = [];
    for (let i = 0; i < n; i++) {
      const one = tf.slice(batch, [i], [1]);
      let outputs: tf.Tensor[];
      try {
        outputs = await this.#execute(one);
      } finally {
        one.dispose();
      }
      try {
        raw.push((await this.#decode(outputs, { ...ctx, batchSize: 1 }))[0] ?? []);
      } finally {
        tf.dispose(outputs);
      }
    }
    return raw;
  }

  /** The model's decoder; a failure of a decoder of your own is a typed `INVALID_MODEL`, not whatever it threw. */
  async #decode(outputs: tf.Tensor[], ctx: DecodeContext): Promise<RawDetection[][]> {
    let raw: unknown;
    try {
      raw = await this.#plan.decode(outputs, ctx);
    } catch (err) {
      if (isLeptonError(err)) throw err;
      throw new LeptonError('INVALID_MODEL', `The decoder of ${this.#plan.path} failed on outputs [${outputs.map((o) => o.shape.join('×')).join(', ')}]: ${thrownMessage(err)}`, { cause: err, details: { path: this.#plan.path } });
    }
    if (!Array.isArray(raw) || raw.length < ctx.batchSize || !raw.every((r) => Array.isArray(r))) {
      throw new LeptonError('INVALID_MODEL', `The decoder of ${this.#plan.path} did not return one detection list per frame of ${ctx.batchSize}.`, { details: { path: this.#plan.path } });
    }
    return raw as RawDetection[][];
  }

  /**
   * Free the model's weights (and, for a pooled detector, stop its workers once their batches are done). The
   * detector cannot be used afterwards. Await {@link ObjectDetector.close} instead to know when the workers are gone.
   */
  dispose(): void {
    void this.close();
  }

  /** Like {@link ObjectDetector.dispose}, resolving once every worker thread has finished and exited. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (!this.#disposed) this.#net.dispose();
    this.#disposed = true;
    await pool?.close();
  }
}

/** Starts the worker threads of a pooled detector, each loading the same model on this thread's backend. */
/** The message of anything a decoder of your own threw, without running its code (it may throw a non-Error). */
function thrownMessage(err: unknown): string {
  return types.isNativeError(err) && typeof err.message === 'string' ? err.message : describeValue(err);
}

async function startPool(options: ResolvedDetectorOptions): Promise<WorkerPool<Frame[], DetectorWorkerResult>> {
  const init: DetectorWorkerInit = {
    model: options.model,
    thresholds: options.thresholds,
    defaultThreshold: options.defaultThreshold,
    iouThreshold: options.iouThreshold,
    maxDetections: options.maxDetections,
    batchSize: options.batchSize,
    resize: options.resize,
    tiles: 1, // tiles and mirror images are made in the calling thread and spread over the workers as frames of their own
    flip: false,
    engine: options.engine,
    onnxThreads: options.onnxThreads,
    ...(options.classes === undefined ? {} : { classes: options.classes }),
  };
  return createWorkerPool<DetectorWorkerInit, Frame[], DetectorWorkerResult>({
    module: new URL('./detector-worker.js', import.meta.url),
    init,
    workers: options.workers,
    name: 'lepton-detector',
  });
}
