import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';
import { resolveFfmpeg, type FfmpegBinary } from '../video/ffmpeg.js';
import { startJob } from '../video/jobs.js';
import { hasNoVideoStream } from '../video/spawn.js';
import { redactCredentials, rememberCredentials } from '../video/redact.js';

/** Options of {@link probeSource}. */
export interface ProbeOptions {
  /** Give up after this long, ms (default 10,000). */
  timeoutMs?: number;
  /** Extra ffmpeg/ffprobe input options (the camera's `inputOptions`). */
  inputOptions?: readonly string[];
  /** ffprobe to use (default: `LEPTON_FFPROBE`, `ffprobe` on the PATH, or the one beside ffmpeg; else ffmpeg decodes a frame). */
  ffprobe?: string;
  /** Environment (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** What {@link probeSource} found. */
export interface ProbeResult {
  /** The input, credentials masked. */
  input: string;
  /** Whether a video stream could be read. */
  ok: boolean;
  /** Video codec (ffprobe only). */
  codec?: string;
  /** Width in pixels (ffprobe only). */
  width?: number;
  /** Height in pixels (ffprobe only). */
  height?: number;
  /** Average frame rate (ffprobe only, when the stream declares one). */
  fps?: number;
  /** Why it failed (credentials masked). */
  error?: string;
  /** `ffprobe`, or `ffmpeg` when no ffprobe was found (one frame decoded). */
  tool: 'ffprobe' | 'ffmpeg';
  /** How long the probe took, ms. */
  ms: number;
}

const isUrl = (input: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !/^file:/i.test(input);

function liveArgs(input: string, timeoutMs: number): string[] {
  const us = String(Math.max(1, Math.round(timeoutMs * 1000)));
  if (/^rtsps?:\/\//i.test(input)) return ['-rtsp_transport', 'tcp', '-timeout', us];
  return isUrl(input) ? ['-rw_timeout', us] : [];
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  missing: boolean;
}

/**
 * Runs ffprobe, killed after `timeoutMs`. Spawned directly, not through fluent-ffmpeg: its `ffprobe()` returns no
 * handle and has no timeout, so a camera that accepts the connection and then sends nothing would leave the probe,
 * and `lepton-surveillance check`, waiting forever (fluent-ffmpeg issues #607 and #959; the fixes, PRs #976 and
 * #1288, were never merged).
 */
function runTool(path: string, args: string[], timeoutMs: number, env: Record<string, string | undefined>): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout.length < 1 << 20 && (stdout += d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr.length < 1 << 16 && (stderr += d)));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: err.message, timedOut, missing: err.code === 'ENOENT' });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, missing: false });
    });
  });
}

const lastLine = (text: string): string | undefined =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);

/**
 * Checks that a camera input can be opened and has a video stream: ffprobe reads its first video stream's codec,
 * size and rate (or, without ffprobe, ffmpeg decodes one frame), killed after `timeoutMs`. Nothing it returns carries
 * the input's credentials.
 *
 * @param input - file, URL or device
 * @param options - timeout, input options, ffprobe
 * @returns what was found; `ok: false` with the reason when the input cannot be read
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an empty input, a bad timeout or input options;
 *   `VIDEO_FFMPEG_MISSING` when neither ffprobe nor ffmpeg is available
 * @example
 * ```ts
 * import { probeSource } from '@lepton/surveillance';
 * const r = await probeSource('rtsp://admin:secret@10.0.0.7/stream2', { timeoutMs: 5000 });
 * console.log(r.ok, r.input, r.error); // false 'rtsp://***@10.0.0.7/stream2' '…'
 * ```
 */
