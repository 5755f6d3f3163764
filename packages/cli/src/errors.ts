/**
 * Every `LeptonError` code `@lepton/cli` adds to those of `@lepton/core` and `@lepton/medical` (which its commands
 * raise too: `BUNDLE_INVALID`, `DICOM_READ_FAILED` …), at run time. {@link CliErrorCode} documents each one. The
 * command line's own failures are not `LeptonError`s and have their own codes (`CLI_USAGE`, `CLI_CORE_MISSING`,
 * `CLI_CORE_BROKEN`, `CLI_MEDICAL_MISSING`, `CLI_FAILED`), listed in the README's exit codes. This module imports
 * nothing at run time, so `lepton --help` works without `@lepton/core`.
 */
export const CLI_ERROR_CODES = ['WRITE_FAILED'] as const;

/**
 * A `LeptonError` code `@lepton/cli` adds (one of {@link CLI_ERROR_CODES}); with core's codes it makes up
 * `LeptonErrorCode` in a program that imports `@lepton/cli`.
 *
 * - `WRITE_FAILED` — an output file (a key, a signature, a PNG) could not be written, or exists and `--force` was not
 *   given.
 */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/cli` ({@link CLI_ERROR_CODES}). */
    cli: CliErrorCode;
  }
}
