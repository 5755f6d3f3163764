import type { Alarm, Severity } from '../alarms/alarms.js';
import { invalid } from '../internal/guards.js';

/** Where an alarm comes from: SPC run rules, the learned detector, data quality, the clock check, or a hand-over gap. */
export type AlarmSource = 'spc' | 'model' | 'quality' | 'clock' | 'handover';

/** Every {@link AlarmSource}, in a fixed order (metrics list each, zero or not). */
export const ALARM_SOURCES: readonly AlarmSource[] = ['spc', 'model', 'quality', 'clock', 'handover'];

/** An active alarm as the plant sees it: the monitor's {@link Alarm}, its source, and the operator's acknowledgement. */
export interface ActiveAlarm extends Alarm {
  /** Which check raised it. */
  source: AlarmSource;
  /** Set once an operator acknowledged it ({@link LineStatus.acknowledge}). */
  acknowledged?: {
    /** When, epoch ms. */
    at: number;
    /** Who, when given. */
    by?: string;
  };
}

/** An asset's health: `alarm` (SPC or model alarm active), `stale` (no sample lately), `degraded` (data-quality alarm), `ok`. */
export type AssetHealthState = 'ok' | 'degraded' | 'stale' | 'alarm';

/** One asset's health, as {@link LineStatus.health} reports it and the plant outputs publish it. */
export interface AssetHealth {
  /** The asset. */
  asset: string;
  /** The verdict (see {@link LineStatus} for the precedence). */
  state: AssetHealthState;
  /** The highest severity among its active alarms; null when none. */
  severity: Severity | null;
  /** Active alarms. */
  activeAlarms: number;
  /** Active alarms not acknowledged yet. */
  unacknowledged: number;
  /** Active alarms per source. */
  bySource: Record<AlarmSource, number>;
  /** Per signal: out of control while an SPC alarm on it is active. */
  spc: Record<string, 'in-control' | 'out-of-control'>;
  /** Samples of the asset the monitor accepted, and records naming it that were refused. */
  samples: {
    /** Accepted (valid) samples. */
    accepted: number;
    /** Refused records. */
    rejected: number;
  };
  /** One-off data-quality issues (gaps, out-of-order, duplicates, stuck sensors …). */
  qualityIssues: number;
  /** Newest sample time (the data's clock), epoch ms; null before the first. */
  lastSampleAt: number | null;
  /** When its last sample arrived (the status's clock), epoch ms; null before the first. */
  lastSeenAt: number | null;
}

const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/**
 * Severity as a number: 0 none, 1 low … 4 critical (Prometheus and Sparkplug carry it so).
 *
 * @param s - a severity, or null for none
 * @returns 0 to 4
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else (an unknown severity came back as
 *   `undefined`, and `'toString'` as a function)
 */
export function severityRank(s: Severity | null): number {
  if (s === null) return 0;
  if (typeof s !== 'string' || !Object.hasOwn(RANK, s)) throw invalid('severityRank', 'severity', "null or 'low', 'medium', 'high' or 'critical'", s, 'INVALID_ARGUMENT');
  return RANK[s];
}

/**
 * The source of an alarm from its condition key: `<asset>:spc:<signal>`, `<asset>:autoencoder`, `<asset>:quality:<signal>` …
 *
 * @param a - an alarm (from an `AlarmManager` or a `LineMonitor`)
 * @returns where it comes from
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a value that is not an alarm with a string `key`,
 *   `asset` and `evidence.source` (each was a `TypeError`)
 */
