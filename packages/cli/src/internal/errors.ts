/** Error code of a wrong command line (exit code 2). Every other error code exits with 1. */
export const USAGE_CODE = 'CLI_USAGE';

/**
 * An error of the CLI itself (a wrong command line, a peer package that is missing). Everything else the commands
 * throw is a `LeptonError` from `@lepton/core`. This module imports nothing from core on purpose: `lepton --help`,
 * usage errors and the message saying core is missing must work when core is not installed or does not load.
 */
export class CliError extends Error {
  /** Stable code: `CLI_USAGE`, `CLI_CORE_MISSING`, `CLI_CORE_BROKEN`, `CLI_MEDICAL_MISSING`. */
  readonly code: string;
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
  }
}

/**
 * A wrong command line: unknown command or flag, missing or extra argument, a flag value that does not parse.
 * `command` names the command whose `--help` the message points to.
 */
export function usageError(message: string, command?: string): CliError {
  return new CliError(USAGE_CODE, `${message} Run '${command === undefined ? 'lepton --help' : `lepton ${command} --help`}' for usage.`);
}

/** True for an error from {@link usageError}. */
export function isUsageError(err: unknown): boolean {
  return err instanceof CliError && err.code === USAGE_CODE;
}

/** The stable code of a `LeptonError` or {@link CliError}; undefined for anything else (a bug, not an outcome). */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof CliError) return err.code;
  const e = err as { name?: unknown; code?: unknown } | null;
  return e !== null && typeof e === 'object' && e.name === 'LeptonError' && typeof e.code === 'string' ? e.code : undefined;
}

/** First line of any thrown value's message, never a stack. */
export function firstLine(err: unknown): string {
  // Never String() of a thrown object: one whose toString is missing or throws would throw again, in the error handler.
  const text = err instanceof Error ? err.message : (typeof err === 'object' && err !== null) || typeof err === 'function' ? `a thrown ${typeof err}` : String(err);
  return (text.split('\n')[0] ?? text).slice(0, 500);
}
