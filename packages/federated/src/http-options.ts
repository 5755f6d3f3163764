import { createPrivateKey, type KeyObject } from 'node:crypto';
import { describeValue, LeptonError, type tf } from '@lepton/core';
import type { DpOptions } from './http-protocol.js';
import { importIdentityKey } from './identity.js';
import { maskClipLimit, MIN_SCALE, type MaskOptions } from './masking.js';
import type { UpdateBounds } from './update-checks.js';
import { checkBoolean, checkLogger, isModel, isPartnerId, isPlainObject, MAX_TIMER_MS } from './validate.js';
import { checkUsableWeights, readWeights, type WeightSet } from './weights.js';

export type { UpdateBounds } from './update-checks.js';

/** Where the coordinator and partner report what they do; each method gets a message and structured fields. */
export interface FederatedLogger {
  /** Normal progress (round opened, closed, saved). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** A rejected request or a missed quorum. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that stops the federation. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One enrolled partner and its own bearer credential. */
export interface PartnerCredential {
  /** Partner id (letters, digits, `.`, `_`, `-`; at most 64). */
  id: string;
  /** Its secret bearer token (at least 16 characters; never shared between partners). */
  token: string;
  /**
   * Its long-term Ed25519 identity public key (base64 of 32 raw bytes, `IdentityKeys.publicKey`). Required under
   * secure aggregation: the coordinator refuses key announcements and confirmations this key did not sign.
   */
  identityKey?: string;
  /**
   * Most training samples this partner's update may be weighted with (its registered dataset size). A larger claim is
   * capped to it. Default: the coordinator's `maxSamples`.
   */
  maxSamples?: number;
}

/**
 * Time limits of the coordinator's HTTP server, against clients that hold connections open (slow loris). Each is a
 * positive number of milliseconds, at most 2 147 483 647 (about 24.8 days).
 */
export interface HttpLimits {
  /**
   * Milliseconds a client has to send a whole request, headers and body; a slower one is cut off (HTTP 408 or a
   * closed socket). Default 120 000.
   */
  requestTimeoutMs?: number;
  /**
   * Milliseconds a connection may stay idle (no bytes either way) before it is closed. Long polls of `GET /v1/round`
   * are held at most half of this. Default 60 000.
   */
  connectionTimeoutMs?: number;
  /** Milliseconds an idle keep-alive connection is kept between requests. Default 5 000. */
  keepAliveTimeoutMs?: number;
}

/** Options of {@link FederatedCoordinator.start}. */
export interface CoordinatorOptions {
  /**
   * The starting global model: its weights, or the model itself. With a model, every round's global model is also
   * saved as a versioned core bundle (`saveBundle`), and the coordinator writes each new global into that model.
   * On restart from an existing `stateDir` it only fixes the expected specs; the weights come from disk.
   */
  initialWeights: WeightSet | tf.LayersModel;
  /** Enrolled partners, each with its own token. */
  partners: PartnerCredential[];
  /** Token for the admin route `GET /v1/status`; without one, that route always answers 403. */
  adminToken?: string;
  /** Rounds to run. */
  rounds: number;
  /** Minimum updates for a round to close. Default: every partner. Under secure aggregation at least 2. */
  quorum?: number;
  /**
   * Close a round as soon as `quorum` updates are in, instead of waiting for every partner or the deadline.
   * Default false.
   */
  closeOnQuorum?: boolean;
  /**
   * Milliseconds a round stays open, counted from the first partner's fetch of the global weights (secure
   * aggregation: from the end of the key phase). At the deadline the round closes if `quorum` updates arrived;
   * otherwise the attempt fails and the round is retried (see `maxRoundAttempts`). Default 600 000; at most
   * 2 147 483 647 (about 24.8 days: Node's timers cut a longer delay to 1 ms), as for every deadline here.
   */
  roundDeadlineMs?: number;
  /** Secure aggregation: milliseconds the key phase waits for all keys, from the first key. Default `roundDeadlineMs`. */
  keyDeadlineMs?: number;
  /** Secure aggregation: milliseconds survivors have to reveal seeds of dropped partners. Default `roundDeadlineMs`. */
  revealDeadlineMs?: number;
  /**
   * Attempts a round gets to reach its quorum. A failed attempt is recorded (`status().failures`) and logged; in
   * plain mode the updates already received are kept and the deadline restarts; under secure aggregation the attempt
   * starts over from the key phase. After the last attempt the federation fails with `FEDERATED_QUORUM_NOT_MET`.
   * Under secure aggregation an attempt whose unmasked aggregate is rejected (`FEDERATED_AGGREGATE_INVALID`) spends
   * its survivors' updates for this global version: partners never let one base model into two unmasked sums, so the
   * retry counts only on the other partners (keys from the survivors are refused, 409 `FEDERATED_ROUND_CLOSED`), and
   * when fewer than `quorum` are left the federation fails at once with `FEDERATED_AGGREGATE_INVALID`. Default 3.
   */
  maxRoundAttempts?: number;
  /** Directory for the state file and every round's global weights (created if missing). */
  stateDir: string;
  /** Local training algorithm partners must use. Default `'fedavg'`. */
  algorithm?: 'fedavg' | 'fedprox';
  /** FedProx proximal weight. Default 0.01. */
  mu?: number;
  /** Partners send masked updates and the coordinator only ever sees their sum. Default false. */
  secureAggregation?: boolean;
  /** Secure aggregation fixed point. Default scale 2^16 and the largest clip value that cannot wrap. */
  masking?: Partial<MaskOptions>;
  /**
   * Differential privacy every partner must apply (clip + Gaussian noise) before sending. Enforced by the partners, not
   * verifiable by the coordinator: it records the claimed parameters, the effective noise multiplier of each round's
   * actual participants and weights, and the cumulative (ε, δ) that holds if the claims are true; plain updates whose
   * norm contradicts their claim are refused (`FEDERATED_DP_VIOLATION`).
   */
  dp?: DpOptions;
  /**
   * Bounds on every plain update — largest |value| and largest L2 norm — and on every round's averaged update (which
   * is all the coordinator can check under secure aggregation). Out-of-bounds updates are refused with
   * `FEDERATED_OUT_OF_BOUNDS`; an out-of-bounds or non-finite aggregate fails the attempt with
   * `FEDERATED_AGGREGATE_INVALID` and the last good global model stays published. Default `{ maxAbs: 1000, maxNorm:
   * 10000 }`, far above what one round of training moves a weight; tighten it to what your model needs.
   */
  updateBounds?: Partial<UpdateBounds>;
  /**
   * Most training samples any partner's update is weighted with, unless its credential says otherwise
   * (`PartnerCredential.maxSamples`). Sample counts are self-reported; without a cap one partner could claim 10^12 and
   * own the average. Default 1 000 000.
   */
  maxSamples?: number;
  /**
   * Under secure aggregation, keep and show per-partner training metrics and DP diagnostics (pre-clip norm, whether it
   * was clipped) when partners choose to send them. Default false: they are dropped unread, so nothing about one
   * partner's update is stored or served in clear. Without secure aggregation they are always kept.
   */
  partnerDiagnostics?: boolean;
  /**
   * Id of this federation, bound into every secure-aggregation key announcement. Default: a random id made on the
   * first start and kept in the state directory. Starting on a state directory made with another id fails with
   * `FEDERATED_STATE_INVALID`.
   */
  federationId?: string;
  /**
   * Ed25519 private key (KeyObject or PKCS#8 PEM, e.g. from `createBundleSigningKeys`) that signs every round's bundle
   * (`signBundle`), so consumers can load it with `loadBundle(dir, { trustedKeys })`. Only with a model.
   */
  bundleSigningKey?: KeyObject | string;
  /** HTTP time limits. */
  http?: HttpLimits;
  /** Bundle name for the per-round bundles (only with a model). Default `'federated-model'`. */
  bundleName?: string;
  /** Interface to listen on (a non-empty host name or address). Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 0 (any free port; read `coordinator.url`). */
  port?: number;
  /** Logger; default silent (rejections are still listed in `status()`). */
  logger?: FederatedLogger;
}

/** {@link CoordinatorOptions} with every default filled in. */
export interface ResolvedCoordinatorOptions {
  /** Starting weights (read from the model when one was given). */
  initialWeights: WeightSet;
  /** The model, when one was given. */
  model: tf.LayersModel | null;
  /** Enrolled partners. */
  partners: PartnerCredential[];
  /** Admin token or null. */
  adminToken: string | null;
  /** Rounds to run. */
  rounds: number;
  /** Minimum updates per round. */
  quorum: number;
  /** Close as soon as the quorum is in. */
  closeOnQuorum: boolean;
  /** Training deadline (ms). */
  roundDeadlineMs: number;
  /** Key-phase deadline (ms). */
  keyDeadlineMs: number;
  /** Reveal deadline (ms). */
  revealDeadlineMs: number;
  /** Attempts per round. */
  maxRoundAttempts: number;
  /** State directory. */
  stateDir: string;
  /** Local algorithm. */
  algorithm: 'fedavg' | 'fedprox';
  /** FedProx weight. */
  mu: number;
  /** Secure aggregation on. */
  secureAggregation: boolean;
  /** Fixed-point parameters. */
  masking: MaskOptions;
  /** Required differential privacy (with `delta` filled in) or null. */
  dp: Required<DpOptions> | null;
  /** Update and aggregate bounds. */
  updateBounds: UpdateBounds;
  /** Sample cap per partner id. */
  maxSamples: Record<string, number>;
  /** Keep per-partner diagnostics under secure aggregation. */
  partnerDiagnostics: boolean;
  /** Federation id, or null to use (or make) the one in the state directory. */
  federationId: string | null;
  /** Bundle signing key or null. */
  bundleSigningKey: KeyObject | null;
  /** HTTP limits in ms. */
  http: Required<HttpLimits>;
  /** Bundle name. */
  bundleName: string;
  /** Listen host. */
  host: string;
  /** Listen port. */
  port: number;
  /** Logger. */
  logger: FederatedLogger;
  /** Largest accepted update body in bytes (the expected payload plus header room). */
  maxUpdateBytes: number;
}

/** A logger that drops everything. */
export const silentLogger: FederatedLogger = { info: () => {}, warn: () => {}, error: () => {} };

function bad(message: string): never {
  throw new LeptonError('INVALID_ARGUMENT', `FederatedCoordinator: ${message}`);
}

// Safe integers only: a count the partners cannot read back exactly (1e308 rounds) makes them refuse every round info.
function positiveInt(v: unknown, what: string): number {
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) bad(`${what} must be a positive integer, got ${describeValue(v)}.`);
  return v as number;
}

