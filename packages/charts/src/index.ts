/**
 * Vega-Lite charts rendered headless to SVG or PNG ({@link renderChart}; no browser, no canvas build) and
 * chart specs for model evaluation ({@link rocPrChartSpec}). Optional for every vertical: their spec builders return
 * plain Vega-Lite objects that {@link renderChart} draws, so applications that draw no charts install no Vega.
 *
 * Quick start: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */

export { MAX_CHART_DATA_ROWS, MAX_CHART_PIXELS, MAX_CHART_SCALE, renderChart } from './render.js';
export { rocPrChartSpec } from './roc-pr.js';
export type { VegaLiteSpec, RenderChartOptions } from './render.js';
