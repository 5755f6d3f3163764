import { join } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';
import { surveillanceError } from '../types.js';
import type { SurveillanceConfig } from './config.js';
import { DEFAULT_MAX_CLIP_SECONDS, parseByteSize, TOKEN } from './service-schema.js';

/** Environment variable the API token is read from when the configuration has none. */
export const TOKEN_ENV = 'LEPTON_SURVEILLANCE_TOKEN';

/** The service settings with every default filled in ({@link resolveServiceConfig}). */
export interface ResolvedServiceConfig {
  /** HTTP API. */
  api: {
    /** Interface to listen on. */
    host: string;
    /** TCP port (0: any free port). */
    port: number;
    /** The bearer token, or `null` when authentication is off (loopback only). */
    token: string | null;
    /** Whether `/metrics` needs the token too. */
    metricsAuth: boolean;
    /** Longest time to receive a request, ms. */
    requestTimeoutMs: number;
  };
  /** Continuous recording, or `null` when off. */
  recording: {
    /** Folder of the segments (one sub-folder per camera). */
    dir: string;
    /** Segment length, seconds. */
    segmentSeconds: number;
    /** Segments older than this are deleted, ms. */
    retainMs: number;
    /** Byte budget of the segments, or `null` for none. */
    maxBytes: number | null;
    /** Cameras recorded (those not opted out with `recording: false`). */
    cameras: string[];
  } | null;
  /** Tracked-object event store. */
  events: {
    /** Most events kept in memory (and reloaded). */
    capacity: number;
    /** JSON-lines file the ended events are appended to, or `null`. */
    persistPath: string | null;
    /** Least seconds between two snapshot-only `update`s of one object. */
    updateSeconds: number;
    /**
     * Clip window around an object's lifetime, seconds, or `null` for no clips (also `null` without recording, and
     * with `privacy.blurFaces`: recordings are not blurred).
     */
    clips: {
      /** Seconds before the object appeared. */
      before: number;
      /** Seconds after it ended. */
      after: number;
      /** Longest clip, seconds (from `before` seconds before the object appeared). */
      maxSeconds: number;
    } | null;
  };
}

/** Options of {@link resolveServiceConfig}. */
export interface ResolveServiceOptions {
  /** Environment to read {@link TOKEN_ENV} from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Name of this service instance, used in the persistence file name (default `default`). */
  instance?: string;
}

/** @internal A service instance's name: it becomes part of a file name and an MQTT topic. */
export const INSTANCE = /^[A-Za-z0-9_.-]{1,64}$/;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

/**
 * Whether a host name or address is this machine only.
 *
 * @param host - host name or IP address
 * @returns true for `127.x.x.x`, `::1` and `localhost`
 */
export function isLoopbackHost(host: string): boolean {
  // RegExp.test converts its argument: a Symbol or an object whose toString throws threw from here. Only a string
  // can name a host, so anything else is not a loopback one.
  return typeof host === 'string' && LOOPBACK.test(host);
}

/**
 * Fills in the service's defaults (the `api`, `recording` and `events` blocks of a configuration) and checks what
 * only makes sense together: a token (from the file or {@link TOKEN_ENV}) unless `api.auth` is `false`, and `auth:
 * false` only on a loopback host.
 *
 * Defaults: API on `127.0.0.1:5080`, 10 s request timeout, `/metrics` behind the token; recording off unless the
 * block is present, then 60 s segments kept 7 days, no byte budget; 1000 events in memory, persisted to
 * `<output.dir>/events-<instance>.jsonl`, snapshot-only updates at most every 2 s, clips 5 s before and after an
 * object (only with recording, and not with `privacy.blurFaces`: the recording is the camera's unblurred stream).
 *
 * @param config - a validated configuration ({@link loadConfig})
 * @param options - environment and instance name
 * @returns the resolved settings
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` when no token is configured (or it is not a string) and
 *   `api.auth` is not `false`, or when authentication is off on a host that is not loopback; `INVALID_ARGUMENT` for a
 *   config that is not a validated one, a non-object `env`, or an instance name other than 1–64 letters, digits, `_`,
 *   `-`, `.`
 * @example
 * ```ts
 * import { parseConfig, resolveServiceConfig } from '@lepton/surveillance';
 * const config = parseConfig({ cameras: [{ name: 'door', input: 'door.mp4' }], api: { auth: false } });
 * console.log(resolveServiceConfig(config).api); // { host: '127.0.0.1', port: 5080, token: null, … }
 * ```
 */
