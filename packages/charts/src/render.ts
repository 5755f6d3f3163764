import { describeValue, isLeptonError, LeptonError } from '@lepton/core';

/** A Vega-Lite specification (https://vega.github.io/vega-lite/), as a plain JSON object. */
export type VegaLiteSpec = Record<string, unknown>;

/** Options for {@link renderChart}. */
export interface RenderChartOptions {
  /** Output format. Default `'svg'`. */
  format?: 'svg' | 'png';
  /** Pixel scale for PNG (2 = retina), above 0 and at most {@link MAX_CHART_SCALE}. Default 2. */
  scale?: number;
  /**
   * Pixel budget of this render: a whole number from 1 to {@link MAX_CHART_PIXELS} (the default). Only lowers the
   * package's bound (e.g. for a service that renders specs from users).
   */
  maxPixels?: number;
  /**
   * Data-row budget of this render: a whole number from 1 to {@link MAX_CHART_DATA_ROWS} (the default). Only lowers
   * the package's bound.
   */
  maxDataRows?: number;
}

/** Largest PNG `scale`: a 640 × 260 chart at 8 is about 5,000 × 2,000 pixels; beyond that a scale only fills memory. */
export const MAX_CHART_SCALE = 8;

/**
 * Largest chart drawn, in pixels: width × height of the rendered chart (for PNG, times `scale`²), 64 Mpx (a
 * 8,000 × 8,000 image, 256 MB of RGBA). `scale` alone does not bound memory: the spec's `width` and `height` do too
 * (20,000 × 20,000 at scale 8 asked resvg for 103 GB, and the process aborted). Larger charts are `INVALID_ARGUMENT`,
 * refused before anything is drawn.
 */
export const MAX_CHART_PIXELS = 64 * 1024 * 1024;

/**
 * Most data rows a spec may bring, 1,000,000: the rows of every inline `values` list (and `datasets` entry), plus the
 * rows its generators would make (`data.sequence`, `impute` key values, `density` steps, `quantile` steps), counted
 * before anything runs (a `sequence` of 5 million rows ran the process out of heap). More is `INVALID_ARGUMENT`.
 */
export const MAX_CHART_DATA_ROWS = 1_000_000;

/** Characters XML 1.0 forbids (C0 controls but tab, LF, CR; U+FFFE, U+FFFF) and lone surrogates. */
const XML_FORBIDDEN = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with every character XML 1.0 forbids removed, so that the SVG is well-formed whatever the titles held. */
function xmlSafe(text: string): string {
  return text.replace(XML_FORBIDDEN, '');
}

/** True when `text` holds a character XML 1.0 forbids. @internal */
export function hasXmlForbidden(text: string): boolean {
  XML_FORBIDDEN.lastIndex = 0;
  const found = XML_FORBIDDEN.test(text);
  XML_FORBIDDEN.lastIndex = 0;
  return found;
}

/** Most nesting walked in a spec (Vega-Lite specs nest a few levels; this only stops a hostile one). */
const MAX_SPEC_DEPTH = 200;

/** Rows a `{ start, stop, step }` generator makes, as Vega counts them; Infinity when it cannot be counted. */
function generated(g: unknown): number {
  if (typeof g !== 'object' || g === null) return 0;
  const { start = 0, stop, step = 1 } = g as { start?: unknown; stop?: unknown; step?: unknown };
  if (typeof start !== 'number' || typeof stop !== 'number' || typeof step !== 'number') return Infinity; // e.g. a signal: not counted before it runs
  const n = Math.ceil((stop - start) / step);
  return Number.isFinite(n) ? Math.max(0, n) : Infinity;
}

/**
 * Counts the data rows a spec brings (see {@link MAX_CHART_DATA_ROWS}) and the largest `width`/`height` it sets, walking
 * it once (cycles and getters that throw are refused).
 */
