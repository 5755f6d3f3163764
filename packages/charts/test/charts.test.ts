import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { MAX_CHART_SCALE, renderChart } from '@lepton/charts';

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

  it('draws inline data only: a spec naming a local file, a file:// or http:// address or an image URL loads nothing', async () => {
    // Vega's loader read a spec's data.url from this machine's disk (or fetched it) and drew the rows into the chart.
    const dir = await mkdtemp(join(tmpdir(), 'lepton-charts-'));
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('[{"hour": 1, "alerts": 99}]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const secret = join(dir, 'secret.json');
      await writeFile(secret, '[{"hour": "SECRET-ROW", "alerts": 5}]');
      const { port } = server.address() as { port: number };
      for (const url of [secret, `file://${secret}`, `http://127.0.0.1:${port}/rows.json`]) {
        await expect(renderChart({ ...spec, data: { url } }), url).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('inline data only') });
        await expect(renderChart({ ...spec, data: { url } }, { format: 'png' }), url).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      const image = { data: { values: [{ x: 1, y: 1, img: `http://127.0.0.1:${port}/a.png` }] }, mark: { type: 'image', width: 20, height: 20 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, url: { field: 'img', type: 'nominal' } } };
      await expect(renderChart(image), 'image mark').rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('inline data only') });
      expect(requests).toBe(0);
      // an image inline as a data: URI is drawn
      const dot = 'data:image/png;base64,' + PNG.sync.write(Object.assign(new PNG({ width: 1, height: 1 }), { data: Buffer.from([255, 0, 0, 255]) })).toString('base64');
      const inline = await renderChart({ ...image, data: { values: [{ x: 1, y: 1, img: dot }] } });
      expect(inline).toContain(dot);
      // links (the href channel) are written, never followed; only http(s) and mailto kept. A link made
      // vega-scenegraph throw outside any promise once the loader refused it, which ended the process.
      const linked = { ...spec, data: { values: [{ hour: 1, alerts: 3, u: 'https://example.com/a' }, { hour: 2, alerts: 5, u: 'javascript:alert(1)' }] }, encoding: { ...spec.encoding, href: { field: 'u', type: 'nominal' } } };
      const svg = await renderChart(linked);
      expect(svg.match(/<a [^>]*>/g)).toEqual(['<a xlink:href="https://example.com/a">', '<a xlink:href="">']);
      expect((await renderChart(linked, { format: 'png' })).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses specs and options it cannot honour', async () => {
    for (const bad of [null, 'bar', [spec], 42]) await expect(renderChart(bad as never), String(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // 'pdf' rendered a PNG; a NaN, negative or huge scale reached resvg (1e6 asked for a picture of terapixels)
    await expect(renderChart(spec, { format: 'pdf' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'svg' or 'png'") });
    for (const scale of [Number.NaN, 0, -1, MAX_CHART_SCALE + 1, 1e6, '2']) {
      await expect(renderChart(spec, { format: 'png', scale: scale as number }), String(scale)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(renderChart(spec, null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await renderChart(spec, { format: 'png', scale: 0.5 })).subarray(1, 4).toString()).toBe('PNG');
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
