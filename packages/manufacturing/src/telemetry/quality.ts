import { LeptonError } from '@lepton/core';
import { atLeast, integer, invalid } from '../internal/guards.js';
import { sensorRecordIssues, type SensorRecord } from './record.js';

/**
 * Kinds of data-quality problem, each reported, never passed silently to a model. `future-timestamp`: the sample is
 * stamped further ahead of the monitor's clock than `maxClockSkewMs` (a gateway with a wrong clock, a timestamp in
 * the wrong unit); it is refused without moving the signal's clock.
 */
export type QualityIssueKind = 'gap' | 'out-of-order' | 'missing-value' | 'stuck' | 'bad-quality' | 'duplicate' | 'future-timestamp';

/** One data-quality problem. */
export interface QualityIssue {
  /** What went wrong. */
  kind: QualityIssueKind;
  /** Asset and signal. */
  asset: string;
  /** Signal name. */
  signal: string;
  /** Time of the sample that revealed it, epoch ms (for `future-timestamp`, the monitor's clock when it was refused). */
  at: number;
  /** Human-readable detail (gap length, repeated value count …). */
  detail: string;
}

/** What {@link QualityMonitor.check} decided about one sample. */
export interface QualityVerdict {
  /** True when the sample may go to a model. */
  clean: boolean;
  /** Problems the sample revealed (a sample can be clean and still reveal a gap before it). */
  issues: QualityIssue[];
}

/** Options for {@link QualityMonitor}. */
export interface QualityOptions {
  /** Expected sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** A gap is reported when samples are more than this many intervals apart. Default 3. */
  gapFactor?: number;
  /** The same value this many times in a row is reported as a stuck sensor (and later repeats withheld). Default 20. */
  stuckAfter?: number;
  /**
   * A sample stamped more than this many ms after {@link QualityOptions.now} is refused as `future-timestamp`: counted,
   * never clean, and without moving its signal's clock. Without this bound one sample from a gateway whose clock is a
   * year ahead (or a timestamp of 1e20) would make every later sample of that signal "out of order" for good.
   * Default 300 000 (5 min: NTP-synchronised clocks are within a second; this leaves room for buffering gateways).
   * `Infinity` turns the check off (prefer injecting `now` for replays).
   */
  maxClockSkewMs?: number;
  /**
   * The monitor's clock, epoch ms, read once per sample. Default `Date.now`. Inject it in tests, or when replaying
   * recorded data (e.g. `() => replayClock`), so that old or simulated data is judged against its own time.
   */
  now?: () => number;
  /**
   * Most asset/signal pairs the monitor keeps state for (a few dozen bytes each). A sample of a new pair beyond it is
   * refused with `MFG_MAX_ASSETS`, so ids from the network cannot grow memory without bound; {@link QualityMonitor.forgetSignal}
   * frees a pair. Default 100,000.
   */
  maxSignals?: number;
}

/** The state key of an asset/signal pair: unambiguous for any strings (ids may contain any character, NUL included). */
const keyOf = (asset: string, signal: string): string => JSON.stringify([asset, signal]);

/** Default of {@link QualityOptions.maxClockSkewMs}: 5 minutes. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 300_000;

/**
 * What {@link QualityMonitor} remembers of one signal, as {@link QualityMonitor.snapshotSignal} exports it (to hand
 * the signal to another monitor): the last sample's time and value and how often that value has repeated.
 */
export interface SignalQualityState {
  /** Time of the last sample judged in order, epoch ms. */
  lastTs: number;
  /** Its value (NaN when it was missing). */
  lastValue: number;
  /** How many times in a row the value has been seen (stuck-sensor count). */
  repeats: number;
}

type SignalState = SignalQualityState;

/**
 * Checks a telemetry stream sample by sample, per asset and signal: timestamps too far in the future, gaps,
 * out-of-order and duplicate timestamps, missing values (NaN), stuck sensors (a value repeated `stuckAfter` times) and
 * samples flagged bad. Each problem becomes a {@link QualityIssue}; only clean samples are returned for the models.
 *
 * @example
 * ```ts
 * import { QualityMonitor } from '@lepton/manufacturing';
 * const q = new QualityMonitor({ intervalMs: 1000, now: () => Date.UTC(2026, 4, 4, 6) });
 * q.check({ timestamp: Date.UTC(2026, 4, 4, 6), asset: 'p1', signal: 'temp', value: 70, quality: 'good' }).clean; // true
 * q.check({ timestamp: Date.UTC(2027, 4, 4, 6), asset: 'p1', signal: 'temp', value: 70, quality: 'good' }).issues[0]?.kind; // 'future-timestamp'
 * ```
 */
