/**
 * 2.5-D inputs: an image and its neighbours along the slice normal, as channels. The neighbours come from the series'
 * geometry (Image Position/Orientation (Patient)), never from file names or Instance Numbers, and sit at the model's
 * slice spacing: a series with another spacing is interpolated to it, and beyond the first or last slice the edge
 * slice is repeated.
 *
 * @module
 */
import { LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { arrayInput, imageInput, sourceDetails } from './option-checks.js';
import { windowedPlane, type ImagePreprocessing, type PreprocessedImage } from './preprocess.js';
import { checkPreprocessing } from './preprocessing-check.js';
import { unitSliceNormal } from '../volume/vec.js';

/** Positions closer than this along the normal (mm) are the same position (duplicates, rounding in the files). */
const SAME_POSITION_MM = 1e-3;
/** Orientation cosines may differ by this much within one stack (rounding in the files), no more. */
const ORIENTATION_TOLERANCE = 1e-3;

/** One series' images ordered along the slice normal. */
interface PlacedSeries {
  /** Distinct positions along the normal, ascending, with the first image found at each. */
  t: number[];
  images: DicomImage[];
  /** Position of every image of the series. */
  at: Map<DicomImage, number>;
}

/** One channel of a stack: `(1 − w)·slice a + w·slice b`. */
interface Tap {
  a: DicomImage;
  b: DicomImage;
  w: number;
}


/**
 * Places one series' images along its slice normal (row direction × column direction, as PS3.3 C.7.6.2.1.1 defines
 * it). A single image needs no geometry.
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for images without Image Position/Orientation (Patient) or
 *   of different orientations
 */
function placeSeries(images: readonly DicomImage[]): PlacedSeries {
  if (images.length === 1) return { t: [0], images: [images[0]!], at: new Map([[images[0]!, 0]]) };
  const first = images[0]!.meta.imageOrientationPatient;
  const missing = images.find((im) => im.meta.imageOrientationPatient === undefined || im.meta.imagePositionPatient === undefined);
  if (first === undefined || missing !== undefined) {
    throw new LeptonError('INVALID_INPUT', 'An image has no Image Position/Orientation (Patient): a model that stacks adjacent slices places them by geometry, so every image of the series needs both.', { details: sourceDetails(missing ?? images[0]!) });
  }
  const odd = images.find((im) => im.meta.imageOrientationPatient!.some((v, i) => Math.abs(v - first[i]!) > ORIENTATION_TOLERANCE));
  if (odd !== undefined) throw new LeptonError('INVALID_INPUT', 'An image is oriented differently from the rest of its series; slices can only be stacked along one normal (groupSeries / buildVolume sort such series out).', { details: sourceDetails(odd) });
  const normal = unitSliceNormal(first);
  if (normal === undefined) {
    throw new LeptonError(
      'INVALID_INPUT',
      'The series\' Image Orientation (Patient) is unusable (a zero direction, or row and column directions that are not perpendicular), so its slices cannot be placed along a normal.',
      { details: { ...sourceDetails(images[0]!), orientation: [...first] } },
    );
  }
  const at = new Map<DicomImage, number>();
  for (const im of images) {
    const p = im.meta.imagePositionPatient!;
    at.set(im, p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2]);
  }
  const sorted = [...images].sort((a, b) => at.get(a)! - at.get(b)!);
  const t: number[] = [];
  const placed: DicomImage[] = [];
  for (const im of sorted) {
    const v = at.get(im)!;
    if (t.length > 0 && v - t[t.length - 1]! <= SAME_POSITION_MM) continue; // a duplicate position: the first one stands
    t.push(v);
    placed.push(im);
  }
  return { t, images: placed, at };
}

