// Manufacturing benchmark, quality part (issue 6): the learned detector (dense autoencoder) against Hotelling T² on the
// simulated machine's faults, in the same run — per-sample F1 and detection delay (first alarm after debounce).
// `pnpm bench` runs it after the other suites; alone: `node --import tsx bench/manufacturing.ts`.
// Throughput part: 100 assets × 8 signals through validation → SPC rules → autoencoder scoring → alarms (LineMonitor),
// samples/s and alarm latency (sample in → alarm out), batched fleet scoring against one forward pass per asset.
import { initRuntime, precisionRecallF1, runtimeInfo } from '@lepton/core';
import {
  AlarmManager,
  AnomalyDetector,
  HotellingT2,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  MACHINE_SIGNALS,
  simulateLine,
  simulateMachine,
  type LineFault,
  type MachineFault,
  type SensorRecord,
} from '@lepton/manufacturing';

type LineFaultName = 'line-temperature-drift' | 'line-bearing-wear' | 'line-pressure-step';

export interface DetectorQuality {
  fault: MachineFault | LineFaultName;
  detector: 'autoencoder' | 'hotelling-t2';
  f1: number;
  precision: number;
  recall: number;
  /** Samples from fault onset to the first raised alarm (3 consecutive exceedances); null when never raised. */
  delay: number | null;
}

function score(flags: boolean[], from: number, label: string, fault: DetectorQuality['fault'], offset: number): DetectorQuality {
  // flags[i] judges the sample at index i + offset (a window's last sample for the autoencoder).
  const truth = flags.map((_, i) => (i + offset >= from ? 1 : 0));
  const pred = flags.map((f) => (f ? 1 : 0));
  const prf = precisionRecallF1(truth, pred);
  const alarms = new AlarmManager({ raiseAfter: 3, clearAfter: 5 });
  let delay: number | null = null;
  flags.forEach((f, i) => {
    const ev = alarms.update({ key: 'k', asset: 'a', exceeded: f, severity: 'high', at: i + offset, evidence: { source: label, signals: [], values: {}, window: { from: 0, to: 0 } } });
    if (delay === null && ev.some((e) => e.type === 'raised') && i + offset >= from) delay = i + offset - from;
  });
  return { fault, detector: label as DetectorQuality['detector'], f1: prf.f1, precision: prf.precision, recall: prf.recall, delay };
}

/** Runs the comparison and prints a table. */
export async function runManufacturingBench(log: (s: string) => void = console.log): Promise<DetectorQuality[]> {
  await initRuntime();
  const normal = simulateMachine(3000, 1);
  const window = 20;
  const ae = await AnomalyDetector.fit(normal, { signals: [...MACHINE_SIGNALS], window, epochs: 15, seed: 2 });
  const t2 = HotellingT2.fit(normal);
  const out: DetectorQuality[] = [];
  const from = 500;
  for (const fault of ['step-pressure', 'drift-vibration', 'decoupled-temperature'] as const) {
    for (const seed of [21, 22, 23]) {
      const rows = simulateMachine(1500, seed, { kind: fault, from });
      out.push(score((await ae.scoreRows(rows)).map((s) => s.alarm), from, 'autoencoder', fault, window - 1));
      out.push(score(rows.map((r) => t2.score(r).t2 > t2.threshold), from, 'hotelling-t2', fault, 0));
    }
  }
  // The 8-signal line: a slow temperature-sensor drift, bearing wear to failure, a pressure step.
  const lineNormal = simulateLine({ assets: ['m-1', 'm-2', 'm-3'], samples: 4000, seed: 41 });
  const lineAe = await AnomalyDetector.fitSeries(Object.values(lineNormal.rows), { signals: [...LINE_SIGNALS], window, epochs: 8, quantile: 0.999, seed: 2 });
  const lineT2 = HotellingT2.fit(Object.values(lineNormal.rows).flat());
  const lineFaults: Array<[LineFaultName, Omit<LineFault, 'asset' | 'from'>]> = [
    ['line-temperature-drift', { kind: 'drift', signal: 'temperature', magnitude: 0.004 }],
    ['line-bearing-wear', { kind: 'bearing-wear', to: 2500 }],
    ['line-pressure-step', { kind: 'step', signal: 'pressure', magnitude: 0.3 }],
  ];
  for (const [name, f] of lineFaults) {
    for (const seed of [42, 43, 44]) {
      const rows = simulateLine({ assets: ['m-2'], samples: 1500, seed, faults: [{ asset: 'm-2', from, ...f }] }).rows['m-2']!;
      out.push(score((await lineAe.scoreRows(rows)).map((s) => s.alarm), from, 'autoencoder', name, window - 1));
      out.push(score(rows.map((r) => lineT2.score(r).t2 > lineT2.threshold), from, 'hotelling-t2', name, 0));
    }
  }
  lineAe.dispose();
  ae.dispose();
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  log('\nmanufacturing anomaly detection (simulated machine (4 signals) and line (8 signals), synthetic; 3 seeds per fault; fault from sample 500):');
  log('| fault | detector | F1 | precision | recall | detection delay (samples) |');
  log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const fault of ['step-pressure', 'drift-vibration', 'decoupled-temperature', ...lineFaults.map(([n]) => n)] as const) {
    for (const det of ['autoencoder', 'hotelling-t2'] as const) {
      const rs = out.filter((r) => r.fault === fault && r.detector === det);
      const delays = rs.map((r) => r.delay).filter((d): d is number => d !== null);
      log(`| ${fault} | ${det} | ${mean(rs.map((r) => r.f1)).toFixed(3)} | ${mean(rs.map((r) => r.precision)).toFixed(3)} | ${mean(rs.map((r) => r.recall)).toFixed(3)} | ${delays.length ? mean(delays).toFixed(1) : 'never'}${delays.length < rs.length ? ` (${rs.length - delays.length} missed)` : ''} |`);
    }
  }
  return out;
}

