import { describeValue, LeptonError, seededRandom } from '@lepton/core';
import { each, finite, finiteResult, integer, invalid, optionsObject, readFields } from '../internal/guards.js';
import type { UnitHistory } from '../maintenance/rul.js';
import { MAX_TIMESTAMP, MIN_TIMESTAMP, type SensorRecord } from '../telemetry/record.js';

/** Signals of every asset of {@link simulateLine}, in column order. */
export const LINE_SIGNALS = ['spindle_speed', 'current', 'temperature', 'bearing_temp', 'vibration_rms', 'acoustic', 'pressure', 'coolant_flow'] as const;

/** Samples per product cycle of the simulated line (the load pattern repeats every cycle). */
export const LINE_CYCLE = 60;

/** Most rows (assets × samples, or units × life cycles) one call of a simulator makes. */
const MAX_ROWS = 10_000_000;
const FAULT_KINDS: readonly string[] = ['drift', 'step', 'bearing-wear', 'dropout', 'stuck'];

/** Largest offset (units of the signal) a drift or step fault may add: beyond it sensor values would overflow. */
const MAX_FAULT_OFFSET = 1e12;

/** {@link simulateLine}'s options, read once and checked. */
interface CheckedLine {
  assets: string[];
  samples: number;
  seed: number;
  interval: number;
  start: number;
  faults: LineFault[];
}

