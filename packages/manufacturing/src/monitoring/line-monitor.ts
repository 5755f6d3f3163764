import { LeptonError } from '@lepton/core';
import { finiteResult, integer, invalid, noSpread, scaleOf } from '../internal/guards.js';
import { AlarmManager, type Alarm, type AlarmEvent, type AlarmEvidence, type AlarmOptions, type Severity } from '../alarms/alarms.js';
import { RuleStream } from '../spc/stream.js';
import { checkRuleSet, WESTERN_ELECTRIC, type RuleSet } from '../spc/rules.js';
import { QualityMonitor, type QualityIssue, type QualityIssueKind, type QualityOptions } from '../telemetry/quality.js';
import { sensorRecordIssues, type RecordRejection, type SensorRecord } from '../telemetry/record.js';
import type { AnomalyDetector, AnomalyScore } from './autoencoder.js';
import { fromJsonNumbers, parseAssetSnapshot, toJsonNumbers, type AssetSnapshot } from './asset-snapshot.js';

/** Phase I limits of one signal's subgroup-mean chart. */
export interface SignalBaseline {
  /** Centre line (mean of the Phase I subgroup means). */
  center: number;
  /** Standard deviation of the Phase I subgroup means. */
  sigma: number;
}

/**
 * SPC baselines per asset, then per signal; the asset key `*` applies to assets without their own. `S` is the
 * monitor's signal names (see {@link LineMonitor}): a baseline naming another signal is a compile error.
 */
export type LineBaseline<S extends string = string> = Record<string, Partial<Record<S, SignalBaseline>>>;

/**
 * Options for {@link LineMonitor}. Declare the signals with `as const` (or pass them inline) and `S` is inferred as
 * their names, so `push`, the baseline and the events are typed with them; with a `string[]` everything takes any name.
 */
export interface LineMonitorOptions<S extends string = string> {
  /** Signals every asset reports, in the detector's column order. */
  signals: readonly S[];
  /**
   * Learned detector (shared by all assets of the line); omit to run SPC only. A detector fitted or loaded with
   * `workers` ≥ 2 scores each tick's windows on its worker threads (split evenly over them; ticks pushed without
   * waiting overlap); events are the same as with one in this thread. The monitor does not own the
   * detector: close it when the line stops.
   */
  detector?: AnomalyDetector;
  /** SPC limits from {@link LineMonitor.fitBaseline}; omit to run the detector only. (`S` is inferred from `signals` alone.) */
  baseline?: LineBaseline<NoInfer<S>>;
  /** Samples per SPC subgroup (the charted statistic is the subgroup mean). Default 60. */
  subgroup?: number;
  /** SPC run rules. Default Western Electric. */
  ruleSet?: RuleSet;
  /**
   * Data-quality checks (interval, gap factor, stuck threshold) and the clock: a sample stamped more than
   * `maxClockSkewMs` (default 5 min) after `now()` (default `Date.now`) is refused as a `future-timestamp` quality issue
   * and raises a clock alarm, without moving the monitor's clock. Replaying recorded or simulated data from the future?
   * Inject `now`.
   */
  quality?: QualityOptions;
  /**
   * Distinct assets tracked at most. A record for one more asset is refused (a `rejected` event naming `asset`,
   * counted), so a misbehaving publisher cannot grow the monitor's memory without bound. Default 10 000.
   */
  maxAssets?: number;
  /**
   * A missing or unclean value may be replaced by the signal's previous clean value for this many consecutive samples
   * before the detector stops scoring that asset (until a full window of clean rows has come in again). Default 3.
   */
  maxFill?: number;
  /** Score every n-th complete window per asset. Default 1 (every sample). */
  scoreEvery?: number;
  /** Windows scored per forward pass at most. Default 256. */
  batchSize?: number;
  /** Alarm debounce/hysteresis per source (counts are of subgroups for SPC, windows for the model, samples for data quality). */
  alarms?: {
    /** SPC alarms. Default raise after 1 violating subgroup, clear after 3 clean ones. */
    spc?: AlarmOptions;
    /** Detector alarms. Default raise after 3 windows over the threshold, clear after 30 under it. */
    model?: AlarmOptions;
    /** Data-quality alarms (missing, bad-flagged or stuck values). Default raise after 3 samples, clear after 10. */
    quality?: AlarmOptions;
    /**
     * Clock alarms, per asset and signal, for samples stamped too far in the future (see `quality.maxClockSkewMs`):
     * evidence source `data-quality:future-timestamp`. Default raise on the first such sample (a timestamp that far
     * ahead is a clock or encoding fault, never noise), clear after 10 samples in time; ids `clock-1`, `clock-2` ….
     */
    clock?: AlarmOptions;
    /**
     * Hand-over alarms, per asset, from {@link LineMonitor.restoreAsset}'s check on the first sample after a restore
     * (evidence source `data-quality:handover-gap`, `values.gapMs`, the window of the data not seen). Raised on that
     * sample (no `raiseAfter`); default clear after 10 samples of the asset; ids `handover-1` ….
     */
    handover?: Omit<AlarmOptions, 'raiseAfter'>;
  };
}

/** {@link AlarmEvidence} whose signals are the monitor's signal names `S`. */
export type LineAlarmEvidence<S extends string = string> = Omit<AlarmEvidence, 'signals'> & {
  /** Signals involved, most responsible first (always signals the monitor was configured with). */
  signals: S[];
};

/** An {@link Alarm} of a {@link LineMonitor} whose signals are `S`. */
export type LineAlarm<S extends string = string> = Omit<Alarm, 'evidence'> & {
  /** Evidence when raised, and the latest evidence while active. */
  evidence: LineAlarmEvidence<S>;
};

/**
 * What {@link LineMonitor} emits: alarm episodes raised or cleared (SPC, model or data quality, with evidence), data
 * quality issues that are one-off by nature (gaps, out-of-order and duplicate samples, a sensor becoming stuck), and
 * records refused at validation. Every signal name in an event is one of the monitor's `S` (records of other signals
 * are counted in `stats().unknownSignal` and cause no event).
 */
export type LineEvent<S extends string = string> =
  | {
      /** A new episode started. */
      type: 'raised';
      /** The alarm. */
      alarm: LineAlarm<S>;
    }
  | {
      /** The episode ended. */
      type: 'cleared';
      /** The alarm, with `clearedAt`. */
      alarm: LineAlarm<S>;
    }
  | {
      /** A one-off data-quality issue. */
      type: 'quality';
      /** The issue. */
      issue: Omit<QualityIssue, 'signal'> & {
        /** The signal it concerns. */
        signal: S;
      };
    }
  | {
      /** A raw record refused at validation (from an MQTT or file source). */
      type: 'rejected';
      /** Why it was refused. */
      rejection: RecordRejection;
    };

/**
 * Counters of {@link LineMonitor.stats}: nothing is dropped without being counted here. Always
 * `records === accepted + rejected`.
 */