export class QualityMonitor {
  private readonly interval: number;
  private readonly gapFactor: number;
  private readonly stuckAfter: number;
  private readonly maxSkew: number;
  private readonly now: () => number;
  private readonly maxSignals: number;
  private readonly states = new Map<string, SignalState>();
  private readonly counts: Record<QualityIssueKind | 'clean', number> = { clean: 0, gap: 0, 'out-of-order': 0, 'missing-value': 0, stuck: 0, 'bad-quality': 0, duplicate: 0, 'future-timestamp': 0 };

  /**
   * @param options - interval, gap factor, stuck threshold, clock-skew bound and clock
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an interval or gap factor that is not a finite
   *   number > 0, a stuck threshold that is not an integer ≥ 2, a negative or NaN skew bound, a `now` that is not a
   *   function, or a `maxSignals` that is not an integer ≥ 1
   */
  constructor(options: QualityOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalid('QualityMonitor', 'options', 'an object', options, 'INVALID_ARGUMENT');
    this.interval = atLeast('QualityMonitor', 'options.intervalMs', options.intervalMs ?? 1000, 0, true);
    this.gapFactor = atLeast('QualityMonitor', 'options.gapFactor', options.gapFactor ?? 3, 0, true);
    this.stuckAfter = integer('QualityMonitor', 'options.stuckAfter', options.stuckAfter ?? 20, 2);
    const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    if (typeof skew !== 'number' || !(skew >= 0)) throw invalid('QualityMonitor', 'options.maxClockSkewMs', 'a number ≥ 0 (Infinity turns the check off)', skew, 'INVALID_ARGUMENT');
    this.maxSkew = skew;
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw invalid('QualityMonitor', 'options.now', 'a function returning epoch ms', now, 'INVALID_ARGUMENT');
    this.now = now;
    this.maxSignals = integer('QualityMonitor', 'options.maxSignals', options.maxSignals ?? 100_000, 1);
  }

  /**
   * Checks one sample.
   *
   * @param r - a validated sample (from {@link parseSensorRecord}, or of that shape)
   * @returns whether the sample is clean enough for a model, and the issues it revealed
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `r` is not a valid sensor record (a NaN or string
   *   timestamp, an empty asset, an infinite value …; `details.field` names it): validate raw data with
   *   `parseSensorRecord` first; `INVALID_ARGUMENT` when `now()` does not return a finite number; `MFG_MAX_ASSETS`
   *   for a sample of a new asset/signal pair once `maxSignals` pairs are tracked (the sample is refused, nothing changes)
   */
  check(r: SensorRecord): QualityVerdict {
    const bad = sensorRecordIssues(r);
    if (bad.length > 0) {
      const { field, message } = bad[0]!;
      throw new LeptonError('INVALID_INPUT', `QualityMonitor.check: ${field} ${message}; validate raw records with parseSensorRecord first.`, { details: { field } });
    }
    const issues: QualityIssue[] = [];
    if (this.maxSkew !== Infinity) {
      const now = this.now();
      if (typeof now !== 'number' || !Number.isFinite(now)) throw invalid('QualityMonitor', 'options.now()', 'a finite number (epoch ms)', now, 'INVALID_ARGUMENT');
      if (r.timestamp - now > this.maxSkew) {
        // Refused before the signal's state is touched: a sample from the future must not make the present look late.
        this.counts['future-timestamp']++;
        issues.push({ kind: 'future-timestamp', asset: r.asset, signal: r.signal, at: now, detail: `stamped more than ${this.maxSkew / 1000} s after the monitor's clock` });
        return { clean: false, issues };
      }
    }
    const key = keyOf(r.asset, r.signal);
    const issue = (kind: QualityIssueKind, detail: string): QualityIssue => {
      this.counts[kind]++;
      return { kind, asset: r.asset, signal: r.signal, at: r.timestamp, detail };
    };
    const s = this.states.get(key);
    if (s === undefined && this.states.size >= this.maxSignals) {
      throw new LeptonError('MFG_MAX_ASSETS', `QualityMonitor.check: already tracking ${this.maxSignals} asset/signal pairs (options.maxSignals); this sample of a new pair was refused. Raise the limit or forget() pairs no longer sent.`, { details: { maxSignals: this.maxSignals } });
    }
    if (s && r.timestamp < s.lastTs) {
      issues.push(issue('out-of-order', `${s.lastTs - r.timestamp} ms older than the previous sample`));
      return { clean: false, issues };
    }
    if (s && r.timestamp === s.lastTs) {
      issues.push(issue('duplicate', 'same timestamp as the previous sample'));
      return { clean: false, issues };
    }
    if (s && r.timestamp - s.lastTs > this.gapFactor * this.interval) {
      issues.push(issue('gap', `${((r.timestamp - s.lastTs) / 1000).toFixed(1)} s without samples`));
    }
    let clean = true;
    if (r.quality === 'bad') {
      issues.push(issue('bad-quality', 'sample flagged bad by the source'));
      clean = false;
    }
    if (!Number.isFinite(r.value)) {
      issues.push(issue('missing-value', 'value is NaN or missing'));
      clean = false;
    }
    const next: SignalState = { lastTs: r.timestamp, lastValue: r.value, repeats: 1 };
    if (clean && s && s.lastValue === r.value) {
      next.repeats = s.repeats + 1;
      if (next.repeats === this.stuckAfter) issues.push(issue('stuck', `same value ${this.stuckAfter} times in a row`));
      if (next.repeats >= this.stuckAfter) clean = false;
    }
    this.states.set(key, next);
    if (clean) this.counts.clean++;
    return { clean, issues };
  }