/** Checks {@link simulateLine}'s options (each field read once: a getter that throws is `INVALID_ARGUMENT`). */
function checkLineOptions(options: LineOptions): CheckedLine {
  const fn = 'simulateLine';
  optionsObject(fn, 'options', options);
  const o = readFields(fn, 'options', options, ['assets', 'samples', 'seed', 'intervalMs', 'start', 'faults'] as const);
  let assets: string[];
  if (typeof o.assets === 'number') {
    integer(fn, 'options.assets', o.assets, 0, 10_000);
    assets = Array.from({ length: o.assets }, (_, i) => `asset-${i + 1}`);
  } else {
    if (!Array.isArray(o.assets)) throw invalid(fn, 'options.assets', 'a count or an array of asset ids', o.assets, 'INVALID_ARGUMENT');
    assets = Array.from(o.assets as unknown[]) as string[];
    each(assets, (a: unknown, i) => {
      if (typeof a !== 'string' || a.length === 0) throw invalid(fn, `options.assets[${i}]`, 'a non-empty string', a, 'INVALID_ARGUMENT');
    });
    if (new Set(assets).size !== assets.length) throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.assets repeats an asset id.`, { details: { field: 'options.assets' } });
  }
  const samples = integer(fn, 'options.samples', o.samples, 0, MAX_ROWS);
  if (assets.length * samples > MAX_ROWS) throw new LeptonError('INVALID_ARGUMENT', `${fn}: assets × samples is over ${MAX_ROWS} rows; simulate the line in parts.`, { details: { field: 'options.samples' } });
  const seed = finite(fn, 'options.seed', o.seed, 'INVALID_ARGUMENT');
  const interval = o.intervalMs === undefined ? 1000 : finite(fn, 'options.intervalMs', o.intervalMs, 'INVALID_ARGUMENT');
  if (!(interval > 0)) throw invalid(fn, 'options.intervalMs', 'a finite number > 0', o.intervalMs, 'INVALID_ARGUMENT');
  const start = o.start === undefined ? Date.UTC(2026, 0, 5, 6) : finite(fn, 'options.start', o.start, 'INVALID_ARGUMENT');
  if (start < MIN_TIMESTAMP || start > MAX_TIMESTAMP) throw invalid(fn, 'options.start', `an epoch-ms time from ${MIN_TIMESTAMP} to ${MAX_TIMESTAMP}`, start, 'INVALID_ARGUMENT');
  // Every timestamp must be one a sensor record may carry: past MAX_TIMESTAMP every consumer would reject the samples.
  if (samples > 1 && !(start + (samples - 1) * interval <= MAX_TIMESTAMP)) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: the last sample would be stamped after ${new Date(MAX_TIMESTAMP).toISOString()} (MAX_TIMESTAMP); use a shorter interval, fewer samples or an earlier start.`, {
      details: { field: 'options.intervalMs' },
    });
  }
  const faults: LineFault[] = [];
  if (o.faults !== undefined && o.faults !== null) {
    if (!Array.isArray(o.faults)) throw invalid(fn, 'options.faults', 'an array of faults', o.faults, 'INVALID_ARGUMENT');
    each(o.faults as unknown[], (f: unknown, i) => {
      const at = `options.faults[${i}]`;
      if (typeof f !== 'object' || f === null) throw invalid(fn, at, 'a fault { asset, kind, from }', f, 'INVALID_ARGUMENT');
      const r = readFields(fn, at, f, ['asset', 'kind', 'from', 'to', 'signal', 'magnitude'] as const);
      if (!FAULT_KINDS.includes(r.kind as string)) throw invalid(fn, `${at}.kind`, `one of ${FAULT_KINDS.join(', ')}`, r.kind, 'INVALID_ARGUMENT');
      const from = finite(fn, `${at}.from`, r.from, 'INVALID_ARGUMENT');
      if (r.to !== undefined && finite(fn, `${at}.to`, r.to, 'INVALID_ARGUMENT') < from) throw invalid(fn, `${at}.to`, 'a sample index ≥ from (the fault ends after it starts)', r.to, 'INVALID_ARGUMENT');
      if (r.magnitude !== undefined) {
        const m = Math.abs(finite(fn, `${at}.magnitude`, r.magnitude, 'INVALID_ARGUMENT'));
        // A drift adds magnitude × samples since `from`; a step adds magnitude once. Either must keep the values finite.
        const end = Math.min(samples, r.to === undefined ? samples : (r.to as number));
        const offset = r.kind === 'drift' ? m * Math.max(0, end - from) : m;
        if (!(offset <= MAX_FAULT_OFFSET)) throw invalid(fn, `${at}.magnitude`, `a size whose total offset stays within ±${MAX_FAULT_OFFSET} (drift: magnitude × faulty samples)`, r.magnitude, 'INVALID_ARGUMENT');
      }
      if (r.signal !== undefined && !(LINE_SIGNALS as readonly unknown[]).includes(r.signal)) throw invalid(fn, `${at}.signal`, `one of ${LINE_SIGNALS.join(', ')}`, r.signal, 'INVALID_ARGUMENT');
      if (typeof r.asset !== 'string' || !assets.includes(r.asset)) throw new LeptonError('INVALID_ARGUMENT', `Fault on unknown asset ${describeValue(r.asset)}.`, { details: { field: `${at}.asset` } });
      faults.push({
        asset: r.asset,
        kind: r.kind as LineFault['kind'],
        from,
        ...(r.to !== undefined ? { to: r.to as number } : {}),
        ...(r.signal !== undefined ? { signal: r.signal as LineFault['signal'] & string } : {}),
        ...(r.magnitude !== undefined ? { magnitude: r.magnitude as number } : {}),
      });
    });
  }
  return { assets, samples, seed, interval, start, faults };
}

/**
 * A fault injected into one asset of {@link simulateLine}, from sample `from` (inclusive) to `to` (exclusive; default
 * the end):
 * - `drift`: a sensor drifts by `magnitude` units per sample (default signal `temperature`, 0.01 °C/sample);
 * - `step`: a sudden offset of `magnitude` (default signal `pressure`, +0.8 bar) — e.g. a partly closed valve;
 * - `bearing-wear`: a bearing wears to failure at `to` — vibration, acoustic emission and bearing temperature rise,
 *   slowly at first then fast (`signal` and `magnitude` are ignored);
 * - `dropout`: the sensor sends NaN (default signal `vibration_rms`);
 * - `stuck`: the sensor repeats its last value (default signal `coolant_flow`).
 */
