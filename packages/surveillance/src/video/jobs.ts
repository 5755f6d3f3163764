/**
 * One-shot ffmpeg jobs (cut a clip, join recording segments, encode frames into an MP4, decode one frame to check an
 * input) run through fluent-ffmpeg's command builder: inputs, input options, one output and its options, run to
 * completion. Streaming jobs do not come here (see `spawn.ts`).
 *
 * **No process-wide state.** fluent-ffmpeg 2.1.3 keeps the binary path and its capability lists (`-formats`,
 * `-encoders`) in one module-level cache: `setFfmpegPath`, static or on a command, sets the path for every command in
 * the process, and the first binary to be asked fills the capability lists for all others. The package picks a binary
 * per call (per camera, per writer), so each command here gets its own path lookup as an own property that shadows
 * the prototype's, and skips fluent-ffmpeg's capability check (we choose the encoder ourselves, per binary, with
 * `pickVideoEncoder`). An application that calls `Ffmpeg.setFfmpegPath` for its own commands changes nothing here, and
 * nothing here changes its commands. These are fluent-ffmpeg internals: `bindBinary` checks they exist and the
 * dependency is pinned to exactly 2.1.3 (an archived project, so no surprise releases); a test runs the jobs with the
 * global path set to a binary that does not exist. Do not "simplify" this into a call to `setFfmpegPath`.
 *
 * **Arguments.** Every option goes in as a list with more than one element, so fluent-ffmpeg's "split a lone string
 * at its space" compatibility rule never applies, and ffmpeg is spawned without a shell.
 *
 * **Ending.** A job ends on its own, on its timeout, on an `AbortSignal`, or by {@link RunningJob.kill}; each of the
 * last three SIGKILLs ffmpeg, and the job's promise resolves only once the process has exited and its stderr is
 * closed, so a caller can remove the output file knowing nothing writes it any more.
 *
 * @module
 * @internal
 */
import type { Readable } from 'node:stream';
import Ffmpeg from 'fluent-ffmpeg';
import { describeValue, LeptonError } from '@lepton/core';
import { surveillanceError, type SurveillanceErrorCode } from '../types.js';
import type { FfmpegBinary } from './ffmpeg.js';
import { redactCredentials } from './redact.js';

/** One input, one output. */
export interface FfmpegJob {
  /** A path or URL, or a stream whose bytes go to ffmpeg's stdin (`pipe:0`). */
  input: string | Readable;
  /** Global and input options, placed before `-i`. */
  inputOptions: readonly string[];
  /** The output file (overwritten: fluent-ffmpeg adds `-y`). */
  output: string;
  /** Output options, placed after the input and before the output. */
  outputOptions: readonly string[];
}

/** Limits of one job. */
export interface JobLimits {
  /** Kill ffmpeg after this long, ms. Default: no limit. */
  timeoutMs?: number;
  /** Kill ffmpeg when this signal aborts. */
  signal?: AbortSignal;
}

/** How a job ended. */
export interface JobExit {
  /** `ok` (exit code 0), `exit` (non-zero code), `signal` (killed from outside), `timeout`, `aborted` (both killed
   * here), `spawn` (the binary could not be started), `error` (anything else fluent-ffmpeg reported). */
  reason: 'ok' | 'exit' | 'signal' | 'timeout' | 'aborted' | 'spawn' | 'error';
  /** Exit code, null when killed or never started. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** ffmpeg's last stderr lines (at most 40, each cut at 500 characters), credentials masked. */
  stderr: string[];
  /** What fluent-ffmpeg said, for `spawn` and `error` (credentials masked). */
  message?: string;
}

/** A started job. */
export interface RunningJob {
  /** Resolves (never rejects) once ffmpeg has exited and its stderr is closed. */
  readonly done: Promise<JobExit>;
  /** SIGKILLs ffmpeg (now, or as soon as it has been spawned); the job ends `aborted`. */
  kill(): void;
}

