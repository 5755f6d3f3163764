import { describe, expect, it } from 'vitest';
import { AlarmManager, type AlarmEvent } from '@lepton/manufacturing';

const evidence = (v: number, t: number) => ({ source: 'autoencoder', signals: ['vibration_rms'], values: { score: v }, window: { from: t - 30, to: t } });

describe('alarms', () => {
  it('raises once per episode after the debounce, clears with hysteresis, never chatters', () => {
    const m = new AlarmManager({ raiseAfter: 3, clearAfter: 4 });
    // score > 1 exceeds; clear only below 0.8 (hysteresis band 0.8–1)
    const scores = [0.5, 1.2, 0.5, 1.3, 1.4, 1.5, 1.6, 0.9, 1.1, 0.9, 0.7, 0.7, 0.7, 0.95, 0.7, 0.7, 0.7, 0.7, 0.5, 1.2, 1.2, 1.2];
    const events: Array<AlarmEvent & { i: number }> = [];
    scores.forEach((v, i) => {
      for (const e of m.update({ key: 'press-1/vibration', asset: 'press-1', exceeded: v > 1, clear: v < 0.8, severity: 'high', at: i, evidence: evidence(v, i) })) events.push({ ...e, i });
    });
    // blip at 1 is debounced; episode raised at 5 (3rd consecutive), survives the 0.9 / 1.1 / 0.95 wobble,
    // clears at 17 after four samples below 0.8 in a row; a new episode is raised at 21.
    expect(events.map((e) => `${e.type}@${e.i}`)).toEqual(['raised@5', 'cleared@17', 'raised@21']);
    const first = events[1]!.alarm;
    expect(first).toMatchObject({ raisedAt: 5, clearedAt: 17, occurrences: 5, severity: 'high', asset: 'press-1' });
    expect(first.evidence.values['score']).toBe(1.1); // latest evidence while active
    expect(m.active()).toHaveLength(1);
    expect(events[2]!.alarm.id).not.toBe(events[0]!.alarm.id);
  });

  it('keeps conditions apart and validates options', () => {
    const m = new AlarmManager({ raiseAfter: 1, clearAfter: 1 });
    const a = m.update({ key: 'a', asset: 'x', exceeded: true, severity: 'low', at: 0, evidence: evidence(2, 0) });
    const b = m.update({ key: 'b', asset: 'x', exceeded: true, severity: 'critical', at: 0, evidence: evidence(3, 0) });
    expect([a[0]?.type, b[0]?.type]).toEqual(['raised', 'raised']);
    expect(m.update({ key: 'a', asset: 'x', exceeded: false, severity: 'low', at: 1, evidence: evidence(0, 1) })[0]?.type).toBe('cleared');
    expect(m.active().map((x) => x.key)).toEqual(['b']);
    expect(() => new AlarmManager({ raiseAfter: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses options and judgements that would make an alarm silent or carry a NaN (issue 15)', () => {
    // A NaN debounce used to pass the `< 1` check and then never raise.
    for (const o of [{ raiseAfter: Number.NaN }, { clearAfter: Number.NaN }, { raiseAfter: 1.5 }, { idPrefix: '' }]) {
      expect(() => new AlarmManager(o), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const m = new AlarmManager({ raiseAfter: 1 });
    const ok = { key: 'a', asset: 'x', exceeded: true, severity: 'low' as const, at: 0, evidence: evidence(2, 0) };
    const bad: Array<[object, string]> = [
      [{ at: Number.NaN }, 'at'],
      [{ exceeded: 'yes' }, 'exceeded'],
      [{ severity: 'urgent' }, 'severity'],
      [{ key: '' }, 'key'],
      [{ evidence: evidence(Number.NaN, 0) }, 'evidence.values.score'],
      [{ evidence: { ...evidence(1, 0), window: { from: 0, to: Infinity } } }, 'evidence.window.to'],
      [{ evidence: null }, 'evidence'],
    ];
    for (const [over, field] of bad) {
      expect(() => m.update({ ...ok, ...over } as typeof ok), field).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field } }));
    }
    expect(m.active()).toEqual([]); // nothing half-applied
    expect(m.update(ok)[0]?.type).toBe('raised');
  });
});