export interface LineFault {
  /** Asset id, e.g. `press-2`. */
  asset: string;
  /** Fault kind. */
  kind: 'drift' | 'step' | 'bearing-wear' | 'dropout' | 'stuck';
  /** First faulty sample. */
  from: number;
  /** End (exclusive); for `bearing-wear` the failure time. Default: the end of the run. */
  to?: number;
  /** Affected signal (for drift, step, dropout, stuck). */
  signal?: (typeof LINE_SIGNALS)[number];
  /** Drift per sample or step size, in the signal's units. */
  magnitude?: number;
}

/** Options for {@link simulateLine}. */
export interface LineOptions {
  /** Asset ids, or a count (`asset-1` …). */
  assets: number | string[];
  /** Samples per asset. */
  samples: number;
  /** Seed: same seed, same line. */
  seed: number;
  /** Sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** Timestamp of the first sample, epoch ms. Default 2026-01-05T06:00:00Z (a shift start). */
  start?: number;
  /** Faults to inject. */
  faults?: LineFault[];
}

/** A simulated line: per asset, one row of {@link LINE_SIGNALS} values per sample. */
export interface SimulatedLine {
  /** Asset ids. */
  assets: string[];
  /** Signal names (column order). */
  signals: string[];
  /** Sample timestamps, epoch ms. */
  timestamps: number[];
  /** Rows per asset (NaN where a sensor dropped out). */
  rows: Record<string, number[][]>;
  /** Bearing wear per asset per sample, 0 (new) … 1 (failed): the ground truth for remaining useful life. */
  wear: Record<string, number[]>;
}

type Normal = () => number;

/** State of one simulated machine between samples (thermal lags). */
interface MachineState {
  motorTemp: number;
  bearingTemp: number;
  phase: number;
  /** Per-machine scale factors, so assets of the line are similar but not identical. */
  gain: number;
}

/**
 * One sample of the machine physics — the single source of truth for {@link simulateLine} and
 * {@link bearingRunToFailure}. A load pattern per product cycle drives spindle speed and motor current; motor and
 * bearing temperatures follow with thermal lag; vibration and acoustic emission follow load and speed; pressure rises
 * and coolant flow falls slightly with load. Wear (0…1) adds vibration, acoustic emission and bearing heat, growing
 * quadratically as the bearing approaches failure.
 */
function step(s: MachineState, t: number, wear: number, normal: Normal): number[] {
  const u = ((t + s.phase) % LINE_CYCLE) / LINE_CYCLE;
  // Load ramps up during cutting (first 70 % of the cycle), then idles while the part is changed.
  const load = (u < 0.7 ? 0.45 + 0.5 * Math.sin((Math.PI * u) / 0.7) : 0.3) * s.gain + 0.03 * normal();
  const speed = 2400 + 2000 * load + 8 * normal();
  const current = 6 + 22 * load + 0.25 * normal();
  s.motorTemp += 0.02 * (28 + 1.1 * current - s.motorTemp) + 0.04 * normal();
  s.bearingTemp += 0.02 * (30 + 0.004 * speed + 25 * wear * wear - s.bearingTemp) + 0.04 * normal();
  const vibration = 0.9 + 0.8 * load + 0.0001 * speed + 3.5 * wear * wear + 0.05 * normal();
  const acoustic = 62 + 7 * load + 9 * wear * wear + 0.4 * normal();
  const pressure = 4.2 + 1.4 * load + 0.04 * normal();
  const flow = 12.5 - 0.8 * load + 0.08 * normal();
  return [speed, current, s.motorTemp, s.bearingTemp, vibration, acoustic, pressure, flow];
}

/** A machine's own constants (phase, gain), drawn from a generator: from its asset id in {@link simulateLine}. */
function newMachine(rand: () => number): MachineState {
  return { motorTemp: 52, bearingTemp: 44, phase: Math.floor(rand() * LINE_CYCLE), gain: 0.95 + 0.1 * rand() };
}