export interface LineMonitorStats {
  /** Records pushed (anything given to `push`, including refused ones). */
  records: number;
  /** Records that passed validation (then counted as unknown signals, quality issues or clean samples). */
  accepted: number;
  /**
   * Records refused: rejections handed in by a source, and pushed values that are not valid sensor records (a NaN or
   * string timestamp, `null`, an infinite value …) or that name one asset more than `maxAssets`. Each is a `rejected`
   * event.
   */
  rejected: number;
  /** Records for signals the monitor does not know (not used). */
  unknownSignal: number;
  /** Clean samples and quality issues by kind. */
  quality: Record<QualityIssueKind | 'clean', number>;
  /** Complete rows (one per asset and timestamp) assembled. */
  rows: number;
  /** Missing or unclean values filled with the previous value for the detector. */
  filled: number;
  /** Windows the detector scored. */
  windowsScored: number;
  /** Rows the detector could not score because too many values were missing around them. */
  rowsUnscored: number;
  /** Forward passes (each scoring many assets' windows). */
  batches: number;
  /** SPC subgroup points judged. */
  subgroups: number;
  /**
   * SPC subgroup points skipped because fewer than half of their samples were clean (or their mean or its z-score
   * overflowed), or because the data stopped for longer than the quality gap (`gapFactor` × `intervalMs`) inside the
   * subgroup: a subgroup never spans an outage, its partial points are discarded.
   */
  subgroupsSkipped: number;
  /** Assets with no SPC baseline (their signals are not charted). */
  assetsWithoutBaseline: number;
  /** Alarm episodes raised, by source kind (clock alarms count as `quality`). */
  raised: Record<'spc' | 'model' | 'quality', number>;
}

/** Largest finite float32: the detector's windows are float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A {@link SensorRecord} of one of a monitor's signals `S`, for code that builds records for a typed monitor. */
export type LineRecord<S extends string = string> = Omit<SensorRecord, 'signal'> & {
  /** One of the monitor's signals. */
  signal: S;
};

/**
 * Appears only in the compile error of a {@link LineMonitor.push} whose record names signal `X`, which is not one of
 * the monitor's signals `S`; no value has this type.
 */
export interface UnknownSignal<X extends string, S extends string> {
  /** The signal the record names. */
  readonly unknownSignal: X;
  /** The signals the monitor was configured with. */
  readonly configured: S;
}

/**
 * What {@link LineMonitor.push} checks at compile time: `unknown` (no constraint) for any item, except a record whose
 * `signal` is a literal name outside `S` (a misspelt signal in code), which gets a type no value has. A record whose
 * `signal` is a `string` is data (parsed, received) and is checked at run time: the monitor counts unknown signals.
 */
export type SignalCheck<R, S extends string> = R extends {
  /** The signal the item names (only records have one). */
  signal: infer X extends string;
}
  ? string extends X
    ? unknown
    : [X] extends [S]
      ? unknown
      : {
          /** A type no value has: the record's signal is not one of the monitor's. */
          signal: UnknownSignal<X, S>;
        }
  : unknown;

/** What {@link LineMonitor.push} accepts: a record, a parsed item from a source, or a source's rejection. */
export type LineItem =
  | SensorRecord
  | {
      /** A validated record, as sources yield them. */
      record: SensorRecord;
    }
  | {
      /** A record a source refused at validation. */
      rejected: RecordRejection;
    };

interface AssetState {
  asset: string;
  ts: number | undefined;
  row: Float64Array;
  arrivals: number;
  last: Float64Array;
  fillRun: Int32Array;
  ring: Float32Array;
  ringTs: Float64Array;
  head: number;
  valid: number;
  ticks: number;
  subSum: Float64Array;
  subCount: Int32Array;
  subN: number;
  subFrom: number;
  /** Time of the subgroup's latest row: a row more than the quality gap after it starts a new subgroup. */
  subLast: number;
  rules: RuleStream[] | undefined;
  qualityOpen: Uint8Array;
  /** Forgotten (handed to another monitor): a window of it still in flight makes no events. */
  detached: boolean;
  /** Restored and not judged yet: when its data stopped and whether the snapshot was final (hand-over check). */
  pendingGap: { from: number; final: boolean } | undefined;
}

/** A forward pass in flight: which assets' windows it scores, and where its events go in the push's event list. */
interface PendingBatch {
  /** Index in the push's events at which the batch was scored: its model events are inserted there. */
  at: number;
  assets: AssetState[];
  from: number[];
  to: number[];
  threshold: number;
  scores: Promise<AnomalyScore[]>;
}

/**
 * Monitors a whole line live, sample by sample: validation and data-quality checks → per-signal SPC on subgroup means
 * (Phase II run rules, one point at a time) → the learned detector, scoring every asset's current window in one batched
 * forward pass per tick → alarms with debounce, hysteresis and one alarm per episode, each carrying its evidence.
 *
 * Feed it records in arrival order with {@link push} (resolves to the events each record caused) or hand it an async
 * source with {@link run}. A record's effect on rows, SPC and data quality is applied when `push` is called, in call
 * order; the detector's scores are read back from the backend asynchronously (a synchronous read would block a GPU
 * backend), and each push's promise resolves, in call order, once its events are complete. Rows are assembled per asset and timestamp; a row is judged as soon as all its signals
 * have arrived (and the detector scores the whole tick in one forward pass once every asset has reported it), or when time moves on without them (the missing values are filled from the previous sample for at most
 * `maxFill` samples, then the detector pauses for that asset; every such case is counted in {@link stats}).
 *
 * SPC charts the mean of each subgroup of `subgroup` samples per signal, with Phase I limits from normal operation
 * ({@link fitBaseline}): sigma is the spread *between* subgroup means, because telemetry is autocorrelated within a
 * load cycle and within-subgroup ranges would understate it.
 *
 * `S` is the union of the signal names, inferred from `options.signals` when they are a literal list (`as const`):
 * records built in code, the baseline and every event are then typed with those names. Without it (`string[]`) the
 * monitor takes any name, as it must for signals known only at run time.
 *
 * @typeParam S - the signal names (default `string`)
 * @example
 * ```ts
 * import { LineMonitor } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure', 'temp'] as const, baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * const events = await monitor.push({ timestamp: Date.now(), asset: 'press-1', signal: 'temp', value: 71, quality: 'good' });
 * // monitor.push({ …, signal: 'tmep', … }) does not compile; events[i].alarm.evidence.signals is ('pressure' | 'temp')[]
 * console.log(events.length); // 0
 * ```
 */