/** The median gap between distinct positions, or undefined for a single position. */
function medianGap(t: readonly number[]): number | undefined {
  if (t.length < 2) return undefined;
  const gaps = t.slice(1).map((v, i) => v - t[i]!).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/**
 * @internal The slice spacing a stacked model is trained at: the median of its series' median gaps along the normal,
 * else the first image's Slice Thickness.
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when neither exists
 */
export function trainingSliceSpacing(images: readonly DicomImage[]): number {
  const gaps = groupBySeries(images)
    .map((s) => medianGap(placeSeries(s).t))
    .filter((g): g is number => g !== undefined)
    .sort((a, b) => a - b);
  const spacing = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : images[0]?.meta.sliceThickness;
  if (!(spacing !== undefined && Number.isFinite(spacing) && spacing > 0)) {
    throw new LeptonError('INVALID_INPUT', 'No series has two slices at different positions and no image has a Slice Thickness, so the slice spacing of the stacks is unknown; pass sliceSpacingMm.');
  }
  return spacing;
}

function groupBySeries(images: readonly DicomImage[]): DicomImage[][] {
  const groups = new Map<string, DicomImage[]>();
  for (const im of images) {
    const key = im.meta.seriesInstanceUid ?? '';
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [im]);
    else g.push(im);
  }
  return [...groups.values()];
}

/**
 * @internal Builds stacked inputs for images of the given series, reusing each slice's resampled plane while it is
 * needed (at most `cache` planes are kept).
 */
export class SliceStacks {
  readonly #series = new Map<DicomImage, PlacedSeries>();
  readonly #planes = new Map<DicomImage, Promise<Float32Array>>();

  /**
   * @param context - every image that may serve as a neighbour (any order, any number of series)
   * @param prep - the preprocessing, with `slices` and `sliceSpacingMm`
   * @param cache - planes kept in memory
   */
  constructor(
    context: readonly DicomImage[],
    private readonly prep: ImagePreprocessing,
    private readonly cache = 64,
  ) {
    for (const group of groupBySeries(context)) {
      const placed = placeSeries(group);
      for (const im of group) this.#series.set(im, placed);
    }
  }

