import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { renderChart } from '@lepton/charts';

const spec = {
  title: 'Alerts per hour',
  width: 200,
  height: 100,
  data: { values: [{ hour: 1, alerts: 3 }, { hour: 2, alerts: 7 }, { hour: 3, alerts: 2 }] },
  mark: 'bar',
  encoding: { x: { field: 'hour', type: 'ordinal' }, y: { field: 'alerts', type: 'quantitative' } },
};

describe('renderChart (Vega-Lite, headless)', () => {
  it('renders SVG with the marks and the title', async () => {
    const svg = await renderChart(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Alerts per hour');
    expect(svg.match(/<path[^>]*role="graphics-symbol"|aria-roledescription="bar"/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  });

  it('renders PNG at the requested scale', async () => {
    const png = PNG.sync.read(await renderChart(spec, { format: 'png', scale: 2 }));
    expect(png.width).toBeGreaterThan(400); // 200 px of plot plus axes and padding, doubled
    expect(png.height).toBeGreaterThan(200);
    // Not blank: some pixels differ from the white background.
    let ink = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 200) ink++;
    expect(ink).toBeGreaterThan(500);
  });

  it('refuses a spec Vega-Lite cannot compile', async () => {
    await expect(renderChart({ mark: 'not-a-mark' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('ROC / PR chart', async () => {
  const { rocPrChartSpec } = await import('@lepton/charts');
  it('builds a spec whose curves and headline numbers match the metrics, and renders it', async () => {
    const y = [0, 0, 1, 1, 0, 1, 0, 0];
    const s = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.05];
    const spec = rocPrChartSpec(y, s, 'Test set') as { title: string; hconcat: Array<{ title: string; layer?: Array<{ data: { values: unknown[] } }>; data?: { values: unknown[] } }> };
    expect(spec.title).toBe('Test set');
    expect(spec.hconcat[0]!.title).toBe('ROC (AUC 0.867)');
    expect(spec.hconcat[1]!.title).toBe('Precision–recall (AP 0.867)');
    expect(spec.hconcat[0]!.layer![0]!.data.values.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    expect(spec.hconcat[1]!.data!.values.at(-1)).toMatchObject({ recall: 1 });
    const svg = await renderChart(spec as never);
    expect(svg).toContain('ROC (AUC 0.867)');
  });
});
