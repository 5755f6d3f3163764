import { averagePrecision, describeValue, LeptonError, precisionRecallCurve, rocAuc, rocCurve, type Numeric } from '@lepton/core';
import { hasXmlForbidden, type VegaLiteSpec } from './render.js';

function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]!);
}

/**
 * A Vega-Lite spec with the ROC curve (with AUC) and the precision–recall curve (with average precision) side by
 * side, for {@link renderChart}. Curves are thinned to at most 400 points each.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @param title - chart title: a string without characters XML forbids (control characters other than tab and line
 *   breaks, U+FFFE, U+FFFF, lone surrogates), which would break the SVG
 * @returns the spec (data inline)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` unless both classes are present, for labels or scores the
 *   metrics refuse (NaN, lengths that differ), and for a score of `Infinity` or `-Infinity` (`details.index`): a
 *   ranking would accept it, but an infinite score is a model or pipeline fault, not a confident prediction;
 *   `INVALID_ARGUMENT` for a `title` that is not a string or holds a character XML forbids
 * @example
 * ```ts
 * import { renderChart, rocPrChartSpec } from '@lepton/charts';
 * const svg = await renderChart(rocPrChartSpec([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 'Validation'));
 * ```
 */
export function rocPrChartSpec(yTrue: Numeric, scores: Numeric, title = 'Model evaluation'): VegaLiteSpec {
  if (typeof title !== 'string') throw new LeptonError('INVALID_ARGUMENT', `rocPrChartSpec: title must be a string, got ${describeValue(title)}.`, { details: { option: 'title' } });
  if (hasXmlForbidden(title)) {
    throw new LeptonError('INVALID_ARGUMENT', 'rocPrChartSpec: title holds a character XML forbids (a control character other than tab or a line break, U+FFFE, U+FFFF or a lone surrogate); remove it.', { details: { option: 'title' } });
  }
  const roc = rocCurve(yTrue, scores);
  // the metrics validated lengths and NaN; an infinite score is refused here (see @throws)
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (v === Infinity || v === -Infinity) throw new LeptonError('INVALID_INPUT', `rocPrChartSpec: score ${i} is ${v}; scores must be finite.`, { details: { index: i } });
  }
  const pr = precisionRecallCurve(yTrue, scores);
  const auc = rocAuc(yTrue, scores);
  const ap = averagePrecision(yTrue, scores);
  const rocPoints = thin(roc.fpr.map((fpr, i) => ({ fpr, tpr: roc.tpr[i]! })), 400);
  const prPoints = thin([{ recall: 0, precision: pr.precision[0]! }, ...pr.recall.map((recall, i) => ({ recall, precision: pr.precision[i]! }))], 400);
  const square = { width: 260, height: 260 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    hconcat: [
      {
        ...square,
        title: `ROC (AUC ${auc.toFixed(3)})`,
        layer: [
          {
            data: { values: rocPoints },
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: {
              x: { field: 'fpr', type: 'quantitative', title: 'False-positive rate', scale: { domain: [0, 1] } },
              y: { field: 'tpr', type: 'quantitative', title: 'True-positive rate (recall)', scale: { domain: [0, 1] } },
            },
          },
          {
            data: { values: [{ v: 0 }, { v: 1 }] },
            mark: { type: 'line', strokeDash: [4, 4], color: 'gray' },
            encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } },
          },
        ],
      },
      {
        ...square,
        title: `Precision–recall (AP ${ap.toFixed(3)})`,
        data: { values: prPoints },
        mark: { type: 'line', interpolate: 'step-before', color: '#d62728' },
        encoding: {
          x: { field: 'recall', type: 'quantitative', title: 'Recall', scale: { domain: [0, 1] } },
          y: { field: 'precision', type: 'quantitative', title: 'Precision', scale: { domain: [0, 1] } },
        },
      },
    ],
  };
}
