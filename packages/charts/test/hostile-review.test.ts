// Hostile review of @lepton/charts (sections numbered by finding): bounded pixels and rows for specs from elsewhere,
// well-formed SVG whatever the titles hold, and typed errors for everything Vega or resvg refuses.
import { describe, expect, it } from 'vitest';
import { MAX_CHART_DATA_ROWS, MAX_CHART_PIXELS, renderChart, rocPrChartSpec } from '@lepton/charts';

const bars = (values: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  width: 200,
  height: 100,
  data: { values },
  mark: 'bar',
  encoding: { x: { field: 'a', type: 'ordinal' }, y: { field: 'b', type: 'quantitative' } },
  ...extra,
});
const three = [{ a: 'x', b: 1 }, { a: 'y', b: 3 }, { a: 'z', b: 2 }];

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<{ code: string; message: string; cause?: unknown }> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name?: string; code: string; message: string; cause?: unknown } | undefined;
  expect(err, 'expected a rejection').toBeDefined();
  expect(err!.name).toBe('LeptonError');
  expect(err!.code).toBe('INVALID_ARGUMENT');
  expect(err!.message).toMatch(pattern);
  return err!;
}

/**
 * A strict XML 1.0 well-formedness check, enough for SVG: only characters of the Char production, tags that nest and
 * close, attributes quoted and unique, `&` only in a known or numeric entity reference, `<` never raw in text or values.
 */
