import { join } from 'node:path';
import { describeValue, isLeptonError } from '@lepton/core';
import { DEFAULT_MAX_CLIP_SECONDS } from '../config/service-schema.js';
import { cutRecordingClip } from './clips.js';
import type { TrackedObject } from './lifecycle.js';
import type { Recorder } from './recorder.js';
import { listSegments } from './segments.js';
import type { EventStore, StoredEvent } from './store.js';

/**
 * Settings of a {@link ClipQueue}.
 * @internal
 */
export interface ClipQueueOptions {
  /** Output folder; clips go to `<dir>/<camera>/<id>.mp4`. */
  outputDir: string;
  /** The recorders, by camera. */
  recorders: ReadonlyMap<string, Recorder>;
  /** Where clip states are kept. */
  store: EventStore;
  /**
   * Seconds of recording before the object appeared and after it ended, and the longest clip (from `before` seconds
   * before the object appeared: the start of a long-lived object is kept, not its whole lifetime; default 120).
   */
  margins: { before: number; after: number; maxSeconds?: number };
  /** Segment length, seconds (how long to wait for the recording to cover an end). */
  segmentSeconds: number;
  /** Counts of clips cut and failed. */
  counts: { ready: number; failed: number };
  /** A line for the log. */
  log: (line: string) => void;
}

/** How long a clip's join and cut may take: far more than a re-encode at `veryfast` needs, even of 4K on two cores. */
const cutTimeoutMs = (p: { from: number; to: number }): number => Math.min(2_147_483_647, 60_000 + 10 * (p.to - p.from));

interface PendingClip {
  id: string;
  camera: string;
  from: number;
  to: number;
  deadline: number;
}

/**
 * The clips of ended objects waiting for the recording to cover them, cut one at a time (each is an ffmpeg join and
 * an encode: several at once would take the cores from the detector). A clip is cut once the camera's newest finished
 * segment reaches the end of its interval, once its camera's recorder has ended, or at the latest two segment lengths
 * plus 30 s after its interval. A clip lasts at most `margins.maxSeconds` from `before` seconds before its object
 * appeared. It is marked `failed` when there is no recording to cut it from, or when ffmpeg takes
 * longer than 60 s plus ten times the clip's length (it is then killed, so one stuck cut cannot hold up the others or
 * the service's stop).
 *
 * @internal
 */
export class ClipQueue {
  readonly #o: ClipQueueOptions;
  readonly #pending: PendingClip[] = [];
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #abort: AbortController | undefined;

  constructor(options: ClipQueueOptions) {
    this.#o = options;
  }

  /** Clips waiting. */
  get size(): number {
    return this.#pending.length;
  }

  /** Queues the clip of an ended object. */
  add(o: Pick<TrackedObject, 'id' | 'camera' | 'startTime' | 'endTime'>): void {
    const from = o.startTime - this.#o.margins.before * 1000;
    const to = Math.min((o.endTime ?? o.startTime) + this.#o.margins.after * 1000, from + (this.#o.margins.maxSeconds ?? DEFAULT_MAX_CLIP_SECONDS) * 1000);
    this.#pending.push({ id: o.id, camera: o.camera, from, to, deadline: to + 2 * this.#o.segmentSeconds * 1000 + 30_000 });
    this.check();
  }

  /**
   * Queues the clips a previous run of this instance left pending (it was stopped before the recording covered them,
   * or before it cut them); those of cameras this instance does not record are marked `failed`.
   */
  restore(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.clip !== 'pending' || e.object.endTime === null) continue;
      if (this.#o.recorders.has(e.object.camera)) this.add(e.object);
      else this.#o.store.setClip(e.object.id, 'failed');
    }
  }

  /** Cuts the clips that are due (all of them when `all`), one after the other; see {@link idle}. */
  check(all = false): void {
    this.#chain = this.#chain.then(() => this.#cutDue(all));
    // A clip whose camera stopped producing segments is due at its deadline: make sure someone looks then.
    if (!all && !this.#closed && this.#pending.length > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!this.#closed) this.check();
      }, 5_000);
      this.#timer.unref();
    }
  }

  /** Resolves when no cut is in progress. */
  async idle(): Promise<void> {
    await this.#chain;
  }

  /**
   * No more timers and no new cut; the cut in progress is aborted and its clip stays pending, like every clip not cut
   * yet (in the store, for the next run, or for `check(true)`).
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  async #cutDue(all: boolean): Promise<void> {
    if (this.#closed && !all) return; // shutting down: what is not cut now is left for the next start
    const now = Date.now();
    const recordedUntil = new Map<string, number>();
    for (const p of [...this.#pending]) {
      if (this.#closed && !all) return;
      const recorder = this.#o.recorders.get(p.camera);
      if (recorder === undefined) continue;
      if (!recordedUntil.has(p.camera)) {
        const last = (await listSegments(recorder.dir, p.camera)).at(-1);
        recordedUntil.set(p.camera, last === undefined ? -Infinity : last.start + last.duration);
      }
      const covered = recordedUntil.get(p.camera)! >= p.to;
      if (!(all || covered || now >= p.deadline || recorder.stats.state === 'ended')) continue;
      this.#pending.splice(this.#pending.indexOf(p), 1);
      const output = join(this.#o.outputDir, p.camera, `${p.id}.mp4`);
      // `all` (every camera ended, after close()): the last cuts are waited for, not aborted.
      const abort = all ? undefined : new AbortController();
      this.#abort = abort;
      try {
        await cutRecordingClip({ dir: recorder.dir, camera: p.camera, from: p.from, to: p.to, output, timeoutMs: cutTimeoutMs(p), ...(abort === undefined ? {} : { signal: abort.signal }) });
        this.#o.store.setClip(p.id, 'ready', output);
        this.#o.counts.ready++;
      } catch (err) {
        if (abort?.signal.aborted === true) {
          this.#pending.push(p); // shutting down: cut at the next start (it is still pending in the store)
          return;
        }
        this.#o.store.setClip(p.id, 'failed');
        this.#o.counts.failed++;
        this.#o.log(`camera ${p.camera}: clip of ${p.id} not cut (${isLeptonError(err) ? `${err.code}: ${err.message}` : describeValue(err)})`);
      } finally {
        if (this.#abort === abort) this.#abort = undefined;
      }
    }
  }
}
