import { LeptonError } from '@lepton/core';
import { AlarmManager, type AlarmEvent, type AlarmOptions, type Severity } from '../alarms/alarms.js';
import { RuleStream } from '../spc/stream.js';
import { WESTERN_ELECTRIC, type RuleSet } from '../spc/rules.js';
import { QualityMonitor, type QualityIssue, type QualityIssueKind, type QualityOptions } from '../telemetry/quality.js';
import type { RecordRejection, SensorRecord } from '../telemetry/record.js';
import type { AnomalyDetector, AnomalyScore } from './autoencoder.js';

/** Phase I limits of one signal's subgroup-mean chart. */
export interface SignalBaseline {
  /** Centre line (mean of the Phase I subgroup means). */
  center: number;
  /** Standard deviation of the Phase I subgroup means. */
  sigma: number;
}

/** SPC baselines per asset, then per signal; the asset key `*` applies to assets without their own. */
export type LineBaseline = Record<string, Record<string, SignalBaseline>>;

/** Options for {@link LineMonitor}. */
export interface LineMonitorOptions {
  /** Signals every asset reports, in the detector's column order. */
  signals: readonly string[];
  /**
   * Learned detector (shared by all assets of the line); omit to run SPC only. A detector fitted or loaded with
   * `workers` ≥ 2 scores each tick's windows on its worker threads (split evenly over them; ticks pushed without
   * waiting overlap); events are the same as with one in this thread. The monitor does not own the
   * detector: close it when the line stops.
   */
  detector?: AnomalyDetector;
  /** SPC limits from {@link LineMonitor.fitBaseline}; omit to run the detector only. */
  baseline?: LineBaseline;
  /** Samples per SPC subgroup (the charted statistic is the subgroup mean). Default 60. */
  subgroup?: number;
  /** SPC run rules. Default Western Electric. */
  ruleSet?: RuleSet;
  /** Data-quality checks (interval, gap factor, stuck threshold). */
  quality?: QualityOptions;
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
  };
}

/**
 * What {@link LineMonitor} emits: alarm episodes raised or cleared (SPC, model or data quality, with evidence), data
 * quality issues that are one-off by nature (gaps, out-of-order and duplicate samples, a sensor becoming stuck), and
 * records refused at validation.
 */
export type LineEvent =
  | AlarmEvent
  | {
      /** A one-off data-quality issue. */
      type: 'quality';
      /** The issue. */
      issue: QualityIssue;
    }
  | {
      /** A raw record refused at validation (from an MQTT or file source). */
      type: 'rejected';
      /** Why it was refused. */
      rejection: RecordRejection;
    };

/** Counters of {@link LineMonitor.stats}: nothing is dropped without being counted here. */
export interface LineMonitorStats {
  /** Records pushed. */
  records: number;
  /** Records refused at validation. */
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
  /** SPC subgroup points skipped because fewer than half of their samples were clean. */
  subgroupsSkipped: number;
  /** Assets with no SPC baseline (their signals are not charted). */
  assetsWithoutBaseline: number;
  /** Alarm episodes raised, by source kind. */
  raised: Record<'spc' | 'model' | 'quality', number>;
}

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
  rules: RuleStream[] | undefined;
  qualityOpen: Uint8Array;
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
 */
