import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';
import type { SurveillanceConfig } from '../config/config.js';
import { INSTANCE, resolveServiceConfig, type ResolvedServiceConfig } from '../config/service.js';
import type { Shard } from '../config/shard.js';
import type { ObjectDetector } from '../detect/detector.js';
import { connectPublisher, type EventPublisher } from '../pipeline/mqtt.js';
import { SurveillancePipeline, type CameraReport, type FrameInfo, type PipelineOptions, type PipelineReport } from '../pipeline/pipeline.js';
import { AsyncQueue } from '../pipeline/queue.js';
import { MAX_PENDING_PUBLISH, PUBLISH_DRAIN_MS, PublishQueue, settleWithin } from '../pipeline/publish-queue.js';
import type { RuleCounts } from '../rules/engine.js';
import { redactCredentials } from '../video/redact.js';
import { startApi, type ApiServer } from './api.js';
import { ObjectLifecycle, type ObjectEvent, type ObjectLifecycleOutput } from './lifecycle.js';
import { serviceMetrics, type ServiceCounters } from './service-metrics.js';
import { cameraHealth, type CameraHealth, type ServiceHealth } from './health.js';
import { Recorder, type RecorderOptions } from './recorder.js';
import { enforceRetention, SEGMENT_NAME } from './segments.js';
import { ClipQueue } from './clip-queue.js';
import { EventStore } from './store.js';

/** Options of {@link SurveillanceService.start} beyond the configuration. */
export interface ServiceOptions {
  /**
   * Name of this process among the service's instances: MQTT status topic `<prefix>/instances/<instance>` and the
   * persistence file `events-<instance>.jsonl` (letters, digits, `_`, `-`, `.`; default `shard-<i>-of-<n>` for a
   * shard, else `default`).
   */
  instance?: string;
  /** The shard this process runs, reported in health and status (the cameras must already be selected). */
  shard?: Shard;
  /** Environment for the API token (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Overrides of the configuration's `api.host` / `api.port` (several shards on one host need their own ports). */
  api?: {
    /** Interface to listen on. */
    host?: string;
    /** TCP port (0: any free port). */
    port?: number;
  };
  /** A loaded detector (else the pipeline loads one; not disposed by the service). */
  detector?: ObjectDetector;
  /** An MQTT publisher (else one connects to `config.mqtt` when set; not closed by the service). */
  publisher?: EventPublisher;
  /** Pipeline options passed through (limits, per-camera source settings). */
  pipeline?: Pick<PipelineOptions, 'maxFrames' | 'sources'>;
  /** Recorder options passed through (reconnect timing, stall timeout). */
  recorder?: Pick<RecorderOptions, 'reconnect' | 'stallSeconds'>;
  /**
   * Aborts the start: checked between its steps (event store, MQTT, API, recorders, detector and pipeline); what was
   * started is stopped again (the recorders' ffmpeg included) and `start` rejects with the signal's reason. A signal
   * that aborts after the service has started does nothing: call {@link SurveillanceService.stop}.
   */
  signal?: AbortSignal;
  /** Where to write progress lines (default: nowhere). Never given credentials. */
  log?: (line: string) => void;
}

/** What a service reports when it has stopped. */
export interface ServiceReport {
  /** Instance name. */
  instance: string;
  /** Why it stopped: `stopped` ({@link SurveillanceService.stop}, e.g. SIGTERM) or `cameras-ended` (every source ended). */
  reason: 'stopped' | 'cameras-ended';
  /** The pipeline's report (`null` without cameras). */
  pipeline: PipelineReport | null;
  /** Object lifecycle messages, by type. */
  objectEvents: {
    /** `new` messages (objects that started). */
    new: number;
    /** `update` messages. */
    update: number;
    /** `end` messages (objects that ended: equal to `new` after a clean stop). */
    end: number;
  };
  /** Clips cut from the recording. */
  clips: {
    /** Cut. */
    ready: number;
    /** Failed (no recording covered them, or ffmpeg failed). */
    failed: number;
  };
  /** MQTT messages of the service and its pipeline. */
  mqtt: {
    /** Published (acknowledged at QoS 1). */
    published: number;
    /** Failed (counted, never fatal). */
    failed: number;
  };
  /** An unexpected error that stopped the pipeline, if any (message only). */
  error?: string;
}



