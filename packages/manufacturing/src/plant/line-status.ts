import { LeptonError } from '@lepton/core';
import { checkEvidence, copyEvidence, SEVERITIES, type Alarm, type AlarmEvidence, type Severity } from '../alarms/alarms.js';
import { checkLevel } from '../scale/partition.js';
import { integer, invalid } from '../internal/guards.js';
import type { LineEvent, LineItem } from '../monitoring/line-monitor.js';
import type { ScaleEvent } from '../scale/options.js';
import type { QualityIssue, QualityIssueKind } from '../telemetry/quality.js';
import type { SensorRecord } from '../telemetry/record.js';
import { AssetEntry, healthOf, type ActiveAlarm, type AssetHealth } from './asset-health.js';
import type { LineStatusOptions, LineStatusStats, StatusChange, StatusSource } from './status-types.js';

export type { LineStatusOptions, LineStatusStats, StatusChange, StatusSource } from './status-types.js';

const unsubscribeNoop = (): void => undefined;

/** Longest asset name (and alarm id) the status takes from a record or an event. */
const MAX_NAME = 1024;

/**
 * The live status of one line, per asset — health, active alarms (with acknowledgements), sample counters, data
 * freshness and SPC state — built from what a {@link LineMonitor} (or a {@link ScaledLineMonitor}) emits, for the plant
 * outputs: {@link MqttPlantPublisher}, {@link SparkplugEdgeNode} and {@link lineStatusMetrics} (Prometheus) read it.
 *
 * With a `LineMonitor`, feed samples through {@link push} (or {@link run}) instead of the monitor's own: every record
 * goes to the monitor and its events update the status. With a `ScaledLineMonitor`, pass
 * `onRecord: (r) => status.observeRecord(r)` and `onEvent: (e) => status.observe(e)` to `ScaledLineMonitor.start` and
 * call {@link attach} with the started member: after each hand-over the active alarms are taken from the member.
 *
 * Health, per asset: `alarm` while an SPC or model (autoencoder) alarm is active — the process needs a look; else
 * `stale` when no sample came for `staleAfterMs`; else `degraded` while a data-quality alarm (missing or bad values,
 * stuck sensor, clock, hand-over gap) is active — the data needs a look; else `ok`.
 *
 * @example
 * ```ts
 * import { LineMonitor, LineStatus } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 });
 * const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
 * for (let i = 0; i < 2; i++) await status.push({ timestamp: Date.now() - 2000 + i * 1000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
 * console.log(status.health('press-1')?.state); // 'alarm' (SPC: the subgroup mean is 40 sigma above the centre)
 * ```
 */
export class LineStatus {
  /** The line's name. */
  readonly line: string;
  /** Signals listed in each asset's SPC state. */
  readonly signals: readonly string[];
  /** An asset is stale after this long without a sample, ms. */
  readonly staleAfterMs: number;
  private source: StatusSource | undefined;
  private readonly entries = new Map<string, AssetEntry>();
  private readonly alarmAsset = new Map<string, string>();
  private readonly listeners = new Set<(c: StatusChange) => void>();
  private readonly maxAssets: number;
  private readonly now: () => number;
  private readonly counts = { rejectedUnattributed: 0, ignored: 0, untracked: 0, listenerErrors: 0 };

  /**
   * @param options - the line, the monitor, signals, staleness and bounds
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (`details.field`)
   */
  constructor(options: LineStatusOptions) {
    const fn = 'LineStatus';
    if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
    this.line = checkLevel(fn, 'options.line', options.line);
    const signals = options.signals ?? [];
    if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid(fn, 'options.signals', 'a list of signal names', signals, 'INVALID_ARGUMENT');
    this.signals = [...new Set(signals)];
    this.staleAfterMs = integer(fn, 'options.staleAfterMs', options.staleAfterMs ?? 60_000, 1);
    this.maxAssets = integer(fn, 'options.maxAssets', options.maxAssets ?? 10_000, 1);
    if (options.now !== undefined && typeof options.now !== 'function') throw invalid(fn, 'options.now', 'a function returning epoch ms', options.now, 'INVALID_ARGUMENT');
    this.now = options.now ?? Date.now;
    if (options.monitor !== undefined) this.attach(options.monitor);
  }