export function alarmSource(a: Alarm): AlarmSource {
  const evidence: unknown = typeof a === 'object' && a !== null ? a.evidence : undefined;
  if (typeof a?.key !== 'string' || typeof a.asset !== 'string' || typeof evidence !== 'object' || evidence === null || typeof (evidence as { source?: unknown }).source !== 'string') {
    throw invalid('alarmSource', 'alarm', 'an alarm with a string key, asset and evidence.source', a, 'INVALID_ARGUMENT');
  }
  const kind = a.key.startsWith(`${a.asset}:`) ? a.key.slice(a.asset.length + 1).split(':')[0] : '';
  if (kind === 'spc' || kind === 'quality' || kind === 'clock' || kind === 'handover') return kind;
  if (kind === 'autoencoder') return 'model';
  // A key of another shape (an AlarmManager used directly): judged by its evidence.
  return a.evidence.source.startsWith('data-quality') ? 'quality' : a.evidence.source.startsWith('nelson') ? 'spc' : 'model';
}

/** @internal What a {@link LineStatus} keeps per asset. */
export class AssetEntry {
  accepted = 0;
  rejected = 0;
  qualityIssues = 0;
  lastSampleAt: number | undefined;
  lastSeenAt: number | undefined;
  readonly alarms = new Map<string, ActiveAlarm>();
  /** The last health emitted, as a comparison key. */
  lastKey: string | undefined;
  stale = false;

  constructor(readonly asset: string) {}

  /** Adds a raised alarm; undefined when it is already active (a replayed event). */
  raise(a: Alarm): ActiveAlarm | undefined {
    if (this.alarms.has(a.id)) return undefined;
    const active: ActiveAlarm = { ...structuredClone(a), source: alarmSource(a) };
    this.alarms.set(a.id, active);
    return structuredClone(active);
  }

  /** Removes a cleared alarm; the result keeps its acknowledgement. Undefined when it was not active here. */
  clear(a: Alarm): ActiveAlarm | undefined {
    const had = this.alarms.get(a.id);
    if (!had) return undefined;
    this.alarms.delete(a.id);
    return { ...structuredClone(a), source: had.source, ...(had.acknowledged ? { acknowledged: { ...had.acknowledged } } : {}) };
  }

  /** Makes the active set exactly `alarms` (kept acknowledgements for ids that stay); returns the ids dropped. */
  replaceAlarms(alarms: Alarm[]): string[] {
    const keep = new Set(alarms.map((a) => a.id));
    const dropped = [...this.alarms.keys()].filter((id) => !keep.has(id));
    for (const id of dropped) this.alarms.delete(id);
    for (const a of alarms) {
      const had = this.alarms.get(a.id);
      this.alarms.set(a.id, { ...structuredClone(a), source: alarmSource(a), ...(had?.acknowledged ? { acknowledged: had.acknowledged } : {}) });
    }
    return dropped;
  }
}

/** @internal An entry's health at time `now`. */
export function healthOf(e: AssetEntry, signals: readonly string[], staleAfterMs: number, now: number): AssetHealth {
  const bySource: Record<AlarmSource, number> = { spc: 0, model: 0, quality: 0, clock: 0, handover: 0 };
  const spc: Record<string, 'in-control' | 'out-of-control'> = Object.fromEntries(signals.map((s) => [s, 'in-control' as const]));
  let severity: Severity | null = null;
  let unacknowledged = 0;
  for (const a of e.alarms.values()) {
    bySource[a.source]++;
    if (!a.acknowledged) unacknowledged++;
    if (severityRank(a.severity) > severityRank(severity)) severity = a.severity;
    if (a.source === 'spc') for (const s of a.evidence.signals) spc[s] = 'out-of-control';
  }
  const stale = e.lastSeenAt === undefined || now - e.lastSeenAt > staleAfterMs;
  const state = bySource.spc + bySource.model > 0 ? 'alarm' : stale ? 'stale' : bySource.quality + bySource.clock + bySource.handover > 0 ? 'degraded' : 'ok';
  return {
    asset: e.asset,
    state,
    severity,
    activeAlarms: e.alarms.size,
    unacknowledged,
    bySource,
    spc,
    samples: { accepted: e.accepted, rejected: e.rejected },
    qualityIssues: e.qualityIssues,
    lastSampleAt: e.lastSampleAt ?? null,
    lastSeenAt: e.lastSeenAt ?? null,
  };
}