const isFileInput = (input: string): boolean => !/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !input.startsWith('/dev/');

/**
 * The surveillance service: the pipeline for the configured cameras, with the event lifecycle of tracked objects
 * (`new` → `update` → `end`, one id per object, on {@link SurveillanceService.events} and MQTT `<prefix>/events`), a
 * bounded event store with optional persistence, an HTTP API (events with snapshots and clips, counts, health,
 * Prometheus metrics), and continuous recording with retention from which event clips are cut. `lepton-surveillance
 * run` is this class behind a command line.
 *
 * {@link SurveillanceService.stop} (the CLI calls it on SIGTERM) loses nothing: the cameras stop after their current
 * frame, every object in progress gets its `end` (published and stored), recordings are finished, the clips of ended
 * objects are cut from them, the store is flushed, the MQTT client disconnects after its messages are acknowledged,
 * and the API closes last. With file inputs the service stops by itself once every camera has ended.
 *
 * @example
 * ```ts
 * import { loadConfig, SurveillanceService } from '@lepton/surveillance';
 * const service = await SurveillanceService.start(await loadConfig('cameras.yaml'));
 * console.log('API at', service.url);
 * process.once('SIGTERM', () => void service.stop());
 * console.log(await service.done);
 * ```
 */
export class SurveillanceService {
  /** Base URL of the HTTP API. */
  readonly url: string;
  /** Instance name. */
  readonly instance: string;
  /** Names of the cameras this instance runs. */
  readonly cameras: readonly string[];
  /** Resolves with the report once the service has stopped (by {@link stop} or because every camera ended). */
  readonly done: Promise<ServiceReport>;

  readonly #config: SurveillanceConfig;
  readonly #resolved: ResolvedServiceConfig;
  readonly #options: ServiceOptions;
  readonly #store: EventStore;
  readonly #publisher: EventPublisher | undefined;
  readonly #ownsPublisher: boolean;
  readonly #api: ApiServer;
  readonly #recorders = new Map<string, Recorder>();
  readonly #lifecycles = new Map<string, ObjectLifecycle>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #frameTimes = new Map<string, number[]>();
  readonly #ended = new Map<string, CameraReport>();
  #clips: ClipQueue | undefined;
  readonly #publishing = new PublishQueue(MAX_PENDING_PUBLISH);
  readonly #counters: ServiceCounters;
  readonly #startedAt = Date.now();
  #pipeline: SurveillancePipeline | undefined;
  #run: Promise<PipelineReport | null> = Promise.resolve(null);
  readonly #streams = new Set<AsyncQueue<ObjectEvent>>();
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  #stopping: Promise<ServiceReport> | undefined;
  #retentionChain: Promise<void> = Promise.resolve();
  #retentionTimer: NodeJS.Timeout | undefined;
  #resolveDone!: (r: ServiceReport) => void;

  private constructor(init: {
    config: SurveillanceConfig;
    resolved: ResolvedServiceConfig;
    options: ServiceOptions;
    instance: string;
    store: EventStore;
    publisher: EventPublisher | undefined;
    ownsPublisher: boolean;
    api: ApiServer;
    counters: ServiceCounters;
  }) {
    this.#config = init.config;
    this.#resolved = init.resolved;
    this.#options = init.options;
    this.instance = init.instance;
    this.#store = init.store;
    this.#publisher = init.publisher;
    this.#ownsPublisher = init.ownsPublisher;
    this.#api = init.api;
    this.#counters = init.counters;
    this.url = init.api.url;
    this.cameras = init.config.cameras.map((c) => c.name);
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    for (const cam of init.config.cameras) {
      this.#lifecycles.set(cam.name, new ObjectLifecycle(cam.name, { updateSeconds: init.resolved.events.updateSeconds, snapshots: init.config.output.snapshots }));
      this.#chains.set(cam.name, Promise.resolve());
      this.#frameTimes.set(cam.name, []);
    }
  }

