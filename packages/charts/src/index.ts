/**
 * `@lepton/charts` — Vega-Lite charts rendered headless to SVG or PNG (Vega's SVG renderer, PNG by resvg's prebuilt
 * native renderer: no browser, no canvas build), and chart specs for model evaluation. Kept out of `@lepton/core` so
 * that applications that draw no charts install no Vega and no native renderer; the verticals' spec builders
 * (`controlChartSpec` in `@lepton/manufacturing`) return plain Vega-Lite objects that {@link renderChart} draws.
 *
 * @packageDocumentation
 */

export { renderChart } from './render.js';
export { rocPrChartSpec } from './roc-pr.js';
export type { VegaLiteSpec, RenderChartOptions } from './render.js';
