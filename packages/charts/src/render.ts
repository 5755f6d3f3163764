import { describeValue, LeptonError } from '@lepton/core';

/** A Vega-Lite specification (https://vega.github.io/vega-lite/), as a plain JSON object. */
export type VegaLiteSpec = Record<string, unknown>;

/** Options for {@link renderChart}. */
export interface RenderChartOptions {
  /** Output format. Default `'svg'`. */
  format?: 'svg' | 'png';
  /** Pixel scale for PNG (2 = retina), above 0 and at most {@link MAX_CHART_SCALE}. Default 2. */
  scale?: number;
}

/** Largest PNG `scale`: a 640 × 260 chart at 8 is about 5,000 × 2,000 pixels; beyond that a scale only fills memory. */
export const MAX_CHART_SCALE = 8;

/**
 * A Vega loader that loads nothing: a spec's `data.url` (a local path, `file://` or `http(s)://`) or an image mark's
 * `url` would otherwise be read from this machine's disk or fetched over the network and drawn into the chart. Each
 * refused address is recorded, so the render can fail with a typed error instead of drawing an empty chart.
 */
function refusingLoader(refused: string[]): object {
  const refuse = (uri: unknown): Promise<never> => {
    refused.push(typeof uri === 'string' ? uri : String((uri as { url?: unknown })?.url ?? uri));
    return Promise.reject(new Error('@lepton/charts renders inline data only'));
  };
  // Links (the `href` channel) are written into the SVG, never followed: kept for http(s) and mailto, emptied for any
  // other scheme (a javascript: link is a script where the SVG is shown). Never rejected: vega-scenegraph 5.3 reads a
  // rejected link as null and throws outside any promise chain, which ended the process. Images are loaded: one given
  // inline as a data: URI is drawn (it is in the spec already); any other address is refused.
  const sanitize = (uri: unknown, options?: { context?: string }): Promise<{ href: string }> => {
    if (options?.context === 'href') return Promise.resolve({ href: typeof uri === 'string' && /^(https?:|mailto:)/i.test(uri) ? uri : '' });
    return typeof uri === 'string' && /^data:image\/[a-z+.-]+[;,]/i.test(uri) ? Promise.resolve({ href: uri }) : refuse(uri);
  };
  return { load: refuse, sanitize, http: refuse, file: refuse, fileAccess: false };
}

/**
 * Renders a Vega-Lite chart to SVG text or PNG bytes, headless (Vega's SVG renderer; PNG by resvg, a prebuilt
 * native renderer shipped in its npm package — no browser, no canvas build). Data must be inline in the spec
 * (`data.values`): nothing is read from disk or fetched, so a spec from elsewhere cannot pull a local file or a URL into
 * the picture. Links (the `href` channel) are written into the SVG, never followed: http(s) and mailto kept, any other
 * scheme (`javascript:`) emptied.
 *
 * @param spec - Vega-Lite specification with inline `data.values`
 * @param options - format and PNG scale
 * @returns SVG markup (string) or PNG file bytes (Buffer)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the spec is not an object or Vega-Lite cannot compile
 *   it, when it names data or an image by URL or path (`data.url`, an image mark's `url` other than a `data:image/…` URI:
 *   nothing is loaded), for
 *   options that are not an object, a `format` other than `'svg'`/`'png'`, or a `scale` that is not a number in (0,
 *   {@link MAX_CHART_SCALE}]
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
  const bad = (message: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `renderChart: ${message}`);
  };
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) bad(`spec must be a Vega-Lite specification (an object), got ${describeValue(spec)}.`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) bad(`options must be an object, got ${describeValue(options)}.`);
  const format: unknown = options.format ?? 'svg';
  if (format !== 'svg' && format !== 'png') bad(`format must be 'svg' or 'png', got ${describeValue(format)}.`);
  const scale: unknown = options.scale ?? 2;
  if (typeof scale !== 'number' || !(scale > 0 && scale <= MAX_CHART_SCALE)) bad(`scale must be a number above 0 and at most ${MAX_CHART_SCALE}, got ${describeValue(scale)}.`);
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled: object;
  try {
    compiled = vegaLite.compile(spec as never).spec;
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', `Vega-Lite could not compile the chart: ${(err as Error).message}`, { cause: err });
  }
  const refused: string[] = [];
  const view = new vega.View(vega.parse(compiled as never), { renderer: 'none', loader: refusingLoader(refused) as never, logLevel: vega.None });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0) {
      bad(`charts are drawn from inline data only (data.values); the spec asked to load ${refused.length === 1 ? 'an address' : `${refused.length} addresses`} (${describeValue(refused[0], 80)}), and nothing was loaded.`);
    }
    if (format === 'svg') return svg;
    // A specifier in a variable: bundlers (esbuild for the GPU-machine bundles) leave this native addon to be loaded at
    // run time instead of failing on its .node binary; the benchmarks that are bundled never render charts.
    const resvg = '@resvg/resvg-js';
    const { Resvg } = (await import(resvg)) as typeof import('@resvg/resvg-js');
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: scale as number },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    }).render();
    return png.asPng();
  } finally {
    view.finalize();
  }
}