  /**
   * Starts the service: opens the event store, connects to MQTT, starts the API, the recorders and the pipeline.
   *
   * @param config - a validated configuration, with only this instance's cameras (see {@link selectCameras}); it may
   *   have none, in which case only the API runs
   * @param options - instance, shard, overrides, preloaded detector
   * @returns the running service
   * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` (no API token, a bad instance name, the MQTT broker
   *   unreachable), `INVALID_ARGUMENT` (the API cannot listen), `EVENTS_READ_FAILED`, `MODEL_LOAD_FAILED`,
   *   `VIDEO_FFMPEG_MISSING`; everything started so far is closed again
   */
  static async start(config: SurveillanceConfig, options: ServiceOptions = {}): Promise<SurveillanceService> {
    const instance = options.instance ?? (options.shard === undefined ? 'default' : `shard-${options.shard.index}-of-${options.shard.count}`);
    if (typeof instance !== 'string' || !INSTANCE.test(instance)) throw new LeptonError('CONFIG_INVALID', `The instance name must be 1–64 letters, digits, '_', '-' or '.', got ${describeValue(instance, 64)}.`);
    // Overrides are applied before resolving, so that `auth: false` is checked against the host actually used.
    const overridden = options.api === undefined ? config : { ...config, api: { ...config.api, ...Object.fromEntries(Object.entries(options.api).filter(([, v]) => v !== undefined)) } };
    const resolved = resolveServiceConfig(overridden, { ...(options.env === undefined ? {} : { env: options.env }), instance });
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new LeptonError('INVALID_ARGUMENT', `SurveillanceService.start: signal must be an AbortSignal, got ${describeValue(signal)}.`);
    signal?.throwIfAborted();
    await mkdir(config.output.dir, { recursive: true });
    const cleanup: Array<() => Promise<unknown>> = [];
    try {
      const store = await EventStore.open({ capacity: resolved.events.capacity, persistPath: resolved.events.persistPath, filesUnder: config.output.dir });
      signal?.throwIfAborted();
      const counters: ServiceCounters = { objectEvents: new Map(), mqtt: { published: 0, failed: 0 }, clips: { ready: 0, failed: 0 }, deleted: { expired: 0, overBudget: 0 }, storedBytes: 0, eventErrors: 0, retention: { errors: 0, lastError: null }, streamDropped: 0 };
      const prefix = config.mqtt?.topicPrefix ?? 'lepton/surveillance';
      const statusTopic = `${prefix}/instances/${instance}`;
      let publisher = options.publisher;
      if (publisher === undefined && config.mqtt !== undefined) {
        publisher = await connectPublisher(config.mqtt, { will: { topic: statusTopic, payload: JSON.stringify({ instance, state: 'offline' }), retain: true } });
        const p = publisher;
        cleanup.push(() => p.close());
        signal?.throwIfAborted();
      }
      let service: SurveillanceService | undefined;
      const api = await startApi(
        {
          store,
          health: () => service?.health() ?? { state: 'starting' },
          counts: () => service?.counts() ?? {},
          metrics: () => service?.metrics() ?? '',
        },
        resolved.api,
      );
      cleanup.push(() => api.close());
      service = new SurveillanceService({ config, resolved, options, instance, store, publisher, ownsPublisher: options.publisher === undefined && publisher !== undefined, api, counters });
      cleanup.push(() => service!.#stopRecorders());
      signal?.throwIfAborted();
      await service.#startRecorders();
      signal?.throwIfAborted();
      await service.#startPipeline();
      if (signal?.aborted === true) {
        // The pipeline runs already: a clean stop ends it, the recorders and the API (nothing is left to clean up).
        cleanup.length = 0;
        await service.stop();
        signal.throwIfAborted();
      }
      service.#publishStatus('online');
      service.#log(`instance ${instance}: ${service.cameras.length} camera(s) [${service.cameras.join(', ')}], API at ${api.url}`);
      return service;
    } catch (err) {
      for (const c of cleanup.reverse()) await c().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A typed stream of object lifecycle messages (`new`, `update`, `end`) of every camera, in the order raised, from
   * this call on; it ends when the service has stopped. Each call is a reader of its own (every reader gets every
   * message); a reader that stops (`break` out of `for await`, or `return()`) is detached and nothing more is kept for
   * it. A reader more than {@link SurveillanceService.STREAM_CAPACITY} messages behind loses the oldest: they are
   * counted in health (`events.streamDropped`) and never hold up the service.
   *
   * @returns the stream
   */
  events(): AsyncIterableIterator<ObjectEvent> {
    const q: AsyncQueue<ObjectEvent> = new AsyncQueue<ObjectEvent>({ capacity: SurveillanceService.STREAM_CAPACITY, onReturn: () => this.#streams.delete(q) });
    if (this.#state === 'stopped') q.end();
    else this.#streams.add(q);
    return q;
  }

  /** Most messages kept for one reader of {@link SurveillanceService.events} that does not keep up (10,000). */
  static readonly STREAM_CAPACITY = 10_000;

  /**
   * Health of the service and each camera (as served at `GET /api/health`).
   *
   * @returns the health document
   */
  health(): ServiceHealth {
    const reports = new Map((this.#pipeline?.cameraReports() ?? []).map((r) => [r.camera, r]));
    const now = Date.now();
    const cameras: CameraHealth[] = this.cameras.map((name) =>
      cameraHealth({
        name,
        report: this.#ended.get(name) ?? reports.get(name),
        ended: this.#ended.has(name),
        frameTimes: this.#frameTimes.get(name) ?? [],
        now,
        fps: this.#config.cameras.find((c) => c.name === name)?.fps ?? 10,
        activeObjects: this.#lifecycles.get(name)?.active ?? 0,
        recorder: this.#recorders.get(name)?.stats,
      }),
    );
    const healthy = cameras.every((c) => c.state === 'running' || c.state === 'starting');
    return {
      instance: this.instance,
      shard: this.#options.shard === undefined ? null : `${this.#options.shard.index}/${this.#options.shard.count}`,
      state: this.#state,
      status: this.#state !== 'running' ? 'stopping' : healthy ? 'ok' : 'degraded',
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.#startedAt) / 1000),
      cameras,
      events: {
        stored: this.#store.size,
        skippedLines: this.#store.skippedLines,
        writeErrors: this.#store.writeErrors,
        deleteErrors: this.#store.deleteErrors,
        failed: this.#counters.eventErrors,
        streamDropped: this.#counters.streamDropped + [...this.#streams].reduce((n, q) => n + q.dropped, 0),
      },
      retention: this.#resolved.recording === null ? null : { ...this.#counters.retention },
      mqtt: this.#publisher === undefined ? null : { ...this.#counters.mqtt },
    };
  }

  /**
   * Line and zone counts per camera (as served at `GET /api/counts`).
   *
   * @returns counts by camera name (cameras that have not started are left out)
   */
  counts(): Record<string, RuleCounts> {
    const out: Record<string, RuleCounts> = {};
    for (const r of this.#pipeline?.cameraReports() ?? []) out[r.camera] = r.counts;
    for (const [name, r] of this.#ended) out[name] = r.counts;
    return out;
  }

  /**
   * Prometheus metrics in the text exposition format (as served at `GET /metrics`).
   *
   * @returns the exposition text
   */
  metrics(): string {
    return serviceMetrics({ health: this.health(), counts: this.counts(), reports: this.#pipeline?.cameraReports() ?? [], ended: this.#ended, counters: this.#counters, recorders: this.#recorders });
  }

  /**
   * Stops the service without losing an event (see the class description). Calling it again returns the same promise.
   *
   * @returns the report (also {@link done})
   */
  stop(): Promise<ServiceReport> {
    this.#stopping ??= this.#shutdown('stopped');
    return this.#stopping;
  }

  #log(line: string): void {
    this.#options.log?.(redactCredentials(line));
  }

  /** Queues the retained status message of this instance (see {@link SurveillanceService.stop} for the wait). */
  #publishStatus(state: 'online' | 'offline'): void {
    const prefix = this.#config.mqtt?.topicPrefix ?? 'lepton/surveillance';
    const body = { instance: this.instance, state, shard: this.#options.shard === undefined ? null : `${this.#options.shard.index}/${this.#options.shard.count}`, cameras: this.cameras, host: hostname(), pid: process.pid, startedAt: new Date(this.#startedAt).toISOString() };
    this.#queuePublish(`${prefix}/instances/${this.instance}`, JSON.stringify(body), true);
  }

  /** Publishes one message, counting it; a failure is counted and never thrown. */
  async #publish(topic: string, payload: string | Uint8Array, retain = false): Promise<void> {
    if (this.#publisher === undefined) return;
    try {
      await this.#publisher.publish(topic, payload, { retain });
      this.#counters.mqtt.published++;
    } catch {
      this.#counters.mqtt.failed++;
    }
  }

  /**
   * Queues a message for MQTT, in order, apart from the store: a broker that is away must hold up neither the store
   * and the API nor the other cameras. Past {@link MAX_PENDING_PUBLISH} waiting messages, one is counted as failed.
   */
  #queuePublish(topic: string, payload: string, retain = false): void {
    if (this.#publisher === undefined) return;
    if (!this.#publishing.push(() => this.#publish(topic, payload, retain))) this.#counters.mqtt.failed++;
  }

  async #startPipeline(): Promise<void> {
    if (this.#config.cameras.length === 0) return;
    const counting: EventPublisher | undefined =
      this.#publisher === undefined
        ? undefined
        : {
            publish: async (topic, payload, options) => {
              try {
                await this.#publisher!.publish(topic, payload, options);
                this.#counters.mqtt.published++;
              } catch (err) {
                this.#counters.mqtt.failed++;
                throw err;
              }
            },
            close: async () => undefined,
          };
    const o = this.#options;
    this.#pipeline = await SurveillancePipeline.create(this.#config, {
      ...(o.detector === undefined ? {} : { detector: o.detector }),
      ...(counting === undefined ? {} : { publisher: counting }),
      ...(o.pipeline?.maxFrames === undefined ? {} : { maxFrames: o.pipeline.maxFrames }),
      ...(o.pipeline?.sources === undefined ? {} : { sources: o.pipeline.sources }),
      onFrame: (info) => this.#onFrame(info),
      onCameraEnd: (report) => this.#onCameraEnd(report),
    });
    this.#run = this.#pipeline.run();
    // Every camera ended (files) or the pipeline failed: the service has nothing left to do.
    const finished = (): void => {
      this.#stopping ??= this.#shutdown('cameras-ended');
    };
    this.#run.then(finished, finished);
  }

  async #startRecorders(): Promise<void> {
    const rec = this.#resolved.recording;
    if (rec === null) return;
    for (const cam of this.#config.cameras) {
      if (!rec.cameras.includes(cam.name)) continue;
      const recorder = new Recorder({
        camera: cam.name,
        input: cam.record ?? cam.input,
        dir: join(rec.dir, cam.name),
        segmentSeconds: rec.segmentSeconds,
        ...(cam.inputOptions === undefined ? {} : { inputOptions: cam.inputOptions }),
        ...this.#options.recorder,
      });
      recorder.on('segment', () => {
        this.#scheduleRetention();
        if (this.#state === 'running') this.#clips?.check();
      });
      recorder.on('reconnecting', (e) => this.#log(`recording ${e.camera}: restarting in ${e.delayMs} ms (${e.reason})`));
      if (isFileInput(cam.record ?? cam.input) && cam.realtime !== true) {
        // The recorder plays a file at its own speed; the detector would read it as fast as it can, and the objects'
        // times would not match the recording.
        this.#log(`camera ${cam.name}: a file recorded without 'realtime: true' on the camera; its clips will not match its events`);
      }
      this.#recorders.set(cam.name, recorder);
      await recorder.start();
    }
    const margins = this.#resolved.events.clips;
    if (margins !== null) {
      this.#clips = new ClipQueue({
        outputDir: this.#config.output.dir,
        recorders: this.#recorders,
        store: this.#store,
        margins,
        segmentSeconds: rec.segmentSeconds,
        counts: this.#counters.clips,
        log: (line) => this.#log(line),
      });
      // Clips the previous run of this instance had not cut yet: the recording is still on disk.
      this.#clips.restore(this.#store.list({ inProgress: false, limit: Number.MAX_SAFE_INTEGER }));
    }
    // Retention also runs on a clock: a camera that stopped producing segments must still age out.
    this.#retentionTimer = setInterval(() => this.#scheduleRetention(), 60_000);
    this.#retentionTimer.unref();
    this.#scheduleRetention();
  }

  async #stopRecorders(): Promise<void> {
    clearInterval(this.#retentionTimer);
    await Promise.all([...this.#recorders.values()].map((r) => r.stop()));
  }

  /**
   * The camera folders under `recording.dir` that hold segments but that this process does not record (a camera
   * removed, opted out or run by another shard): their footage still ages out.
   */
  async #otherFolders(dir: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || this.#recorders.has(e.name) || e.name.startsWith('.')) continue;
      const names = await readdir(join(dir, e.name)).catch(() => [] as string[]);
      if (names.some((n) => SEGMENT_NAME.test(n))) out.set(e.name, join(dir, e.name));
    }
    return out;
  }

  #retentionFailed(why: string): void {
    this.#counters.retention.errors++;
    this.#counters.retention.lastError = why;
    this.#log(`retention: ${why}`);
  }

  #scheduleRetention(): void {
    const rec = this.#resolved.recording;
    if (rec === null) return;
    this.#retentionChain = this.#retentionChain.then(async () => {
      try {
        const dirs = new Map([...this.#recorders.values()].map((r) => [r.camera, r.dir]));
        let openBytes = 0;
        for (const r of this.#recorders.values()) openBytes += await r.openBytes();
        const expireOnly = await this.#otherFolders(rec.dir);
        const result = await enforceRetention({ dirs, expireOnly, retainMs: rec.retainMs, maxBytes: rec.maxBytes, openBytes });
        this.#counters.deleted.expired += result.expired.length;
        this.#counters.deleted.overBudget += result.overBudget.length;
        this.#counters.storedBytes = result.bytes;
        if (result.failed.length > 0) {
          const f = result.failed[0]!;
          this.#retentionFailed(`${result.failed.length} segment(s) could not be deleted (${f.camera}/${f.path.slice(f.path.lastIndexOf('/') + 1)}: ${f.error})`);
          this.#counters.retention.errors += result.failed.length - 1;
        }
      } catch (err) {
        this.#retentionFailed(`failed (${err instanceof Error ? err.message : describeValue(err)})`);
      }
    });
  }

  #onFrame(info: FrameInfo): void {
    const times = this.#frameTimes.get(info.camera);
    if (times !== undefined) {
      times.push(Date.now());
      while (times.length > 0 && times[0]! < Date.now() - 10_000) times.shift();
    }
    const life = this.#lifecycles.get(info.camera);
    if (life === undefined) return;
    this.#enqueue(info.camera, life.update(info.original, info.tracks, info.events));
  }

  #onCameraEnd(report: CameraReport): void {
    this.#ended.set(report.camera, report);
    const life = this.#lifecycles.get(report.camera);
    if (life !== undefined) this.#enqueue(report.camera, life.endAll(this.#state === 'running' ? 'camera-ended' : 'stopped'));
    this.#log(`camera ${report.camera}: ${report.error === undefined ? 'ended' : `failed (${report.error.code}: ${report.error.message})`} after ${report.frames} frame(s)`);
  }

  /** Handles one camera's messages in order, after the ones before (snapshot file, store, MQTT, stream). */
  #enqueue(camera: string, outputs: ObjectLifecycleOutput[]): void {
    if (outputs.length === 0) return;
    const chain = (this.#chains.get(camera) ?? Promise.resolve()).then(async () => {
      for (const out of outputs) {
        await this.#handle(out).catch((err: unknown) => {
          this.#counters.eventErrors++;
          this.#log(`camera ${camera}: event ${out.event.after.id} not handled (${err instanceof Error ? err.message : describeValue(err)})`);
        });
      }
    });
    this.#chains.set(camera, chain);
  }

  async #handle({ event, snapshot }: ObjectLifecycleOutput): Promise<void> {
    const o = event.after;
    const dir = join(this.#config.output.dir, o.camera);
    const snapshotPath = join(dir, `${o.id}.jpg`);
    const tmp = `${snapshotPath}.tmp`;
    if (snapshot !== undefined) {
      await mkdir(dir, { recursive: true });
      // Written beside and renamed over once the store has taken the event: the API never serves a half-written
      // JPEG, and an event the store refuses leaves no file behind.
      await writeFile(tmp, snapshot);
    }
    const recorded = this.#clips !== undefined && this.#recorders.has(o.camera);
    const known = this.#store.get(o.id);
    try {
      this.#store.put({
        object: { ...o, hasClip: known?.object.hasClip ?? false },
        snapshotPath: o.hasSnapshot ? snapshotPath : null,
        clipPath: known?.clipPath ?? null,
        clip: known?.clip ?? (recorded ? 'pending' : 'none'),
      });
    } catch (err) {
      if (snapshot !== undefined) await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    if (snapshot !== undefined) await rename(tmp, snapshotPath);
    const counts = this.#counters.objectEvents.get(o.camera) ?? { new: 0, update: 0, end: 0 };
    counts[event.type]++;
    this.#counters.objectEvents.set(o.camera, counts);
    const prefix = this.#config.mqtt?.topicPrefix ?? 'lepton/surveillance';
    this.#queuePublish(`${prefix}/events`, JSON.stringify(event));
    for (const q of this.#streams) q.push(event);
    if (event.type === 'end' && recorded) this.#clips!.add(o);
  }

  async #shutdown(reason: ServiceReport['reason']): Promise<ServiceReport> {
    this.#state = 'stopping';
    const t0 = Date.now();
    this.#log(`instance ${this.instance}: stopping (${reason})`);
    let error: string | undefined;
    this.#pipeline?.stop();
    const pipeline = await this.#run.catch((err: unknown) => {
      error = err instanceof Error ? err.message : describeValue(err);
      return null;
    });
    // Cameras that never reported an end (the pipeline failed) still end their objects.
    for (const [name, life] of this.#lifecycles) if (!this.#ended.has(name)) this.#enqueue(name, life.endAll('stopped'));
    await Promise.all(this.#chains.values());
    // Stopped by a signal: a fast shutdown; no clip is started any more (the cut in progress is aborted), clips not cut
    // yet stay pending (stored) and the next start cuts them from the recording. Closed before the recorders stop:
    // their last segments must not start cuts. Every camera ended (files): nothing else to wait for, so they are cut now.
    this.#clips?.close();
    await this.#stopRecorders();
    if (reason === 'cameras-ended') this.#clips?.check(true);
    await this.#clips?.idle();
    await this.#retentionChain;
    await this.#store.flush();
    // A broker that is away gets a bounded wait: what it has not acknowledged by then is counted as failed (the
    // events themselves are in the event file).
    this.#publishStatus('offline');
    this.#counters.mqtt.failed += await this.#publishing.drain(PUBLISH_DRAIN_MS);
    if (this.#ownsPublisher) await settleWithin(this.#publisher?.close() ?? Promise.resolve(), 5_000);
    await this.#api.close().catch(() => undefined);
    this.#state = 'stopped';
    for (const q of this.#streams) {
      this.#counters.streamDropped += q.dropped;
      q.end();
    }
    this.#streams.clear();
    const objectEvents = { new: 0, update: 0, end: 0 };
    for (const c of this.#counters.objectEvents.values()) for (const k of ['new', 'update', 'end'] as const) objectEvents[k] += c[k];
    const report: ServiceReport = { instance: this.instance, reason, pipeline, objectEvents, clips: { ...this.#counters.clips }, mqtt: { ...this.#counters.mqtt }, ...(error === undefined ? {} : { error: redactCredentials(error) }) };
    this.#log(`instance ${this.instance}: stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${objectEvents.new} object(s) started, ${objectEvents.end} ended; ${report.clips.ready} clip(s) cut, ${this.#clips?.size ?? 0} left for the next start`);
    this.#resolveDone(report);
    return report;
  }
}