function measureSpec(spec: object, bad: (message: string) => never): { rows: number; width: number; height: number } {
  let rows = 0;
  let width = 0;
  let height = 0;
  const seen = new Set<object>();
  const walk = (node: unknown, depth: number): void => {
    if (typeof node !== 'object' || node === null) return;
    if (depth > MAX_SPEC_DEPTH) bad(`the spec nests deeper than ${MAX_SPEC_DEPTH} levels.`);
    if (seen.has(node)) return; // shared objects are counted once; a cycle ends here (Vega-Lite refuses it later)
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], depth + 1);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      // inline data is counted, not walked (rows are data, not spec: a million of them cost no walk)
      if (key === 'values' && Array.isArray(value)) {
        rows += value.length;
        continue;
      }
      if (key === 'values' && typeof value === 'string') {
        rows += value.split('\n').length;
        continue;
      }
      if (key === 'datasets' && typeof value === 'object' && value !== null) {
        for (const d of Object.values(value)) rows += Array.isArray(d) ? d.length : 0;
        continue;
      }
      if (key === 'sequence' || (key === 'keyvals' && !Array.isArray(value))) rows += generated(value);
      else if (key === 'keyvals' && Array.isArray(value)) rows += value.length;
      else if (key === 'steps' && typeof value === 'number') rows += Number.isFinite(value) ? Math.max(0, value) : Infinity;
      else if (key === 'quantile' && typeof value === 'string' && typeof (node as { step?: unknown }).step === 'number') {
        const step = (node as { step: number }).step;
        rows += step > 0 ? Math.ceil(1 / step) : Infinity;
      } else if ((key === 'width' || key === 'height') && typeof value === 'number') {
        if (!Number.isFinite(value)) bad(`a ${key} of ${value} is not a size; give a finite number of pixels.`);
        if (key === 'width') width = Math.max(width, value);
        else height = Math.max(height, value);
      }
      walk(value, depth + 1);
    }
  };
  try {
    walk(spec, 0);
  } catch (err) {
    if (isLeptonError(err)) throw err;
    bad('the spec could not be read (a getter threw, or it is not plain data).');
  }
  return { rows, width, height };
}