  /**
   * Follows a monitor: its active alarms and assets become the status's ({@link reconcile}), and, for a
   * `ScaledLineMonitor`, again after every hand-over event given to {@link observe}.
   *
   * @param source - a `LineMonitor` or a started `ScaledLineMonitor`
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when it has no `active()` and `assets()`
   */
  attach(source: StatusSource): void {
    if (typeof source !== 'object' || source === null || typeof source.active !== 'function' || typeof source.assets !== 'function') {
      throw invalid('LineStatus.attach', 'source', 'a LineMonitor or ScaledLineMonitor', source, 'INVALID_ARGUMENT');
    }
    this.source = source;
    this.reconcile();
  }

  /**
   * Feeds one item to the monitor (its `push`) and updates the status from its events.
   *
   * @param item - a sensor record, `{ record }` or `{ rejected }` (as {@link LineMonitor.push} takes)
   * @returns the monitor's events
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the status follows no monitor with `push`
   */
  async push(item: LineItem): Promise<LineEvent[]> {
    const push = this.source?.push;
    if (!push) throw new LeptonError('INVALID_ARGUMENT', 'LineStatus.push needs a LineMonitor: pass options.monitor (a ScaledLineMonitor feeds itself; use observeRecord/observe).');
    const pending = push.call(this.source, item);
    const asset = assetOf(item);
    const events = await pending;
    if (events.some((e) => e.type === 'rejected')) {
      this.countRejected(asset);
      this.observeAll(events.filter((e) => e.type !== 'rejected'));
      return events;
    }
    // Accepted by the monitor, but counted for an asset only when the monitor applied it to an asset it holds: a record
    // of an unknown signal, or one from the future, must not create (or freshen) an asset here — network input could
    // otherwise make up to maxAssets phantom assets, each with retained topics and a DBIRTH.
    const rec = recordOf(item) as SensorRecord;
    if (this.took(rec, events)) this.observeRecord(rec);
    else this.counts.ignored++;
    if (events.length > 0) this.observeAll(events); // the common case (no event) allocates nothing
    return events;
  }

  /**
   * Monitors an async source through {@link push} and yields every event; rows still waiting are judged at the end.
   *
   * @param source - records, or parsed items with rejections (e.g. `MqttTelemetry.items()`)
   * @returns the event stream
   */
  async *run(source: AsyncIterable<LineItem>): AsyncGenerator<LineEvent> {
    for await (const item of source) yield* await this.push(item);
    const events = (await this.source?.flush?.()) ?? [];
    this.observeAll(events);
    yield* events;
  }

  /**
   * Counts a valid sample the monitor accepted (a `ScaledLineMonitor`'s `onRecord`): the asset's `accepted` counter and
   * freshness. {@link push} calls it itself.
   *
   * A record that is not an object with an `asset` of 1–1,024 characters and a finite `timestamp` is counted in
   * `stats().rejectedUnattributed` and changes nothing else (one bad sample never stops a stream; an empty asset name
   * made an asset whose metrics collided with the unattributed series and failed every scrape).
   *
   * @param record - the sample
   */
  observeRecord(record: SensorRecord): void {
    const r = record as Partial<Record<keyof SensorRecord, unknown>> | null;
    if (typeof r !== 'object' || r === null || !isName(r.asset) || typeof r.timestamp !== 'number' || !Number.isFinite(r.timestamp)) {
      this.countRejected(undefined);
      return;
    }
    const asset = r.asset;
    const timestamp = r.timestamp;
    const e = this.entry(asset);
    if (!e) return;
    e.accepted++;
    e.lastSampleAt = Math.max(e.lastSampleAt ?? -Infinity, timestamp);
    e.lastSeenAt = this.now();
    if (e.stale || e.lastKey === undefined) this.refreshAsset(e);
  }

  /**
   * Applies one monitor event (a `ScaledLineMonitor`'s `onEvent`; {@link push} calls it itself): alarms raised and
   * cleared, quality issues, rejections (not attributable to an asset here), and hand-overs (then {@link reconcile}).
   *
   * @param event - a line event or a scale event
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) when `event` is not an object, or is an
   *   alarm or quality event that is not well formed (an alarm needs an id and asset of 1–1,024 characters, a key, a
   *   known severity, finite times, an occurrence count and valid evidence; an issue an asset and signal of 1–1,024
   *   characters, a kind, a finite time and a detail text); nothing is changed then
   */
  observe(event: LineEvent | ScaleEvent): void {
    this.observeAll([checkEvent(event)]);
  }