const STDERR_LINES = 40;
const MAX_TIMER_MS = 2_147_483_647; // setTimeout fires at once for anything longer

type Callback<T> = (err: Error | null, value?: T) => void;
/** fluent-ffmpeg's line buffer for stdout/stderr (lib/utils.js `linesRing`). */
interface Ring {
  get(): string;
}
type SpawnEnd = (err: Error | null, stdout?: Ring, stderr?: Ring) => void;
/** The fluent-ffmpeg 2.1.3 methods hooked per command (see the module comment). */
interface FluentInternals {
  _spawnFfmpeg(args: string[], options: object, processCB: (...a: unknown[]) => void, endCB: SpawnEnd): void;
  _getFfmpegPath(cb: Callback<string>): void;
  _getFfprobePath(cb: Callback<string>): void;
  _checkCapabilities(cb: (err?: Error | null) => void): void;
  availableEncoders(cb: Callback<Record<string, unknown>>): void;
}
const HOOKS = ['_spawnFfmpeg', '_getFfmpegPath', '_getFfprobePath', '_checkCapabilities', 'availableEncoders'] as const;
const NO_OUTPUT: Ring = { get: () => '' };

/** Gives one command its own binary and no capability check (see the module comment). */
function bindBinary(cmd: Ffmpeg.FfmpegCommand, binary: FfmpegBinary): void {
  const c = cmd as unknown as FluentInternals;
  const missing = HOOKS.filter((k) => typeof c[k] !== 'function');
  if (missing.length > 0) {
    throw surveillanceError('VIDEO_FFMPEG_MISSING', `The installed fluent-ffmpeg lacks ${missing.join(', ')}; @lepton/surveillance needs fluent-ffmpeg 2.1.3 exactly (reinstall it).`, { missing });
  }
  // fluent-ffmpeg 2.1.3 reads its stdout/stderr buffers in the spawn's end callback even when the spawn itself failed
  // (ENOENT, EACCES), when there are none: a TypeError thrown from a ChildProcess 'error' listener, which would take
  // the whole process down. Hand it empty buffers instead, so the failure arrives as an 'error' event.
  const spawnFfmpeg = c._spawnFfmpeg;
  c._spawnFfmpeg = function (this: unknown, args, options, processCB, endCB) {
    if (typeof endCB !== 'function') return spawnFfmpeg.call(this, args, options, processCB, endCB); // not run()'s call
    spawnFfmpeg.call(this, args, options, processCB, (err, stdout, stderr) => endCB(err, stdout ?? NO_OUTPUT, stderr ?? NO_OUTPUT));
  };
  c._getFfmpegPath = (cb) => cb(null, binary.path);
  c._getFfprobePath = (cb) => cb(new Error('ffprobe is not run through fluent-ffmpeg here'));
  c._checkCapabilities = (cb) => cb();
  // Only used to add `-strict experimental` after `-vcodec`/`-acodec`, which these jobs do not use.
  c.availableEncoders = (cb) => cb(null, {});
}

/** Adds options as separate arguments (never fluent-ffmpeg's one-string form, which splits at a space). */
function addOptions(add: (...options: string[]) => unknown, options: readonly string[]): void {
  if (options.length === 1) throw new Error('internal: a job needs at least two options per side (global flags first)');
  if (options.length > 0) add(...options);
}

/**
 * The argument list a job runs with, as fluent-ffmpeg builds it: input options, `-i input` (`pipe:0` for a stream),
 * `-y`, output options, output.
 *
 * @param job - the job
 * @returns ffmpeg's arguments (without the program name)
 */
export function jobArgs(job: FfmpegJob): string[] {
  return [...job.inputOptions, '-i', typeof job.input === 'string' ? job.input : 'pipe:0', '-y', ...job.outputOptions, job.output];
}

function toLines(stderr: string | null | undefined): string[] {
  return (stderr ?? '')
    .split(/\r\n|\r|\n/)
    .filter((l) => l.trim() !== '')
    .slice(-STDERR_LINES)
    .map((l) => redactCredentials(l.length > 500 ? `${l.slice(0, 500)}…` : l));
}