/** Result of {@link runLineThroughputBench}. */
export interface LineThroughput {
  backend: string;
  assets: number;
  signals: number;
  /** Per-asset forward passes (batchSize 1) or one per tick (batched). */
  mode: 'batched' | 'per-asset';
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  windowsScored: number;
  batches: number;
  alarmsRaised: number;
  /** Alarms raised by source. */
  raisedBy: Record<'spc' | 'model' | 'quality', number>;
  /** Alarms raised on the 90 assets without an injected fault (false alarms). */
  healthyAlarms: number;
  /** Sample in → alarm out, ms (over every alarm raised). */
  alarmLatencyMs: { p50: number; p99: number; max: number };
  /** First sample of a tick in → every judgement of that tick out, ms. */
  tickLatencyMs: { p50: number; p99: number };
}

/**
 * SPC settings for a line of many charts (also the example's): rules 1 and 5 with a two-subgroup debounce — with 800
 * charts, Western Electric's run rules on autocorrelated thermal signals would raise dozens of false alarms per hour.
 */
const LINE_SPC = { ruleSet: { rules: [1, 5] as Array<1 | 5>, runLength: 9 }, alarms: { spc: { raiseAfter: 2 } } };

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
};

/**
 * Monitoring throughput: a 100-asset line (8 signals each) replayed record by record through LineMonitor — data-quality
 * checks, SPC on subgroup means (rules 1 and 5), the dense autoencoder on 20-sample windows scored every
 * sample, alarms. Ten assets carry faults so alarms are raised. Reference in the same run: the same pipeline scoring
 * one asset per forward pass (batchSize 1).
 */