export function resolveServiceConfig(config: SurveillanceConfig, options: ResolveServiceOptions = {}): ResolvedServiceConfig {
  if (config === null || typeof config !== 'object' || !Array.isArray(config.cameras) || config.output === null || typeof config.output !== 'object') {
    throw new LeptonError('INVALID_ARGUMENT', `resolveServiceConfig: config must be a validated configuration (parseConfig, loadConfig), got ${describeValue(config)}.`);
  }
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `resolveServiceConfig: options must be an object, got ${describeValue(options)}.`);
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object')) throw new LeptonError('INVALID_ARGUMENT', `resolveServiceConfig: env must be an object of variables, got ${describeValue(options.env)}.`);
  // The instance names the events file under output.dir: '../x' would have put it elsewhere.
  if (options.instance !== undefined && !(typeof options.instance === 'string' && INSTANCE.test(options.instance))) {
    throw new LeptonError('INVALID_ARGUMENT', `resolveServiceConfig: instance must be 1–64 letters, digits, '_', '-' or '.', got ${describeValue(options.instance, 64)}.`);
  }
  const env = options.env ?? process.env;
  const api = config.api ?? {};
  const host = api.host ?? '127.0.0.1';
  const envToken = env[TOKEN_ENV];
  const token = api.token ?? (envToken === undefined || envToken === '' ? undefined : envToken);
  // A number or an object is no token: its length is undefined, so the length check below never caught it.
  if (token !== undefined && typeof token !== 'string') throw surveillanceError('CONFIG_INVALID', 'Invalid service configuration:\n- api.token: the token must be a string', { problems: ['api.token: the token must be a string'], issues: [{ path: 'api', message: 'the token must be a string' }] });
  const problems: string[] = [];
  if (api.auth === false) {
    if (!isLoopbackHost(host)) problems.push(`api.auth: false is only allowed on a loopback host (127.0.0.1, ::1, localhost), not on '${host}'; set a token instead`);
  } else if (token === undefined) {
    problems.push(`api.token: the HTTP API needs a bearer token; set ${TOKEN_ENV} (preferred) or api.token, or api.auth: false to serve this machine without one`);
  } else if (token.length < 16) {
    problems.push(`${TOKEN_ENV}: the token must have at least 16 characters (e.g. \`openssl rand -hex 24\`)`);
  } else if (!TOKEN.test(token)) {
    // Never quoted: it is a secret.
    problems.push(`${api.token === undefined ? TOKEN_ENV : 'api.token'}: the token must be visible ASCII characters without spaces (it is sent as \`Authorization: Bearer <token>\`)`);
  }
  if (problems.length > 0) {
    throw surveillanceError('CONFIG_INVALID', `Invalid service configuration:\n- ${problems.join('\n- ')}`, { problems, issues: problems.map((message) => ({ path: 'api', message })) });
  }
  const rec = config.recording;
  const recorded = config.cameras.filter((c) => c.recording !== false).map((c) => c.name);
  const recording =
    rec === undefined || rec.enabled === false
      ? null
      : {
          dir: rec.dir ?? 'recordings',
          segmentSeconds: rec.segmentSeconds ?? 60,
          retainMs: (rec.retainDays ?? 7) * 86_400_000,
          maxBytes: rec.maxBytes === undefined ? null : (parseByteSize(rec.maxBytes) ?? null),
          cameras: recorded,
        };
  const ev = config.events ?? {};
  const instance = options.instance ?? 'default';
  // The recording is the camera's own stream, faces and all: with faces to blur, no clip is cut from it to be served.
  const clips = ev.clips === null || recording === null || config.privacy.blurFaces ? null : { before: ev.clips?.before ?? 5, after: ev.clips?.after ?? 5, maxSeconds: ev.maxClipSeconds ?? DEFAULT_MAX_CLIP_SECONDS };
  return {
    api: { host, port: api.port ?? 5080, token: api.auth === false ? null : token!, metricsAuth: api.metricsAuth ?? true, requestTimeoutMs: (api.requestTimeoutSeconds ?? 10) * 1000 },
    recording,
    events: {
      capacity: ev.capacity ?? 1000,
      persistPath: ev.persist === false ? null : join(config.output.dir, `events-${instance}.jsonl`),
      updateSeconds: ev.updateSeconds ?? 2,
      clips,
    },
  };
}
