/**
 * Signal names typed from the configured schema: a `LineMonitor` whose signals are a literal list checks the signal of
 * records built in code, its baseline and its events at compile time (`pnpm typecheck` runs the `@ts-expect-error`
 * lines below; a directive that no longer fails is itself an error), and still takes records as data at run time.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  LINE_SIGNALS,
  LineMonitor,
  type LineBaseline,
  type LineEvent,
  type LineMonitorOptions,
  type LineRecord,
  type SensorRecord,
} from '@lepton/manufacturing';

const SIGNALS = ['pressure', 'temp'] as const;
type Signal = (typeof SIGNALS)[number];
const baseline = { '*': { pressure: { center: 5, sigma: 0.1 }, temp: { center: 70, sigma: 1 } } };
const t0 = Date.UTC(2026, 4, 4, 6);
const rec = (i: number, signal: Signal, value: number): LineRecord<Signal> => ({ timestamp: t0 + i * 1000, asset: 'press-1', signal, value, quality: 'good' });

describe('LineMonitor signal types', () => {
  it('infers the signal names from a literal list and types push, baseline and events with them', async () => {
    const monitor = new LineMonitor({ signals: SIGNALS, baseline, subgroup: 2, quality: { now: () => t0 + 1e6 } });
    expectTypeOf(monitor).toEqualTypeOf<LineMonitor<Signal>>();
    expectTypeOf(monitor.push).returns.resolves.toEqualTypeOf<LineEvent<Signal>[]>();
    expectTypeOf<Extract<LineEvent<Signal>, { type: 'raised' }>['alarm']['evidence']['signals']>().toEqualTypeOf<Signal[]>();
    expectTypeOf<Extract<LineEvent<Signal>, { type: 'quality' }>['issue']['signal']>().toEqualTypeOf<Signal>();

    // @ts-expect-error 'tmep' is not one of the monitor's signals
    await monitor.push({ timestamp: t0, asset: 'press-1', signal: 'tmep', value: 70, quality: 'good' });
    // @ts-expect-error a baseline for a signal the monitor does not have
    const bad: LineMonitorOptions<Signal> = { signals: SIGNALS, baseline: { '*': { presure: { center: 5, sigma: 0.1 } } } };
    expect(bad.signals).toEqual(SIGNALS);

    // Records that are data (signal: string, e.g. parsed from MQTT) are accepted and checked at run time.
    const fromWire: SensorRecord = { timestamp: t0, asset: 'press-1', signal: 'humidity', value: 40, quality: 'good' };
    await monitor.push(fromWire);
    await monitor.push({ record: fromWire });
    // (the misspelt push above ran too: JavaScript has no types, so it was counted like these two)
    expect(monitor.stats().unknownSignal).toBe(3);

    // Pressure far out of its limits for a few subgroups: SPC alarms name only configured signals.
    const events: LineEvent<Signal>[] = [];
    for (let i = 0; i < 12; i++) {
      events.push(...(await monitor.push(rec(i, 'pressure', i < 4 ? 5 : 9))));
      events.push(...(await monitor.push(rec(i, 'temp', 70))));
    }
    events.push(...(await monitor.flush()));
    const raised = events.flatMap((e) => (e.type === 'raised' ? [e.alarm] : []));
    expect(raised.length).toBeGreaterThan(0);
    const named: Signal[] = raised.flatMap((a) => a.evidence.signals);
    expect(named).toContain('pressure');
    expect(named.every((s) => (SIGNALS as readonly string[]).includes(s))).toBe(true);
    expect(monitor.active().every((a) => a.evidence.signals.every((s) => s === 'pressure' || s === 'temp'))).toBe(true);
  });

  it('keeps the non-generic form: string[] signals take any name', async () => {
    const names: string[] = ['pressure'];
    const monitor = new LineMonitor({ signals: names, baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
    expectTypeOf(monitor).toEqualTypeOf<LineMonitor<string>>();
    expectTypeOf(monitor).toEqualTypeOf<LineMonitor>();
    await monitor.push({ timestamp: t0, asset: 'press-1', signal: 'anything', value: 1, quality: 'good' });
    expect(monitor.stats().unknownSignal).toBe(1);
    // fitBaseline keeps the names it was given, and a typed baseline fits an untyped monitor
    expectTypeOf(LineMonitor.fitBaseline({}, LINE_SIGNALS)).toEqualTypeOf<LineBaseline<(typeof LINE_SIGNALS)[number]>>();
    expectTypeOf<LineBaseline<Signal>>().toExtend<LineBaseline>();
  });
});
