import { LeptonError } from '@lepton/core';
import { z } from 'zod';
import type { AlarmTrackSnapshot } from '../alarms/alarms.js';
import { MAX_ID_LENGTH, MAX_TIMESTAMP, MIN_TIMESTAMP } from '../telemetry/record.js';

/** The `format` tag of an {@link AssetSnapshot}. */
export const ASSET_SNAPSHOT_FORMAT = 'lepton.line-monitor.asset';

/**
 * Everything a {@link LineMonitor} knows about one asset, as JSON: the row being assembled, the last clean values and
 * fill counts, the detector's window ring, the SPC subgroup being accumulated and the last points of each chart's run
 * rules, each signal's data-quality state, and the debounce state and active episodes of every alarm of the asset
 * (SPC, model, data quality, clock, hand-over). Restoring it in another monitor with the same settings
 * ({@link LineMonitor.restoreAsset}) goes on exactly where this one stopped: an active alarm keeps its id and is
 * neither raised again nor lost.
 *
 * Its size is bounded by the settings, never by how long the asset has run: about `(window + 20) × signals` numbers
 * plus one entry per alarm condition. Missing values (NaN) are written as `null`.
 */
export interface AssetSnapshot {
  /** Always {@link ASSET_SNAPSHOT_FORMAT}. */
  format: typeof ASSET_SNAPSHOT_FORMAT;
  /** Snapshot layout version: 1. */
  version: 1;
  /** The asset. */
  asset: string;
  /** The monitor's signals, in its column order (must match where it is restored). */
  signals: string[];
  /** The detector's window (1 without a detector; must match). */
  window: number;
  /** Samples per SPC subgroup (must match). */
  subgroup: number;
  /** When the snapshot was taken (the monitor's `quality.now()`), epoch ms. */
  takenAt: number;
  /**
   * True when the asset was handed over on purpose and no sample reached the monitor after this snapshot (the
   * `final` option of {@link LineMonitor.snapshotAsset}); false for a periodic snapshot, after which the monitor may
   * have gone on consuming samples that died with it.
   */
  final: boolean;
  /** The newest sample time seen for the asset (any signal), epoch ms; null before the first. */
  lastSampleAt: number | null;
  /** The row being assembled: its time, a value per signal (null = not arrived or missing), arrivals so far. */
  row: {
    /** Its time, epoch ms; null when no row is being assembled. */
    ts: number | null;
    /** A value per signal (null = not arrived or missing). */
    values: Array<number | null>;
    /** Signals arrived so far. */
    arrivals: number;
  };
  /** Last clean value per signal (null before the first). */
  last: Array<number | null>;
  /** Consecutive filled values per signal. */
  fillRun: number[];
  /** The detector's window ring (`window × signals` values, null = unusable), times, head, valid rows, rows seen. */
  detector: {
    /** The last `window` rows, `window × signals` values, oldest at `head` (null = unusable). */
    ring: Array<number | null>;
    /** Each ring row's time, epoch ms. */
    ringTs: number[];
    /** Where the next row goes. */
    head: number;
    /** Consecutive usable rows at the end of the ring (the window is scored once it reaches `window`). */
    valid: number;
    /** Rows seen (for `scoreEvery`). */
    ticks: number;
  };
  /** The SPC subgroup being accumulated: sum and count of clean values per signal, rows so far, start time. */
  subgroupState: {
    /** Sum of clean values per signal. */
    sum: number[];
    /** Count of clean values per signal. */
    count: number[];
    /** Rows in the subgroup so far. */
    n: number;
    /** Its first row's time, epoch ms. */
    from: number;
  };
  /** Per signal, the last (at most 15) subgroup means its run rules judged, oldest first; null without a baseline. */
  rules: number[][] | null;
  /** Per signal, whether its data-quality alarm is being fed. */
  qualityOpen: boolean[];
  /** Per signal, the data-quality monitor's state (null when the signal has not been seen). */
  quality: Array<{
    /** Time of the signal's last sample, epoch ms. */
    lastTs: number;
    /** Its value (null when missing). */
    lastValue: number | null;
    /** Times that value has repeated (stuck-sensor count). */
    repeats: number;
  } | null>;
  /** Alarm conditions of the asset per manager, with their active episodes. */
  alarms: {
    /** SPC alarm conditions (one per signal). */
    spc: AlarmTrackSnapshot[];
    /** The detector's alarm condition. */
    model: AlarmTrackSnapshot[];
    /** Data-quality alarm conditions (one per signal). */
    quality: AlarmTrackSnapshot[];
    /** Clock alarm conditions (one per signal). */
    clock: AlarmTrackSnapshot[];
    /** The hand-over alarm condition. */
    handover: AlarmTrackSnapshot[];
  };
  /** Signals whose clock alarm is active. */
  clockOpen: string[];
  /**
   * A hand-over not judged yet (restored, no sample since): the time the data stopped, and whether the snapshot it came
   * from was final; null when none.
   */
  pendingGap: {
    /** When the data stopped (the last sample before the hand-over), epoch ms. */
    from: number;
    /** Whether the snapshot restored was final. */
    final: boolean;
  } | null;
  /** Whether the hand-over alarm is being fed (active). */
  handoverOpen: boolean;
}

