import { describeValue, LeptonError, seededRandom } from '@lepton/core';
import type { UnitHistory } from '../maintenance/rul.js';
import type { SensorRecord } from '../telemetry/record.js';

/** Signals of every asset of {@link simulateLine}, in column order. */
export const LINE_SIGNALS = ['spindle_speed', 'current', 'temperature', 'bearing_temp', 'vibration_rms', 'acoustic', 'pressure', 'coolant_flow'] as const;

/** Samples per product cycle of the simulated line (the load pattern repeats every cycle). */
export const LINE_CYCLE = 60;

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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a fault on an unknown asset
 */
export function simulateLine(options: LineOptions): SimulatedLine {
  const assets = typeof options.assets === 'number' ? Array.from({ length: options.assets }, (_, i) => `asset-${i + 1}`) : [...options.assets];
  const interval = options.intervalMs ?? 1000;
  const start = options.start ?? Date.UTC(2026, 0, 5, 6);
  const faults = options.faults ?? [];
  for (const f of faults) if (!assets.includes(f.asset)) throw new LeptonError('INVALID_ARGUMENT', `Fault on unknown asset ${describeValue(f.asset)}.`);
  const rand = seededRandom(options.seed);
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
    for (let t = 0; t < options.samples; t++) {
      let wt = 0;
      if (wearFault && t >= wearFault.from) {
        const end = wearFault.to ?? options.samples;
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
  return { assets, signals: [...LINE_SIGNALS], timestamps: Array.from({ length: options.samples }, (_, t) => start + t * interval), rows, wear };
}

/**
 * The line as sensor records in arrival order: sample by sample, then asset by asset, then signal by signal — what a
 * gateway publishing every signal of every asset each interval would send.
 *
 * @param line - a simulated line
 * @param range - optional sample range `[from, to)`
 * @returns records with quality `good` (dropouts carry NaN values for the quality monitor to catch)
 */
export function* lineRecords(line: SimulatedLine, range: [number, number] = [0, line.timestamps.length]): Generator<SensorRecord> {
  for (let t = range[0]; t < range[1]; t++) {
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
 */
export function bearingRunToFailure(options: { units?: number; seed?: number; minLife?: number; maxLife?: number } = {}): UnitHistory[] {
  const rand = seededRandom(options.seed ?? 1);
  const normal = gaussian(rand);
  const minLife = options.minLife ?? 60;
  const maxLife = options.maxLife ?? 140;
  return Array.from({ length: options.units ?? 24 }, (_, u) => {
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
 * Cycles with a missing value use the mean of the values present.
 *
 * @param rows - samples, oldest first
 * @returns one row per complete cycle
 */
export function cycleMeans(rows: readonly number[][]): number[][] {
  const out: number[][] = [];
  for (let c = 0; (c + 1) * LINE_CYCLE <= rows.length; c++) {
    const slice = rows.slice(c * LINE_CYCLE, (c + 1) * LINE_CYCLE);
    out.push(
      LINE_SIGNALS.map((_, j) => {
        const vals = slice.map((r) => r[j]!).filter(Number.isFinite);
        return vals.reduce((a, v) => a + v, 0) / Math.max(1, vals.length);
      }),
    );
  }
  return out;
}