/** The size the SVG's root element declares (what resvg rasterises at `scale` 1). */
function svgSize(svg: string): { width: number; height: number } | undefined {
  const root = /^<svg\b[^>]*>/.exec(svg)?.[0];
  const w = root === undefined ? undefined : /\swidth="([0-9.eE+-]+)"/.exec(root)?.[1];
  const h = root === undefined ? undefined : /\sheight="([0-9.eE+-]+)"/.exec(root)?.[1];
  return w === undefined || h === undefined ? undefined : { width: Number(w), height: Number(h) };
}

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
 * scheme (`javascript:`) emptied. Characters XML 1.0 forbids (control characters, U+FFFE, lone surrogates) are removed
 * from the SVG, so it is always well-formed. Bounded for specs from elsewhere: at most {@link MAX_CHART_DATA_ROWS} data
 * rows (counted before anything runs, generators included) and at most {@link MAX_CHART_PIXELS} pixels drawn.
 *
 * @param spec - Vega-Lite specification with inline `data.values`
 * @param options - format and PNG scale
 * @returns SVG markup (string) or PNG file bytes (Buffer)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the spec is not an object or Vega-Lite cannot compile
 *   it, when it names data or an image by URL or path (`data.url`, an image mark's `url` other than a `data:image/…` URI:
 *   nothing is loaded), for
 *   options that are not an object, a `format` other than `'svg'`/`'png'`, or a `scale` that is not a number in (0,
 *   {@link MAX_CHART_SCALE}]; for a spec bringing more than {@link MAX_CHART_DATA_ROWS} (or `maxDataRows`) rows or
 *   drawing more than {@link MAX_CHART_PIXELS} (or `maxPixels`) pixels; when Vega cannot parse or run the compiled
 *   spec (an unknown function in an expression, a parameter expression that does not parse), or resvg cannot draw it
 *   (the error as `cause`)
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
  const budget = (name: 'maxPixels' | 'maxDataRows', max: number): number => {
    const v: unknown = options[name] ?? max;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) bad(`${name} must be a whole number from 1 to ${max}, got ${describeValue(v)}.`);
    return v as number;
  };
  const maxPixels = budget('maxPixels', MAX_CHART_PIXELS);
  const maxRows = budget('maxDataRows', MAX_CHART_DATA_ROWS);
  const zoom = format === 'png' ? (scale as number) ** 2 : 1;
  // Before anything runs: rows from inline data and generators, and each view's declared size (axis ticks grow with it).
  const measured = measureSpec(spec, bad);
  if (!(measured.rows <= maxRows)) {
    bad(`the spec brings ${Number.isFinite(measured.rows) ? measured.rows : 'an uncountable number of'} data rows (inline values and generators such as data.sequence), more than the ${maxRows} allowed.`);
  }
  // a side the spec leaves unset counts as Vega-Lite's default view size (300 px)
  if (!((measured.width || 300) * (measured.height || 300) * zoom <= maxPixels)) {
    bad(`a view of ${measured.width} × ${measured.height} px${format === 'png' ? ` at scale ${scale as number}` : ''} is more than the ${maxPixels} pixels allowed; make the chart smaller.`);
  }
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled: object;
  try {
    compiled = vegaLite.compile(spec as never).spec;
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', `Vega-Lite could not compile the chart: ${(err as Error).message}`, { cause: err });
  }
  const vegaFailed = (err: unknown): never => {
    if (isLeptonError(err)) throw err;
    const message = err instanceof Error ? err.message : describeValue(err, 120);
    throw new LeptonError('INVALID_ARGUMENT', `renderChart: Vega could not draw the compiled chart: ${xmlSafe(message).slice(0, 300)}`, { cause: err });
  };
  const refused: string[] = [];
  let view: InstanceType<typeof vega.View>;
  try {
    view = new vega.View(vega.parse(compiled as never), { renderer: 'none', loader: refusingLoader(refused) as never, logLevel: vega.None });
  } catch (err) {
    return vegaFailed(err);
  }
  try {
    let svg: string;
    try {
      await view.runAsync();
      svg = xmlSafe(await view.toSVG());
    } catch (err) {
      if (refused.length === 0) vegaFailed(err);
      svg = '';
    }
    if (refused.length > 0) {
      bad(`charts are drawn from inline data only (data.values); the spec asked to load ${refused.length === 1 ? 'an address' : `${refused.length} addresses`} (${describeValue(refused[0], 80)}), and nothing was loaded.`);
    }
    // The drawn size (concatenated views, padding, legends included), before any pixel is allocated.
    const size = svgSize(svg);
    if (size === undefined || !(size.width * size.height * zoom <= maxPixels)) {
      bad(`the chart is ${size === undefined ? 'of unknown size' : `${size.width} × ${size.height} px${format === 'png' ? ` at scale ${scale as number}` : ''}`}, more than the ${maxPixels} pixels allowed; make the chart smaller${format === 'png' ? ' or lower scale' : ''}.`);
    }
    if (format === 'svg') return svg;
    // A specifier in a variable: bundlers (esbuild for the GPU-machine bundles) leave this native addon to be loaded at
    // run time instead of failing on its .node binary; the benchmarks that are bundled never render charts.
    const resvg = '@resvg/resvg-js';
    const { Resvg } = (await import(resvg)) as typeof import('@resvg/resvg-js');
    try {
      const png = new Resvg(svg, {
        fitTo: { mode: 'zoom', value: scale as number },
        background: 'white',
        font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
      }).render();
      return png.asPng();
    } catch (err) {
      throw new LeptonError('INVALID_ARGUMENT', `renderChart: resvg could not draw the chart as PNG: ${err instanceof Error ? err.message.slice(0, 300) : 'unknown error'}`, { cause: err });
    }
  } finally {
    view.finalize();
  }
}