export class LineMonitor<S extends string = string> {
  private readonly signals: readonly S[];
  private readonly col = new Map<string, number>();
  private readonly states = new Map<string, AssetState>();
  private readonly quality: QualityMonitor;
  private readonly spcAlarms: AlarmManager;
  private readonly modelAlarms: AlarmManager;
  private readonly qualityAlarms: AlarmManager;
  private readonly clockAlarms: AlarmManager;
  private readonly handoverAlarms: AlarmManager;
  /** Assets with an active hand-over alarm, fed every sample until it clears. */
  private readonly handoverOpen = new Set<string>();
  /** Keys (asset:signal) with an active clock alarm, fed every sample until it clears. */
  private readonly clockOpen = new Set<string>();
  private readonly maxAssets: number;
  private readonly subgroup: number;
  private readonly maxFill: number;
  private readonly scoreEvery: number;
  private readonly batchSize: number;
  private readonly ruleSet: RuleSet;
  /**
   * The baseline as validated at construction, by asset then signal: own entries only (an asset or signal named
   * `constructor` or `__proto__` must not read Object.prototype and get limits of 0 ± 0), copied so that a caller
   * changing the options object afterwards cannot hand `push` a limit it would throw on.
   */
  private readonly baseline: Map<string, Map<string, SignalBaseline>> | undefined;
  private readonly window: number;
  private queue: AssetState[] = [];
  private batch: Float32Array;
  private batchFrom: number[] = [];
  private batchTo: number[] = [];
  private clock = -Infinity;
  /**
   * Rows judged since the last forward pass: once there are as many as assets, every asset has reported the tick and
   * the queue is scored at once. Counted per row rather than matched against the clock, so that one asset whose
   * timestamps run ahead (within the skew bound) cannot hold back scoring for the others until the batch fills.
   */
  private rowsSinceScore = 0;
  /** Forward passes dispatched by the push under way, resolved into model events before its promise resolves. */
  private pending: PendingBatch[] = [];
  /**
   * The previous push's completion. Model alarms are debounced per asset, so batches must update them in the order they
   * were scored: each push settles only after the one before it, even when the caller does not wait between pushes.
   */
  private tail: Promise<unknown> = Promise.resolve();
  /** Pushes whose promise has not settled yet. */
  private unsettled = 0;
  private readonly counters: Omit<LineMonitorStats, 'quality'> = {
    records: 0,
    accepted: 0,
    rejected: 0,
    unknownSignal: 0,
    rows: 0,
    filled: 0,
    windowsScored: 0,
    rowsUnscored: 0,
    batches: 0,
    subgroups: 0,
    subgroupsSkipped: 0,
    assetsWithoutBaseline: 0,
    raised: { spc: 0, model: 0, quality: 0 },
  };

  /**
   * @param options - signals, detector, SPC baseline and alarm settings
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the detector's signals differ from `signals`,
   *   neither a detector nor a baseline is given, `signals` is not a list of distinct names, a count option is not a
   *   positive integer, or a baseline centre or sigma is not finite (`details.field` names it)
   */
  constructor(private readonly options: LineMonitorOptions<S>) {
    checkOptions(options);
    this.signals = [...options.signals];
    this.signals.forEach((s, j) => this.col.set(s, j));
    if (!options.detector && !options.baseline) throw new LeptonError('INVALID_ARGUMENT', 'A line monitor needs a detector, an SPC baseline, or both.');
    if (options.detector !== undefined && options.detector !== null) checkDetector(options.detector);
    if (options.detector && options.detector.signals.join('\u0000') !== this.signals.join('\u0000')) {
      throw new LeptonError('INVALID_ARGUMENT', `The detector was trained on [${options.detector.signals.join(', ')}], not [${this.signals.join(', ')}].`);
    }
    this.quality = new QualityMonitor(options.quality);
    this.spcAlarms = new AlarmManager({ raiseAfter: 1, clearAfter: 3, idPrefix: 'spc', ...options.alarms?.spc });
    this.modelAlarms = new AlarmManager({ raiseAfter: 3, clearAfter: 30, idPrefix: 'model', ...options.alarms?.model });
    this.qualityAlarms = new AlarmManager({ raiseAfter: 3, clearAfter: 10, idPrefix: 'quality', ...options.alarms?.quality });
    this.clockAlarms = new AlarmManager({ raiseAfter: 1, clearAfter: 10, idPrefix: 'clock', ...options.alarms?.clock });
    this.handoverAlarms = new AlarmManager({ clearAfter: 10, idPrefix: 'handover', ...options.alarms?.handover, raiseAfter: 1 });
    this.maxAssets = options.maxAssets ?? 10_000;
    this.subgroup = options.subgroup ?? 60;
    this.maxFill = options.maxFill ?? 3;
    this.scoreEvery = options.scoreEvery ?? 1;
    this.batchSize = options.batchSize ?? 256;
    this.ruleSet = options.ruleSet ?? WESTERN_ELECTRIC;
    this.baseline = options.baseline === undefined ? undefined : new Map(Object.entries(options.baseline).map(([asset, bySignal]) => [asset, new Map(Object.entries(bySignal as Record<string, SignalBaseline>).map(([signal, l]) => [signal, { center: l.center, sigma: l.sigma }]))]));
    this.window = options.detector?.window ?? 1;
    this.batch = new Float32Array(this.batchSize * this.window * this.signals.length);
  }

  /**
   * Phase I SPC limits per asset and signal from normal operation: the mean and standard deviation of consecutive
   * subgroup means.
   *
   * @param normal - per asset, normal-operation rows (one value per signal)
   * @param signals - signal names, column order
   * @param subgroup - samples per subgroup (use the monitor's `subgroup`). Default 60.
   * @returns the baseline for {@link LineMonitorOptions.baseline}
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when an asset has fewer than 10 subgroups of data, a row is
   *   not an array, or a signal has fewer than 2 subgroups with at least half their values finite (NaN and ±Infinity
   *   are skipped as missing, and so is null), a row does not hold one value per signal or a value is neither a number
   *   nor null (`details.field`); `MFG_NON_FINITE_RESULT` when the values overflow, or when a signal's subgroup means
   *   have no spread (σ ≤ 64·ε·max|mean|: a constant signal, usually a stuck sensor, cannot be charted); `INVALID_ARGUMENT` for bad
   *   `signals` or `subgroup`
   */
  static fitBaseline<S extends string>(normal: Record<string, readonly number[][]>, signals: readonly S[], subgroup = 60): LineBaseline<S> {
    if (typeof normal !== 'object' || normal === null) throw invalid('fitBaseline', 'normal', 'an object of rows per asset', normal);
    checkSignals('fitBaseline', signals);
    integer('fitBaseline', 'subgroup', subgroup, 2);
    const out: Array<[string, Partial<Record<S, SignalBaseline>>]> = [];
    for (const [asset, rows] of Object.entries(normal)) {
      if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) throw invalid('fitBaseline', `normal.${asset}`, 'an array of rows (arrays of numbers)', rows);
      // NaN, ±Infinity and null (JSON's NaN) are missing values; anything else that is not a number is an error, not a
      // value to skip silently, and so is a row that does not hold one value per signal.
      rows.forEach((r: unknown[], i) => {
        if (r.length !== signals.length) throw new LeptonError('INVALID_INPUT', `fitBaseline: normal.${asset}[${i}] has ${r.length} values, expected ${signals.length} (one per signal).`, { details: { field: `normal.${asset}[${i}]` } });
        r.forEach((v, j) => {
          if (typeof v !== 'number' && v !== null) throw invalid('fitBaseline', `normal.${asset}[${i}][${j}]`, 'a number (NaN or null when missing)', v);
        });
      });
      const k = Math.floor(rows.length / subgroup);
      if (k < 10) throw new LeptonError('INVALID_INPUT', `Asset ${asset}: need at least 10 subgroups of ${subgroup} samples, got ${rows.length} samples.`);
      out.push([
        asset,
        Object.fromEntries(
        signals.map((signal, j) => {
          const means: number[] = [];
          for (let g = 0; g < k; g++) {
            const vals = rows.slice(g * subgroup, (g + 1) * subgroup).map((r) => r[j]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
            if (vals.length >= subgroup / 2) means.push(vals.reduce((a, v) => a + v, 0) / vals.length);
          }
          if (means.length < 2) {
            throw new LeptonError('INVALID_INPUT', `fitBaseline: ${asset}/${signal} has ${means.length} usable subgroups (at least half of the values finite); need 2 or more.`, { details: { field: `normal.${asset}[*][${j}]` } });
          }
          const center = means.reduce((a, v) => a + v, 0) / means.length;
          const sigma = Math.sqrt(means.reduce((a, v) => a + (v - center) ** 2, 0) / Math.max(1, means.length - 1));
          finiteResult('fitBaseline', `the baseline of ${asset}/${signal}`, center, sigma);
          // A constant signal's σ is rounding noise (≈ 1e-17), not 0: limits that narrow alarm on the same constant.
          noSpread('fitBaseline', `the baseline σ of ${asset}/${signal}`, sigma, scaleOf(means));
          return [signal, { center, sigma }];
        }),
        ) as Partial<Record<S, SignalBaseline>>,
      ]);
    }
    // fromEntries defines own properties: an asset named `__proto__` is kept as an asset, not set as the prototype.
    return Object.fromEntries(out);
  }