  private observeAll(events: ReadonlyArray<LineEvent | ScaleEvent>): void {
    const touched = new Set<AssetEntry>();
    let handOver = false;
    for (const ev of events) {
      if (typeof ev !== 'object' || ev === null) continue;
      if (ev.type === 'raised' || ev.type === 'cleared') {
        const e = this.entry(ev.alarm.asset);
        if (!e) continue;
        const a = ev.type === 'raised' ? e.raise(ev.alarm) : e.clear(ev.alarm);
        if (!a) continue;
        if (ev.type === 'raised') this.alarmAsset.set(a.id, e.asset);
        else this.alarmAsset.delete(a.id);
        touched.add(e);
        this.emit({ type: 'alarm', event: ev.type, alarm: a, at: ev.type === 'raised' ? a.raisedAt : (a.clearedAt ?? a.raisedAt) });
      } else if (ev.type === 'quality') {
        const e = this.entry(ev.issue.asset);
        if (e) e.qualityIssues++;
        this.emit({ type: 'quality', issue: ev.issue });
      } else if (ev.type === 'rejected') this.countRejected(undefined);
      else if (ev.type === 'acquired' || ev.type === 'released' || ev.type === 'lost') handOver = true;
    }
    for (const e of touched) this.refreshAsset(e);
    if (handOver) this.reconcile();
  }

  /**
   * Makes the status match the followed monitor: its active alarms become the assets' (handed-over episodes keep their
   * ids), assets it no longer holds are dropped with a `released` change (not `retired`: another member of a
   * `ScaledLineMonitor` publishes them now, so their retained state stays), assets it holds appear. Nothing happens
   * without a monitor.
   */
  reconcile(): void {
    const src = this.source;
    if (!src) return;
    const held = new Set(src.assets());
    for (const asset of [...this.entries.keys()]) if (!held.has(asset)) this.release(asset);
    const byAsset = new Map<string, Alarm[]>();
    for (const a of src.active()) byAsset.set(a.asset, [...(byAsset.get(a.asset) ?? []), a]);
    for (const asset of new Set([...held, ...byAsset.keys()])) {
      const e = this.entry(asset);
      if (!e) continue;
      for (const a of e.replaceAlarms(byAsset.get(asset) ?? [])) this.alarmAsset.delete(a);
      for (const a of e.alarms.values()) this.alarmAsset.set(a.id, asset);
      this.refreshAsset(e);
    }
  }

  /**
   * Marks an active alarm acknowledged by an operator (ISA-18.2): it stays active until the monitor clears it, and an
   * `acknowledged` change is emitted. Acknowledging again, or an alarm that is not active (it may just have cleared),
   * changes nothing.
   *
   * @param alarmId - the alarm's id
   * @param by - who acknowledged it (at most 256 characters), e.g. an operator id
   * @returns whether the alarm was active and not yet acknowledged
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `alarmId` is not a string of 1–1,024 characters or
   *   `by` not one of 1–256
   */
  acknowledge(alarmId: string, by?: string): boolean {
    if (typeof alarmId !== 'string' || alarmId.length === 0 || alarmId.length > 1024) throw invalid('LineStatus.acknowledge', 'alarmId', 'an alarm id (a string of 1–1,024 characters)', alarmId, 'INVALID_ARGUMENT');
    if (by !== undefined && (typeof by !== 'string' || by.length === 0 || by.length > 256)) throw invalid('LineStatus.acknowledge', 'by', 'a string of 1–256 characters', by, 'INVALID_ARGUMENT');
    const asset = this.alarmAsset.get(alarmId);
    const e = asset === undefined ? undefined : this.entries.get(asset);
    const a = e?.alarms.get(alarmId);
    if (!e || !a || a.acknowledged) return false;
    const at = this.now();
    a.acknowledged = by === undefined ? { at } : { at, by };
    this.emit({ type: 'alarm', event: 'acknowledged', alarm: structuredClone(a), at });
    this.refreshAsset(e);
    return true;
  }