function wellFormed(xml: string): boolean {
  if (/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(xml)) return false;
  if (/&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(xml)) return false;
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== '') return false;
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end < 0) return false;
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) return false;
      i = end + 2;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end < 0 || stack.length === 0) return false;
      i = end + 3;
      continue;
    }
    const m = /^<(\/?)([A-Za-z_:][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(xml.slice(lt));
    if (m === null) return false;
    const [whole, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
    const names = [...attrs.matchAll(/([A-Za-z_:][\w:.-]*)\s*=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) return false;
    if (close === '/') {
      if (attrs.trim() !== '' || selfClose === '/' || stack.pop() !== name) return false;
    } else if (selfClose !== '/') {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    i = lt + whole.length;
  }
  return stack.length === 0 && roots === 1;
}

describe('the test\'s own XML check', () => {
  it('accepts well-formed markup and refuses what XML forbids', () => {
    expect(wellFormed('<svg a="1"><g><text>x &amp; y</text></g><path d="M0"/></svg>')).toBe(true);
    expect(wellFormed('<svg><text>a\u0001b</text></svg>')).toBe(false);
    expect(wellFormed('<svg><text>a\uFFFEb</text></svg>')).toBe(false);
    expect(wellFormed('<svg><text>a\uD800b</text></svg>')).toBe(false);
    expect(wellFormed('<svg><g></svg>')).toBe(false);
    expect(wellFormed('<svg a="1" a="2"></svg>')).toBe(false);
    expect(wellFormed('<svg>a & b</svg>')).toBe(false);
  });
});

describe('8. bounded pixels and data rows', () => {
  it('documents the bounds', () => {
    expect(MAX_CHART_PIXELS).toBe(64 * 1024 * 1024);
    expect(MAX_CHART_DATA_ROWS).toBe(1_000_000);
  });

  it('refuses a 20,000 × 20,000 px PNG at scale 8 (103 GB for resvg) before anything is drawn', async () => {
    const t0 = performance.now();
    await refused(renderChart(bars(three, { width: 20_000, height: 20_000 }), { format: 'png', scale: 8 }), /pixels allowed/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('counts the drawn size (concatenated views, padding) against the budget, after Vega ran and before resvg', async () => {
    const concat = { hconcat: [bars(three), bars(three), bars(three)] }; // each view 200 × 100, the chart ~700 × 150
    const svg = await renderChart(concat, { maxPixels: 200_000 });
    expect(svg.startsWith('<svg')).toBe(true);
    await refused(renderChart(concat, { maxPixels: 50_000 }), /chart is \d+ × \d+ px, more than the 50000 pixels/);
    // PNG: the pixels are the SVG's times scale²
    await refused(renderChart(concat, { format: 'png', scale: 2, maxPixels: 200_000 }), /at scale 2/);
    // the budget only lowers the package's bound
    await refused(renderChart(concat, { maxPixels: MAX_CHART_PIXELS + 1 }), /maxPixels must be/);
  });

  it('refuses a data.sequence larger than the row budget before running it (5e6 rows ran out of heap)', async () => {
    const t0 = performance.now();
    const seq = { data: { sequence: { start: 0, stop: 5e6, as: 'a' } }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } };
    await refused(renderChart(seq), /5000000 data rows/);
    expect(performance.now() - t0).toBeLessThan(2000);
    // an uncountable generator (a step of 0) is refused too, as is an impute over a huge key range
    await refused(renderChart({ ...seq, data: { sequence: { start: 0, stop: 10, step: 0, as: 'a' } } }), /uncountable/);
    await refused(
      renderChart(bars(three, { transform: [{ impute: 'b', key: 'a', keyvals: { start: 0, stop: 1e7 } }] })),
      /data rows/,
    );
  });

  it('counts inline values (and datasets) against maxDataRows', async () => {
    await refused(renderChart(bars(three), { maxDataRows: 2 }), /3 data rows .* more than the 2 allowed/);
    expect((await renderChart(bars(three), { maxDataRows: 3 })).startsWith('<svg')).toBe(true);
    await refused(renderChart({ ...bars([]), data: { name: 'd' }, datasets: { d: three } }, { maxDataRows: 2 }), /data rows/);
  });
});

describe('9. characters XML forbids never break the SVG (nor the PNG)', () => {
  const hostile = 'Ward\u0001 \u0008A\f\uFFFE \uD800B\uDFFF end';

  it('renderChart removes them from titles, labels and aria text: the SVG is well-formed', async () => {
    const spec = bars([{ a: `x${hostile}`, b: 1 }, { a: 'y', b: 2 }], {
      title: hostile,
      encoding: { x: { field: 'a', type: 'nominal', title: hostile }, y: { field: 'b', type: 'quantitative' } },
    });
    const svg = await renderChart(spec);
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toContain('Ward');
    expect(svg).toContain('end');
  });

  it('the PNG path draws it (resvg refused it untyped)', async () => {
    const png = await renderChart(bars(three, { title: hostile }), { format: 'png', scale: 1 });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('rocPrChartSpec refuses such a title, and a title that is not a string', () => {
    for (const title of ['Valid\u0001ation', 'a\uFFFF', 'lone \uDC00']) {
      expect(() => rocPrChartSpec([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7], title)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
    expect(() => rocPrChartSpec([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7], 42 as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    // tabs, line breaks and astral characters are fine
    expect(rocPrChartSpec([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7], 'Valid\tation\n😀')['title']).toBe('Valid\tation\n😀');
  });
});

describe('11. errors Vega raises are typed', () => {
  it('an unknown function, a global callee, a parameter expression that does not parse → INVALID_ARGUMENT with cause', async () => {
    const cases = [
      bars(three, { transform: [{ filter: 'nosuchfn(datum.b)' }] }),
      bars(three, { transform: [{ filter: 'window.alert(1)' }] }),
      bars(three, { params: [{ name: 'p', expr: 'this is not vega' }] }),
    ];
    for (const spec of cases) {
      const err = await refused(renderChart(spec), /Vega could not draw/);
      expect(err.cause).toBeInstanceOf(Error);
    }
  });
});

describe('14. rocPrChartSpec refuses infinite scores', () => {
  it('Infinity and -Infinity are INVALID_INPUT naming the index', () => {
    for (const bad of [Infinity, -Infinity]) {
      const err = (() => {
        try {
          rocPrChartSpec([0, 1, 0, 1], [0.1, bad, 0.3, 0.7]);
        } catch (e) {
          return e as { code: string; details: Record<string, unknown> };
        }
        return undefined;
      })();
      expect(err).toMatchObject({ code: 'INVALID_INPUT', details: { index: 1 } });
    }
  });
});
