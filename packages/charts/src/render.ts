import { LeptonError } from '@lepton/core';

/** A Vega-Lite specification (https://vega.github.io/vega-lite/), as a plain JSON object. */
export type VegaLiteSpec = Record<string, unknown>;

/** Options for {@link renderChart}. */
export interface RenderChartOptions {
  /** Output format. Default `'svg'`. */
  format?: 'svg' | 'png';
  /** Pixel scale for PNG (2 = retina). Default 2. */
  scale?: number;
}

/**
 * Renders a Vega-Lite chart to SVG text or PNG bytes, headless (Vega's SVG renderer; PNG by resvg, a prebuilt
 * native renderer shipped in its npm package — no browser, no canvas build). Data must be inline in the spec.
 *
 * @param spec - Vega-Lite specification with inline `data.values`
 * @param options - format and PNG scale
 * @returns SVG markup (string) or PNG file bytes (Buffer)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when Vega-Lite cannot compile the spec
 * @example
 * ```ts
 * import { renderChart } from '@lepton/charts';
 * const svg = await renderChart({
 *   data: { values: [{ a: 'x', b: 1 }, { a: 'y', b: 3 }] },
 *   mark: 'bar',
 *   encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
 * });
 * console.log(String(svg).startsWith('<svg')); // true
 * ```
 */
export async function renderChart(spec: VegaLiteSpec, options: RenderChartOptions & { format: 'png' }): Promise<Buffer>;
export async function renderChart(spec: VegaLiteSpec, options?: RenderChartOptions & { format?: 'svg' }): Promise<string>;
export async function renderChart(spec: VegaLiteSpec, options: RenderChartOptions = {}): Promise<string | Buffer> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled: object;
  try {
    compiled = vegaLite.compile(spec as never).spec;
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', `Vega-Lite could not compile the chart: ${(err as Error).message}`, { cause: err });
  }
  const view = new vega.View(vega.parse(compiled as never), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    if ((options.format ?? 'svg') === 'svg') return svg;
    // A specifier in a variable: bundlers (esbuild for the GPU-machine bundles) leave this native addon to be loaded at
    // run time instead of failing on its .node binary; the benchmarks that are bundled never render charts.
    const resvg = '@resvg/resvg-js';
    const { Resvg } = (await import(resvg)) as typeof import('@resvg/resvg-js');
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: options.scale ?? 2 },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    }).render();
    return png.asPng();
  } finally {
    view.finalize();
  }
}