  /**
   * Removes an asset from the line: its status is dropped, a `retired` change is emitted (publishers clear its retained
   * topics), and the followed monitor forgets it (`forget: false` keeps the monitor's state).
   *
   * @param asset - the asset
   * @param options - `forget`: also call the monitor's `forgetAsset` (default true)
   * @returns whether the status held the asset
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `options` is not an object
   */
  retire(asset: string, options: { forget?: boolean } = {}): boolean {
    if (typeof options !== 'object' || options === null) throw invalid('LineStatus.retire', 'options', 'an object { forget? }', options, 'INVALID_ARGUMENT');
    if (options.forget !== false) this.source?.forgetAsset?.(asset);
    const e = this.entries.get(asset);
    if (!e) return false;
    for (const id of e.alarms.keys()) this.alarmAsset.delete(id);
    this.entries.delete(asset);
    this.emit({ type: 'retired', asset, at: this.now() });
    return true;
  }

  /** Drops an asset the monitor no longer holds (handed over): `released`, not `retired`. */
  private release(asset: string): void {
    const e = this.entries.get(asset);
    if (!e) return;
    for (const id of e.alarms.keys()) this.alarmAsset.delete(id);
    this.entries.delete(asset);
    this.emit({ type: 'released', asset, at: this.now() });
  }

  /**
   * Re-judges every asset's health now (staleness moves with the clock, not with events); emits `health` for those
   * that changed. Publishers call it on their timers.
   */
  refresh(): void {
    for (const e of this.entries.values()) this.refreshAsset(e);
  }

  /** Assets tracked, in the order first seen. */
  assets(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * One asset's health now.
   *
   * @param asset - the asset
   * @returns its health, or undefined when not tracked
   */
  health(asset: string): AssetHealth | undefined {
    const e = this.entries.get(asset);
    return e ? healthOf(e, this.signals, this.staleAfterMs, this.now()) : undefined;
  }

  /** Every tracked asset's health now. */
  healthAll(): AssetHealth[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => healthOf(e, this.signals, this.staleAfterMs, now));
  }

  /** Active alarms of every asset (copies, with acknowledgements). */
  activeAlarms(): ActiveAlarm[] {
    return [...this.entries.values()].flatMap((e) => [...e.alarms.values()].map((a) => structuredClone(a)));
  }

  /**
   * Counters that belong to no asset: rejections whose asset is unknown, samples of assets over `maxAssets`, listener
   * exceptions swallowed.
   */
  stats(): LineStatusStats {
    return { ...this.counts, assets: this.entries.size };
  }

  /** The clock the status judges freshness with, epoch ms. */
  time(): number {
    return this.now();
  }

  /**
   * Listens to changes (publishers do). A listener that throws is counted (`listenerErrors`) and never stops the others.
   *
   * @param listener - called synchronously with each change
   * @returns a function that removes the listener
   */
  subscribe(listener: (change: StatusChange) => void): () => void {
    if (typeof listener !== 'function') return unsubscribeNoop;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: StatusChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch {
        this.counts.listenerErrors++;
      }
    }
  }

  private entry(asset: string): AssetEntry | undefined {
    let e = this.entries.get(asset);
    if (e) return e;
    if (this.entries.size >= this.maxAssets) {
      this.counts.untracked++;
      return undefined;
    }
    e = new AssetEntry(asset);
    this.entries.set(asset, e);
    return e;
  }

  /** Whether the monitor applied a record it accepted to an asset it holds (a known signal, not from the future). */
  private took(rec: SensorRecord, events: readonly LineEvent[]): boolean {
    const src = this.source;
    if (!src || typeof rec.asset !== 'string') return false;
    if (this.signals.length > 0 && !this.signals.includes(rec.signal)) return false;
    if (events.some((e) => e.type === 'quality' && e.issue.kind === 'future-timestamp')) return false;
    return typeof src.hasAsset === 'function' ? src.hasAsset(rec.asset) : src.assets().includes(rec.asset);
  }

  /** A refusal counts against an asset already tracked, never creates one (the monitor may refuse it for maxAssets). */
  private countRejected(asset: string | undefined): void {
    const e = asset === undefined ? undefined : this.entries.get(asset);
    if (e) e.rejected++;
    else this.counts.rejectedUnattributed++;
  }

  private refreshAsset(e: AssetEntry): void {
    const h = healthOf(e, this.signals, this.staleAfterMs, this.now());
    e.stale = h.state === 'stale';
    const key = JSON.stringify([h.state, h.severity, h.activeAlarms, h.unacknowledged, h.bySource, h.spc]);
    if (key === e.lastKey) return;
    e.lastKey = key;
    this.emit({ type: 'health', health: h });
  }
}

