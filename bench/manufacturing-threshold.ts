// Manufacturing benchmark, false alarms: how often `AnomalyDetector` alarms on fresh normal operation against the rate
// its threshold quantile asks for (1 − quantile), straight after `fit` and after `calibrate` with more normal operation.
// Synthetic data: the package's seeded machine simulator (`simulateMachine`), a different seed for every series: the
// training series, the calibration series (start-ups included, as a user's history would be) and the fresh series the
// rate is counted on (30,000 samples, its first 200, the start-up, left out so the figure is the steady-state rate).
// `BENCH_SUITES=manufacturing-threshold pnpm bench`; alone: `node --import tsx bench/manufacturing-threshold.ts`.
import { initRuntime } from '@lepton/core';
import { AnomalyDetector, MACHINE_SIGNALS, simulateMachine } from '@lepton/manufacturing';

/** One fit: its setting and the alarm rate on fresh normal operation before and after calibration. */
export interface ThresholdFit {
  fit: string;
  quantile: number;
  /** Rate on fresh normal windows with the threshold from the held-out part of the training series only. */
  uncalibrated: number;
  /** After `calibrate` with 3,000 more normal samples. */
  calibrated3000: number;
  /** After `calibrate` with 6,000 more (two series of 3,000). */
  calibrated6000: number;
}

interface FitSetting {
  seed: number;
  window: number;
  kind: 'dense' | 'lstm';
  samples: number;
  scoring: 'balanced' | 'mse';
}

const SETTINGS: FitSetting[] = [
  ...[11, 12, 13, 14, 15, 16].map((seed) => ({ seed, window: 20, kind: 'dense' as const, samples: 3000, scoring: 'balanced' as const })),
  ...[21, 22, 23].map((seed) => ({ seed, window: 30, kind: 'dense' as const, samples: 5000, scoring: 'balanced' as const })),
  ...[31, 32].map((seed) => ({ seed, window: 20, kind: 'dense' as const, samples: 3000, scoring: 'mse' as const })),
  ...[41, 42].map((seed) => ({ seed, window: 20, kind: 'lstm' as const, samples: 3000, scoring: 'balanced' as const })),
];

/** Runs the fits, prints a table and a summary, returns the rows. */
export async function runThresholdBench(log: (s: string) => void = console.log, quantile = 0.995): Promise<ThresholdFit[]> {
  await initRuntime({ backend: 'wasm' }, {});
  const rows: ThresholdFit[] = [];
  log(`\nanomaly detector false alarms on fresh normal operation (simulated machine, synthetic; asked: ${((1 - quantile) * 100).toFixed(2)} %)`);
  log('| fit | uncalibrated | + 3,000 normal samples | + 6,000 |');
  log('| --- | ---: | ---: | ---: |');
  for (const f of SETTINGS) {
    const detector = await AnomalyDetector.fit(simulateMachine(f.samples, f.seed), { signals: [...MACHINE_SIGNALS], window: f.window, kind: f.kind, scoring: f.scoring, epochs: f.kind === 'lstm' ? 8 : 15, seed: f.seed, quantile });
    const fresh = simulateMachine(30_200, 1000 + f.seed).slice(200);
    const rate = async (): Promise<number> => {
      const scores = await detector.scoreRows(fresh);
      return scores.filter((s) => s.alarm).length / scores.length;
    };
    const uncalibrated = await rate();
    await detector.calibrate(simulateMachine(3000, 5000 + f.seed));
    const calibrated3000 = await rate();
    await detector.calibrate(simulateMachine(3000, 6000 + f.seed));
    const calibrated6000 = await rate();
    detector.dispose();
    const name = `${f.kind}, window ${f.window}, ${f.samples} training samples, ${f.scoring}, seed ${f.seed}`;
    rows.push({ fit: name, quantile, uncalibrated, calibrated3000, calibrated6000 });
    const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
    log(`| ${name} | ${pct(uncalibrated)} | ${pct(calibrated3000)} | ${pct(calibrated6000)} |`);
  }
  const span = (k: 'uncalibrated' | 'calibrated3000' | 'calibrated6000'): string => {
    const xs = rows.map((r) => r[k]).sort((a, b) => a - b);
    return `${(xs[0]! * 100).toFixed(2)}–${(xs.at(-1)! * 100).toFixed(2)} % (median ${(xs[Math.floor(xs.length / 2)]! * 100).toFixed(2)} %)`;
  };
  log(`uncalibrated ${span('uncalibrated')}; + 3,000 ${span('calibrated3000')}; + 6,000 ${span('calibrated6000')}`);
  return rows;
}

if (process.argv[1]?.endsWith('manufacturing-threshold.ts')) {
  const rows = await runThresholdBench();
  console.log(JSON.stringify(rows, null, 2));
}