  private state(asset: string): AssetState {
    let st = this.states.get(asset);
    if (st) return st;
    const s = this.signals.length;
    const base = this.baseline?.get(asset) ?? this.baseline?.get('*');
    if (this.baseline && !base) this.counters.assetsWithoutBaseline++;
    st = {
      asset,
      ts: undefined,
      row: new Float64Array(s).fill(Number.NaN),
      arrivals: 0,
      last: new Float64Array(s).fill(Number.NaN),
      fillRun: new Int32Array(s),
      ring: new Float32Array(this.window * s),
      ringTs: new Float64Array(this.window),
      head: 0,
      valid: 0,
      ticks: 0,
      subSum: new Float64Array(s),
      subCount: new Int32Array(s),
      subN: 0,
      subFrom: 0,
      subLast: 0,
      rules: base ? this.signals.map((sig) => new RuleStream(base.get(sig) ?? { center: 0, sigma: 0 }, this.ruleSet)) : undefined,
      qualityOpen: new Uint8Array(s),
      detached: false,
      pendingGap: undefined,
    };
    this.states.set(asset, st);
    return st;
  }

  /**
   * Feeds one record (or a record refused at validation, as MQTT and file sources yield them).
   *
   * The record is applied at once (push the next one without waiting if you like: order is kept); the promise resolves
   * when the detector scores it triggered have been read back.
   *
   * Every item is validated first (a cheap guard, the same rules as `parseSensorRecord`): anything that is not a valid
   * sensor record — `null`, a NaN or string timestamp, an empty asset, an infinite value — is refused as a `rejected`
   * event naming the bad fields (never their values) and counted in `stats().rejected`; `push` does not throw for bad
   * data, and the records after it go on.
   *
   * @typeParam R - the item's type, inferred: a record built in code must name one of the monitor's signals `S`
   * @param item - a sensor record, `{ record }` or `{ rejected }`
   * @returns the events it caused, in order
   * @example
   * ```ts
   * import { LineMonitor } from '@lepton/manufacturing';
   * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
   * await monitor.push({ timestamp: Number.NaN, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
   * // [{ type: 'rejected', rejection: { source: 'push 1', issues: [{ field: 'timestamp', message: 'must be a finite number (epoch ms)' }] } }]
   * ```
   */
  push<const R extends LineItem>(item: R & SignalCheck<R, S>): Promise<LineEvent<S>[]> {
    const events: LineEvent[] = [];
    this.apply(item, events);
    // Events name only configured signals (apply() drops records of unknown ones before any event), so they are S's.
    return this.settle(events) as Promise<LineEvent<S>[]>;
  }

  /** Validates a pushed item: the record, or undefined after counting and reporting the rejection. */
  private accept(item: unknown, events: LineEvent[]): SensorRecord | undefined {
    const reject = (rejection: RecordRejection): undefined => {
      this.counters.rejected++;
      events.push({ type: 'rejected', rejection });
      return undefined;
    };
    const source = `push ${this.counters.records}`;
    if (typeof item !== 'object' || item === null) return reject({ source, issues: [{ field: '(record)', message: 'must be a sensor record object' }] });
    if ('rejected' in item) {
      const given = (item as { rejected: unknown }).rejected;
      // A source's rejection is passed on as it came, if it has the documented shape; otherwise a neutral one.
      return reject(isRejection(given) ? given : { source, issues: [{ field: 'rejected', message: 'must be a record rejection { source, issues }' }] });
    }
    const r: unknown = 'record' in item ? (item as { record: unknown }).record : item;
    const issues = sensorRecordIssues(r);
    if (issues.length > 0) return reject({ source, issues: 'record' in item ? issues.map((i) => ({ ...i, field: `record.${i.field}` })) : issues });
    const rec = r as SensorRecord;
    if (!this.states.has(rec.asset) && this.states.size >= this.maxAssets && this.col.has(rec.signal)) {
      return reject({ source, issues: [{ field: 'asset', message: `one asset more than maxAssets (${this.maxAssets}); raise maxAssets if the line has this many` }] });
    }
    return rec;
  }