/** The asset of a pushed item when it names one (a rejected record may still name its asset). */
function assetOf(item: unknown): string | undefined {
  const r = recordOf(item);
  const a = (r as { asset?: unknown }).asset;
  return isName(a) ? a : undefined;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;
}

function checkName(fn: string, field: string, v: unknown): string {
  if (!isName(v)) throw invalid(fn, field, 'a string of 1–1,024 characters', v);
  return v;
}

function checkTime(fn: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(fn, field, 'a finite number (epoch ms)', v);
  return v;
}

/**
 * A checked copy of an event given to {@link LineStatus.observe}: what it keeps is read again later by the publishers'
 * timers and the metrics, where a bad field would throw on every tick. Other events are returned as they are.
 */
function checkEvent(event: unknown): LineEvent | ScaleEvent {
  const fn = 'LineStatus.observe';
  if (typeof event !== 'object' || event === null) throw invalid(fn, 'event', 'a line or scale event', event);
  const ev = event as LineEvent | ScaleEvent;
  if (ev.type === 'raised' || ev.type === 'cleared') return { type: ev.type, alarm: checkAlarm(fn, 'event.alarm', ev.alarm) };
  if (ev.type === 'quality') return { type: 'quality', issue: checkIssue(fn, 'event.issue', ev.issue) };
  return ev;
}

function checkAlarm(fn: string, field: string, v: unknown): Alarm {
  if (typeof v !== 'object' || v === null) throw invalid(fn, field, 'an alarm', v);
  const a = v as Partial<Record<keyof Alarm, unknown>>;
  const id = checkName(fn, `${field}.id`, a.id);
  if (typeof a.key !== 'string' || a.key.length === 0 || a.key.length > 4 * MAX_NAME) throw invalid(fn, `${field}.key`, 'a string of 1–4,096 characters', a.key);
  const asset = checkName(fn, `${field}.asset`, a.asset);
  if (typeof a.severity !== 'string' || !SEVERITIES.includes(a.severity)) throw invalid(fn, `${field}.severity`, `one of ${SEVERITIES.join(', ')}`, a.severity);
  const raisedAt = checkTime(fn, `${field}.raisedAt`, a.raisedAt);
  const clearedAt = a.clearedAt === undefined ? undefined : checkTime(fn, `${field}.clearedAt`, a.clearedAt);
  const occurrences = integer(fn, `${field}.occurrences`, a.occurrences, 0, Number.MAX_SAFE_INTEGER, 'INVALID_INPUT');
  checkEvidence(fn, `${field}.evidence`, a.evidence);
  const evidence = copyEvidence(a.evidence as AlarmEvidence);
  return { id, key: a.key, asset, severity: a.severity as Severity, raisedAt, ...(clearedAt === undefined ? {} : { clearedAt }), evidence, occurrences };
}

function checkIssue(fn: string, field: string, v: unknown): QualityIssue {
  if (typeof v !== 'object' || v === null) throw invalid(fn, field, 'a quality issue', v);
  const i = v as Partial<Record<keyof QualityIssue, unknown>>;
  if (typeof i.kind !== 'string' || i.kind.length === 0 || i.kind.length > MAX_NAME) throw invalid(fn, `${field}.kind`, 'a string of 1–1,024 characters', i.kind);
  const asset = checkName(fn, `${field}.asset`, i.asset);
  const signal = checkName(fn, `${field}.signal`, i.signal);
  const at = checkTime(fn, `${field}.at`, i.at);
  if (typeof i.detail !== 'string' || i.detail.length > 65_536) throw invalid(fn, `${field}.detail`, 'a string of at most 65,536 characters', i.detail);
  return { kind: i.kind as QualityIssueKind, asset, signal, at, detail: i.detail };
}

function recordOf(item: unknown): object {
  if (typeof item !== 'object' || item === null) return {};
  return 'record' in item && typeof item.record === 'object' && item.record !== null ? item.record : item;
}