const id = z.string().min(1).max(MAX_ID_LENGTH);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const maybe = z.number().nullable();
// A sample time: inside the range every sensor record must have (a time past it would make every later sample look late).
const time = z.number().min(MIN_TIMESTAMP).max(MAX_TIMESTAMP);
const maybeTime = time.nullable();
const MAX_ITEMS = 1 << 20;
const evidence = z.object({
  source: z.string().max(1024),
  signals: z.array(id).max(4096),
  values: z.record(z.string().max(1024), z.number()),
  window: z.object({ from: z.number(), to: z.number() }),
});
const alarm = z.object({
  id: z.string().min(1).max(1024),
  key: z.string().min(1).max(4 * MAX_ID_LENGTH),
  asset: id,
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  raisedAt: z.number(),
  clearedAt: z.number().optional(),
  evidence,
  occurrences: int(1),
});
const track = z.object({ key: z.string().min(1).max(4 * MAX_ID_LENGTH), asset: id, over: int(0), under: int(0), active: alarm.optional() });
const tracks = z.array(track).max(MAX_ITEMS);

// zod 4's z.number() refuses NaN and ±Infinity: every number that passes is finite.
const Schema = z.object({
  format: z.literal(ASSET_SNAPSHOT_FORMAT),
  version: z.literal(1),
  asset: id,
  signals: z.array(id).min(1).max(4096),
  window: int(1, 1 << 16),
  subgroup: int(2),
  takenAt: time,
  final: z.boolean(),
  lastSampleAt: maybeTime,
  row: z.object({ ts: maybeTime, values: z.array(maybe).max(4096), arrivals: int(0) }),
  last: z.array(maybe).max(4096),
  fillRun: z.array(int(0)).max(4096),
  detector: z.object({ ring: z.array(maybe).max(MAX_ITEMS), ringTs: z.array(time).max(1 << 16), head: int(0), valid: int(0), ticks: int(0) }),
  subgroupState: z.object({ sum: z.array(z.number()).max(4096), count: z.array(int(0)).max(4096), n: int(0), from: time }),
  rules: z.array(z.array(z.number()).max(15)).max(4096).nullable(),
  qualityOpen: z.array(z.boolean()).max(4096),
  quality: z.array(z.object({ lastTs: time, lastValue: maybe, repeats: int(1) }).nullable()).max(4096),
  alarms: z.object({ spc: tracks, model: tracks, quality: tracks, clock: tracks, handover: tracks }),
  clockOpen: z.array(id).max(4096),
  pendingGap: z.object({ from: time, final: z.boolean() }).nullable(),
  handoverOpen: z.boolean(),
});

function invalidSnapshot(field: string, message: string): LeptonError {
  return new LeptonError('MFG_SNAPSHOT_INVALID', `Asset snapshot: ${field} ${message}. Snapshots come from LineMonitor.snapshotAsset; this one is damaged or from another version.`, {
    details: { field },
  });
}

