/**
 * Exit codes of the `lepton` command. Scripts branch on them, so they never change meaning:
 * `0` the command did what it was asked (and every check it ran passed); `1` it ran and something failed (a check,
 * a verification, a file); `2` the command line itself was wrong (unknown command or flag, missing argument, bad
 * flag value) and nothing was done.
 *
 * @example
 * ```ts
 * import { EXIT_CODES } from '@lepton/cli';
 * console.log(EXIT_CODES.usage); // 2
 * ```
 */
export const EXIT_CODES = Object.freeze({
  /** Success: the command did its work and every check passed. */
  ok: 0,
  /** Failure: a check, verification or operation failed; the output says which, with its error code. */
  failure: 1,
  /** Usage error: the command line was wrong and nothing was done. */
  usage: 2,
} as const);

/** One of the {@link EXIT_CODES} values. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
