import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  averagePrecision,
  brierScore,
  confusionMatrix,
  expectedCalibrationError,
  ksStatistic,
  logLoss,
  meanAbsoluteError,
  precisionRecallF1,
  r2Score,
  rocAuc,
  rootMeanSquaredError,
  thresholdForCost,
  thresholdForFpr,
  thresholdForMaxF1,
} from '@lepton/core';

// Expected values computed by scikit-learn/SciPy: see fixtures/make_metrics_fixture.py.
interface BinaryCase {
  name: string;
  y: number[];
  p: number[];
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: number[][];
  roc_auc: number;
  average_precision: number;
  log_loss: number;
  brier: number;
  ks: number;
  ece10: number;
  max_f1: { threshold: number; f1: number };
  fpr_target: { target: number; threshold: number; tpr: number; fpr: number };
  cost: { falsePositive: number; falseNegative: number; threshold: number; cost: number };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/metrics.json', import.meta.url), 'utf8')) as {
  binary: BinaryCase[];
  multiclass: { y: number[]; probs: number[][]; pred: number[]; accuracy: number; log_loss: number; confusion: number[][]; macro: Record<string, number>; micro: Record<string, number> };
  regression: { y: number[]; pred: number[]; mae: number; rmse: number; r2: number };
};

const close = (a: number, b: number, digits = 10): void => expect(a).toBeCloseTo(b, digits);

describe.each(fixture.binary)('binary metrics vs scikit-learn: $name', (c) => {
  const hard = c.p.map((v) => (v >= 0.5 ? 1 : 0));
  it('accuracy, precision, recall, F1, confusion matrix', () => {
    close(accuracy(c.y, hard), c.accuracy);
    const prf = precisionRecallF1(c.y, hard);
    close(prf.precision, c.precision);
    close(prf.recall, c.recall);
    close(prf.f1, c.f1);
    expect(confusionMatrix(c.y, hard, [0, 1]).matrix).toEqual(c.confusion);
  });
  it('ROC AUC, average precision, KS', () => {
    close(rocAuc(c.y, c.p), c.roc_auc);
    close(averagePrecision(c.y, c.p), c.average_precision);
    close(ksStatistic(c.y, c.p), c.ks);
  });
  it('log loss, Brier, ECE', () => {
    close(logLoss(c.y, c.p), c.log_loss);
    close(brierScore(c.y, c.p), c.brier);
    close(expectedCalibrationError(c.y, c.p, 10), c.ece10);
  });
  it('threshold selection: max F1, target FPR, cost matrix', () => {
    const f1 = thresholdForMaxF1(c.y, c.p);
    close(f1.threshold, c.max_f1.threshold);
    close(f1.f1, c.max_f1.f1);
    const fpr = thresholdForFpr(c.y, c.p, c.fpr_target.target);
    close(fpr.threshold, c.fpr_target.threshold);
    close(fpr.recall, c.fpr_target.tpr);
    close(fpr.fpr, c.fpr_target.fpr);
    const cost = thresholdForCost(c.y, c.p, { falsePositive: c.cost.falsePositive, falseNegative: c.cost.falseNegative });
    close(cost.threshold, c.cost.threshold);
    close(cost.cost!, c.cost.cost);
  });
});

describe('multiclass metrics vs scikit-learn', () => {
  const m = fixture.multiclass;
  it('accuracy, log loss, confusion matrix', () => {
    close(accuracy(m.y, m.pred), m.accuracy);
    close(logLoss(m.y, m.probs), m.log_loss);
    expect(confusionMatrix(m.y, m.pred).matrix).toEqual(m.confusion);
  });
  it.each(['macro', 'micro'] as const)('%s-averaged precision/recall/F1', (average) => {
    const got = precisionRecallF1(m.y, m.pred, { average });
    close(got.precision, m[average]['precision']!);
    close(got.recall, m[average]['recall']!);
    close(got.f1, m[average]['f1']!);
  });
});

describe('regression metrics vs scikit-learn', () => {
  const r = fixture.regression;
  it('MAE, RMSE, R²', () => {
    close(meanAbsoluteError(r.y, r.pred), r.mae);
    close(rootMeanSquaredError(r.y, r.pred), r.rmse);
    close(r2Score(r.y, r.pred), r.r2);
  });
});

describe('metric input errors', () => {
  it('rejects mismatched lengths, non-binary labels and single-class ranking input', () => {
    expect(() => accuracy([0, 1], [0])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => thresholdForFpr([0, 1], [0.1, 0.2], 2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
