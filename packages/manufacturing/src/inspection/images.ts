import { describeValue, LeptonError, tf } from '@lepton/core';
import { each, kindOf } from '../internal/guards.js';

/**
 * A grayscale image as the inspection models take it: `width × height` pixel values in [0, 1], row-major
 * (`image[row * width + col]`). Scale 8-bit camera frames by 1/255 first.
 */
export type GrayImage = ArrayLike<number>;

/** Image size a model was trained for. */
export interface ImageSize {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * Checks every image (size, finite values, [0, 1] range) and stacks them as `[n, height, width, 1]`.
 * Checking here, before any tensor exists, matters: XNNPACK kernels on wasm turn NaN into 0 in places, so a
 * corrupt frame would otherwise be scored as a plausible part instead of being refused.
 *
 * @internal
 */
export function stackImages(images: readonly GrayImage[], size: ImageSize, what: string): tf.Tensor4D {
  return tf.tensor4d(packImages(images, size, what), [images.length, size.height, size.width, 1]);
}

/**
 * Checks every image as {@link stackImages} does and packs them row-major into one new array (image after image).
 *
 * @internal
 */
export function packImages(images: readonly GrayImage[], size: ImageSize, what: string): Float32Array {
  const { width, height } = size;
  const pixels = width * height;
  const data = new Float32Array(images.length * pixels);
  each(images, (image, n) => {
    if (image === null || typeof image !== 'object' || typeof image.length !== 'number') {
      throw new LeptonError('INVALID_INPUT', `${what}: image ${n} is not an array of pixel values.`);
    }
    if (image.length !== pixels) {
      throw new LeptonError(
        'INVALID_INPUT',
        `${what}: image ${n} has ${image.length} pixels; this model takes ${width}×${height} = ${pixels} grayscale values, row-major. Resize or crop the image first.`,
        { details: { image: n, pixels: image.length, width, height } },
      );
    }
    for (let i = 0; i < pixels; i++) {
      const v = image[i]!;
      if (!Number.isFinite(v)) {
        throw new LeptonError('INVALID_INPUT', `${what}: image ${n} has a non-finite value (${kindOf(v)}) at pixel ${i}; repair or drop the frame.`, {
          details: { image: n, pixel: i },
        });
      }
      if (v < 0 || v > 1) {
        throw new LeptonError('INVALID_INPUT', `${what}: image ${n} has value ${v} at pixel ${i}; pixels must be in [0, 1] (divide 8-bit values by 255).`, {
          details: { image: n, pixel: i },
        });
      }
      data[n * pixels + i] = v;
    }
  });
  return data;
}

/** @internal Validates a positive integer option (at most 65,536: a size, channel or epoch count beyond is a mistake, and would fail an allocation). */
export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65_536) throw new LeptonError('INVALID_ARGUMENT', `${name} must be a positive integer (at most 65536), got ${describeValue(value)}.`);
  return value;
}

/** @internal Throws `INVALID_INPUT` unless `images` is an array (the images themselves are checked by {@link packImages}). */
export function imageList(images: unknown, what: string, field = 'images'): void {
  if (!Array.isArray(images)) throw new LeptonError('INVALID_INPUT', `${what}: ${field} must be an array of images, got ${describeValue(images)}.`, { details: { field } });
}

/** @internal Throws `INVALID_ARGUMENT` unless `options` is an options object. */
export function optionsOf(options: unknown, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new LeptonError('INVALID_ARGUMENT', `${what}: options must be an object, got ${describeValue(options)}.`, { details: { field: 'options' } });
}

/** @internal Throws `INVALID_ARGUMENT` unless `seed` is a finite number. */
export function seedOf(seed: unknown, what: string): number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new LeptonError('INVALID_ARGUMENT', `${what}: seed must be a finite number, got ${describeValue(seed)}.`, { details: { field: 'options.seed' } });
  return seed;
}

/** @internal Float32 values as base64 (exact round trip through a JSON manifest). */
export function encodeFloats(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** @internal Inverse of {@link encodeFloats}. */
export function decodeFloats(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
