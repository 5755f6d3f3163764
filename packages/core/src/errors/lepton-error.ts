import type { LeptonErrorCode } from './codes.js';

/** Options accepted by {@link LeptonError}'s constructor. */
export interface LeptonErrorOptions {
  /** The underlying error, kept for debugging (`err.cause`). */
  cause?: unknown;
  /** Structured, machine-readable context. Never put patient data or card numbers here. */
  details?: Record<string, unknown>;
}

/**
 * The one error class every Lepton package throws for bad input, bad configuration or an unavailable
 * capability. `code` is stable; `message` says what was wrong and what to do about it.
 *
 * @example
 * ```ts
 * import { LeptonError } from '@lepton/core';
 * try {
 *   throw new LeptonError('INVALID_ARGUMENT', 'maxBatchSize must be ≥ 1; pass a positive integer.');
 * } catch (err) {
 *   if (err instanceof LeptonError) console.log(err.code); // 'INVALID_ARGUMENT'
 * }
 * ```
 */
export class LeptonError extends Error {
  /**
   * Stable, machine-readable error code: one of the codes of the Lepton packages in the program
   * ({@link LeptonErrorCode}, e.g. `OVERLOADED`, `DICOM_TRUNCATED`).
   */
  readonly code: LeptonErrorCode;
  /** Structured context (shapes, file names, kernel names …). */
  readonly details: Record<string, unknown>;

  /**
   * @param code - stable error code; one of {@link LeptonErrorCode} (an application registers codes of its own in
   *   {@link @lepton/core!LeptonErrorCodes})
   * @param message - what was wrong and what to do about it
   * @param options - cause and structured details
   */
  constructor(code: LeptonErrorCode, message: string, options: LeptonErrorOptions = {}) {
    // null options were a TypeError while an error was being reported
    const o: LeptonErrorOptions = options !== null && typeof options === 'object' ? options : {};
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'LeptonError';
    this.code = code;
    this.details = o.details !== null && typeof o.details === 'object' ? o.details : {};
  }
}

/**
 * Type guard: is `err` a {@link LeptonError}, optionally with the given code?
 *
 * @param err - any thrown value
 * @param code - when given, also require this code
 * @returns true when `err` is a LeptonError (with `code`, if given)
 * @example
 * ```ts
 * import { isLeptonError } from '@lepton/core';
 * if (isLeptonError(new Error('x'))) throw new Error('unreachable');
 * ```
 */
export function isLeptonError(err: unknown, code?: LeptonErrorCode): err is LeptonError {
  return err instanceof LeptonError && (code === undefined || err.code === code);
}

/**
 * Throws a {@link LeptonError} when `condition` is false. The message is built lazily, so hot paths
 * pay nothing for it.
 *
 * @param condition - the invariant to check
 * @param code - error code to throw with
 * @param message - builds the message only when the check fails
 * @param details - optional structured context
 * @throws {@link LeptonError} with `code` when `condition` is false
 */
export function ensure(
  condition: unknown,
  code: LeptonErrorCode,
  message: () => string,
  details?: Record<string, unknown>,
): asserts condition {
  if (!condition) {
    const text = typeof message === 'function' ? message() : typeof message === 'string' ? message : 'Invariant failed.';
    throw new LeptonError(code, text, details === undefined ? {} : { details });
  }
}
