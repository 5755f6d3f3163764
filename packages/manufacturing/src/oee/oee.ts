import { LeptonError } from '@lepton/core';
import { invalid } from '../internal/guards.js';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../telemetry/record.js';

const STATES: readonly string[] = ['running', 'idle', 'down', 'planned-stop'];
/** Longest period {@link computeOee} accepts: 10 years (one result per asset, shift and day). */
const MAX_PERIOD_DAYS = 3660;

/** Machine states, as MES/PLC state signals report them. */
export type MachineState = 'running' | 'idle' | 'down' | 'planned-stop';

/** A state change of an asset: from `timestamp` on, the asset is in `state`. */
export interface StateEvent {
  /** Epoch ms. */
  timestamp: number;
  /** Asset identifier. */
  asset: string;
  /** New state. */
  state: MachineState;
}

/** Parts counted on an asset. */
export interface CountEvent {
  /** Epoch ms. */
  timestamp: number;
  /** Asset identifier. */
  asset: string;
  /** Good parts. */
  good: number;
  /** Rejected parts. */
  reject: number;
}

/** A shift: daily start and end in local time ("HH:MM"); an end before the start runs past midnight. */
export interface Shift {
  /** Shift name, e.g. `early`. */
  name: string;
  /** Start, "HH:MM". */
  start: string;
  /** End, "HH:MM". */
  end: string;
}

/** OEE of one asset in one shift. */
export interface OeeResult {
  /** Asset identifier. */
  asset: string;
  /** Shift name. */
  shift: string;
  /** Shift start, epoch ms (clipped to the period). */
  from: number;
  /** Shift end, epoch ms (clipped to the period). */
  to: number;
  /** Planned production time (shift minus planned stops), seconds. */
  plannedSeconds: number;
  /** Time running, seconds. */
  runSeconds: number;
  /** Parts made (good + reject). */
  total: number;
  /** Good parts. */
  good: number;
  /** Run time ÷ planned production time. */
  availability: number;
  /** Ideal cycle time × parts ÷ run time. */
  performance: number;
  /** Good ÷ total parts. */
  quality: number;
  /** availability × performance × quality. */
  oee: number;
}