// At most MAX_TIMER_MS: Node cuts a longer timer to 1 ms, so a 30-day deadline failed every attempt at once.
function positiveMs(v: unknown, what: string): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMER_MS)) {
    bad(`${what} must be a positive number of milliseconds, at most ${MAX_TIMER_MS} (about 24.8 days), got ${describeValue(v)}.`);
  }
  return v as number;
}

/** An optional group of options (`masking`, `dp`, `updateBounds`, `http`): absent or an object, never a number or string. */
function group<T>(v: T | undefined, what: string): T | undefined {
  if (v !== undefined && !isPlainObject(v)) bad(`${what} must be an object, got ${describeValue(v)}.`);
  return v;
}

/**
 * Fills in defaults and validates coordinator options. Asynchronous because, when `initialWeights` is a model, its
 * weights are read back with `readWeights()` (see there).
 *
 * @param options - what the caller passed
 * @returns the options with every default filled in
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the first bad option
 */
export async function resolveCoordinatorOptions(options: CoordinatorOptions): Promise<ResolvedCoordinatorOptions> {
  if (typeof options !== 'object' || options === null) bad('options are required.');
  // Checked before the model's weights are read back: a bad option fails fast, without GPU work.
  checkLogger(options.logger, 'FederatedCoordinator: logger');
  for (const k of ['closeOnQuorum', 'secureAggregation', 'partnerDiagnostics'] as const) checkBoolean(options[k], `FederatedCoordinator: ${k}`);
  const host = options.host ?? '127.0.0.1';
  // An empty host would listen on every interface instead of the loopback default.
  if (typeof host !== 'string' || host.length === 0 || host.length > 253) bad(`host must be a host name or address, got ${describeValue(host)}.`);
  const masking = group(options.masking, 'masking');
  const dp = group(options.dp, 'dp') ?? null;
  const updateBounds = group(options.updateBounds, 'updateBounds');
  const httpOptions = group(options.http, 'http');
  const model = isModel(options.initialWeights) ? options.initialWeights : null;
  const initialWeights = model !== null ? await readWeights(model) : (options.initialWeights as WeightSet);
  if (!(initialWeights?.values instanceof Float32Array) || !Array.isArray(initialWeights.specs)) {
    bad('initialWeights must be a WeightSet {specs, values: Float32Array} or a tfjs-layers model.');
  }
  // Well-formed specs and finite values: a NaN initial model would be published, and every partner would refuse it.
  try {
    checkUsableWeights(initialWeights, 'initialWeights');
  } catch (err) {
    bad(`${(err as Error).message}`);
  }
  if (!Array.isArray(options.partners) || options.partners.length === 0) bad('partners must list at least one {id, token}.');
  const ids = new Set<string>();
  const tokens = new Set<string>();
  const secureAggregation = options.secureAggregation ?? false;
  const defaultMaxSamples = positiveInt(options.maxSamples ?? 1_000_000, 'maxSamples');
  const maxSamples: Record<string, number> = {};
  for (const p of options.partners) {
    if (!isPartnerId(p?.id)) bad(`partner id ${describeValue(p?.id, 64)} must be 1–64 letters, digits, '.', '_' or '-' (and not '__proto__').`);
    if (typeof p.token !== 'string' || p.token.length < 16) bad(`partner '${p.id}' needs a token of at least 16 characters.`);
    if (ids.has(p.id)) bad(`partner id '${p.id}' is listed twice.`);
    if (tokens.has(p.token)) bad(`partner '${p.id}' reuses another partner's token; every partner needs its own.`);
    if (p.identityKey !== undefined) {
      try {
        importIdentityKey(p.identityKey, p.id);
      } catch {
        bad(`partner '${p.id}': identityKey must be the base64 of a 32-byte Ed25519 public key (IdentityKeys.publicKey).`);
      }
    } else if (secureAggregation) {
      bad(`partner '${p.id}' needs an identityKey under secure aggregation: key announcements are verified against it.`);
    }
    maxSamples[p.id] = positiveInt(p.maxSamples ?? defaultMaxSamples, `partner '${p.id}' maxSamples`);
    ids.add(p.id);
    tokens.add(p.token);
  }
  const adminToken = options.adminToken ?? null;
  if (adminToken !== null && (typeof adminToken !== 'string' || adminToken.length < 16 || tokens.has(adminToken))) {
    bad('adminToken must be at least 16 characters and differ from every partner token.');
  }
  const rounds = positiveInt(options.rounds, 'rounds');
  const quorum = positiveInt(options.quorum ?? options.partners.length, 'quorum');
  if (quorum > options.partners.length) bad(`quorum ${quorum} exceeds the ${options.partners.length} enrolled partners.`);
  // With one update the "sum" the coordinator unmasks is that partner's own update.
  if (secureAggregation && quorum < 2) bad('secure aggregation needs quorum ≥ 2, or the sum would be one partner’s update.');
  const roundDeadlineMs = positiveMs(options.roundDeadlineMs ?? 600_000, 'roundDeadlineMs');
  const scale = masking?.scale ?? 2 ** 16;
  if (!(Number.isFinite(scale) && scale >= MIN_SCALE)) bad(`masking.scale must be a finite number ≥ ${MIN_SCALE.toExponential(2)}, got ${describeValue(scale)}.`);
  const limit = maskClipLimit(scale, options.partners.length);
  const clipValue = masking?.clipValue ?? limit;
  if (!(Number.isFinite(clipValue) && clipValue > 0 && clipValue <= limit)) {
    bad(`masking.clipValue must be in (0, ${limit}] so that ${options.partners.length} partners' sum cannot wrap, got ${describeValue(clipValue)}.`);
  }
  // Number.isFinite first: it never converts, while `>` would run a hostile value's valueOf or throw on a Symbol.
  if (dp !== null && !(Number.isFinite(dp.clipNorm) && dp.clipNorm > 0 && Number.isFinite(dp.noiseMultiplier) && dp.noiseMultiplier >= 0)) {
    bad('dp needs clipNorm > 0 and noiseMultiplier ≥ 0.');
  }
  const delta = dp?.delta ?? 1e-5;
  if (!(typeof delta === 'number' && delta > 0 && delta < 1)) bad(`dp.delta must be in (0, 1), got ${describeValue(delta)}.`);
  const maxAbs = updateBounds?.maxAbs ?? 1000;
  const maxNorm = updateBounds?.maxNorm ?? 10_000;
  // Bounded far below float32's 3.4e38 so no sum of bounded values can overflow.
  if (!(typeof maxAbs === 'number' && maxAbs > 0 && maxAbs <= 1e30)) bad(`updateBounds.maxAbs must be in (0, 1e30], got ${describeValue(maxAbs)}.`);
  if (!(typeof maxNorm === 'number' && maxNorm > 0 && maxNorm <= 1e30)) bad(`updateBounds.maxNorm must be in (0, 1e30], got ${describeValue(maxNorm)}.`);
  const federationId = options.federationId ?? null;
  if (federationId !== null && !(typeof federationId === 'string' && /^[\x21-\x7e]{1,128}$/.test(federationId))) {
    bad('federationId must be 1–128 printable ASCII characters without spaces.');
  }
  let bundleSigningKey: KeyObject | null = null;
  if (options.bundleSigningKey !== undefined) {
    try {
      bundleSigningKey = typeof options.bundleSigningKey === 'string' ? createPrivateKey(options.bundleSigningKey) : options.bundleSigningKey;
    } catch {
      bad('bundleSigningKey must be an Ed25519 private key (KeyObject or PKCS#8 PEM).');
    }
    if (bundleSigningKey?.type !== 'private' || bundleSigningKey.asymmetricKeyType !== 'ed25519') bad('bundleSigningKey must be an Ed25519 private key.');
  }
  const http = {
    requestTimeoutMs: positiveMs(httpOptions?.requestTimeoutMs ?? 120_000, 'http.requestTimeoutMs'),
    connectionTimeoutMs: positiveMs(httpOptions?.connectionTimeoutMs ?? 60_000, 'http.connectionTimeoutMs'),
    keepAliveTimeoutMs: positiveMs(httpOptions?.keepAliveTimeoutMs ?? 5_000, 'http.keepAliveTimeoutMs'),
  };
  const algorithm = options.algorithm ?? 'fedavg';
  if (algorithm !== 'fedavg' && algorithm !== 'fedprox') bad(`algorithm must be 'fedavg' or 'fedprox', got ${describeValue(algorithm)}.`);
  const mu = options.mu ?? 0.01;
  if (!(Number.isFinite(mu) && mu >= 0)) bad(`mu must be ≥ 0, got ${describeValue(mu)}.`);
  if (typeof options.stateDir !== 'string' || options.stateDir.length === 0) bad('stateDir is required.');
  const bundleName = options.bundleName ?? 'federated-model';
  if (typeof bundleName !== 'string' || !/^[A-Za-z0-9._-]+$/.test(bundleName)) bad(`bundleName ${describeValue(bundleName)} may contain only letters, digits, '.', '_' and '-'.`);
  const port = options.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) bad(`port must be 0–65535, got ${describeValue(port)}.`);
  const headerRoom = 64 * 1024 + 256 * initialWeights.specs.length;
  return {
    initialWeights,
    model,
    partners: options.partners.map((p) => {
      const c: PartnerCredential = { id: p.id, token: p.token, maxSamples: maxSamples[p.id]! };
      if (p.identityKey !== undefined) c.identityKey = p.identityKey;
      return c;
    }),
    adminToken,
    rounds,
    quorum,
    closeOnQuorum: options.closeOnQuorum ?? false,
    roundDeadlineMs,
    keyDeadlineMs: positiveMs(options.keyDeadlineMs ?? roundDeadlineMs, 'keyDeadlineMs'),
    revealDeadlineMs: positiveMs(options.revealDeadlineMs ?? roundDeadlineMs, 'revealDeadlineMs'),
    maxRoundAttempts: positiveInt(options.maxRoundAttempts ?? 3, 'maxRoundAttempts'),
    stateDir: options.stateDir,
    algorithm,
    mu,
    secureAggregation,
    masking: { scale, clipValue },
    dp: dp === null ? null : { clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, delta },
    updateBounds: { maxAbs, maxNorm },
    maxSamples,
    partnerDiagnostics: options.partnerDiagnostics ?? false,
    federationId,
    bundleSigningKey,
    http,
    bundleName,
    host,
    port,
    logger: options.logger ?? silentLogger,
    maxUpdateBytes: headerRoom + 4 * initialWeights.values.length,
  };
}
