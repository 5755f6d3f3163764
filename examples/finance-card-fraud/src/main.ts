// Card-fraud example: everything runs on seeded synthetic data generated here (no real cardholders).
// generate → CSV ingestion with bad rows → point-in-time features → train (time-ordered, label-delay gap) →
// calibrate → choose decision bands → replay later days as a live stream with alerts and reason codes →
// evaluate → ROC/PR chart → drift check.
import { mkdir, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  initRuntime,
  choosePolicy,
  decide,
  DriftMonitor,
  evaluateFraud,
  FeatureEngine,
  FraudModel,
  generateTransactions,
  readTransactionsCsv,
  type SyntheticTransaction,
} from '@lepton/finance';
import { renderChart, rocPrChartSpec } from '@lepton/charts';

const DAY = 86_400_000;
const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;

const runtime = await initRuntime();
console.log(`runtime: ${runtime.backend} (${runtime.device})`);

// 1. Thirty days of synthetic card activity with three fraud patterns.
const synthetic = generateTransactions({ cards: 400, days: 30, seed: 2026 });
const truth = new Map(synthetic.map((t) => [t.id, t]));
const patterns: Record<string, number> = {};
for (const t of synthetic) patterns[t.pattern] = (patterns[t.pattern] ?? 0) + 1;
console.log(`generated ${synthetic.length} transactions: ${JSON.stringify(patterns)}`);

// 2. Ingest as CSV, as a bank's export would arrive, with a few damaged rows mixed in.
const columns = ['id', 'timestamp', 'amount', 'currency', 'cardId', 'customerId', 'merchantId', 'merchantCategory', 'channel', 'deviceId', 'latitude', 'longitude'] as const;
const lines = [columns.join(',')];
synthetic.forEach((t, i) => {
  lines.push(columns.map((c) => (c === 'timestamp' ? new Date(t.timestamp).toISOString() : String(t[c] ?? ''))).join(','));
  if (i % 5000 === 17) lines.push(`bad${i},not-a-date,12,EUR,card_1,cust_1,mer_1,5411,pos,,,`);
  if (i % 7000 === 3) lines.push(`neg${i},${new Date(t.timestamp).toISOString()},-5,EUR,card_1,cust_1,mer_1,5411,pos,,,`);
});
const ingest = await readTransactionsCsv(Readable.from([lines.join('\n')]));
console.log(`ingested ${ingest.stats.valid} valid, rejected ${ingest.stats.rejected} (${JSON.stringify(ingest.stats.byField)}) — ${elapsed()}`);
const txs = ingest.valid.map((t) => truth.get(t.id)!) as SyntheticTransaction[];

// 3. Point-in-time features over the history; labels are fed only when they become known (chargeback delay).
const start = txs[0]!.timestamp;
const trainStart = start + 7 * DAY; // the first week only warms up the 7-day windows
const trainEnd = start + 16 * DAY;
const validationEnd = start + 20 * DAY;
const replayStart = validationEnd + 2 * DAY; // 2-day gap: labels of the last days are not known at training time
const engine = new FeatureEngine();
const byKnown = [...txs].sort((a, b) => a.labelKnownAt - b.labelKnownAt);
let nextLabel = 0;
const feedLabels = async (now: number): Promise<void> => {
  while (nextLabel < byKnown.length && byKnown[nextLabel]!.labelKnownAt <= now) {
    const l = byKnown[nextLabel++]!;
    await engine.recordLabel(l, l.label, l.labelKnownAt);
  }
};
const history = txs.filter((t) => t.timestamp < replayStart);
const rows: Float32Array[] = [];
for (const t of history) {
  await feedLabels(t.timestamp);
  rows.push(await engine.process(t));
}
const split = (from: number, to: number) => {
  const idx = history.map((t, i) => (t.timestamp >= from && t.timestamp < to ? i : -1)).filter((i) => i >= 0);
  return { rows: idx.map((i) => rows[i]!), labels: idx.map((i) => history[i]!.label) };
};
const trainSet = split(trainStart, trainEnd);
const validation = split(trainEnd, validationEnd);
console.log(`features: ${engine.names.length} per transaction; train ${trainSet.rows.length}, validation ${validation.rows.length} — ${elapsed()}`);