function minutes(hhmm: string): number {
  const m = typeof hhmm === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(hhmm) : null;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new LeptonError('INVALID_ARGUMENT', `Shift time '${typeof hhmm === 'string' ? hhmm.slice(0, 16) : typeof hhmm}' is not HH:MM.`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * Overall equipment effectiveness per asset and shift from machine-state and part-count events:
 * availability × performance × quality (the Nakajima definition). Time before an asset's first state event is
 * unknown and counted as not running; counts are attributed to the shift their timestamp falls in.
 *
 * @param states - state changes (any order)
 * @param counts - part counts (any order)
 * @param options - shifts, ideal cycle time per asset (seconds per part), period and UTC offset
 * @returns one result per asset, shift and day in the period, in time order
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad shift, a missing or non-positive ideal cycle
 *   time, a period outside 1970 … year 275760 (`MIN_TIMESTAMP` … `MAX_TIMESTAMP`), empty or longer than 10 years, or
 *   a UTC offset beyond ±24 h; `INVALID_INPUT` (`details.field`, e.g. `counts[4].good`) for an event whose timestamp
 *   is not finite, whose asset is not a non-empty string, whose state is unknown, or whose part counts are not
 *   non-negative integers, or a shift's parts summing beyond 2^53; `MFG_NON_FINITE_RESULT` when an ideal cycle time
 *   is so large that performance overflows
 * @example
 * ```ts
 * import { computeOee } from '@lepton/manufacturing';
 * const t0 = Date.UTC(2026, 4, 4, 6);
 * const [r] = computeOee([{ timestamp: t0, asset: 'press-1', state: 'running' }], [{ timestamp: t0 + 1000, asset: 'press-1', good: 950, reject: 50 }],
 *   { shifts: [{ name: 'early', start: '06:00', end: '14:00' }], idealCycleSeconds: { 'press-1': 25 }, from: t0, to: t0 + 8 * 3_600_000 });
 * r?.oee; // 0.8246 (availability 1 × performance 0.868 × quality 0.95)
 * ```
 */
export function computeOee(
  states: readonly StateEvent[],
  counts: readonly CountEvent[],
  options: { shifts: Shift[]; idealCycleSeconds: Record<string, number>; from: number; to: number; utcOffsetMinutes?: number },
): OeeResult[] {
  checkOeeInput(states, counts, options);
  const offset = (options.utcOffsetMinutes ?? 0) * 60_000;
  const day = 86_400_000;
  const windows: Array<{ shift: string; from: number; to: number }> = [];
  const firstDay = Math.floor((options.from + offset) / day) * day - offset;
  for (let d = firstDay - day; d < options.to; d += day) {
    for (const s of options.shifts) {
      const a = minutes(s.start);
      let b = minutes(s.end);
      if (b <= a) b += 24 * 60;
      const from = d + a * 60_000;
      const to = d + b * 60_000;
      if (to > options.from && from < options.to) windows.push({ shift: s.name, from: Math.max(from, options.from), to: Math.min(to, options.to) });
    }
  }
  windows.sort((x, y) => x.from - y.from);
  const assets = [...new Set([...states.map((s) => s.asset), ...counts.map((c) => c.asset)])].sort();
  const results: OeeResult[] = [];
  for (const asset of assets) {
    const ideal = options.idealCycleSeconds[asset];
    if (!(typeof ideal === 'number' && ideal > 0 && Number.isFinite(ideal))) throw new LeptonError('INVALID_ARGUMENT', `No ideal cycle time (a finite number of seconds > 0) for asset '${asset}'.`, { details: { field: `options.idealCycleSeconds.${asset}` } });
    const timeline = states.filter((s) => s.asset === asset).sort((x, y) => x.timestamp - y.timestamp);
    for (const w of windows) {
      let run = 0;
      let planned = 0;
      for (let i = 0; i < timeline.length; i++) {
        const start = Math.max(timeline[i]!.timestamp, w.from);
        const end = Math.min(timeline[i + 1]?.timestamp ?? Infinity, w.to);
        if (end <= start) continue;
        if (timeline[i]!.state === 'running') run += end - start;
        if (timeline[i]!.state === 'planned-stop') planned += end - start;
      }
      const plannedSeconds = (w.to - w.from - planned) / 1000;
      const runSeconds = run / 1000;
      let good = 0;
      let total = 0;
      for (const c of counts) {
        if (c.asset !== asset || c.timestamp < w.from || c.timestamp >= w.to) continue;
        good += c.good;
        total += c.good + c.reject;
      }
      if (!Number.isSafeInteger(total)) {
        throw new LeptonError('INVALID_INPUT', `computeOee: asset '${asset}' counts more than 2^53 parts in shift '${w.shift}'; check the part counters.`, { details: { field: 'counts' } });
      }
      const availability = plannedSeconds > 0 ? runSeconds / plannedSeconds : 0;
      const performance = runSeconds > 0 ? (ideal * total) / runSeconds : 0;
      const quality = total > 0 ? good / total : 0;
      // An ideal cycle time near 1e308 overflows the product: refused rather than reported as Infinity.
      if (!Number.isFinite(performance * availability)) {
        throw new LeptonError('MFG_NON_FINITE_RESULT', `computeOee: the performance of asset '${asset}' overflows (ideal cycle time × parts); check options.idealCycleSeconds.`, { details: { field: `options.idealCycleSeconds.${asset}` } });
      }
      results.push({ asset, shift: w.shift, from: w.from, to: w.to, plannedSeconds, runSeconds, total, good, availability, performance, quality, oee: availability * performance * quality });
    }
  }
  return results.sort((x, y) => x.from - y.from || (x.asset < y.asset ? -1 : 1));
}

/** Cheap guards on {@link computeOee}'s input: every number that reaches the arithmetic is finite and of the right kind. */
function checkOeeInput(
  states: readonly StateEvent[],
  counts: readonly CountEvent[],
  options: { shifts: Shift[]; idealCycleSeconds: Record<string, number>; from: number; to: number; utcOffsetMinutes?: number },
): void {
  const fn = 'computeOee';
  if (!Array.isArray(states)) throw invalid(fn, 'states', 'an array of state events', states);
  if (!Array.isArray(counts)) throw invalid(fn, 'counts', 'an array of count events', counts);
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  const event = (e: unknown, field: string): Record<string, unknown> => {
    if (typeof e !== 'object' || e === null) throw invalid(fn, field, 'an event object', e);
    const o = e as Record<string, unknown>;
    if (typeof o.timestamp !== 'number' || !Number.isFinite(o.timestamp)) throw invalid(fn, `${field}.timestamp`, 'a finite number (epoch ms)', o.timestamp);
    if (typeof o.asset !== 'string' || o.asset.length === 0) throw invalid(fn, `${field}.asset`, 'a non-empty string', o.asset);
    return o;
  };
  states.forEach((e, i) => {
    const o = event(e, `states[${i}]`);
    if (!STATES.includes(o.state as string)) throw invalid(fn, `states[${i}].state`, `one of ${STATES.join(', ')}`, o.state);
  });
  counts.forEach((e, i) => {
    const o = event(e, `counts[${i}]`);
    for (const k of ['good', 'reject'] as const) {
      if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || o[k] < 0) throw invalid(fn, `counts[${i}].${k}`, 'a non-negative integer', o[k]);
    }
  });
  const { from, to } = options;
  // Bounded to dates JavaScript can hold: near 1e25 ms a day added to the loop's date changes nothing, and it never ends.
  const epoch = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= MIN_TIMESTAMP && v <= MAX_TIMESTAMP;
  if (!epoch(from)) throw invalid(fn, 'options.from', 'epoch ms from 1970 to year 275760', from, 'INVALID_ARGUMENT');
  if (!epoch(to) || !(to > from)) throw invalid(fn, 'options.to', 'epoch ms up to year 275760, after options.from', to, 'INVALID_ARGUMENT');
  if ((to - from) / 86_400_000 > MAX_PERIOD_DAYS) throw new LeptonError('INVALID_ARGUMENT', `${fn}: the period is longer than ${MAX_PERIOD_DAYS} days; compute it in parts.`, { details: { field: 'options.to' } });
  const off = options.utcOffsetMinutes;
  if (off !== undefined && (typeof off !== 'number' || !Number.isFinite(off) || Math.abs(off) > 1440)) throw invalid(fn, 'options.utcOffsetMinutes', 'a finite number of minutes within ±1440', off, 'INVALID_ARGUMENT');
  if (!Array.isArray(options.shifts)) throw invalid(fn, 'options.shifts', 'an array of shifts', options.shifts, 'INVALID_ARGUMENT');
  options.shifts.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string') throw invalid(fn, `options.shifts[${i}]`, 'a shift { name, start, end }', s, 'INVALID_ARGUMENT');
  });
  if (typeof options.idealCycleSeconds !== 'object' || options.idealCycleSeconds === null) throw invalid(fn, 'options.idealCycleSeconds', 'an object of seconds per asset', options.idealCycleSeconds, 'INVALID_ARGUMENT');
}