function toExit(err: Error | null, stderr: string | null | undefined, killedHere: 'timeout' | 'aborted' | undefined): JobExit {
  const lines = toLines(stderr);
  if (err === null) return { reason: 'ok', code: 0, signal: null, stderr: lines };
  if (/^spawn\b/.test(String((err as NodeJS.ErrnoException).syscall))) {
    return { reason: 'spawn', code: null, signal: null, stderr: lines, message: redactCredentials(err.message) };
  }
  // fluent-ffmpeg's wording for the two ways the process ends with an error (lib/processor.js).
  const code = /^ffmpeg exited with code (\d+)/.exec(err.message);
  const signal = /^ffmpeg was killed with signal (\w+)/.exec(err.message);
  if (code) return { reason: killedHere ?? 'exit', code: Number(code[1]), signal: null, stderr: lines };
  if (signal) return { reason: killedHere ?? 'signal', code: null, signal: signal[1]!, stderr: lines };
  return { reason: killedHere ?? 'error', code: null, signal: null, stderr: lines, message: redactCredentials(err.message) };
}

/**
 * Starts a job with fluent-ffmpeg on the given binary.
 *
 * @param binary - the ffmpeg to run
 * @param job - input, output and their options
 * @param limits - timeout and abort signal (checked by the caller, see {@link checkJobLimits})
 * @returns the running job
 * @throws LeptonError `VIDEO_FFMPEG_MISSING` when the installed fluent-ffmpeg is not the 2.1.3 this code hooks into
 */
export function startJob(binary: FfmpegBinary, job: FfmpegJob, limits: JobLimits = {}): RunningJob {
  if (limits.signal?.aborted) return { done: Promise.resolve({ reason: 'aborted', code: null, signal: null, stderr: [] }), kill: () => {} };
  const cmd = Ffmpeg({ stdoutLines: STDERR_LINES });
  bindBinary(cmd, binary);
  cmd.input(job.input);
  addOptions((...o) => cmd.inputOptions(...o), job.inputOptions);
  cmd.output(job.output);
  addOptions((...o) => cmd.outputOptions(...o), job.outputOptions);
  let killedHere: 'timeout' | 'aborted' | undefined;
  let spawned = false;
  let killWanted = false;
  let settled = false;
  const kill = (why: 'timeout' | 'aborted'): void => {
    if (settled) return;
    killedHere ??= why;
    killWanted = true;
    if (spawned) cmd.kill('SIGKILL');
  };
  const onAbort = (): void => kill('aborted');
  let timer: NodeJS.Timeout | undefined;
  let finish: (err: Error | null, stderr: string | null | undefined) => void = () => {};
  const done = new Promise<JobExit>((resolve) => {
    finish = (err, stderr) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      resolve(toExit(err, stderr, killedHere));
    };
    // 'start' comes right after the spawn (also one that fails with ENOENT): from then on kill() reaches the process.
    cmd.on('start', () => {
      spawned = true;
      if (killWanted) cmd.kill('SIGKILL');
    });
    cmd.on('end', (_stdout: string | null, stderr: string | null) => finish(null, stderr));
    cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => finish(err, stderr));
  });
  if (limits.timeoutMs !== undefined) timer = setTimeout(() => kill('timeout'), limits.timeoutMs);
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    cmd.run();
  } catch (err) {
    // node's spawn throws synchronously for arguments it refuses (a NUL byte): end the job like any other failure.
    finish(err instanceof Error ? err : new Error(String(err)), null);
  }
  return { done, kill: () => kill('aborted') };
}

/**
 * Checks a public function's `timeoutMs` and `signal` options.
 *
 * @param fn - the function's name, for the message
 * @param limits - the options as given (any type: JavaScript callers)
 * @throws LeptonError `INVALID_ARGUMENT` for a timeout that is not a positive number of ms (≤ 2^31 − 1) or a signal
 *   that is not an `AbortSignal`
 */
