import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LineMonitor,
  LineStatus,
  PROMETHEUS_CONTENT_TYPE,
  lineStatusMetrics,
  renderPrometheus,
  startMetricsServer,
  type StatusChange,
} from '@lepton/manufacturing';
import { parsePrometheus, type PromSample } from './support/plant.js';

const T0 = 1_700_000_000_000;
const signals = ['pressure', 'temperature'];

/** A line of two signals, SPC on 2-sample subgroups (centre 5, sigma 0.1), a clock the test moves. */
function line() {
  let now = T0;
  const monitor = new LineMonitor({ signals, baseline: { '*': { pressure: { center: 5, sigma: 0.1 }, temperature: { center: 60, sigma: 1 } } }, subgroup: 2, quality: { intervalMs: 1000, now: () => now } });
  const status = new LineStatus({ line: 'line-1', monitor, signals, staleAfterMs: 30_000, now: () => now });
  const changes: StatusChange[] = [];
  status.subscribe((c) => changes.push(c));
  let tick = 0;
  const push = async (asset: string, pressure: number, quality: 'good' | 'bad' = 'good') => {
    const ts = T0 + tick++ * 1000;
    now = ts + 10;
    await status.push({ timestamp: ts, asset, signal: 'pressure', value: pressure, quality: 'good' });
    await status.push({ timestamp: ts, asset, signal: 'temperature', value: quality === 'bad' ? Number.NaN : 60, quality });
  };
  return { monitor, status, changes, push, setNow: (t: number) => (now = t), now: () => now };
}