  private apply(item: LineItem, events: LineEvent[]): void {
    this.counters.records++;
    const r = this.accept(item, events);
    if (r === undefined) return;
    this.counters.accepted++;
    const j = this.col.get(r.signal);
    if (j === undefined) {
      this.counters.unknownSignal++;
      return;
    }
    // Judged before the clock may move: a sample from the future is refused here and never becomes the monitor's time.
    const verdict = this.quality.check(r);
    const future = verdict.issues.find((i) => i.kind === 'future-timestamp');
    if (future) {
      events.push({ type: 'quality', issue: future });
      this.clockAlarm(r, future.at, true, events);
      return;
    }
    if (this.clockOpen.size > 0) this.clockAlarm(r, r.timestamp, false, events);
    if (r.timestamp > this.clock) {
      this.advance(r.timestamp, events);
      this.clock = r.timestamp;
    }
    const st = this.state(r.asset);
    if (st.ts !== undefined && r.timestamp > st.ts) this.finalize(st, events);
    for (const issue of verdict.issues) if (issue.kind !== 'missing-value' && issue.kind !== 'bad-quality') events.push({ type: 'quality', issue });
    const late = verdict.issues.some((i) => i.kind === 'out-of-order' || i.kind === 'duplicate');
    if (late) return;
    if (st.pendingGap !== undefined || this.handoverOpen.size > 0) this.handoverAlarm(st, r.timestamp, events);
    if (!verdict.clean || st.qualityOpen[j]) {
      const kind = verdict.issues.find((i) => i.kind === 'missing-value' || i.kind === 'bad-quality')?.kind ?? 'stuck';
      this.alarm(
        'quality',
        events,
        this.qualityAlarms.update({
          key: `${r.asset}:quality:${r.signal}`,
          asset: r.asset,
          exceeded: !verdict.clean,
          severity: 'low',
          at: r.timestamp,
          // A missing value has no number to show: evidence values are finite, never NaN.
          evidence: { source: `data-quality:${kind}`, signals: [r.signal], values: Number.isFinite(r.value) ? { value: r.value } : {}, window: { from: r.timestamp, to: r.timestamp } },
        }),
      );
      st.qualityOpen[j] = !verdict.clean || this.qualityAlarms.isActive(`${r.asset}:quality:${r.signal}`) ? 1 : 0;
    }
    st.ts = r.timestamp;
    // Beyond float32 range a clean value cannot reach the detector (its windows are float32): treated like a missing
    // value (filled, then the asset pauses) rather than failing the forward pass for every asset of the tick.
    st.row[j] = verdict.clean && Math.abs(r.value) <= FLOAT32_MAX ? r.value : Number.NaN;
    st.arrivals++;
    if (st.arrivals >= this.signals.length) this.finalize(st, events);
  }

  /**
   * Resolves the forward passes dispatched while applying one push into model events, each inserted where its batch
   * was scored, after every earlier push has settled.
   */
  private settle(events: LineEvent[]): Promise<LineEvent[]> {
    const batches = this.pending;
    this.pending = [];
    // Nothing to read back and nothing earlier in flight (the common case: most records score nothing): no chaining.
    if (batches.length === 0 && this.unsettled === 0) return Promise.resolve(events);
    this.unsettled++;
    const done = this.tail.then(async () => {
      if (batches.length === 0) return events;
      const out: LineEvent[] = [];
      let from = 0;
      for (const b of batches) {
        out.push(...events.slice(from, b.at));
        from = b.at;
        this.modelEvents(b, await b.scores, out);
      }
      out.push(...events.slice(from));
      return out;
    });
    // A failed read rejects this push only; the next one still waits for it, then goes on.
    this.tail = done.then(
      () => this.unsettled--,
      () => this.unsettled--,
    );
    return done;
  }

  /**
   * Judges every row still waiting for signals and scores every queued window now (call at the end of a replay, or
   * when a source goes quiet).
   *
   * @returns the events this caused
   */
  flush(): Promise<LineEvent<S>[]> {
    const events: LineEvent[] = [];
    this.advance(Infinity, events);
    return this.settle(events) as Promise<LineEvent<S>[]>;
  }

  /**
   * Monitors an async source (e.g. {@link MqttTelemetry.items}) and yields every event as it happens. Rows still
   * waiting when the source ends are judged before the generator returns.
   *
   * @param source - records, or parsed items with rejections
   * @returns the event stream
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (on the first `next()`) when `source` is not an async
   *   or sync iterable
   */
  async *run(source: AsyncIterable<LineItem>): AsyncGenerator<LineEvent<S>> {
    const it = source as unknown as Partial<Record<typeof Symbol.asyncIterator | typeof Symbol.iterator, unknown>> | null;
    if (typeof it !== 'object' || it === null || (typeof it[Symbol.asyncIterator] !== 'function' && typeof it[Symbol.iterator] !== 'function')) {
      throw invalid('LineMonitor.run', 'source', 'an async iterable of records (e.g. MqttTelemetry.items())', source, 'INVALID_ARGUMENT');
    }
    for await (const item of source) yield* await this.push(item);
    yield* await this.flush();
  }

  /**
   * Changes the learned detector's alarm threshold (no retraining).
   *
   * @param quantile - quantile of held-out normal scores, e.g. 0.999
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the monitor has no detector
   */
  setThresholdQuantile(quantile: number): void {
    if (!this.options.detector) throw new LeptonError('INVALID_ARGUMENT', 'This monitor has no learned detector.');
    this.options.detector.setThresholdQuantile(quantile);
  }

  /** Alarms active now, from every source (model alarms as of the last settled push). */
  active(): LineAlarm<S>[] {
    const all = [...this.spcAlarms.active(), ...this.modelAlarms.active(), ...this.qualityAlarms.active(), ...this.clockAlarms.active(), ...this.handoverAlarms.active()];
    return all as LineAlarm<S>[];
  }

  /** Assets the monitor holds state for (seen or restored, not forgotten). */
  assets(): string[] {
    return [...this.states.keys()];
  }

  /**
   * Whether the monitor holds state for an asset (a sample of a known signal, in time, has been applied, or a snapshot
   * restored, and it was not forgotten since).
   *
   * @param asset - the asset
   * @returns true when {@link snapshotAsset} would return a snapshot
   */
  hasAsset(asset: string): boolean {
    return this.states.has(asset);
  }

  /**
   * Everything the monitor knows about one asset, as JSON-safe data (see {@link AssetSnapshot}), for handing the asset
   * to another process ({@link restoreAsset}) or keeping it across a restart. Take it between pushes (after the last
   * push's promise settled): a model alarm whose scores are still being read back is not in it yet.
   *
   * @param asset - the asset
   * @param options - `final: true` when the asset is being handed over and this monitor will not see another of its
   *   samples (the receiving monitor then raises a hand-over alarm only for a real gap in the data); default false
   * @returns the snapshot, or undefined when the monitor holds no state for the asset
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `options` is not an object
   * @example
   * ```ts
   * import { LineMonitor } from '@lepton/manufacturing';
   * const options = { signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 };
   * const a = new LineMonitor(options);
   * for (let i = 0; i < 4; i++) await a.push({ timestamp: Date.now() - 4000 + i * 1000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
   * const b = new LineMonitor(options); // another process, with the same settings
   * b.restoreAsset(JSON.parse(JSON.stringify(a.snapshotAsset('press-1'))));
   * a.forgetAsset('press-1');
   * console.log(b.active().map((x) => x.id)); // ['spc-1']: the same episode, not raised again
   * ```
   */
  snapshotAsset(
    asset: string,
    options: {
      /** The asset is being handed over: this monitor will not see another of its samples. Default false. */
      final?: boolean;
    } = {},
  ): AssetSnapshot | undefined {
    if (typeof options !== 'object' || options === null) throw invalid('LineMonitor.snapshotAsset', 'options', 'an object { final? }', options, 'INVALID_ARGUMENT');
    const st = this.states.get(asset);
    if (!st) return undefined;
    const quality = this.signals.map((sig) => {
      const q = this.quality.snapshotSignal(asset, sig);
      return q ? { lastTs: q.lastTs, lastValue: Number.isNaN(q.lastValue) ? null : q.lastValue, repeats: q.repeats } : null;
    });
    const seen = quality.flatMap((q) => (q ? [q.lastTs] : []));
    return {
      format: 'lepton.line-monitor.asset',
      version: 1,
      asset,
      signals: [...this.signals],
      window: this.window,
      subgroup: this.subgroup,
      takenAt: (this.options.quality?.now ?? Date.now)(),
      final: options.final === true,
      lastSampleAt: seen.length ? Math.max(...seen) : null,
      row: { ts: st.ts ?? null, values: toJsonNumbers(st.row), arrivals: st.arrivals },
      last: toJsonNumbers(st.last),
      fillRun: Array.from(st.fillRun),
      detector: { ring: toJsonNumbers(st.ring), ringTs: Array.from(st.ringTs), head: st.head, valid: st.valid, ticks: st.ticks },
      subgroupState: { sum: Array.from(st.subSum), count: Array.from(st.subCount), n: st.subN, from: st.subFrom },
      rules: st.rules ? st.rules.map((r) => r.recent()) : null,
      qualityOpen: Array.from(st.qualityOpen, (v) => v === 1),
      quality,
      alarms: {
        spc: this.spcAlarms.snapshotAsset(asset),
        model: this.modelAlarms.snapshotAsset(asset),
        quality: this.qualityAlarms.snapshotAsset(asset),
        clock: this.clockAlarms.snapshotAsset(asset),
        handover: this.handoverAlarms.snapshotAsset(asset),
      },
      clockOpen: this.signals.filter((sig) => this.clockOpen.has(`${asset}:clock:${sig}`)),
      pendingGap: st.pendingGap ?? null,
      handoverOpen: this.handoverOpen.has(asset),
    };
  }