export function checkJobLimits(fn: string, limits: { timeoutMs?: unknown; signal?: unknown }): void {
  const t = limits.timeoutMs;
  if (t !== undefined && !(typeof t === 'number' && Number.isFinite(t) && t > 0 && t <= MAX_TIMER_MS)) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: timeoutMs must be a positive number of milliseconds up to ${MAX_TIMER_MS} (got ${describeValue(t)}).`, { details: { field: 'timeoutMs' } });
  }
  if (limits.signal !== undefined && !(limits.signal instanceof AbortSignal)) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: signal must be an AbortSignal (from an AbortController).`, { details: { field: 'signal' } });
  }
}

/**
 * Checks a path or URL handed to ffmpeg: a non-empty string without NUL bytes; an output must not start with `-`,
 * which ffmpeg would read as an option (write `./-name.mp4`).
 *
 * @param fn - the function's name, for the message
 * @param field - the option's name
 * @param value - as given
 * @param output - whether it is an output
 * @throws LeptonError `INVALID_ARGUMENT` otherwise
 */
export function checkPath(fn: string, field: string, value: unknown, output: boolean): asserts value is string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: ${field} must be a file path${output ? '' : ' or URL'}.`, { details: { field } });
  }
  if (output && value.startsWith('-')) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: ${field} must not start with '-' (ffmpeg would read it as an option); write ./${value} instead.`, { details: { field } });
  }
}

/**
 * Why a job failed, in a few words: ffmpeg's last error line, or how it was ended.
 *
 * @param exit - how it ended
 * @param limits - its limits (for the timeout in the text)
 * @returns e.g. `No such file or directory`, `ffmpeg did not finish within 500 ms and was killed`
 */
export function failureText(exit: JobExit, limits: JobLimits = {}): string {
  switch (exit.reason) {
    case 'timeout':
      return `ffmpeg did not finish within ${String(limits.timeoutMs)} ms and was killed`;
    case 'aborted':
      return 'aborted: ffmpeg was killed';
    case 'signal':
      return `ffmpeg was killed by ${String(exit.signal)}`;
    case 'spawn':
    case 'error':
      return exit.message ?? 'ffmpeg failed';
    default:
      return exit.stderr.at(-1) ?? `ffmpeg exit code ${String(exit.code)}`;
  }
}

/**
 * The `LeptonError` for a failed job: `VIDEO_FFMPEG_MISSING` when the binary could not be started, else `code`. The
 * message is `<what> (<why>); <hint>`; `details` hold `reason`, `exitCode`, `signal` and `stderr` (credentials
 * masked) besides the caller's own.
 *
 * @param code - the caller's error code (`VIDEO_SOURCE_FAILED`, `VIDEO_WRITE_FAILED` …)
 * @param what - what could not be done, credentials masked
 * @param hint - what to do about it
 * @param exit - how the job ended
 * @param binary - the ffmpeg it ran
 * @param limits - its limits
 * @param details - more details (credentials masked)
 * @returns the error
 */
export function jobError(code: SurveillanceErrorCode, what: string, hint: string, exit: JobExit, binary: FfmpegBinary, limits: JobLimits, details: Record<string, unknown>): LeptonError {
  const all = { ...details, reason: exit.reason, exitCode: exit.code, signal: exit.signal, stderr: exit.stderr };
  if (exit.reason === 'spawn') {
    return surveillanceError('VIDEO_FFMPEG_MISSING', `${what}: ffmpeg (${binary.path}) could not be started (${failureText(exit)}); point the ffmpeg option or LEPTON_FFMPEG at a working binary.`, { ...all, path: binary.path });
  }
  const cause = exit.reason === 'aborted' ? limits.signal?.reason : undefined;
  return surveillanceError(code, `${what} (${failureText(exit, limits)}); ${hint}`, all, cause);
}