const find = (samples: PromSample[], name: string, labels: Record<string, string>) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('LineStatus: asset health from what the line monitor emits', () => {
  it('goes ok → alarm on an SPC shift → ok once it clears, counts samples and rejections per asset, and acknowledges', async () => {
    const l = line();
    await l.push('press-1', 5);
    await l.push('press-1', 5.05);
    expect(l.status.health('press-1')).toMatchObject({ state: 'ok', activeAlarms: 0, severity: null, spc: { pressure: 'in-control', temperature: 'in-control' }, samples: { accepted: 4, rejected: 0 } });

    await l.push('press-1', 9);
    await l.push('press-1', 9); // subgroup mean 9: 40 sigma over the centre line
    const h = l.status.health('press-1')!;
    expect(h).toMatchObject({ state: 'alarm', activeAlarms: 1, unacknowledged: 1, severity: 'high', bySource: { spc: 1, model: 0, quality: 0 }, spc: { pressure: 'out-of-control', temperature: 'in-control' } });
    const [alarm] = l.status.activeAlarms();
    expect(alarm).toMatchObject({ asset: 'press-1', source: 'spc', severity: 'high' });
    expect(l.changes.filter((c) => c.type === 'alarm').map((c) => c.type === 'alarm' && c.event)).toEqual(['raised']);

    expect(l.status.acknowledge(alarm!.id, 'operator-7')).toBe(true);
    expect(l.status.acknowledge(alarm!.id, 'operator-7')).toBe(false); // once
    expect(l.status.acknowledge('no-such-alarm')).toBe(false);
    expect(l.status.health('press-1')).toMatchObject({ state: 'alarm', unacknowledged: 0 });
    expect(() => l.status.acknowledge(alarm!.id, 'x'.repeat(300))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));

    for (let i = 0; i < 6; i++) await l.push('press-1', 5); // three clean subgroups clear it
    expect(l.status.health('press-1')).toMatchObject({ state: 'ok', activeAlarms: 0, spc: { pressure: 'in-control' } });
    const events = l.changes.flatMap((c) => (c.type === 'alarm' ? [c] : []));
    expect(events.map((e) => e.event)).toEqual(['raised', 'acknowledged', 'cleared']);
    expect(events[2]!.alarm).toMatchObject({ id: alarm!.id, acknowledged: { by: 'operator-7' } });
    expect(events[2]!.alarm.clearedAt).toBeGreaterThan(events[2]!.alarm.raisedAt);

    // A refused record naming the asset counts against it; one naming no asset counts against nobody.
    await l.status.push({ timestamp: Number.NaN, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    await l.status.push({ timestamp: T0, asset: '', signal: 'pressure', value: 5, quality: 'good' });
    await l.status.push({ rejected: { source: 'mqtt plant/x', issues: [{ field: 'value', message: 'bad' }] } });
    expect(l.status.health('press-1')!.samples).toEqual({ accepted: 20, rejected: 1 });
    expect(l.status.stats()).toMatchObject({ rejectedUnattributed: 2, assets: 1 });
    expect(l.monitor.stats().rejected).toBe(3);
  });

  it('is degraded on a data-quality alarm, stale without samples, and retiring an asset forgets it everywhere', async () => {
    const l = line();
    await l.push('mill-1', 5);
    for (let i = 0; i < 3; i++) await l.push('mill-1', 5, 'bad');
    expect(l.status.health('mill-1')).toMatchObject({ state: 'degraded', bySource: { quality: 1, spc: 0 }, severity: 'low' });
    l.setNow(l.now() + 31_000);
    l.status.refresh();
    expect(l.status.health('mill-1')!.state).toBe('stale');
    expect(l.changes.at(-1)).toMatchObject({ type: 'health', health: { asset: 'mill-1', state: 'stale' } });
    expect(l.status.retire('mill-1')).toBe(true);
    expect(l.changes.at(-1)).toMatchObject({ type: 'retired', asset: 'mill-1' });
    expect(l.status.assets()).toEqual([]);
    expect(l.monitor.hasAsset('mill-1')).toBe(false);
    expect(l.status.retire('mill-1')).toBe(false);
  });

  it('refuses bad options with typed errors, and a listener that throws stops nothing', async () => {
    expect(() => new LineStatus({ line: 'a/b' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new LineStatus({ line: 'l', staleAfterMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new LineStatus({ line: 'l', monitor: {} as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await expect(new LineStatus({ line: 'l' }).push({ timestamp: T0, asset: 'a', signal: 's', value: 1, quality: 'good' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const l = line();
    l.status.subscribe(() => {
      throw new Error('consumer bug');
    });
    await l.push('press-1', 5);
    expect(l.status.health('press-1')!.samples.accepted).toBe(2);
    expect(l.status.stats().listenerErrors).toBeGreaterThan(0);
  });
});

describe('Prometheus exposition', () => {
  it('escapes any label value and help text so that a strict parser reads back exactly what was written', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }), (label, help, value) => {
        const text = renderPrometheus([{ name: 'lepton_test_value', help, type: 'gauge', samples: [{ labels: { asset: label, line: 'l' }, value }] }]);
        const parsed = parsePrometheus(text);
        expect(parsed.help.get('lepton_test_value')).toBe(help);
        expect(parsed.samples).toEqual([{ name: 'lepton_test_value', labels: { asset: label, line: 'l' }, value: Object.is(value, -0) ? 0 : value }]);
      }),
    );
  });

  it('refuses invalid metric names, label names, repeated families, counters not named _total and non-finite values', () => {
    const ok = { name: 'a_total', help: '', type: 'counter' as const, samples: [{ value: 1 }] };
    for (const bad of [
      { ...ok, name: '9lives_total' },
      { ...ok, name: 'a-b_total' },
      { ...ok, name: 'a' },
      { ...ok, samples: [{ value: Number.NaN }] },
      { ...ok, samples: [{ value: Infinity }] },
      { ...ok, samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] },
      { ...ok, samples: [{ labels: { __name__: 'x' }, value: 1 }] },
    ]) {
      expect(() => renderPrometheus([bad])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
    expect(() => renderPrometheus([ok, ok])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('serves a line over HTTP on loopback: scraped, parsed strictly, and matching the line; a bearer token is enforced', async () => {
    const l = line();
    await l.push('press-1', 5);
    await l.push('press-1', 9);
    await l.push('press-1', 9); // SPC alarm
    await l.push('press-2', 5);
    await l.status.push({ timestamp: T0 + 3000, asset: 'line "A"\\\nx', signal: 'pressure', value: 5, quality: 'good' }); // a held asset with an odd name (a refusal never creates one)
    await l.status.push({ timestamp: Number.NaN, asset: 'press-2', signal: 'pressure', value: 5, quality: 'good' });
    await l.status.push({ timestamp: Number.NaN, asset: 'line "A"\\\nx', signal: 'pressure', value: 5, quality: 'good' });
    l.setNow(l.now() + 2500);
    const token = 'a-long-enough-scrape-token';
    const server = await startMetricsServer({ sources: () => lineStatusMetrics(l.status, l.monitor), port: 0, token });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(server.url, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
      const { samples, type } = parsePrometheus(await res.text());
      expect(type.get('lepton_mfg_samples_accepted_total')).toBe('counter');
      expect(find(samples, 'lepton_mfg_samples_accepted_total', { line: 'line-1', asset: 'press-1' })[0]!.value).toBe(6);
      expect(find(samples, 'lepton_mfg_samples_rejected_total', { asset: 'press-2' })[0]!.value).toBe(1);
      // The odd asset name is a label value like any other, escaped and read back intact.
      expect(find(samples, 'lepton_mfg_samples_rejected_total', { asset: 'line "A"\\\nx' })[0]!.value).toBe(1);
      expect(find(samples, 'lepton_mfg_alarms_active', { asset: 'press-1', source: 'spc' })[0]!.value).toBe(1);
      expect(find(samples, 'lepton_mfg_alarms_active', { asset: 'press-2', source: 'spc' })[0]!.value).toBe(0);
      expect(find(samples, 'lepton_mfg_asset_health', { asset: 'press-1' }).map((s) => [s.labels['state'], s.value])).toEqual([['ok', 0], ['degraded', 0], ['stale', 0], ['alarm', 1]]);
      expect(find(samples, 'lepton_mfg_spc_out_of_control', { asset: 'press-1', signal: 'pressure' })[0]!.value).toBe(1);
      expect(find(samples, 'lepton_mfg_alarm_severity', { asset: 'press-1' })[0]!.value).toBe(3);
      const age = find(samples, 'lepton_mfg_last_sample_age_seconds', { asset: 'press-2' })[0]!.value;
      expect(age).toBeCloseTo(2.5, 5);
      expect(find(samples, 'lepton_mfg_last_sample_timestamp_seconds', { asset: 'press-2' })[0]!.value).toBe((T0 + 3000) / 1000);
      expect(find(samples, 'lepton_mfg_monitor_records_total', {})[0]!.value).toBe(l.monitor.stats().records);
      expect(find(samples, 'lepton_mfg_monitor_alarms_raised_total', { source: 'spc' })[0]!.value).toBe(1);

      expect((await fetch(server.url)).status).toBe(401);
      expect((await fetch(server.url, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
      expect((await fetch(server.url.replace('/metrics', '/other'), { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${token}` } })).status).toBe(405);
      expect(server.stats()).toMatchObject({ scrapes: 1, refused: 4, failures: 0 });
    } finally {
      await server.close();
    }
    await expect(startMetricsServer({ sources: [], host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(startMetricsServer({ sources: [], token: 'short' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(startMetricsServer({ sources: 'x' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