/**
 * Validates an asset snapshot (JSON from a broker or a file is untrusted): its shape, that every number is finite (or
 * `null` where a value may be missing), that every per-signal list has one entry per signal, that the window ring has
 * `window × signals` values, and that every alarm condition belongs to the snapshot's asset.
 *
 * @param raw - a parsed JSON value
 * @returns the snapshot, typed
 * @throws {@link @lepton/core!LeptonError} `MFG_SNAPSHOT_INVALID` naming the first bad field (`details.field`), never
 *   its value
 * @example
 * ```ts
 * import { LineMonitor, parseAssetSnapshot } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * await monitor.push({ timestamp: Date.now(), asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
 * const snapshot = parseAssetSnapshot(JSON.parse(JSON.stringify(monitor.snapshotAsset('press-1'))));
 * console.log(snapshot.lastSampleAt !== null); // true
 * ```
 */
export function parseAssetSnapshot(raw: unknown): AssetSnapshot {
  let r: ReturnType<typeof Schema.safeParse>;
  try {
    r = Schema.safeParse(raw);
  } catch {
    throw invalidSnapshot('(snapshot)', 'could not be read');
  }
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw invalidSnapshot(issue.path.length ? issue.path.map(String).join('.') : '(snapshot)', issue.message.toLowerCase());
  }
  const s = r.data;
  const n = s.signals.length;
  if (new Set(s.signals).size !== n) throw invalidSnapshot('signals', 'repeats a signal');
  const perSignal: Array<[string, { length: number } | null]> = [
    ['row.values', s.row.values],
    ['last', s.last],
    ['fillRun', s.fillRun],
    ['subgroupState.sum', s.subgroupState.sum],
    ['subgroupState.count', s.subgroupState.count],
    ['rules', s.rules],
    ['qualityOpen', s.qualityOpen],
    ['quality', s.quality],
  ];
  for (const [field, a] of perSignal) if (a !== null && a.length !== n) throw invalidSnapshot(field, `must have one entry per signal (${n})`);
  if (s.row.arrivals > n) throw invalidSnapshot('row.arrivals', `must be at most the number of signals (${n})`);
  if (s.detector.ring.length !== s.window * n) throw invalidSnapshot('detector.ring', `must have window × signals (${s.window * n}) values`);
  if (s.detector.ringTs.length !== s.window) throw invalidSnapshot('detector.ringTs', `must have window (${s.window}) values`);
  if (s.detector.head >= s.window) throw invalidSnapshot('detector.head', 'must be below the window');
  if (s.detector.valid > s.window) throw invalidSnapshot('detector.valid', 'must be at most the window');
  if (s.subgroupState.n >= s.subgroup) throw invalidSnapshot('subgroupState.n', 'must be below the subgroup size');
  for (const name of ['spc', 'model', 'quality', 'clock', 'handover'] as const) {
    s.alarms[name].forEach((t, i) => {
      const field = `alarms.${name}[${i}]`;
      if (t.asset !== s.asset || !t.key.startsWith(`${s.asset}:`)) throw invalidSnapshot(field, 'belongs to another asset');
      if (t.active && (t.active.asset !== s.asset || t.active.key !== t.key || t.active.clearedAt !== undefined)) throw invalidSnapshot(`${field}.active`, 'is not an active episode of this condition');
    });
  }
  for (const [i, sig] of s.clockOpen.entries()) if (!s.signals.includes(sig)) throw invalidSnapshot(`clockOpen[${i}]`, 'is not one of the signals');
  return s as AssetSnapshot;
}

/** NaN ↔ null for JSON (a missing value is NaN in memory). */
export function toJsonNumbers(a: ArrayLike<number>): Array<number | null> {
  return Array.from(a, (v) => (Number.isNaN(v) ? null : v));
}

/** The inverse of {@link toJsonNumbers}. */
export function fromJsonNumbers(a: ReadonlyArray<number | null>): number[] {
  return a.map((v) => (v === null ? Number.NaN : v));
}
