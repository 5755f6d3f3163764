import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedCalibrationError, initRuntime, tf } from '@lepton/core';
import { choosePolicy, decide, DriftMonitor, evaluateFraud, FraudModel, thresholdForAlertRate, timeSplit, type FraudTrainingReport } from '@lepton/finance';
import { fraudDataset } from './support/dataset.js';

let data: Awaited<ReturnType<typeof fraudDataset>>;
let model: FraudModel;
let report: FraudTrainingReport;
let dir: string;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  data = await fraudDataset(250, 24, 5);
  ({ model, report } = await FraudModel.train(data.train, data.validation, { featureNames: data.engine.names, seed: 3, epochs: 20 }));
  dir = await mkdtemp(join(tmpdir(), 'lepton-fraud-'));
}, 180_000);
afterAll(async () => {
  model?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const probs = async (m: FraudModel, rows: Float32Array[]): Promise<number[]> => (await m.score(rows)).map((s) => s.probability);

describe('fraud model on synthetic transactions (time-ordered split)', () => {
  it('separates fraud on later, unseen days', async () => {
    const t = data.test;
    expect(t.labels.filter((l) => l === 1).length).toBeGreaterThan(20);
    const ev = evaluateFraud(t.labels, await probs(model, t.rows), { timestamps: t.txs.map((x) => x.timestamp), cardIds: t.txs.map((x) => x.cardId), k: 5 });
    expect(ev.rocAuc).toBeGreaterThan(0.95);
    expect(ev.prAuc).toBeGreaterThan(0.75);
    expect(ev.recallAt1PctFpr).toBeGreaterThan(0.7);
    expect(ev.cardPrecisionAtK).toBeGreaterThan(0.2);
    expect(report.supervised.monitor).toBe('val_average_precision');
  });

  it('calibration turns class-weighted scores into probabilities', async () => {
    const t = data.test;
    const scores = await model.score(t.rows);
    const raw = expectedCalibrationError(t.labels, scores.map((s) => s.supervised));
    const calibrated = expectedCalibrationError(t.labels, scores.map((s) => s.probability));
    expect(calibrated).toBeLessThan(raw / 2);
    for (const s of scores) {
      expect(s.riskScore).toBe(Math.round(s.probability * 999));
      expect(s.anomaly).toBeGreaterThanOrEqual(0);
      expect(s.anomaly).toBeLessThanOrEqual(1);
    }
  });

  it('resamples only the training split, and recalibration restores the base rate', async () => {
    const { model: sampled, report: r } = await FraudModel.train(data.train, data.validation, {
      featureNames: data.engine.names,
      seed: 3,
      epochs: 10,
      negativeSampling: 0.2,
      classWeight: 'none',
      autoencoder: false,
    });
    const genuine = data.train.labels.filter((l) => l === 0).length;
    expect(r.trainingRows.fraud).toBe(data.train.labels.filter((l) => l === 1).length);
    expect(r.trainingRows.genuine / genuine).toBeGreaterThan(0.15);
    expect(r.trainingRows.genuine / genuine).toBeLessThan(0.25);
    const s = await sampled.score(data.test.rows);
    const rate = data.test.labels.reduce((a, b) => a + b, 0) / data.test.labels.length;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Undersampling genuine rows raises the training base rate, so raw scores overestimate fraud; calibration on the
    // untouched validation split brings the average back to the real rate and improves reliability.
    expect(mean(s.map((x) => x.supervised))).toBeGreaterThan(rate);
    expect(Math.abs(mean(s.map((x) => x.probability)) - rate)).toBeLessThan(0.5 * rate);
    expect(expectedCalibrationError(data.test.labels, s.map((x) => x.probability))).toBeLessThan(
      expectedCalibrationError(data.test.labels, s.map((x) => x.supervised)),
    );
    sampled.dispose();
  });

  it('gives reason codes that name what drove an account-takeover score', async () => {
    const i = data.test.txs.findIndex((x) => x.pattern === 'account-takeover');
    const j = i >= 0 ? i : data.train.txs.findIndex((x) => x.pattern === 'account-takeover');
    const row = i >= 0 ? data.test.rows[i]! : data.train.rows[j]!;
    const reasons = await model.reasons(row, 3);
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every((r) => r.contribution > 0 && r.text.length > 10)).toBe(true);
    const codes = reasons.map((r) => r.code);
    expect(codes.some((c) => ['card_new_device', 'card_distance_km_log', 'card_speed_kmh_log', 'amount_log', 'card_amount_z', 'customer_amount_z'].includes(c))).toBe(true);
    expect(reasons[0]!.contribution).toBeGreaterThanOrEqual(reasons.at(-1)!.contribution);
  });

  it('survives a bundle round trip with identical scores, and refuses a tampered bundle', async () => {
    await model.save(join(dir, 'fraud'), { name: 'fraud', version: '1.0.0' });
    const loaded = await FraudModel.load(join(dir, 'fraud'));
    expect(loaded.featureNames).toEqual(data.engine.names);
    expect(await probs(loaded, data.test.rows.slice(0, 200))).toEqual(await probs(model, data.test.rows.slice(0, 200)));
    loaded.dispose();
    const weights = join(dir, 'fraud', 'supervised', 'weights.bin');
    const bytes = await readFile(weights);
    bytes[5] = bytes[5]! ^ 1;
    await writeFile(weights, bytes);
    await expect(FraudModel.load(join(dir, 'fraud'))).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY' });
  });

  it('scores malformed rows with a typed error and leaks no tensors', async () => {
    await expect(model.score([new Float32Array(3)])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const before = tf.memory().numTensors;
    for (let k = 0; k < 20; k++) await model.score(data.test.rows.slice(0, 50));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('decisions', () => {
  it('chooses bands by cost, alert rate or FPR and applies them', async () => {
    const t = data.test;
    const p = await probs(model, t.rows);
    const byRate = choosePolicy(t.labels, p, { review: { by: 'alertRate', rate: 0.02 } });
    const alerted = p.filter((s) => s >= byRate.review).length / p.length;
    expect(alerted).toBeGreaterThanOrEqual(0.02);
    expect(alerted).toBeLessThan(0.05); // ties at the threshold may add a few
    expect(byRate.decline).toBeGreaterThanOrEqual(byRate.review);
    const cheapReviews = choosePolicy(t.labels, p, { review: { by: 'cost', fraudLoss: 500, reviewCost: 1 } });
    const dearReviews = choosePolicy(t.labels, p, { review: { by: 'cost', fraudLoss: 500, reviewCost: 200 } });
    expect(cheapReviews.review).toBeLessThanOrEqual(dearReviews.review);
    const byFpr = choosePolicy(t.labels, p, { review: { by: 'fpr', fpr: 0.01 }, declineFpr: 0.001 });
    const genuineFlagged = p.filter((s, i) => t.labels[i] === 0 && s >= byFpr.review).length / t.labels.filter((l) => l === 0).length;
    expect(genuineFlagged).toBeLessThanOrEqual(0.01);
    expect(decide({ review: 0.2, decline: 0.8 }, 0.1)).toBe('approve');
    expect(decide({ review: 0.2, decline: 0.8 }, 0.2)).toBe('review');
    expect(decide({ review: 0.2, decline: 0.8 }, 0.95)).toBe('decline');
    expect(thresholdForAlertRate([0.1, 0.9, 0.5, 0.7], 0.5)).toBe(0.7);
  });
});

describe('evaluation and drift', () => {
  it('splits by time with a label-delay gap', () => {
    expect(timeSplit([1, 2, 3, 4, 5, 6], 3, 2)).toEqual({ train: [0, 1], gap: [2, 3], test: [4, 5] });
  });

  it('computes card precision in the daily top-k by hand', () => {
    const day = 86_400_000;
    // day 0: cards a (fraud, 0.9), b (0.8), c (0.1); day 1: d (0.7), e (fraud, 0.6)
    const ev = evaluateFraud([1, 0, 0, 0, 1], [0.9, 0.8, 0.1, 0.7, 0.6], { timestamps: [0, 10, 20, day, day + 5], cardIds: ['a', 'b', 'c', 'd', 'e'], k: 2 });
    expect(ev.cardPrecisionAtK).toBeCloseTo((0.5 + 0.5) / 2, 12);
    expect(ev).toMatchObject({ rows: 5, fraud: 2, days: 2 });
  });

  it('alerts on drifted features and not on a stable period', async () => {
    const names = data.engine.names;
    const monitor = new DriftMonitor(names, data.train.rows, await probs(model, data.train.rows));
    const stable = monitor.check(data.validation.rows, await probs(model, data.validation.rows));
    expect(stable.score.alert).toBe(false);
    const amount = names.indexOf('amount_log');
    const shifted = data.validation.rows.map((r) => {
      const c = Float32Array.from(r);
      c[amount] = Math.log1p(Math.expm1(c[amount]!) * 8);
      return c;
    });
    const drifted = monitor.check(shifted, await probs(model, shifted));
    const amountPsi = (r: typeof stable): number => r.features.find((f) => f.name === 'amount_log')!.psi;
    expect(amountPsi(stable)).toBeLessThan(0.1);
    expect(amountPsi(drifted)).toBeGreaterThan(1);
    expect(drifted.features.find((f) => f.name === 'amount_log')!.alert).toBe(true);
    expect(drifted.alerts).toBeGreaterThan(stable.alerts);
  });
});