export async function probeSource(input: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  if (typeof input !== 'string' || input === '') throw new LeptonError('INVALID_ARGUMENT', 'probeSource needs an input (file, URL or device).');
  const timeoutMs = options.timeoutMs ?? 10_000;
  // At most 2^31 − 1: setTimeout fires at once for anything longer.
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
    throw new LeptonError('INVALID_ARGUMENT', `probeSource: timeoutMs must be a positive number of milliseconds up to 2147483647, got ${describeValue(timeoutMs)}.`);
  }
  const io = options.inputOptions;
  if (io !== undefined && !(Array.isArray(io) && io.every((o) => typeof o === 'string' && !o.includes('\0')))) {
    throw new LeptonError('INVALID_ARGUMENT', 'probeSource: inputOptions must be an array of strings (one argument each).');
  }
  if (input.includes('\0')) throw new LeptonError('INVALID_ARGUMENT', 'probeSource: the input must not contain NUL bytes.');
  const env = options.env ?? process.env;
  rememberCredentials(input);
  const shown = redactCredentials(input);
  const t0 = Date.now();
  const pre = [...liveArgs(input, timeoutMs), ...(options.inputOptions ?? [])];
  let ffmpeg: FfmpegBinary | undefined;
  const candidates = [options.ffprobe, env.LEPTON_FFPROBE, 'ffprobe'].filter((c): c is string => typeof c === 'string' && c !== '');
  for (let i = 0; i <= candidates.length; i++) {
    let path = candidates[i];
    if (path === undefined) {
      // Last try: an ffprobe beside the ffmpeg in use (static builds ship both).
      ffmpeg = await resolveFfmpeg({ env });
      if (ffmpeg.path === 'ffmpeg') break;
      path = join(dirname(ffmpeg.path), 'ffprobe');
    }
    const args = ['-v', 'error', '-hide_banner', ...pre, '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate', '-of', 'json', input];
    const r = await runTool(path, args, timeoutMs, env);
    if (r.missing) continue;
    const ms = Date.now() - t0;
    if (r.timedOut) return { input: shown, ok: false, error: `no answer within ${timeoutMs} ms`, tool: 'ffprobe', ms };
    if (r.code !== 0) return { input: shown, ok: false, error: redactCredentials(lastLine(r.stderr) ?? `ffprobe exit code ${String(r.code)}`), tool: 'ffprobe', ms };
    let stream: { codec_name?: string; width?: number; height?: number; avg_frame_rate?: string } | undefined;
    try {
      stream = (JSON.parse(r.stdout) as { streams?: (typeof stream)[] }).streams?.[0];
    } catch {
      stream = undefined;
    }
    if (stream === undefined) return { input: shown, ok: false, error: 'no video stream (audio or data only)', tool: 'ffprobe', ms };
    const [num, den] = (stream.avg_frame_rate ?? '').split('/').map(Number);
    const fps = num !== undefined && den !== undefined && den > 0 && Number.isFinite(num / den) && num > 0 ? Math.round((num / den) * 100) / 100 : undefined;
    return {
      input: shown,
      ok: true,
      ...(stream.codec_name === undefined ? {} : { codec: stream.codec_name }),
      ...(Number.isInteger(stream.width) ? { width: stream.width! } : {}),
      ...(Number.isInteger(stream.height) ? { height: stream.height! } : {}),
      ...(fps === undefined ? {} : { fps }),
      tool: 'ffprobe',
      ms,
    };
  }
  // No ffprobe anywhere: decode one frame with ffmpeg (a one-shot fluent-ffmpeg job, killed at the timeout).
  ffmpeg ??= await resolveFfmpeg({ env });
  const job = { input, inputOptions: ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', ...pre], output: '-', outputOptions: ['-map', '0:v:0', '-frames:v', '1', '-f', 'null'] };
  const exit = await startJob(ffmpeg, job, { timeoutMs }).done;
  const ms = Date.now() - t0;
  if (exit.reason === 'timeout') return { input: shown, ok: false, error: `no answer within ${timeoutMs} ms`, tool: 'ffmpeg', ms };
  if (exit.reason !== 'ok') {
    // stderr lines and messages from the job are masked already.
    const last = exit.stderr.at(-1) ?? exit.message ?? `ffmpeg exit code ${String(exit.code)}`;
    return { input: shown, ok: false, error: hasNoVideoStream(exit.stderr) ? 'no video stream (audio or data only)' : redactCredentials(last), tool: 'ffmpeg', ms };
  }
  return { input: shown, ok: true, tool: 'ffmpeg', ms };
}