  /**
   * The latest sample time this monitor accepts now: `now()` + `maxClockSkewMs` (Infinity when the skew check is off).
   * A restored state stamped after it is refused: every later sample would look out of order.
   *
   * @returns epoch ms, or Infinity
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `now()` does not return a finite number
   */
  latestAcceptedTime(): number {
    if (this.maxSkew === Infinity) return Infinity;
    const now = this.now();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw invalid('QualityMonitor', 'options.now()', 'a finite number (epoch ms)', now, 'INVALID_ARGUMENT');
    return now + this.maxSkew;
  }

  /** Samples more than this many ms apart are a `gap` (`gapFactor` × `intervalMs`). */
  get gapThresholdMs(): number {
    return this.gapFactor * this.interval;
  }

  /**
   * The state of one signal, for handing it to another monitor.
   *
   * @param asset - asset
   * @param signal - signal
   * @returns a copy, or undefined when the signal has not been seen
   */
  snapshotSignal(asset: string, signal: string): SignalQualityState | undefined {
    const s = this.states.get(keyOf(asset, signal));
    return s ? { ...s } : undefined;
  }

  /**
   * Goes on from another monitor's {@link snapshotSignal}: the next sample is judged against the restored time and
   * value (a gap since then is reported; a stuck count goes on).
   *
   * @param asset - asset
   * @param signal - signal
   * @param state - the state: a finite `lastTs` no later than `now()` + `maxClockSkewMs`, a `lastValue` that is a finite number or NaN (missing), an integer
   *   `repeats` ≥ 1
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) when the asset or signal is not a
   *   non-empty string or the state is not as above (nothing is restored: a NaN time would make every later sample of
   *   the signal look neither late nor gapped); `MFG_MAX_ASSETS` for a new pair once `maxSignals` pairs are tracked
   */
  restoreSignal(asset: string, signal: string, state: SignalQualityState): void {
    const fn = 'QualityMonitor.restoreSignal';
    if (typeof asset !== 'string' || asset.length === 0) throw invalid(fn, 'asset', 'a non-empty string', asset);
    if (typeof signal !== 'string' || signal.length === 0) throw invalid(fn, 'signal', 'a non-empty string', signal);
    if (typeof state !== 'object' || state === null) throw invalid(fn, 'state', 'an object { lastTs, lastValue, repeats }', state);
    if (typeof state.lastTs !== 'number' || !Number.isFinite(state.lastTs)) throw invalid(fn, 'state.lastTs', 'a finite number (epoch ms)', state.lastTs);
    if (state.lastTs > this.latestAcceptedTime()) throw invalid(fn, 'state.lastTs', `a time no later than now() + maxClockSkewMs (${this.maxSkew} ms)`, state.lastTs);
    const v: unknown = state.lastValue;
    if (typeof v !== 'number' || v === Infinity || v === -Infinity) throw invalid(fn, 'state.lastValue', 'a finite number, or NaN for a missing value', v);
    integer(fn, 'state.repeats', state.repeats, 1, Number.MAX_SAFE_INTEGER, 'INVALID_INPUT');
    const key = keyOf(asset, signal);
    if (!this.states.has(key) && this.states.size >= this.maxSignals) {
      throw new LeptonError('MFG_MAX_ASSETS', `${fn}: already tracking ${this.maxSignals} asset/signal pairs (options.maxSignals); nothing was restored.`, { details: { maxSignals: this.maxSignals } });
    }
    this.states.set(key, { lastTs: state.lastTs, lastValue: state.lastValue, repeats: state.repeats });
  }

  /**
   * Forgets one signal (it is monitored elsewhere now); counters are kept.
   *
   * @param asset - asset
   * @param signal - signal
   */
  forgetSignal(asset: string, signal: string): void {
    this.states.delete(keyOf(asset, signal));
  }

  /** Samples passed as clean and issues found, by kind. */
  stats(): Record<QualityIssueKind | 'clean', number> {
    return { ...this.counts };
  }
}
