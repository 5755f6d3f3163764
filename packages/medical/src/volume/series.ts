import { describeValue, LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';

/** The images of one series, as grouped by {@link groupSeries}. */
export interface DicomSeries {
  /** Series Instance UID (0020,000E); `''` for images that have none (they are grouped together). */
  readonly seriesInstanceUid: string;
  /** Study Instance UID of the series' first image, when present. */
  readonly studyInstanceUid: string | undefined;
  /** Modality of the series' first image, e.g. `CT`. */
  readonly modality: string | undefined;
  /** Series Description of the series' first image. */
  readonly seriesDescription: string | undefined;
  /** Series Number of the series' first image. */
  readonly seriesNumber: number | undefined;
  /** The images, in the order they were given (slice order is {@link buildVolume}'s job, from geometry). */
  readonly images: readonly DicomImage[];
}

/**
 * Groups images by Series Instance UID. A folder from a PACS export usually holds several series (localizers, thin
 * and thick reconstructions, other studies): this is how to pick the one to stack.
 *
 * @param images - images from any number of series (e.g. {@link readDicomFolder}'s `images`)
 * @returns one {@link DicomSeries} per Series Instance UID, in order of Series Number, then UID; images without a
 *   Series Instance UID form one group with `seriesInstanceUid` `''`
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `images` is not an array of DicomImages
 * @example
 * ```ts
 * import { readDicomFolder, groupSeries } from '@lepton/medical';
 * const { images } = await readDicomFolder('packages/medical/test/fixtures/volume');
 * for (const s of groupSeries(images)) console.log(s.seriesNumber, s.seriesDescription, s.images.length);
 * ```
 */
export function groupSeries(images: readonly DicomImage[]): DicomSeries[] {
  checkImages(images, 'groupSeries');
  const groups = new Map<string, DicomImage[]>();
  for (const image of images) {
    const uid = image.meta.seriesInstanceUid ?? '';
    let group = groups.get(uid);
    if (group === undefined) groups.set(uid, (group = []));
    group.push(image);
  }
  const series: DicomSeries[] = [...groups].map(([uid, group]) => {
    const m = group[0]!.meta;
    return {
      seriesInstanceUid: uid,
      studyInstanceUid: m.studyInstanceUid,
      modality: m.modality,
      seriesDescription: m.seriesDescription,
      seriesNumber: m.seriesNumber,
      images: group,
    };
  });
  return series.sort(
    (a, b) =>
      (a.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.seriesNumber ?? Number.MAX_SAFE_INTEGER) ||
      (a.seriesInstanceUid < b.seriesInstanceUid ? -1 : a.seriesInstanceUid > b.seriesInstanceUid ? 1 : 0),
  );
}

/**
 * @internal Images from a JavaScript caller: an array of DicomImages (anything with the `meta` and `modalityFrame` a
 * DicomImage has), so that a null or a number in the list is a typed error, not a TypeError deep inside.
 */
export function checkImages(images: unknown, where: string): asserts images is readonly DicomImage[] {
  if (!Array.isArray(images)) throw new LeptonError('INVALID_ARGUMENT', `${where}: expected an array of DicomImages, got ${describeValue(images)}.`);
  images.forEach((im: unknown, i) => {
    const meta: unknown = typeof im === 'object' && im !== null ? (im as DicomImage).meta : undefined;
    if (typeof meta !== 'object' || meta === null || typeof (im as DicomImage).modalityFrame !== 'function') {
      throw new LeptonError('INVALID_ARGUMENT', `${where}: image ${i} is ${describeValue(im)}, not a DicomImage (from readDicom or readDicomFolder).`, { details: { index: i } });
    }
  });
}