  /**
   * Indices of `images` in series, then slice order, so that consecutive stacks share their planes (in any other order
   * the bounded cache would decode and resample most slices `slices` times).
   */
  order(images: readonly DicomImage[]): number[] {
    const series = [...new Set(this.#series.values())];
    const key = (im: DicomImage): [number, number] => {
      const s = this.#series.get(im);
      return s === undefined ? [-1, 0] : [series.indexOf(s), s.at.get(im)!];
    };
    const keys = images.map(key);
    return images.map((_, i) => i).sort((a, b) => keys[a]![0] - keys[b]![0] || keys[a]![1] - keys[b]![1] || a - b);
  }

  /** The taps of each channel, in order along the normal; the centre channel is the image itself. */
  taps(image: DicomImage): Tap[] {
    const s = this.#series.get(image);
    if (s === undefined) throw new LeptonError('INVALID_ARGUMENT', 'The image is not among the series\' images; pass the series the image belongs to.', { details: sourceDetails(image) });
    const k = this.prep.slices ?? 1;
    const spacing = this.prep.sliceSpacingMm ?? 0;
    const t0 = s.at.get(image)!;
    const n = s.t.length;
    return Array.from({ length: k }, (_, j): Tap => {
      const d = (j - (k - 1) / 2) * spacing;
      if (d === 0) return { a: image, b: image, w: 0 };
      const target = t0 + d;
      // Beyond the ends the edge slice stands in (what a reader sees scrolling past the last slice).
      if (target <= s.t[0]! + SAME_POSITION_MM) return { a: s.images[0]!, b: s.images[0]!, w: 0 };
      if (target >= s.t[n - 1]! - SAME_POSITION_MM) return { a: s.images[n - 1]!, b: s.images[n - 1]!, w: 0 };
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (s.t[mid]! <= target) lo = mid;
        else hi = mid;
      }
      // A neighbour at the model's spacing is taken as it is; between two slices (another spacing, a gap) the two
      // are interpolated linearly.
      if (target - s.t[lo]! <= SAME_POSITION_MM) return { a: s.images[lo]!, b: s.images[lo]!, w: 0 };
      if (s.t[hi]! - target <= SAME_POSITION_MM) return { a: s.images[hi]!, b: s.images[hi]!, w: 0 };
      return { a: s.images[lo]!, b: s.images[hi]!, w: (target - s.t[lo]!) / (s.t[hi]! - s.t[lo]!) };
    });
  }

  /**
   * The normalised stack of one image (`size[0] × size[1] × slices`, channels last) and its own windowed plane.
   *
   * @param image - one of the context's images
   * @returns the input and the centre plane
   */
  async input(image: DicomImage): Promise<PreprocessedImage> {
    const taps = this.taps(image);
    const k = taps.length;
    const planes = await Promise.all(
      taps.map(async ({ a, b, w }) => {
        const pa = await this.plane(a);
        if (w === 0) return pa;
        const pb = await this.plane(b);
        const out = new Float32Array(pa.length);
        for (let i = 0; i < out.length; i++) out[i] = pa[i]! * (1 - w) + pb[i]! * w;
        return out;
      }),
    );
    const { mean, std } = this.prep;
    const size = planes[0]!.length;
    const input = new Float32Array(size * k);
    for (let j = 0; j < k; j++) {
      const p = planes[j]!;
      for (let i = 0; i < size; i++) input[i * k + j] = (p[i]! - mean) / std;
    }
    return { input, windowed: planes[(k - 1) / 2]! };
  }

  private plane(image: DicomImage): Promise<Float32Array> {
    let p = this.#planes.get(image);
    if (p !== undefined) {
      this.#planes.delete(image); // most recently used goes last
    } else {
      p = windowedPlane(image, this.prep);
      p.catch(() => undefined); // awaited by the caller; a failure must not also count as unhandled here
    }
    this.#planes.set(image, p);
    while (this.#planes.size > this.cache) this.#planes.delete(this.#planes.keys().next().value!);
    return p;
  }
}

/**
 * The model input of one image of a series for a model that stacks adjacent slices (2.5-D, `prep.slices` > 1): the
 * image and its neighbours at `prep.sliceSpacingMm` along the slice normal, ordered along the normal (row direction ×
 * column direction of Image Orientation (Patient)), as channels. Neighbours are placed by Image Position (Patient), not
 * by file name or Instance Number; a series with another spacing is interpolated linearly between its two nearest
 * slices; beyond the first or last slice the edge slice is repeated. With `prep.slices` 1 it is the image alone, as
 * {@link preprocessImage} gives it.
 *
 * @param image - the image
 * @param series - the images of its series (any order; the image among them; other series are ignored)
 * @param prep - the preprocessing stored with the model
 * @returns `size[0] × size[1] × slices` normalised values (channels last) and the image's windowed plane at model size
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the image is not in `series`, `image` or an item of
 *   `series` is not a DicomImage, or `prep` is not a preprocessing a model could store (see {@link preprocessImage};
 *   `slices` above 1 also needs `sliceSpacingMm` > 0); `INVALID_INPUT` when `series` is not an array, or the series'
 *   images lack Image Position/Orientation (Patient) or differ in orientation
 * @example
 * ```ts
 * import { DiagnosisModel, preprocessStack, readDicomFolder } from '@lepton/medical';
 * const model = await DiagnosisModel.load('/tmp/ct-model'); // e.g. trained with slices: 3
 * const { images } = await readDicomFolder('/tmp/ct-study/PAT001');
 * const { input } = await preprocessStack(images[0]!, images, model.preprocessing);
 * console.log(input.length); // rows × columns × 3
 * ```
 */
export async function preprocessStack(image: DicomImage, series: readonly DicomImage[], prep: ImagePreprocessing): Promise<PreprocessedImage> {
  // Each was a TypeError (series.filter is not a function, reading meta of a number), or a NaN or RangeError from an
  // unchecked prep: a NaN slices made no channels, Infinity an array of infinite length.
  imageInput(image, 'preprocessStack: image');
  arrayInput(series, 'preprocessStack: series').forEach((im, i) => imageInput(im, `preprocessStack: series[${i}]`));
  checkPreprocessing(prep, 'preprocessStack');
  const sameSeries = series.filter((im) => (im.meta.seriesInstanceUid ?? '') === (image.meta.seriesInstanceUid ?? ''));
  return new SliceStacks(sameSeries, prep, 2 * (prep.slices ?? 1) + 2).input(image);
}