  /**
   * Takes over an asset from another monitor's {@link snapshotAsset} (replacing any state held for it here): rows,
   * windows, SPC subgroups and run rules, data-quality state and alarms go on where they stopped, and an active alarm
   * keeps its id — it is neither raised again nor lost. The restoring monitor must have the same signals, detector
   * window and subgroup size (and, for identical judgements, the same baseline and rule set).
   *
   * What happened between the snapshot and the first sample after the restore never reached this monitor. That first
   * sample raises one hand-over alarm for the asset (`alarms.handover`, however many signals the gap spans) when the
   * snapshot was not `final` — the monitor that took it may have consumed samples after it and died with them, so the
   * state was rebuilt from data of unknown completeness — or when it comes more than the quality gap
   * (`gapFactor` × `intervalMs`) after the snapshot's last sample. A final snapshot followed by data without a gap
   * raises nothing: nothing was lost.
   *
   * @param snapshot - a snapshot, e.g. parsed from JSON (validated here)
   * @throws {@link @lepton/core!LeptonError} `MFG_SNAPSHOT_INVALID` when it is not a valid snapshot (`details.field`),
   *   including a sample time (`lastSampleAt`, `row.ts`, `quality[j].lastTs` …) later than `quality.now()` +
   *   `quality.maxClockSkewMs` (nothing is restored then); `MFG_SNAPSHOT_MISMATCH` when it was taken with other signals, window or subgroup size; `MFG_MAX_ASSETS` when
   *   the monitor already holds `maxAssets` other assets
   */
  restoreAsset(snapshot: unknown): void {
    const s = parseAssetSnapshot(snapshot);
    if (s.signals.join('\u0000') !== this.signals.join('\u0000') || s.window !== this.window || s.subgroup !== this.subgroup) {
      throw new LeptonError(
        'MFG_SNAPSHOT_MISMATCH',
        `The snapshot of ${s.asset} was taken with signals [${s.signals.join(', ')}], window ${s.window}, subgroup ${s.subgroup}; this monitor has [${this.signals.join(', ')}], ${this.window}, ${this.subgroup}. Every monitor of a group needs the same settings.`,
        { details: { asset: s.asset } },
      );
    }
    // A sample time past this monitor's clock (plus its allowed skew) would make every later sample look out of order
    // and blind the signal for good: the whole snapshot is refused before anything is applied.
    const latest = this.quality.latestAcceptedTime();
    const future = (field: string, t: number | null): void => {
      if (t !== null && t > latest) {
        throw new LeptonError('MFG_SNAPSHOT_INVALID', `Asset snapshot: ${field} is later than this monitor's clock plus quality.maxClockSkewMs; the snapshot was refused (every later sample would look out of order).`, {
          details: { field },
        });
      }
    };
    future('lastSampleAt', s.lastSampleAt);
    future('row.ts', s.row.ts);
    future('subgroupState.from', s.subgroupState.from);
    future('pendingGap.from', s.pendingGap?.from ?? null);
    for (let i = 0; i < s.detector.ringTs.length; i++) future(`detector.ringTs[${i}]`, s.detector.ringTs[i]!);
    for (let j = 0; j < s.quality.length; j++) future(`quality[${j}].lastTs`, s.quality[j]?.lastTs ?? null);
    if (!this.states.has(s.asset) && this.states.size >= this.maxAssets) {
      throw new LeptonError('MFG_MAX_ASSETS', `Cannot restore one asset more than maxAssets (${this.maxAssets}); raise maxAssets if the line has this many.`, { details: { asset: s.asset } });
    }
    this.forgetAsset(s.asset);
    const st = this.state(s.asset);
    st.ts = s.row.ts ?? undefined;
    st.row.set(fromJsonNumbers(s.row.values));
    st.arrivals = s.row.arrivals;
    st.last.set(fromJsonNumbers(s.last));
    st.fillRun.set(s.fillRun);
    st.ring.set(fromJsonNumbers(s.detector.ring));
    st.ringTs.set(s.detector.ringTs);
    st.head = s.detector.head;
    st.valid = s.detector.valid;
    st.ticks = s.detector.ticks;
    st.subSum.set(s.subgroupState.sum);
    st.subCount.set(s.subgroupState.count);
    st.subN = s.subgroupState.n;
    st.subFrom = s.subgroupState.from;
    // The snapshot does not keep the subgroup's last row time; its newest sample is no earlier (a lenient gap check).
    st.subLast = Math.max(s.subgroupState.from, s.lastSampleAt ?? s.subgroupState.from);
    // Replaying a chart's last points into fresh rules gives the same judgements from here on (RuleStream.recent).
    if (st.rules && s.rules) st.rules.forEach((r, j) => s.rules![j]!.forEach((v) => r.push(v)));
    st.qualityOpen.set(s.qualityOpen.map((v) => (v ? 1 : 0)));
    s.quality.forEach((q, j) => {
      if (q) this.quality.restoreSignal(s.asset, this.signals[j]!, { lastTs: q.lastTs, lastValue: q.lastValue ?? Number.NaN, repeats: q.repeats });
    });
    this.spcAlarms.restoreTracks(s.alarms.spc);
    this.modelAlarms.restoreTracks(s.alarms.model);
    this.qualityAlarms.restoreTracks(s.alarms.quality);
    this.clockAlarms.restoreTracks(s.alarms.clock);
    this.handoverAlarms.restoreTracks(s.alarms.handover);
    for (const sig of s.clockOpen) this.clockOpen.add(`${s.asset}:clock:${sig}`);
    if (s.handoverOpen) this.handoverOpen.add(s.asset);
    st.pendingGap = s.pendingGap ?? (s.lastSampleAt === null ? undefined : { from: s.lastSampleAt, final: s.final });
  }

