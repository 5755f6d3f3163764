import { LeptonError } from '@lepton/core';

/**
 * Error codes thrown when a series cannot become a volume (always inside a `LeptonError`). Problems that still let a
 * volume be built — gaps, duplicates, slices of another orientation — are not errors: they come back as
 * {@link VolumeIssue}s next to the volume.
 *
 * - `VOLUME_EMPTY` — no image with usable pixels was given (or every one failed to decode).
 * - `VOLUME_MULTIPLE_SERIES` — the images belong to more than one series; pick one with {@link groupSeries}.
 * - `VOLUME_NO_GEOMETRY` — no image has Image Position/Orientation (Patient), so slices cannot be placed in space.
 * - `VOLUME_UNSUPPORTED` — the images are colour or multi-frame, which this builder does not stack.
 */
export type VolumeErrorCode = 'VOLUME_EMPTY' | 'VOLUME_MULTIPLE_SERIES' | 'VOLUME_NO_GEOMETRY' | 'VOLUME_UNSUPPORTED';

/** @internal */
export function volumeError(code: VolumeErrorCode, message: string, details: Record<string, unknown> = {}): LeptonError {
  return new LeptonError(code, message, { details });
}
