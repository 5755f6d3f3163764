import { z } from 'zod';

// The service blocks of a camera configuration file (`api`, `recording`, `events`) and the per-camera service fields
// (`labels`, `recording`). Kept apart from config.ts, which composes them into the document schema, so that the
// service's resolver (service.ts) can import them without an import cycle. Blocks are optional in the document and
// have no zod defaults: `resolveServiceConfig` fills them in one place, so that a library user's configuration (no
// service) stays exactly as written.

/** Largest recording budget accepted: 1 PB. */
const MAX_BYTES = 1e15;
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/**
 * A byte count as a number or a string with a unit (`'500MB'`, `'20 GiB'`).
 * @internal
 */
export function parseByteSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 && value <= MAX_BYTES ? Math.floor(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(value);
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!;
  return Number.isFinite(bytes) && bytes >= 1 && bytes <= MAX_BYTES ? Math.floor(bytes) : undefined;
}

const byteSize = z
  .union([z.number(), z.string()])
  .refine((v) => parseByteSize(v) !== undefined, "a size in bytes: a positive number or a string such as '500MB' or '20GiB' (at most 1 PB)");

/** Label keys and values: short, printable, selectable from a command line. */
const LABEL = /^[A-Za-z0-9_.-]{1,63}$/;

/** @internal */
export const labelsSchema = z
  .record(z.string().regex(LABEL, 'label keys: letters, digits, "_", "-", "." (at most 63)'), z.string().regex(LABEL, 'label values: letters, digits, "_", "-", "." (at most 63)'))
  .optional();

/**
 * What a bearer token may hold: visible ASCII without spaces (RFC 6750's `b64token` and more). A token with a space
 * could never be sent in `Authorization: Bearer <token>`, so every client would be locked out.
 * @internal
 */
export const TOKEN = /^[\x21-\x7E]+$/;

/** Longest clip of an object, seconds, by default (`events.maxClipSeconds`). */
export const DEFAULT_MAX_CLIP_SECONDS = 120;

/** @internal */
export const apiSchema = z
  .strictObject({
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    token: z
      .string()
      .min(16, 'at least 16 characters (use a random string, e.g. `openssl rand -hex 24`)')
      .max(4096)
      .regex(TOKEN, 'visible ASCII characters only, no spaces (it is sent as `Authorization: Bearer <token>`)')
      .optional(),
    auth: z.boolean().optional(),
    metricsAuth: z.boolean().optional(),
    requestTimeoutSeconds: z.number().positive().max(600).optional(),
  })
  .optional();

/** @internal */
export const recordingSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    dir: z.string().min(1).optional(),
    segmentSeconds: z.number().min(1).max(3600).optional(),
    retainDays: z.number().positive().max(3650).optional(),
    maxBytes: byteSize.optional(),
  })
  .optional();

/** @internal */
export const eventsSchema = z
  .strictObject({
    capacity: z.number().int().min(1).max(1_000_000).optional(),
    persist: z.boolean().optional(),
    updateSeconds: z.number().min(0).max(3600).optional(),
    clips: z.strictObject({ before: z.number().min(0).max(600).optional(), after: z.number().min(0).max(600).optional() }).nullable().optional(),
    maxClipSeconds: z.number().min(1).max(3600).optional(),
  })
  .optional();

/** The HTTP API of the service (`api:` in the configuration file). Every field is optional; see `resolveServiceConfig`. */
export interface ApiConfig {
  /** Interface to listen on (default `127.0.0.1`: this machine only). */
  host?: string;
  /** TCP port (default 5080; 0 picks a free one). */
  port?: number;
  /**
   * Bearer token every request must carry (`Authorization: Bearer <token>`), at least 16 characters. Prefer the
   * `LEPTON_SURVEILLANCE_TOKEN` environment variable, which is used when this is absent, to a token in the file.
   */
  token?: string;
  /** `false` serves without a token; allowed only on a loopback host (default true). */
  auth?: boolean;
  /** `false` serves `/metrics` without the token, for a Prometheus that cannot send one (default true). */
  metricsAuth?: boolean;
  /** Longest time to receive a request, seconds (default 10). */
  requestTimeoutSeconds?: number;
}

/** Continuous recording (`recording:` in the configuration file). */
export interface RecordingConfig {
  /** Record every camera (default true when the block is present; a camera can opt out with `recording: false`). */
  enabled?: boolean;
  /** Folder of the segments, one sub-folder per camera (default `recordings`, relative to the configuration file). */
  dir?: string;
  /** Length of a segment, seconds (default 60; segments start at a keyframe, so they can be a little longer). */
  segmentSeconds?: number;
  /** Segments older than this many days are deleted (default 7; fractions allowed). */
  retainDays?: number;
  /** Most bytes of segments kept by this process; the oldest are deleted first (a number or `'50GB'`; default none). */
  maxBytes?: number | string;
}

/** The tracked-object event store (`events:` in the configuration file). */
export interface EventsConfig {
  /** Most events kept; the oldest (with their snapshot and clip files) are dropped first (default 1000). */
  capacity?: number;
  /** Append ended events to `<output.dir>/events-<instance>.jsonl` and reload them on start (default true). */
  persist?: boolean;
  /** Least interval between two `update` messages of one object that only bring a better snapshot, seconds (default 2). */
  updateSeconds?: number;
  /** Seconds of recording kept before the object appeared and after it was lost, as the event's clip (default 5 and 5; `null` for no clips). */
  clips?: {
    /** Seconds before the object appeared (default 5). */
    before?: number;
    /** Seconds after it ended (default 5). */
    after?: number;
  } | null;
  /**
   * Longest clip of one object, seconds (default 120): a clip runs from `clips.before` seconds before the object
   * appeared to `clips.after` seconds after it ended, but no longer than this, so an object tracked for hours (a parked
   * car) gets the start of its stay, not hours of video to join and encode.
   */
  maxClipSeconds?: number;
}
