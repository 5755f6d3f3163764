import { LeptonError, describeValue, tf } from '@lepton/core';
import type { Box, Frame } from '../types.js';

/**
 * How a frame is fitted into a detector's fixed input size.
 *
 * - `'letterbox'` — scale to fit keeping the aspect ratio, centre, and pad the rest with black (objects keep their
 *   shape; the usual choice for detectors).
 * - `'stretch'` — resize to the input size ignoring the aspect ratio (no padding; wide frames squash objects).
 */
export type ResizeMode = 'letterbox' | 'stretch';

/** Where a frame landed inside the model input: input pixel `u` maps back to frame pixel `(u - padX) / scaleX`. */
export interface InputPlacement {
  /** Frame width in pixels. */
  frameWidth: number;
  /** Frame height in pixels. */
  frameHeight: number;
  /** Input pixels per frame pixel, horizontally. */
  scaleX: number;
  /** Input pixels per frame pixel, vertically. */
  scaleY: number;
  /** Left padding in input pixels. */
  padX: number;
  /** Top padding in input pixels. */
  padY: number;
}

/** %TypedArray%.prototype: its intrinsic getters read internal slots and never run a caller's code. */
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
/** The intrinsic `length` getter of typed arrays: an own `length` property on an instance cannot lie to it. */
const typedArrayLength = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'length')!.get!;
/** The intrinsic `Symbol.toStringTag` getter: 'Uint8Array' for a real one (Buffer too), undefined for anything else. */
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag)!.get!;

/**
 * @internal Whether `value` is a real Uint8Array (or Buffer), decided without running any of its code: `instanceof`
 * walks a prototype chain a Proxy can intercept, and a Proxy around a typed array is not one.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return typedArrayTag.call(value) === 'Uint8Array';
}

/** @internal The number of bytes a real Uint8Array holds, whatever own `length` or `byteLength` it was given. */
export function byteCount(data: Uint8Array): number {
  return typedArrayLength.call(data) as number;
}

/** @internal Checks that a frame's buffer matches its size; returns a message when it does not. */
export function frameProblem(frame: Frame): string | undefined {
  if (frame === null || typeof frame !== 'object') return 'not a frame object';
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) return `width ${describeValue(width)} × height ${describeValue(height)} is not a positive integer size`;
  if (!isUint8Array(data)) return 'data is not a Uint8Array';
  const length = byteCount(data);
  if (length !== width * height * 3) return `data holds ${length} bytes, expected width × height × 3 = ${width * height * 3}`;
  return undefined;
}

/**
 * @internal A frame from a caller, read once into a plain object, and checked ({@link frameProblem}). Each field's getter
 * runs once, so a frame cannot change between the check and its use; a getter that throws, or a Proxy whose trap
 * throws, makes an invalid frame (`problem`) instead of an error escaping.
 */
export function readFrame(frame: unknown): { frame: Frame; problem?: undefined } | { frame?: undefined; problem: string } {
  if (frame === null || typeof frame !== 'object') return { problem: 'not a frame object' };
  let copy: Frame;
  try {
    const { camera, index, sourceIndex, time, wallTime, width, height, data } = frame as Frame;
    copy = { camera, index, sourceIndex, time, wallTime, width, height, data };
  } catch {
    return { problem: 'reading its fields threw' };
  }
  const problem = frameProblem(copy);
  return problem === undefined ? { frame: copy } : { problem };
}

/**
 * @internal A frame's name for messages, `camera#index`, and the same two as safe details: a camera or index from
 * JavaScript may be anything, so they are described ({@link describeValue}), never interpolated as they are.
 */
export function frameName(frame: unknown): { name: string; details: { camera: string; index: number | string } } {
  let f: { camera?: unknown; index?: unknown } = {};
  try {
    if (frame !== null && typeof frame === 'object') f = { camera: (frame as { camera?: unknown }).camera, index: (frame as { index?: unknown }).index };
  } catch {
    // a getter or Proxy trap that throws: the frame is named by what could be read, i.e. nothing
  }
  const plain = typeof f.camera === 'string' && f.camera.length <= 120 && !/[\u0000-\u001f]/.test(f.camera);
  const camera = plain ? (f.camera as string) : describeValue(f.camera);
  const index = typeof f.index === 'number' ? f.index : describeValue(f.index);
  return { name: `${camera}#${String(index)}`, details: { camera, index } };
}

