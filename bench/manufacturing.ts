// Manufacturing benchmark, quality part (issue 6): the learned detector (dense autoencoder) against Hotelling T² on the
// simulated machine's faults, in the same run — per-sample F1 and detection delay (first alarm after debounce).
// `pnpm bench` runs it after the other suites; alone: `node --import tsx bench/manufacturing.ts`.
// Not measured yet: monitoring throughput for 100 assets × 8 signals and alarm latency (see the issue-6 note).
import { initRuntime, precisionRecallF1 } from '@lepton/core';
import { AlarmManager, AnomalyDetector, HotellingT2, MACHINE_SIGNALS, simulateMachine, type MachineFault } from '@lepton/manufacturing';

export interface DetectorQuality {
  fault: MachineFault | 'none';
  detector: 'autoencoder' | 'hotelling-t2';
  f1: number;
  precision: number;
  recall: number;
  /** Samples from fault onset to the first raised alarm (3 consecutive exceedances); null when never raised. */
  delay: number | null;
}

function score(flags: boolean[], from: number, label: string, fault: MachineFault, offset: number): DetectorQuality {
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
      out.push(score(ae.scoreRows(rows).map((s) => s.alarm), from, 'autoencoder', fault, window - 1));
      out.push(score(rows.map((r) => t2.score(r).t2 > t2.threshold), from, 'hotelling-t2', fault, 0));
    }
  }
  ae.dispose();
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  log('\nmanufacturing (simulated machine, synthetic; 3 seeds per fault; fault from sample 500):');
  log('| fault | detector | F1 | precision | recall | detection delay (samples) |');
  log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const fault of ['step-pressure', 'drift-vibration', 'decoupled-temperature'] as const) {
    for (const det of ['autoencoder', 'hotelling-t2'] as const) {
      const rs = out.filter((r) => r.fault === fault && r.detector === det);
      const delays = rs.map((r) => r.delay).filter((d): d is number => d !== null);
      log(`| ${fault} | ${det} | ${mean(rs.map((r) => r.f1)).toFixed(3)} | ${mean(rs.map((r) => r.precision)).toFixed(3)} | ${mean(rs.map((r) => r.recall)).toFixed(3)} | ${delays.length ? mean(delays).toFixed(1) : 'never'}${delays.length < rs.length ? ` (${rs.length - delays.length} missed)` : ''} |`);
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await runManufacturingBench();
