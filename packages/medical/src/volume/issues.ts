/** What every {@link VolumeIssue} has. */
export interface VolumeIssueBase {
  /** A sentence that says what was found and what was done about it (no patient data). */
  readonly message: string;
  /** The images concerned: their `source` (file path), or `image <n>` (position in the input) when they have none. */
  readonly sources: readonly string[];
}

/** Neighbouring slices are further apart than the series' spacing allows: slices are missing. */
export interface GapIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'gap';
  /** Distance in mm between the two slices around the gap (`sources`: the one before, then the one after). */
  readonly spacing: number;
  /** The series' slice spacing (the median distance between neighbouring slices), mm. */
  readonly expectedSpacing: number;
  /** How many slices are missing. */
  readonly missingSlices: number;
  /** Volume slice indices (`k`) that were filled by linear interpolation between the slices around the gap. */
  readonly filledSlices: readonly number[];
}

/** Neighbouring slices are closer or further apart than the series' spacing, by less than a whole slice. */
export interface IrregularSpacingIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'irregularSpacing';
  /** Distance in mm between the two slices (`sources`). */
  readonly spacing: number;
  /** The series' slice spacing, mm. */
  readonly expectedSpacing: number;
  /** Volume slice indices that fall between acquired slices and were interpolated. */
  readonly interpolatedSlices: readonly number[];
}

/** Several images lie at the same position along the slice normal; one is used. */
export interface DuplicateIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'duplicate';
  /** The image that was used (the first by Instance Number, then source). */
  readonly kept: string;
  /** Whether all the duplicates have the same modality values (a re-sent copy) or not (conflicting data). */
  readonly identicalPixels: boolean;
  /** Position along the slice normal, mm. */
  readonly position: number;
}

/** Images of the series with another Image Orientation (a localizer, say); they were left out. */
export interface MixedOrientationIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'mixedOrientation';
  /** The orientation the volume was built from (the most common one): row then column direction cosines. */
  readonly orientation: readonly number[];
  /** The orientations of the images left out, in `sources` order. */
  readonly excludedOrientations: readonly (readonly number[])[];
}

/** Images with the volume's orientation but other Rows, Columns or Pixel Spacing; they were left out. */
export interface MixedGeometryIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'mixedGeometry';
}

/** Images without Image Position/Orientation (Patient): they cannot be placed, so they were left out. */
export interface MissingGeometryIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'missingGeometry';
}

/** Colour, multi-frame or pixel-less images: this builder stacks single-frame greyscale slices only. */
export interface UnsupportedImageIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'unsupportedImage';
}

/** An image whose pixels could not be decoded; it was left out (a gap may follow). */
export interface UnreadableSliceIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'unreadable';
  /** The decoder's `LeptonError` code, e.g. `DICOM_DECODE_FAILED`. */
  readonly code: string;
}

/**
 * The slices are stacked along a direction that is not their normal (typically CT gantry tilt). The volume is
 * still exact — its `k` axis follows the slice positions — but it is sheared: `direction[2]` is not perpendicular
 * to the slices.
 */
export interface ShearedIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'sheared';
  /** Angle in degrees between the slice normal and the slice-to-slice direction. */
  readonly angle: number;
}

/**
 * An image whose Image Position (Patient) does not fit the series: off the line the other slices lie on (`inPlane`:
 * its position projected on the row/column directions disagrees with the rest by more than `inPlaneTolerance`), or so
 * far along the normal from the others (`alongNormal`: more than `maxGapSlices` slice spacings) that it would
 * stretch the volume. Such a position is taken as an error in the file; the image was left out.
 */
export interface OutlierPositionIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'outlierPosition';
  /** How the position disagrees with the series. */
  readonly reason: 'inPlane' | 'alongNormal';
  /** How far off each image in `sources` is, mm: in-plane distance from the slice line, or distance along the normal to the nearest kept slice. */
  readonly offsets: readonly number[];
}

/**
 * Image Orientation (Patient) whose row and column direction cosines are not unit vectors or not perpendicular (by
 * less than the bound that refuses it): the vectors were normalised and used as they are.
 */
export interface NonOrthogonalOrientationIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'nonOrthogonalOrientation';
  /** Angle between the row and column directions, degrees (90 for a valid orientation). */
  readonly angle: number;
  /** Lengths of the row and column direction cosine vectors as written (1 for a valid orientation). */
  readonly norms: readonly [number, number];
}

/** A spacing the files do not give was assumed (no Pixel Spacing, or a single slice without slice spacing). */
export interface AssumedSpacingIssue extends VolumeIssueBase {
  /** Discriminator. */
  readonly kind: 'assumedSpacing';
  /** Which spacing was assumed. */
  readonly axis: 'pixel' | 'slice';
  /** The value used, mm. */
  readonly value: number;
}

/**
 * Something {@link buildVolume} found in a series that did not stop it from building a volume. Switch on `kind`.
 */
export type VolumeIssue =
  | GapIssue
  | IrregularSpacingIssue
  | DuplicateIssue
  | MixedOrientationIssue
  | MixedGeometryIssue
  | MissingGeometryIssue
  | UnsupportedImageIssue
  | UnreadableSliceIssue
  | ShearedIssue
  | AssumedSpacingIssue
  | OutlierPositionIssue
  | NonOrthogonalOrientationIssue;