// 4. Train (class-weighted MLP + autoencoder), calibrate on validation, choose decision bands by cost.
const { model, report } = await FraudModel.train(trainSet, validation, { featureNames: engine.names, seed: 7 });
const vScores = (await model.score(validation.rows)).map((s) => s.probability);
const policy = choosePolicy(validation.labels, vScores, { review: { by: 'cost', fraudLoss: 400, reviewCost: 5 }, declineFpr: 0.0005 });
console.log(
  `trained ${report.supervised.history.length} epochs on ${report.supervised.backend.backend}; validation PR AUC ${report.supervised.finalMetrics['val_average_precision']?.toFixed(3)}; ` +
    `review ≥ ${policy.review.toFixed(3)}, decline ≥ ${policy.decline.toFixed(3)} — ${elapsed()}`,
);

// 5. Replay the last 8 days as a live stream: features, score, decision, reasons for each alert.
const replay = txs.filter((t) => t.timestamp >= replayStart);
const scores: number[] = [];
const replayRows: Float32Array[] = [];
const decisions: Record<string, number> = { approve: 0, review: 0, decline: 0 };
const latencies: number[] = [];
let printed = 0;
for (const t of replay) {
  await feedLabels(t.timestamp);
  const t0 = performance.now();
  const row = await engine.process(t);
  const [score] = await model.score([row]);
  latencies.push(performance.now() - t0);
  replayRows.push(row);
  scores.push(score!.probability);
  const decision = decide(policy, score!.probability);
  decisions[decision]!++;
  if (decision !== 'approve' && printed < 8) {
    printed++;
    const reasons = await model.reasons(row, 3);
    console.log(
      `ALERT ${decision.toUpperCase().padEnd(7)} ${new Date(t.timestamp).toISOString()} ${t.cardId} ${t.amount.toFixed(2)} EUR risk ${score!.riskScore}` +
        ` [truth: ${t.pattern}]\n        ${reasons.map((r) => r.text).join('; ')}`,
    );
  }
}
latencies.sort((a, b) => a - b);
console.log(
  `replayed ${replay.length} transactions: ${JSON.stringify(decisions)}; scoring latency p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(2)} ms, ` +
    `p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2)} ms — ${elapsed()}`,
);

// 6. Evaluate the replayed days (train earlier, test later) and draw the curves.
const labels = replay.map((t) => t.label);
const ev = evaluateFraud(labels, scores, { timestamps: replay.map((t) => t.timestamp), cardIds: replay.map((t) => t.cardId), k: 10 });
console.log(
  `test (days 23–30): PR AUC ${ev.prAuc.toFixed(3)}, ROC AUC ${ev.rocAuc.toFixed(3)}, recall@1%FPR ${ev.recallAt1PctFpr.toFixed(3)}, ` +
    `card precision@10/day ${ev.cardPrecisionAtK.toFixed(3)}, KS ${ev.ks.toFixed(3)}, Brier ${ev.brier.toFixed(4)} (${ev.fraud} fraud of ${ev.rows})`,
);
const out = new URL('../out/', import.meta.url);
await mkdir(out, { recursive: true });
const spec = rocPrChartSpec(labels, scores, 'Card fraud — replayed days (synthetic data)');
await writeFile(new URL('roc-pr.svg', out), await renderChart(spec));
await writeFile(new URL('roc-pr.png', out), await renderChart(spec, { format: 'png' }));
console.log(`wrote out/roc-pr.svg and out/roc-pr.png`);

// 7. Drift: the replayed period against the training period, per feature and for the score.
const monitor = new DriftMonitor(engine.names, trainSet.rows, (await model.score(trainSet.rows)).map((s) => s.probability));
const drift = monitor.check(replayRows, scores);
const top = drift.features.slice(0, 3).map((f) => `${f.name} ${f.psi.toFixed(3)}`).join(', ');
console.log(`drift (replay vs training): score PSI ${drift.score.psi.toFixed(3)}; largest feature PSI: ${top}; ${drift.alerts} alert(s) — ${elapsed()}`);
model.dispose();
await engine.close();
