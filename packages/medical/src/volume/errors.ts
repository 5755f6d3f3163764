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
 * - `VOLUME_TOO_LARGE` — `resampleVolume` would make more voxels than its `maxVoxels` (default
 *   {@link MAX_RESAMPLE_VOXELS}): a spacing far finer than the volume's, or a volume whose extent is absurd; or
 *   `buildVolume`'s grid would exceed its `maxVoxels` (default {@link MAX_BUILD_VOXELS}).
 */
export type VolumeErrorCode = 'VOLUME_EMPTY' | 'VOLUME_MULTIPLE_SERIES' | 'VOLUME_NO_GEOMETRY' | 'VOLUME_UNSUPPORTED' | 'VOLUME_TOO_LARGE';

/**
 * Default bound on the voxels {@link resampleVolume} makes: 2^27 (134 million voxels, 512 MiB of Float32 — a
 * 512 × 512 × 512 volume is exactly 2^27). Raise it per call with `maxVoxels`, up to {@link MAX_RESAMPLE_VOXELS_LIMIT}.
 */
export const MAX_RESAMPLE_VOXELS = 2 ** 27;
/** The most `maxVoxels` may be raised to: 2^29 voxels (2 GiB of Float32). */
export const MAX_RESAMPLE_VOXELS_LIMIT = 2 ** 29;

/**
 * Default bound on the voxels {@link buildVolume} allocates: 2^29 (2 GiB of Float32, e.g. 512 × 512 × 2048). The
 * grid is checked against it before anything is allocated; raise or lower it per call with `maxVoxels`.
 */
export const MAX_BUILD_VOXELS = 2 ** 29;

/** @internal */
export function volumeError(code: VolumeErrorCode, message: string, details: Record<string, unknown> = {}): LeptonError {
  return new LeptonError(code, message, { details });
}