export class LineMonitor {
  private readonly signals: readonly string[];
  private readonly col = new Map<string, number>();
  private readonly states = new Map<string, AssetState>();
  private readonly quality: QualityMonitor;
  private readonly spcAlarms: AlarmManager;
  private readonly modelAlarms: AlarmManager;
  private readonly qualityAlarms: AlarmManager;
  private readonly subgroup: number;
  private readonly maxFill: number;
  private readonly scoreEvery: number;
  private readonly batchSize: number;
  private readonly ruleSet: RuleSet;
  private readonly window: number;
  private queue: AssetState[] = [];
  private batch: Float32Array;
  private batchFrom: number[] = [];
  private batchTo: number[] = [];
  private clock = -Infinity;
  /** Assets whose row for the current clock tick has been judged: when all have, the tick is scored at once. */
  private tickRows = 0;
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the detector's signals differ from `signals`, or
   *   neither a detector nor a baseline is given
   */
  constructor(private readonly options: LineMonitorOptions) {
    this.signals = [...options.signals];
    this.signals.forEach((s, j) => this.col.set(s, j));
    if (!options.detector && !options.baseline) throw new LeptonError('INVALID_ARGUMENT', 'A line monitor needs a detector, an SPC baseline, or both.');
    if (options.detector && options.detector.signals.join('\u0000') !== this.signals.join('\u0000')) {
      throw new LeptonError('INVALID_ARGUMENT', `The detector was trained on [${options.detector.signals.join(', ')}], not [${this.signals.join(', ')}].`);
    }
    this.quality = new QualityMonitor(options.quality);
    this.spcAlarms = new AlarmManager({ raiseAfter: 1, clearAfter: 3, idPrefix: 'spc', ...options.alarms?.spc });
    this.modelAlarms = new AlarmManager({ raiseAfter: 3, clearAfter: 30, idPrefix: 'model', ...options.alarms?.model });
    this.qualityAlarms = new AlarmManager({ raiseAfter: 3, clearAfter: 10, idPrefix: 'quality', ...options.alarms?.quality });
    this.subgroup = options.subgroup ?? 60;
    this.maxFill = options.maxFill ?? 3;
    this.scoreEvery = options.scoreEvery ?? 1;
    this.batchSize = options.batchSize ?? 256;
    this.ruleSet = options.ruleSet ?? WESTERN_ELECTRIC;
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when an asset has fewer than 10 subgroups of data
   */
  static fitBaseline(normal: Record<string, readonly number[][]>, signals: readonly string[], subgroup = 60): LineBaseline {
    const out: LineBaseline = {};
    for (const [asset, rows] of Object.entries(normal)) {
      const k = Math.floor(rows.length / subgroup);
      if (k < 10) throw new LeptonError('INVALID_INPUT', `Asset ${asset}: need at least 10 subgroups of ${subgroup} samples, got ${rows.length} samples.`);
      out[asset] = Object.fromEntries(
        signals.map((signal, j) => {
          const means: number[] = [];
          for (let g = 0; g < k; g++) {
            const vals = rows.slice(g * subgroup, (g + 1) * subgroup).map((r) => r[j]!).filter(Number.isFinite);
            if (vals.length >= subgroup / 2) means.push(vals.reduce((a, v) => a + v, 0) / vals.length);
          }
          const center = means.reduce((a, v) => a + v, 0) / means.length;
          const sigma = Math.sqrt(means.reduce((a, v) => a + (v - center) ** 2, 0) / Math.max(1, means.length - 1));
          return [signal, { center, sigma }];
        }),
      );
    }
    return out;
  }

  private state(asset: string): AssetState {
    let st = this.states.get(asset);
    if (st) return st;
    const s = this.signals.length;
    const base = this.options.baseline?.[asset] ?? this.options.baseline?.['*'];
    if (this.options.baseline && !base) this.counters.assetsWithoutBaseline++;
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
      rules: base ? this.signals.map((sig) => new RuleStream(base[sig] ?? { center: 0, sigma: 0 }, this.ruleSet)) : undefined,
      qualityOpen: new Uint8Array(s),
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
   * @param item - a sensor record, `{ record }` or `{ rejected }`
   * @returns the events it caused, in order
   */
  push(item: SensorRecord | { record: SensorRecord } | { rejected: RecordRejection }): Promise<LineEvent[]> {
    const events: LineEvent[] = [];
    this.apply(item, events);
    return this.settle(events);
  }

  private apply(item: SensorRecord | { record: SensorRecord } | { rejected: RecordRejection }, events: LineEvent[]): void {
    this.counters.records++;
    if ('rejected' in item) {
      this.counters.rejected++;
      events.push({ type: 'rejected', rejection: item.rejected });
      return;
    }
    const r = 'record' in item ? item.record : item;
    const j = this.col.get(r.signal);
    if (j === undefined) {
      this.counters.unknownSignal++;
      return;
    }
    if (r.timestamp > this.clock) {
      this.advance(r.timestamp, events);
      this.clock = r.timestamp;
      this.tickRows = 0;
    }
    const st = this.state(r.asset);
    if (st.ts !== undefined && r.timestamp > st.ts) this.finalize(st, events);
    const verdict = this.quality.check(r);
    for (const issue of verdict.issues) if (issue.kind !== 'missing-value' && issue.kind !== 'bad-quality') events.push({ type: 'quality', issue });
    const late = verdict.issues.some((i) => i.kind === 'out-of-order' || i.kind === 'duplicate');
    if (late) return;
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
          evidence: { source: `data-quality:${kind}`, signals: [r.signal], values: { value: r.value }, window: { from: r.timestamp, to: r.timestamp } },
        }),
      );
      st.qualityOpen[j] = !verdict.clean || this.qualityAlarms.isActive(`${r.asset}:quality:${r.signal}`) ? 1 : 0;
    }
    st.ts = r.timestamp;
    st.row[j] = verdict.clean ? r.value : Number.NaN;
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
  flush(): Promise<LineEvent[]> {
    const events: LineEvent[] = [];
    this.advance(Infinity, events);
    return this.settle(events);
  }

  /**
   * Monitors an async source (e.g. {@link MqttTelemetry.items}) and yields every event as it happens. Rows still
   * waiting when the source ends are judged before the generator returns.
   *
   * @param source - records, or parsed items with rejections
   * @returns the event stream
   */
  async *run(source: AsyncIterable<SensorRecord | { record: SensorRecord } | { rejected: RecordRejection }>): AsyncGenerator<LineEvent> {
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
  active(): Array<AlarmEvent['alarm']> {
    return [...this.spcAlarms.active(), ...this.modelAlarms.active(), ...this.qualityAlarms.active()];
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
    // SPC subgroup accumulates clean values only.
    if (st.subN === 0) st.subFrom = ts;
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
    if (ts === this.clock && ++this.tickRows === this.states.size) this.score(events);
  }

  private closeSubgroup(st: AssetState, ts: number, events: LineEvent[]): void {
    if (st.rules) {
      for (let j = 0; j < this.signals.length; j++) {
        const signal = this.signals[j]!;
        if (st.subCount[j]! < this.subgroup / 2) {
          this.counters.subgroupsSkipped++;
          continue;
        }
        const mean = st.subSum[j]! / st.subCount[j]!;
        const rules = st.rules[j]!;
        const violations = rules.push(mean);
        this.counters.subgroups++;
        const { center, sigma } = rules.limits;
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
              values: { mean, center, ucl: center + 3 * sigma, lcl: center - 3 * sigma, z: sigma > 0 ? (mean - center) / sigma : 0 },
              window: { from: st.subFrom, to: ts },
            },
          }),
        );
      }
    }
    st.subSum.fill(0);
    st.subCount.fill(0);
    st.subN = 0;
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
    this.pending.push({ at: events.length, assets: this.queue, from: this.batchFrom.slice(0, n), to: this.batchTo.slice(0, n), threshold: detector.threshold, scores });
    this.queue = [];
  }

  private modelEvents(b: PendingBatch, scores: AnomalyScore[], events: LineEvent[]): void {
    const threshold = b.threshold;
    for (let i = 0; i < b.assets.length; i++) {
      const st = b.assets[i]!;
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