  /**
   * Drops everything the monitor holds for one asset (it is monitored elsewhere now, e.g. after its snapshot was
   * handed over): its active alarms are neither cleared nor reported again here, and a window of it still being scored
   * makes no events. Counters are kept.
   *
   * @param asset - the asset
   * @returns whether the monitor held state for it
   */
  forgetAsset(asset: string): boolean {
    const st = this.states.get(asset);
    if (!st) return false;
    st.detached = true;
    this.states.delete(asset);
    for (const sig of this.signals) {
      this.quality.forgetSignal(asset, sig);
      this.clockOpen.delete(`${asset}:clock:${sig}`);
    }
    for (const m of [this.spcAlarms, this.modelAlarms, this.qualityAlarms, this.clockAlarms, this.handoverAlarms]) m.forgetAsset(asset);
    this.handoverOpen.delete(asset);
    return true;
  }

  /** Judges the hand-over gap of a restored asset on its first sample in time, then feeds its alarm until it clears. */
  private handoverAlarm(st: AssetState, ts: number, events: LineEvent[]): void {
    const key = `${st.asset}:handover`;
    if (st.pendingGap !== undefined) {
      const { from, final } = st.pendingGap;
      st.pendingGap = undefined;
      const gapMs = Math.max(0, ts - from);
      if (!final || gapMs > this.quality.gapThresholdMs) {
        this.alarm(
          'quality',
          events,
          this.handoverAlarms.update({
            key,
            asset: st.asset,
            exceeded: true,
            severity: 'medium',
            at: ts,
            evidence: { source: 'data-quality:handover-gap', signals: [], values: { gapMs, finalSnapshot: final ? 1 : 0 }, window: { from: Math.min(from, ts), to: ts } },
          }),
        );
      }
    } else if (this.handoverOpen.has(st.asset)) {
      this.alarm(
        'quality',
        events,
        this.handoverAlarms.update({ key, asset: st.asset, exceeded: false, severity: 'medium', at: ts, evidence: { source: 'data-quality:handover-gap', signals: [], values: {}, window: { from: ts, to: ts } } }),
      );
    }
    if (this.handoverAlarms.isActive(key)) this.handoverOpen.add(st.asset);
    else this.handoverOpen.delete(st.asset);
  }

  /** Feeds the clock alarm of a record's asset and signal: raised by a sample from the future, cleared by samples in time. */
  private clockAlarm(r: SensorRecord, at: number, future: boolean, events: LineEvent[]): void {
    const key = `${r.asset}:clock:${r.signal}`;
    if (!future && !this.clockOpen.has(key)) return;
    const ahead = r.timestamp - at;
    this.alarm(
      'quality',
      events,
      this.clockAlarms.update({
        key,
        asset: r.asset,
        exceeded: future,
        severity: 'medium',
        at,
        // The monitor's time, not the sample's: the sample's time is what is wrong.
        evidence: { source: 'data-quality:future-timestamp', signals: [r.signal], values: future ? { aheadMs: ahead } : { aheadMs: 0 }, window: { from: at, to: at } },
      }),
    );
    if (this.clockAlarms.isActive(key)) this.clockOpen.add(key);
    else this.clockOpen.delete(key);
  }

  /** Counters: records, rejections, quality issues, rows, fills, windows scored, subgroups, alarms raised. */
  stats(): LineMonitorStats {
    return { ...this.counters, raised: { ...this.counters.raised }, quality: this.quality.stats() };
  }

  private alarm(kind: 'spc' | 'model' | 'quality', events: LineEvent[], raised: AlarmEvent[]): void {
    for (const e of raised) {
      if (e.type === 'raised') this.counters.raised[kind]++;
      events.push(e);
    }
  }

  /** Time has moved to `now`: judge every row older than it, then score the queue. */
  private advance(now: number, events: LineEvent[]): void {
    for (const st of this.states.values()) if (st.ts !== undefined && st.ts < now) this.finalize(st, events);
    this.score(events);
  }

  private finalize(st: AssetState, events: LineEvent[]): void {
    const s = this.signals.length;
    const ts = st.ts!;
    let usable = true;
    this.counters.rows++;
    // A rational subgroup never spans an outage: a row more than the quality gap (gapFactor × intervalMs) after the
    // subgroup's previous row discards the partial subgroup (counted in subgroupsSkipped) and starts a new one.
    if (st.subN > 0 && ts - st.subLast > this.quality.gapThresholdMs) {
      st.subSum.fill(0);
      st.subCount.fill(0);
      st.subN = 0;
      if (st.rules) this.counters.subgroupsSkipped += this.signals.length; // one point per charted signal, as judgeSubgroup counts
    }
    // SPC subgroup accumulates clean values only.
    if (st.subN === 0) st.subFrom = ts;
    st.subLast = ts;
    st.subN++;
    for (let j = 0; j < s; j++) {
      const v = st.row[j]!;
      if (Number.isNaN(v)) {
        if (st.fillRun[j]! < this.maxFill && !Number.isNaN(st.last[j]!)) {
          st.fillRun[j]!++;
          st.row[j] = st.last[j]!;
          this.counters.filled++;
        } else usable = false;
      } else {
        st.subSum[j]! += v;
        st.subCount[j]!++;
        st.fillRun[j] = 0;
        st.last[j] = v;
      }
    }
    if (st.subN === this.subgroup) this.closeSubgroup(st, ts, events);
    if (this.options.detector) {
      const w = this.window;
      for (let j = 0; j < s; j++) st.ring[st.head * s + j] = st.row[j]!;
      st.ringTs[st.head] = ts;
      st.head = (st.head + 1) % w;
      st.valid = usable ? Math.min(w, st.valid + 1) : 0;
      st.ticks++;
      if (st.valid < w) this.counters.rowsUnscored++;
      else if (st.ticks % this.scoreEvery === 0) {
        const q = this.queue.length;
        const off = q * w * s;
        this.batch.set(st.ring.subarray(st.head * s), off);
        this.batch.set(st.ring.subarray(0, st.head * s), off + (w - st.head) * s);
        this.batchFrom[q] = st.ringTs[st.head]!;
        this.batchTo[q] = ts;
        this.queue.push(st);
        if (this.queue.length >= this.batchSize) this.score(events);
      }
    }
    st.row.fill(Number.NaN);
    st.arrivals = 0;
    st.ts = undefined;
    // Every known asset has reported this tick: score now rather than when the next tick starts (lower latency).
    if (++this.rowsSinceScore >= this.states.size) this.score(events);
  }

  private closeSubgroup(st: AssetState, ts: number, events: LineEvent[]): void {
    try {
      if (st.rules) this.judgeSubgroup(st, st.rules, ts, events);
    } finally {
      // Reset on every path: a subgroup that failed to be judged must not stay open (the chart would never move again).
      st.subSum.fill(0);
      st.subCount.fill(0);
      st.subN = 0;
    }
  }