/** @internal The `INVALID_INPUT` error of a frame that is not packed RGB of its size (`problem` says why). */
export function invalidFrameError(frame: unknown, problem: string, advice = ''): LeptonError {
  const { name, details } = frameName(frame);
  return new LeptonError('INVALID_INPUT', `Frame ${name}: ${problem}.${advice}`, { details });
}

/** @internal Throws `INVALID_INPUT` for a frame whose buffer does not match its size. */
export function assertFrame(frame: Frame): void {
  const problem = frameProblem(frame);
  if (problem !== undefined) throw invalidFrameError(frame, problem, ' Pass packed RGB frames (3 bytes a pixel).');
}

/** @internal The placement of a `frameWidth × frameHeight` frame in an `inputWidth × inputHeight` input. */
export function placement(frameWidth: number, frameHeight: number, inputWidth: number, inputHeight: number, mode: ResizeMode): InputPlacement & { width: number; height: number } {
  if (mode === 'stretch') {
    return { frameWidth, frameHeight, scaleX: inputWidth / frameWidth, scaleY: inputHeight / frameHeight, padX: 0, padY: 0, width: inputWidth, height: inputHeight };
  }
  const s = Math.min(inputWidth / frameWidth, inputHeight / frameHeight);
  const width = Math.max(1, Math.min(inputWidth, Math.round(frameWidth * s)));
  const height = Math.max(1, Math.min(inputHeight, Math.round(frameHeight * s)));
  const padX = Math.floor((inputWidth - width) / 2);
  const padY = Math.floor((inputHeight - height) / 2);
  return { frameWidth, frameHeight, scaleX: width / frameWidth, scaleY: height / frameHeight, padX, padY, width, height };
}

/**
 * @internal Frame → float32 `[inputHeight, inputWidth, 3]` tensor with RGB values 0–255, resized per `mode`
 * (bilinear, half-pixel centres). The caller owns the returned tensor.
 */
export function frameToInput(frame: Frame, inputWidth: number, inputHeight: number, mode: ResizeMode): { tensor: tf.Tensor3D; place: InputPlacement } {
  const p = placement(frame.width, frame.height, inputWidth, inputHeight, mode);
  const tensor = tf.tidy(() => {
    const pixels = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32').toFloat();
    const resized = p.width === frame.width && p.height === frame.height ? pixels : tf.image.resizeBilinear(pixels, [p.height, p.width], false, true);
    if (p.width === inputWidth && p.height === inputHeight) return resized;
    return tf.pad(resized, [
      [p.padY, inputHeight - p.height - p.padY],
      [p.padX, inputWidth - p.width - p.padX],
      [0, 0],
    ]);
  });
  const place: InputPlacement = { frameWidth: p.frameWidth, frameHeight: p.frameHeight, scaleX: p.scaleX, scaleY: p.scaleY, padX: p.padX, padY: p.padY };
  return { tensor, place };
}

/**
 * @internal Maps a box given by corners in model-input pixels back to frame pixels, clipped to the frame.
 * Returns undefined when nothing of it is inside the frame.
 */
export function inputBoxToFrame(x1: number, y1: number, x2: number, y2: number, p: InputPlacement): Box | undefined {
  const fx1 = Math.min(Math.max((x1 - p.padX) / p.scaleX, 0), p.frameWidth);
  const fy1 = Math.min(Math.max((y1 - p.padY) / p.scaleY, 0), p.frameHeight);
  const fx2 = Math.min(Math.max((x2 - p.padX) / p.scaleX, 0), p.frameWidth);
  const fy2 = Math.min(Math.max((y2 - p.padY) / p.scaleY, 0), p.frameHeight);
  if (!(fx2 > fx1 && fy2 > fy1)) return undefined;
  return { x: fx1, y: fy1, width: fx2 - fx1, height: fy2 - fy1 };
}
