import { LeptonError } from '@lepton/core';

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
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new LeptonError('INVALID_ARGUMENT', `Shift time '${hhmm}' is not HH:MM.`);
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad shift or a missing ideal cycle time
 */
export function computeOee(
  states: readonly StateEvent[],
  counts: readonly CountEvent[],
  options: { shifts: Shift[]; idealCycleSeconds: Record<string, number>; from: number; to: number; utcOffsetMinutes?: number },
): OeeResult[] {
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
    if (!(ideal !== undefined && ideal > 0)) throw new LeptonError('INVALID_ARGUMENT', `No ideal cycle time for asset '${asset}'.`);
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
      const availability = plannedSeconds > 0 ? runSeconds / plannedSeconds : 0;
      const performance = runSeconds > 0 ? (ideal * total) / runSeconds : 0;
      const quality = total > 0 ? good / total : 0;
      results.push({ asset, shift: w.shift, from: w.from, to: w.to, plannedSeconds, runSeconds, total, good, availability, performance, quality, oee: availability * performance * quality });
    }
  }
  return results.sort((x, y) => x.from - y.from || (x.asset < y.asset ? -1 : 1));
}
