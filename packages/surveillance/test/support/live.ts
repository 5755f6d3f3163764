import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

// Helpers for tests against real video: ffmpeg makes the clips and plays the live camera, ffprobe checks outputs.

const run = promisify(execFile);

/** Runs the ffmpeg CLI (errors only, overwrite). */
export const ffmpeg = (args: string[]): Promise<unknown> => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

/** H.264 with a keyframe every 10 frames (1 s at 10 fps), so 1 s recording segments can start on a keyframe. */
export const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '10', '-pix_fmt', 'yuv420p'];

/**
 * A live camera: ffmpeg's one-client HTTP server streaming a file in a loop as MPEG-TS at its native rate. Killing it
 * and starting another on the same port is a camera that drops off the network and comes back.
 */
export function serveLive(file: string, port: number): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'quiet', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts', '-listen', '1', `http://127.0.0.1:${port}/live.ts`], { stdio: 'ignore' });
}

/** Stops a child process and waits for it to exit. */
export async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** What ffprobe reads from a video file: size, frames (decoded and counted) and duration. */
export function probe(file: string): { width: number; height: number; frames: number; duration: number; codec: string } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames,codec_name:format=duration,format_name', '-of', 'json', file]).toString();
  const j = JSON.parse(out) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const s = j.streams[0]!;
  return { width: Number(s.width), height: Number(s.height), frames: Number(s.nb_read_frames), duration: Number(j.format.duration), codec: String(s.codec_name) };
}

/** Independent decode of a video to raw RGB frames with the ffmpeg CLI. */
export function rgbFrames(file: string, w: number, h: number): Buffer[] {
  const out = execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-vf', `scale=${w}:${h}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 28 });
  const n = w * h * 3;
  return Array.from({ length: Math.floor(out.length / n) }, (_, i) => out.subarray(i * n, (i + 1) * n));
}

/** Mean absolute difference of two RGB images. */
export function mad(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` holds, polling every 50 ms. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