export async function runLineThroughputBench(log: (s: string) => void = console.log, options: { assets?: number; ticks?: number } = {}): Promise<LineThroughput[]> {
  await initRuntime();
  const nAssets = options.assets ?? 100;
  const ticks = options.ticks ?? 600;
  const assets = Array.from({ length: nAssets }, (_, i) => `asset-${String(i + 1).padStart(3, '0')}`);
  const normal = simulateLine({ assets, samples: 3600, seed: 31 });
  const baseline = LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS);
  const detector = await AnomalyDetector.fitSeries(
    assets.filter((_, i) => i % 10 === 0).map((a) => simulateLine({ assets: [a], samples: 4000, seed: 32 }).rows[a]!),
    { signals: [...LINE_SIGNALS], window: 20, epochs: 10, quantile: 0.999, seed: 1 },
  );
  const kinds = ['step', 'drift', 'bearing-wear', 'dropout', 'stuck'] as const;
  const faults: LineFault[] = assets.slice(0, 10).map((asset, i) => {
    const kind = kinds[i % 5]!;
    const from = 120 + 20 * i;
    if (kind === 'drift') return { asset, kind, from, magnitude: 0.01 };
    if (kind === 'bearing-wear') return { asset, kind, from, to: ticks + 100 };
    if (kind === 'dropout' || kind === 'stuck') return { asset, kind, from, to: from + 80 };
    return { asset, kind, from };
  });
  const shift = simulateLine({ assets, samples: ticks, seed: 33, faults });
  const records: SensorRecord[] = [...lineRecords(shift)];
  const perTick = nAssets * LINE_SIGNALS.length;
  const out: LineThroughput[] = [];
  for (const mode of ['batched', 'per-asset'] as const) {
    const monitor = new LineMonitor({ signals: LINE_SIGNALS, detector, baseline, ...LINE_SPC, batchSize: mode === 'batched' ? 256 : 1 });
    const tickStart = new Float64Array(ticks);
    const tickEnd = new Float64Array(ticks);
    const latencies: number[] = [];
    const faulty = new Set(faults.map((f) => f.asset));
    let healthyAlarms = 0;
    const t0 = performance.now();
    for (let i = 0; i < records.length; i++) {
      const tick = (i / perTick) | 0;
      if (i % perTick === 0) tickStart[tick] = performance.now();
      const events = await monitor.push(records[i]!);
      if (events.length) {
        const now = performance.now();
        for (const e of events) {
          if (e.type !== 'raised') continue;
          if (!faulty.has(e.alarm.asset)) healthyAlarms++;
          const k = Math.round((e.alarm.evidence.window.to - shift.timestamps[0]!) / 1000);
          latencies.push(now - tickStart[k]!);
        }
      }
      if (i % perTick === perTick - 1) tickEnd[tick] = performance.now();
    }
    await monitor.flush();
    const seconds = (performance.now() - t0) / 1000;
    const st = monitor.stats();
    const tickLat = Array.from(tickEnd, (e, k) => e - tickStart[k]!);
    out.push({
      backend: runtimeInfo().backend,
      assets: nAssets,
      signals: LINE_SIGNALS.length,
      mode,
      samples: records.length,
      seconds,
      samplesPerSecond: records.length / seconds,
      windowsScored: st.windowsScored,
      batches: st.batches,
      alarmsRaised: st.raised.spc + st.raised.model + st.raised.quality,
      raisedBy: st.raised,
      healthyAlarms,
      alarmLatencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies) },
      tickLatencyMs: { p50: quantile(tickLat, 0.5), p99: quantile(tickLat, 0.99) },
    });
  }
  detector.dispose();
  log(`\nmanufacturing monitoring throughput (${nAssets} assets × ${LINE_SIGNALS.length} signals, ${ticks} ticks, ${out[0]!.backend}; validation → SPC → autoencoder every sample → alarms):`);
  log('| scoring | samples/s | windows scored | forward passes | alarms | alarm latency p50 / p99 (ms) | tick latency p50 / p99 (ms) |');
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of out) {
    log(`| ${r.mode} | ${Math.round(r.samplesPerSecond).toLocaleString('en-US')} | ${r.windowsScored} | ${r.batches} | ${r.alarmsRaised} (SPC ${r.raisedBy.spc}, model ${r.raisedBy.model}, quality ${r.raisedBy.quality}; ${r.healthyAlarms} on healthy assets) | ${r.alarmLatencyMs.p50.toFixed(2)} / ${r.alarmLatencyMs.p99.toFixed(2)} | ${r.tickLatencyMs.p50.toFixed(2)} / ${r.tickLatencyMs.p99.toFixed(2)} |`);
  }
  const [b, p] = out;
  log(`batched ÷ per-asset throughput: ${(b!.samplesPerSecond / p!.samplesPerSecond).toFixed(1)}×; target ≥ 50,000 samples/s: ${b!.samplesPerSecond >= 50_000 ? 'met' : 'MISSED'}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runManufacturingBench();
  await runLineThroughputBench();
}
