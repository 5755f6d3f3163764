import { describe, expect, it } from 'vitest';
import { computeOee, type CountEvent, type StateEvent } from '@lepton/manufacturing';

const D = Date.parse('2026-05-04T00:00:00Z');
const at = (h: number, m = 0): number => D + (h * 60 + m) * 60_000;

describe('OEE', () => {
  it('matches a hand computation per asset and shift', () => {
    // Early shift 06:00–14:00 (480 min) on press-1: 30 min planned break, 50 min breakdown, the rest running.
    const states: StateEvent[] = [
      { timestamp: at(6), asset: 'press-1', state: 'running' },
      { timestamp: at(10), asset: 'press-1', state: 'planned-stop' },
      { timestamp: at(10, 30), asset: 'press-1', state: 'running' },
      { timestamp: at(12), asset: 'press-1', state: 'down' },
      { timestamp: at(12, 50), asset: 'press-1', state: 'running' },
      { timestamp: at(14), asset: 'press-1', state: 'idle' },
    ];
    const counts: CountEvent[] = [
      { timestamp: at(8), asset: 'press-1', good: 300, reject: 10 },
      { timestamp: at(13), asset: 'press-1', good: 280, reject: 10 },
      { timestamp: at(15), asset: 'press-1', good: 5, reject: 0 }, // late shift
    ];
    const r = computeOee(states, counts, {
      shifts: [{ name: 'early', start: '06:00', end: '14:00' }, { name: 'late', start: '14:00', end: '22:00' }],
      idealCycleSeconds: { 'press-1': 40 },
      from: at(6),
      to: at(22),
    });
    expect(r.map((x) => x.shift)).toEqual(['early', 'late']);
    const early = r[0]!;
    // planned 450 min, run 450 − 50 = 400 min, parts 600 of which 580 good, ideal 40 s/part
    expect(early.plannedSeconds).toBe(450 * 60);
    expect(early.runSeconds).toBe(400 * 60);
    expect(early.availability).toBeCloseTo(400 / 450, 12);
    expect(early.performance).toBeCloseTo((40 * 600) / (400 * 60), 12);
    expect(early.quality).toBeCloseTo(580 / 600, 12);
    expect(early.oee).toBeCloseTo((400 / 450) * ((40 * 600) / 24_000) * (580 / 600), 12);
    expect(r[1]).toMatchObject({ runSeconds: 0, total: 5, availability: 0, oee: 0 });
  });

  it('handles night shifts across midnight and refuses bad configuration', () => {
    const states: StateEvent[] = [{ timestamp: at(21), asset: 'm', state: 'running' }];
    const counts: CountEvent[] = [{ timestamp: at(23), asset: 'm', good: 100, reject: 0 }];
    const r = computeOee(states, counts, { shifts: [{ name: 'night', start: '22:00', end: '06:00' }], idealCycleSeconds: { m: 60 }, from: at(22), to: at(30) });
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ shift: 'night', runSeconds: 8 * 3600, availability: 1 });
    expect(r[0]!.performance).toBeCloseTo((60 * 100) / (8 * 3600), 12);
    expect(() => computeOee(states, counts, { shifts: [{ name: 'x', start: '25:00', end: '06:00' }], idealCycleSeconds: { m: 1 }, from: at(0), to: at(1) })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => computeOee(states, counts, { shifts: [{ name: 'n', start: '22:00', end: '06:00' }], idealCycleSeconds: {}, from: at(22), to: at(30) })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
