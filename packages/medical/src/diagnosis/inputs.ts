/**
 * Model inputs of many images, 2-D or stacked, in groups that bound memory whatever the input size.
 *
 * @module
 */
import type { DicomImage } from '../dicom/image.js';
import { preprocessImage, type ImagePreprocessing, type PreprocessedImage } from './preprocess.js';
import { SliceStacks } from './stack.js';

/** Input values (floats) one group of images may hold: 64 images of 128×128×3, 768 of 64×64. */
const GROUP_VALUES = 64 * 128 * 128 * 3;

/** @internal Images per group: at most 64, fewer for large inputs (a 512×512×3 input is 3 MiB of floats). */
export function groupSize(prep: ImagePreprocessing): number {
  const [h, w] = prep.size;
  return Math.max(1, Math.min(64, Math.floor(GROUP_VALUES / (h * w * (prep.slices ?? 1)))));
}

/** @internal Where a model's inputs come from: each image alone, or its stack within the context's series. */
export interface InputSource {
  /** The order to prepare `images` in (indices). */
  order(images: readonly DicomImage[]): number[];
  /** The inputs of `images`, in the given order. */
  inputs(images: readonly DicomImage[]): Promise<PreprocessedImage[]>;
}

/**
 * @internal An input source for `prep`: 2-D models preprocess each image on its own; stacked models find the
 * neighbours among `context` (the images of the call: a series, a training set).
 */
export function inputSource(context: readonly DicomImage[], prep: ImagePreprocessing): InputSource {
  if ((prep.slices ?? 1) === 1) {
    return {
      order: (images) => images.map((_, i) => i),
      inputs: (images) => Promise.all(images.map((im) => preprocessImage(im, prep))),
    };
  }
  // In slice order, a stack shares all but one plane with the previous one: 2·slices planes of cache are plenty.
  const stacks = new SliceStacks(context, prep, 2 * (prep.slices ?? 1) + 2);
  return {
    order: (images) => stacks.order(images),
    inputs: async (images) => {
      const out: PreprocessedImage[] = [];
      for (const im of images) out.push(await stacks.input(im));
      return out;
    },
  };
}

/**
 * @internal Prepares `images` group by group in the source's order and hands each group to `use` with the images'
 * indices; returns when every group has been handed over.
 */
export async function forEachGroup(
  images: readonly DicomImage[],
  source: InputSource,
  prep: ImagePreprocessing,
  use: (indices: number[], inputs: PreprocessedImage[]) => Promise<void> | void,
): Promise<void> {
  const order = source.order(images);
  const n = groupSize(prep);
  for (let g = 0; g < order.length; g += n) {
    const indices = order.slice(g, g + n);
    await use(indices, await source.inputs(indices.map((i) => images[i]!)));
  }
}