function idHash(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

function gaussian(rand: () => number): Normal {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * Seeded simulated production line — **synthetic data** — with physically plausible sensors per asset
 * ({@link LINE_SIGNALS}: spindle speed rpm, motor current A, motor temperature °C, bearing temperature °C, vibration
 * RMS mm/s, acoustic emission dB, hydraulic pressure bar, coolant flow L/min) and injectable faults: drift, step,
 * bearing wear to failure, sensor dropout and stuck sensors ({@link LineFault}).
 *
 * @param options - assets, samples, seed, interval, start time and faults
 * @returns timestamps, rows per asset and the true bearing wear
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (`details.field`) for a fault on an unknown asset, an
 *   asset count that is not an integer from 0 to 10,000 or ids that are not distinct non-empty strings, a sample
 *   count that is not an integer (at most 10,000,000 rows in all), a seed, interval, start or fault time or magnitude
 *   that is not a finite number, a start or last timestamp outside `MIN_TIMESTAMP`…`MAX_TIMESTAMP`, a fault that ends
 *   (`to`) before it starts, a drift or step whose total offset is over 1e12 (values would overflow), a fault of an
 *   unknown kind or signal, or a field whose getter throws
 */
export function simulateLine(options: LineOptions): SimulatedLine {
  const { assets, samples, seed, interval, start, faults } = checkLineOptions(options);
  const rand = seededRandom(seed);
  const normal = gaussian(rand);
  const rows: Record<string, number[][]> = {};
  const wear: Record<string, number[]> = {};
  const col = (name: string): number => LINE_SIGNALS.indexOf(name as (typeof LINE_SIGNALS)[number]);
  for (const asset of assets) {
    // The same asset id is the same machine in every run (its gain and cycle phase come from its id, not the seed).
    const m = newMachine(seededRandom(idHash(asset)));
    const mine = faults.filter((f) => f.asset === asset);
    const wearFault = mine.find((f) => f.kind === 'bearing-wear');
    const out: number[][] = [];
    const w: number[] = [];
    for (let t = 0; t < samples; t++) {
      let wt = 0;
      if (wearFault && t >= wearFault.from) {
        const end = wearFault.to ?? samples;
        wt = Math.min(1, (t - wearFault.from) / Math.max(1, end - wearFault.from));
      }
      const row = step(m, t, wt, normal);
      for (const f of mine) {
        if (f.kind === 'bearing-wear' || t < f.from || t >= (f.to ?? Infinity)) continue;
        const k = t - f.from;
        if (f.kind === 'drift') row[col(f.signal ?? 'temperature')]! += (f.magnitude ?? 0.01) * k;
        if (f.kind === 'step') row[col(f.signal ?? 'pressure')]! += f.magnitude ?? 0.8;
        if (f.kind === 'dropout') row[col(f.signal ?? 'vibration_rms')] = Number.NaN;
        if (f.kind === 'stuck') {
          const j = col(f.signal ?? 'coolant_flow');
          row[j] = k === 0 ? row[j]! : out[t - 1]![j]!;
        }
      }
      out.push(row);
      w.push(wt);
    }
    rows[asset] = out;
    wear[asset] = w;
  }
  const timestamps = Array.from({ length: samples }, (_, t) => start + t * interval);
  if (timestamps.length > 0) finiteResult('simulateLine', 'the last timestamp', timestamps[timestamps.length - 1]!);
  return { assets, signals: [...LINE_SIGNALS], timestamps, rows, wear };
}

/**
 * The line as sensor records in arrival order: sample by sample, then asset by asset, then signal by signal — what a
 * gateway publishing every signal of every asset each interval would send.
 *
 * @param line - a simulated line
 * @param range - optional sample range `[from, to)`
 * @returns records with quality `good` (dropouts carry NaN values for the quality monitor to catch)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a line that is not a simulated line (assets, signals,
 *   timestamps and one row per timestamp for each asset), a timestamp in the range that is not a finite time within
 *   `MIN_TIMESTAMP`…`MAX_TIMESTAMP`, or a row in it that does not hold one number per signal; `INVALID_ARGUMENT` for a range that is not two integers
 *   `0 ≤ from ≤ to ≤` the number of samples (checked when called, before the first record)
 */
export function lineRecords(line: SimulatedLine, range?: [number, number]): Generator<SensorRecord> {
  const fn = 'lineRecords';
  if (typeof line !== 'object' || line === null || !Array.isArray(line.assets) || !Array.isArray(line.signals) || !Array.isArray(line.timestamps) || typeof line.rows !== 'object' || line.rows === null) {
    throw invalid(fn, 'line', 'a simulated line (from simulateLine)', line);
  }
  const n = line.timestamps.length;
  for (const asset of line.assets) {
    const rows: unknown = typeof asset === 'string' && Object.hasOwn(line.rows, asset) ? line.rows[asset] : undefined;
    if (!Array.isArray(rows) || rows.length < n) throw new LeptonError('INVALID_INPUT', `${fn}: line.rows needs one row per timestamp for every asset of line.assets.`, { details: { field: 'line.rows' } });
  }
  let from = 0;
  let to = n;
  if (range !== undefined) {
    if (!Array.isArray(range) || range.length !== 2) throw invalid(fn, 'range', 'a pair [from, to]', range, 'INVALID_ARGUMENT');
    from = integer(fn, 'range[0]', range[0], 0, n);
    to = integer(fn, 'range[1]', range[1], from, n);
  }
  // Checked before the first record: a hand-made line must not yield NaN timestamps or records without a value.
  each(line.signals, (sig: unknown, j) => {
    if (typeof sig !== 'string' || sig.length === 0) throw invalid(fn, `line.signals[${j}]`, 'a non-empty string', sig);
  });
  for (let t = from; t < to; t++) {
    const ts: unknown = line.timestamps[t];
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < MIN_TIMESTAMP || ts > MAX_TIMESTAMP) throw invalid(fn, `line.timestamps[${t}]`, `an epoch-ms time from ${MIN_TIMESTAMP} to ${MAX_TIMESTAMP}`, ts);
    for (const asset of line.assets) {
      const row: unknown = line.rows[asset]![t];
      if (!Array.isArray(row) || row.length !== line.signals.length) throw invalid(fn, `line.rows.${asset}[${t}]`, `an array of ${line.signals.length} numbers (one per signal)`, row);
      each(row as unknown[], (v: unknown, j) => {
        if (typeof v !== 'number') throw invalid(fn, `line.rows.${asset}[${t}][${j}]`, 'a number (NaN for a dropout)', v);
      });
    }
  }
  return records(line, from, to);
}

function* records(line: SimulatedLine, from: number, to: number): Generator<SensorRecord> {
  for (let t = from; t < to; t++) {
    for (const asset of line.assets) {
      const row = line.rows[asset]![t]!;
      for (let j = 0; j < line.signals.length; j++) yield { timestamp: line.timestamps[t]!, asset, signal: line.signals[j]!, value: row[j]!, quality: 'good' };
    }
  }
}

/**
 * Run-to-failure histories of the line's machines for remaining-useful-life training — **synthetic data** from the
 * same physics as {@link simulateLine}: each unit runs healthy, then its bearing wears to failure; one row per product
 * cycle ({@link LINE_CYCLE} samples), holding the cycle mean of each of the {@link LINE_SIGNALS}.
 *
 * @param options - units (default 24), seed (default 1), life range in cycles (default 60–140) and the share of
 *   life spent healthy before wear starts (default 0.2–0.5)
 * @returns one history per unit, each ending at failure
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (`details.field`) for options that are not an object, a
 *   unit count that is not an integer from 1 to 10,000, a seed that is not a finite number, or lives that are not
 *   integers with 1 ≤ minLife ≤ maxLife ≤ 100,000 (at most 10,000,000 cycles in all)
 */
export function bearingRunToFailure(options: { units?: number; seed?: number; minLife?: number; maxLife?: number } = {}): UnitHistory[] {
  const fn = 'bearingRunToFailure';
  optionsObject(fn, 'options', options);
  const units = integer(fn, 'options.units', options.units ?? 24, 1, 10_000);
  finite(fn, 'options.seed', options.seed ?? 1, 'INVALID_ARGUMENT');
  const minLife = integer(fn, 'options.minLife', options.minLife ?? 60, 1, 100_000);
  const maxLife = integer(fn, 'options.maxLife', options.maxLife ?? 140, minLife, 100_000);
  if (units * maxLife > MAX_ROWS) throw new LeptonError('INVALID_ARGUMENT', `${fn}: units × maxLife is over ${MAX_ROWS} cycles; generate the fleet in parts.`, { details: { field: 'options.units' } });
  const rand = seededRandom(options.seed ?? 1);
  const normal = gaussian(rand);
  return Array.from({ length: units }, (_, u) => {
    const life = minLife + Math.floor(rand() * (maxLife - minLife + 1));
    const onset = Math.floor(life * (0.2 + 0.3 * rand()));
    const m = newMachine(rand);
    const rows: number[][] = [];
    for (let c = 0; c < life; c++) {
      const sum = new Array<number>(LINE_SIGNALS.length).fill(0);
      for (let k = 0; k < LINE_CYCLE; k++) {
        const wear = c * LINE_CYCLE + k < onset * LINE_CYCLE ? 0 : (c * LINE_CYCLE + k - onset * LINE_CYCLE) / ((life - onset) * LINE_CYCLE);
        step(m, c * LINE_CYCLE + k, wear, normal).forEach((v, j) => (sum[j]! += v));
      }
      rows.push(sum.map((v) => v / LINE_CYCLE));
    }
    return { unit: `spindle-${u + 1}`, rows };
  });
}

/**
 * Cycle means of one asset's samples (the row format of {@link bearingRunToFailure}), for RUL prediction on live data.
 * Cycles with a missing value use the mean of the values present; a signal missing for a whole cycle gives NaN there
 * (never a plausible-looking 0: `RulModel.predict` refuses the row).
 *
 * @param rows - samples, oldest first: one number per signal of {@link LINE_SIGNALS} (NaN or ±Infinity: missing)
 * @returns one row per complete cycle
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`, e.g. `rows[7][2]`) when `rows` is not an
 *   array of rows of {@link LINE_SIGNALS}.length numbers (a string, null or a hole is refused, not skipped as missing)
 */
export function cycleMeans(rows: readonly number[][]): number[][] {
  const fn = 'cycleMeans';
  if (!Array.isArray(rows)) throw invalid(fn, 'rows', 'an array of rows', rows);
  // Index loops: a hole in `rows` or in a row is refused, never skipped as missing.
  each(rows, (r: unknown, i) => {
    if (!Array.isArray(r) || r.length !== LINE_SIGNALS.length) throw invalid(fn, `rows[${i}]`, `an array of ${LINE_SIGNALS.length} numbers (one per signal)`, r);
    each(r as unknown[], (v: unknown, j) => {
      if (typeof v !== 'number') throw invalid(fn, `rows[${i}][${j}]`, 'a number (NaN for a missing value)', v);
    });
  });
  const out: number[][] = [];
  for (let c = 0; (c + 1) * LINE_CYCLE <= rows.length; c++) {
    const row: number[] = [];
    for (let j = 0; j < LINE_SIGNALS.length; j++) {
      let n = 0;
      for (let k = c * LINE_CYCLE; k < (c + 1) * LINE_CYCLE; k++) if (Number.isFinite(rows[k]![j]!)) n++;
      // Each value divided first: the mean of finite values never overflows (Σ v/n stays within the values' range).
      let mean = Number.NaN;
      if (n > 0) {
        mean = 0;
        for (let k = c * LINE_CYCLE; k < (c + 1) * LINE_CYCLE; k++) {
          const v = rows[k]![j]!;
          if (Number.isFinite(v)) mean += v / n;
        }
        finiteResult(fn, `the mean of cycle ${c}, signal ${j}`, mean);
      }
      row.push(mean);
    }
    out.push(row);
  }
  return out;
}