  private judgeSubgroup(st: AssetState, rulesBySignal: RuleStream[], ts: number, events: LineEvent[]): void {
    for (let j = 0; j < this.signals.length; j++) {
      const signal = this.signals[j]!;
      if (st.subCount[j]! < this.subgroup / 2) {
        this.counters.subgroupsSkipped++;
        continue;
      }
      const mean = st.subSum[j]! / st.subCount[j]!;
      const rules = rulesBySignal[j]!;
      const { center, sigma } = rules.limits;
      const z = sigma > 0 ? (mean - center) / sigma : 0;
      if (!Number.isFinite(mean) || !Number.isFinite(z)) {
        // Finite values whose sum overflows, or a finite mean so far from the centre that its z-score overflows: nothing
        // to chart (counted, never a NaN or infinite point in the rules or the alarm's evidence).
        this.counters.subgroupsSkipped++;
        continue;
      }
      const violations = rules.push(mean);
      this.counters.subgroups++;
      const severity: Severity = violations.some((v) => v.rule === 1) ? 'high' : 'medium';
      this.alarm(
        'spc',
        events,
        this.spcAlarms.update({
          key: `${st.asset}:spc:${signal}`,
          asset: st.asset,
          exceeded: violations.length > 0,
          severity,
          at: ts,
          evidence: {
            source: violations.length ? violations.map((v) => `nelson-${v.rule}`).join('+') : 'spc',
            signals: [signal],
            values: { mean, center, ucl: center + 3 * sigma, lcl: center - 3 * sigma, z },
            window: { from: st.subFrom, to: ts },
          },
        }),
      );
    }
  }

  /**
   * Dispatches the queued windows as one forward pass. `scoreBatch` copies `this.batch` before it returns, so the
   * queue can refill at once; the scores become model events in {@link settle}.
   */
  private score(events: LineEvent[]): void {
    const n = this.queue.length;
    if (n === 0 || !this.options.detector) return;
    const detector = this.options.detector;
    const scores = detector.scoreBatch(this.batch, n);
    // Settled in settle(); until then a rejection must not count as unhandled.
    scores.catch(() => undefined);
    this.counters.batches++;
    this.counters.windowsScored += n;
    this.rowsSinceScore = 0;
    this.pending.push({ at: events.length, assets: this.queue, from: this.batchFrom.slice(0, n), to: this.batchTo.slice(0, n), threshold: detector.threshold, scores });
    this.queue = [];
  }

  private modelEvents(b: PendingBatch, scores: AnomalyScore[], events: LineEvent[]): void {
    const threshold = b.threshold;
    for (let i = 0; i < b.assets.length; i++) {
      const st = b.assets[i]!;
      if (st.detached) continue; // handed over while its window was being scored
      const sc = scores[i]!;
      const ranked = Object.entries(sc.contributions).sort((a, b) => b[1] - a[1]);
      const to = b.to[i]!;
      this.alarm(
        'model',
        events,
        this.modelAlarms.update({
          key: `${st.asset}:autoencoder`,
          asset: st.asset,
          exceeded: sc.alarm,
          severity: sc.score > 3 * threshold ? 'high' : 'medium',
          at: to,
          evidence: {
            source: 'autoencoder',
            signals: ranked.slice(0, 3).map(([k]) => k),
            values: { score: sc.score, threshold, ...Object.fromEntries(ranked.slice(0, 3)) },
            window: { from: b.from[i]!, to },
          },
        }),
      );
    }
  }
}

/** Whether a value has the shape of a {@link RecordRejection} (sources hand these in). */
function isRejection(v: unknown): v is RecordRejection {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { source?: unknown; issues?: unknown };
  return typeof r.source === 'string' && Array.isArray(r.issues) && r.issues.every((i: unknown) => typeof i === 'object' && i !== null && typeof (i as { field?: unknown }).field === 'string' && typeof (i as { message?: unknown }).message === 'string');
}

function checkSignals(fn: string, signals: unknown): void {
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string' || s.length === 0) || new Set(signals).size !== signals.length) {
    throw invalid(fn, 'signals', 'a non-empty list of distinct signal names', signals, 'INVALID_ARGUMENT');
  }
}

/**
 * Checks that a detector is one (a fitted or loaded `AnomalyDetector`): the monitor reads its signals, window and
 * threshold and calls `scoreBatch` on every tick, so anything else would fail with a TypeError in `push`.
 */
function checkDetector(d: unknown): void {
  const o = d as Partial<Record<'signals' | 'window' | 'threshold' | 'scoreBatch' | 'setThresholdQuantile', unknown>> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.signals) || typeof o.window !== 'number' || !Number.isSafeInteger(o.window) || o.window < 1 || typeof o.scoreBatch !== 'function' || typeof o.setThresholdQuantile !== 'function') {
    throw invalid('LineMonitor', 'options.detector', 'an AnomalyDetector (from AnomalyDetector.fit or load)', d, 'INVALID_ARGUMENT');
  }
}

/** Validates {@link LineMonitorOptions} at construction, so that `push` never meets a bad option (it does not throw). */
function checkOptions(o: LineMonitorOptions): void {
  const fn = 'LineMonitor';
  if (typeof o !== 'object' || o === null) throw invalid(fn, 'options', 'an object', o, 'INVALID_ARGUMENT');
  checkSignals(fn, o.signals);
  if (o.subgroup !== undefined) integer(fn, 'options.subgroup', o.subgroup, 2);
  if (o.maxFill !== undefined) integer(fn, 'options.maxFill', o.maxFill, 0);
  if (o.scoreEvery !== undefined) integer(fn, 'options.scoreEvery', o.scoreEvery, 1);
  if (o.batchSize !== undefined) integer(fn, 'options.batchSize', o.batchSize, 1, 1 << 16);
  if (o.maxAssets !== undefined) integer(fn, 'options.maxAssets', o.maxAssets, 1);
  if (o.ruleSet !== undefined) checkRuleSet(fn, o.ruleSet, 15);
  if (o.baseline !== undefined) {
    if (typeof o.baseline !== 'object' || o.baseline === null) throw invalid(fn, 'options.baseline', 'an object (from LineMonitor.fitBaseline)', o.baseline, 'INVALID_ARGUMENT');
    for (const [asset, bySignal] of Object.entries(o.baseline)) {
      if (typeof bySignal !== 'object' || bySignal === null) throw invalid(fn, `options.baseline.${asset}`, 'an object of limits per signal', bySignal, 'INVALID_ARGUMENT');
      for (const [signal, l] of Object.entries(bySignal)) {
        const field = `options.baseline.${asset}.${signal}`;
        if (typeof l !== 'object' || l === null || typeof l.center !== 'number' || !Number.isFinite(l.center) || typeof l.sigma !== 'number' || !Number.isFinite(l.sigma) || l.sigma < 0) {
          throw new LeptonError('INVALID_ARGUMENT', `${fn}: ${field} needs a finite centre and a finite sigma ≥ 0; refit it with LineMonitor.fitBaseline.`, { details: { field } });
        }
      }
    }
  }
}
