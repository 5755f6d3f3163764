// Finance benchmark (`pnpm bench` runs it after the core suite; alone: `node --import tsx bench/finance.ts`).
// - real-time scoring of one transaction including the feature-state update (in-memory store): p50 / p99 latency
// - stream throughput: features + batched model, transactions/s
// - quality against scikit-learn's HistGradientBoostingClassifier on the same features and time-ordered split
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { averagePrecision, initRuntime, rocAuc } from '@lepton/core';
import { FeatureEngine, FraudModel, generateTransactions, replayHistory } from '@lepton/finance';

const DAY = 86_400_000;

export interface FinanceBench {
  backend: string;
  transactions: number;
  latencyMs: { p50: number; p99: number; max: number };
  streamPerSecond: number;
  quality: { lepton: { prAuc: number; rocAuc: number }; baseline?: Record<string, unknown>; prAucGap?: number };
}


/** Runs the finance benchmark and prints its table. */
export async function runFinanceBench(log: (s: string) => void = console.log): Promise<FinanceBench> {
  const runtime = await initRuntime();
  const txs = generateTransactions({ cards: 600, days: 40, seed: 99 });
  const engine = new FeatureEngine();
  const rows = await replayHistory(engine, txs);
  const start = txs[0]!.timestamp;
  const at = (d: number): number => start + d * DAY;
  const idx = (from: number, to: number): number[] => txs.map((t, i) => (t.timestamp >= from && t.timestamp < to ? i : -1)).filter((i) => i >= 0);
  // Burn-in week for the 7-day windows; train, validate, 2-day label gap, test.
  const trainIdx = idx(at(7), at(24));
  const valIdx = idx(at(24), at(29));
  const testIdx = idx(at(31), at(40));
  const set = (ix: number[]) => ({ rows: ix.map((i) => rows[i]!), labels: ix.map((i) => txs[i]!.label) });
  const { model } = await FraudModel.train(set(trainIdx), set(valIdx), { featureNames: engine.names, seed: 1 });
  const test = set(testIdx);
  const probs = (await model.score(test.rows)).map((s) => s.probability);
  const lepton = { prAuc: averagePrecision(test.labels, probs), rocAuc: rocAuc(test.labels, probs) };

  // Real-time path: one transaction at a time — feature state update + features + model + calibration.
  const live = txs.filter((t) => t.timestamp >= at(31));
  const warm = new FeatureEngine();
  for (const t of txs) if (t.timestamp < at(31)) await warm.process(t);
  const lat: number[] = [];
  for (const t of live) {
    const t0 = performance.now();
    await model.score([await warm.process(t)]);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  const latencyMs = { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, max: lat.at(-1)! };

  // Stream path: features per transaction, model in batches of 256.
  const stream = new FeatureEngine();
  const t0 = performance.now();
  let batch: Float32Array[] = [];
  for (const t of txs) {
    batch.push(await stream.process(t));
    if (batch.length === 256) {
      await model.score(batch);
      batch = [];
    }
  }
  if (batch.length) await model.score(batch);
  const streamPerSecond = (txs.length * 1000) / (performance.now() - t0);

  // Baseline: the same rows and split through scikit-learn, in this run.
  const dir = await mkdtemp(join(tmpdir(), 'lepton-fin-bench-'));
  const result: FinanceBench = { backend: runtime.backend, transactions: txs.length, latencyMs, streamPerSecond, quality: { lepton } };
  try {
    // The baseline fits on train + validation (it has its own early stopping) and scores the same test rows.
    const fit = set([...trainIdx, ...valIdx]);
    const csv = (rs: Float32Array[], ls: number[]): string => rs.map((r, i) => `${ls[i]},${Array.from(r).join(',')}`).join('\n');
    await writeFile(join(dir, 'train.csv'), csv(fit.rows, fit.labels));
    await writeFile(join(dir, 'test.csv'), csv(test.rows, test.labels));
    const script = join(import.meta.dirname, 'finance_hgb.py');
    const baseline = JSON.parse(execFileSync('/usr/bin/python3', [script, dir], { encoding: 'utf8' })) as Record<string, unknown>;
    result.quality.baseline = baseline;
    result.quality.prAucGap = lepton.prAuc - Number(baseline['pr_auc']);
  } catch (err) {
    log(`scikit-learn baseline not run: ${(err as Error).message.split('\n')[0]} (apt-get install -y python3-sklearn)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  model.dispose();

  log(`\nfinance (${result.transactions} synthetic transactions, ${result.backend}):`);
  log('| case | value | target |');
  log('| --- | ---: | --- |');
  log(`| real-time scoring latency p50 (features + state update + model) | ${latencyMs.p50.toFixed(3)} ms | |`);
  log(`| real-time scoring latency p99 | ${latencyMs.p99.toFixed(3)} ms | ≤ 5 ms: ${latencyMs.p99 <= 5 ? 'met' : 'MISSED'} |`);
  log(`| stream throughput (features + batched model) | ${streamPerSecond.toFixed(0)} tx/s | ≥ 20,000: ${streamPerSecond >= 20_000 ? 'met' : 'MISSED'} |`);
  log(`| PR AUC, Lepton fraud model (test days) | ${lepton.prAuc.toFixed(4)} | |`);
  if (result.quality.baseline) {
    log(`| PR AUC, scikit-learn HistGradientBoosting | ${Number(result.quality.baseline['pr_auc']).toFixed(4)} | |`);
    log(`| PR AUC gap (Lepton − baseline) | ${result.quality.prAucGap!.toFixed(4)} | ≥ −0.02: ${result.quality.prAucGap! >= -0.02 ? 'met' : 'MISSED'} |`);
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await runFinanceBench();
