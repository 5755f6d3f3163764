// Manufacturing benchmark, false alarms: how often `AnomalyDetector` alarms on fresh normal operation against the rate
// its threshold quantile asks for (1 − quantile), straight after `fit` and after `calibrate` with more normal operation.
// Synthetic data: the package's seeded machine simulator (`simulateMachine`), a different seed for every series: the
// training series, the calibration series (start-ups included, as a user's history would be) and the fresh series the
// rate is counted on (30,000 samples, its first 200, the start-up, left out so the figure is the steady-state rate).
// The same for `DefectInspector` (visual inspection): how often it flags fresh good parts against its quantile, straight
// after `fit` and after `calibrate` with 300 and 600 more good parts (synthetic images from `generateParts`, a
// different seed for every set; 2,000 fresh good parts per fit).
// `BENCH_SUITES=manufacturing-threshold pnpm bench`; alone: `node --import tsx bench/manufacturing-threshold.ts`.
import { initRuntime } from '@lepton/core';
import { AnomalyDetector, DefectInspector, generateParts, MACHINE_SIGNALS, simulateMachine } from '@lepton/manufacturing';

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

/** One inspector fit: the good images it learned from and its false-alarm rate on fresh good parts before and after calibration. */
export interface InspectionThresholdFit {
  fit: string;
  quantile: number;
  /** Good images held out by `fit` (the threshold's sample before calibration). */
  heldOut: number;
  /** Rate on fresh good parts with the threshold from `fit`. */
  uncalibrated: number;
  /** After `calibrate` with 300 more good parts. */
  calibrated300: number;
  /** After `calibrate` with 600 more (two sets of 300). */
  calibrated600: number;
}

/** Fits inspectors on seeded synthetic parts, prints a table and a summary, returns the rows. */
export async function runInspectionThresholdBench(log: (s: string) => void = console.log, quantile = 0.99): Promise<InspectionThresholdFit[]> {
  await initRuntime({ backend: 'wasm' }, {});
  const rows: InspectionThresholdFit[] = [];
  const good = (count: number, seed: number) => generateParts(count, { seed }).map((p) => p.image);
  log(`\ndefect inspector false alarms on fresh good parts (synthetic parts; asked: ${((1 - quantile) * 100).toFixed(2)} %)`);
  log('| fit | held out | uncalibrated | + 300 good parts | + 600 |');
  log('| --- | ---: | ---: | ---: | ---: |');
  const settings = [...[11, 21, 31, 41, 51, 61].map((seed) => ({ seed, images: 160 })), ...[71, 81].map((seed) => ({ seed, images: 400 }))];
  for (const f of settings) {
    const inspector = await DefectInspector.fit(good(f.images, f.seed), { seed: f.seed, quantile });
    const fresh = good(2000, 1000 + f.seed);
    const rate = async (): Promise<number> => (await inspector.inspectBatch(fresh)).filter((r) => r.defective).length / fresh.length;
    const heldOut = inspector.goodImages;
    const uncalibrated = await rate();
    await inspector.calibrate(good(300, 5000 + f.seed));
    const calibrated300 = await rate();
    await inspector.calibrate(good(300, 6000 + f.seed));
    const calibrated600 = await rate();
    await inspector.close();
    const name = `${f.images} good images, seed ${f.seed}`;
    rows.push({ fit: name, quantile, heldOut, uncalibrated, calibrated300, calibrated600 });
    const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
    log(`| ${name} | ${heldOut} | ${pct(uncalibrated)} | ${pct(calibrated300)} | ${pct(calibrated600)} |`);
  }
  const span = (k: 'uncalibrated' | 'calibrated300' | 'calibrated600', of: InspectionThresholdFit[]): string => {
    const xs = of.map((r) => r[k]).sort((a, b) => a - b);
    return `${(xs[0]! * 100).toFixed(2)}–${(xs.at(-1)! * 100).toFixed(2)} %`;
  };
  for (const images of [160, 400]) {
    const of = rows.filter((r) => r.fit.startsWith(`${images} `));
    log(`${images} good images: uncalibrated ${span('uncalibrated', of)}; + 300 ${span('calibrated300', of)}; + 600 ${span('calibrated600', of)}`);
  }
  return rows;
}

if (process.argv[1]?.endsWith('manufacturing-threshold.ts')) {
  const which = process.argv[2];
  const rows = which === 'inspection' ? [] : await runThresholdBench();
  const inspection = which === 'detector' ? [] : await runInspectionThresholdBench();
  console.log(JSON.stringify({ detector: rows, inspection }, null, 2));
}
