import { seededRandom } from '@lepton/core';
import { finite, integer, invalid, readFields } from '../internal/guards.js';

/** Most samples one call of {@link simulateMachine} makes (a row of four numbers each). */
const MAX_SAMPLES = 10_000_000;
const FAULTS: readonly string[] = ['step-pressure', 'drift-vibration', 'decoupled-temperature'];

/** Signals of {@link simulateMachine}, in column order. */
export const MACHINE_SIGNALS = ['temperature', 'vibration_rms', 'pressure', 'current'] as const;

/** Faults {@link simulateMachine} can inject. */
export type MachineFault = 'step-pressure' | 'drift-vibration' | 'decoupled-temperature';

/**
 * Seeded synthetic machine — **synthetic data**: a load cycle drives motor current; temperature follows current with
 * thermal lag; pressure and vibration follow load; sensor noise on all. A fault can start at sample `from`: a pressure
 * step, a slow vibration drift (bearing wear), or temperature decoupling from current (cooling failure).
 *
 * @param samples - number of samples (one per second)
 * @param seed - same seed, same data
 * @param fault - optional fault and its start
 * @returns one row `[temperature, vibration_rms, pressure, current]` per sample
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (`details.field`) for a sample count that is not an
 *   integer from 0 to 10,000,000, a seed that is not a finite number, or a fault that is not `{ kind, from }` with a
 *   known kind and a finite start
 */
export function simulateMachine(samples: number, seed: number, fault?: { kind: MachineFault; from: number }): number[][] {
  const fn = 'simulateMachine';
  integer(fn, 'samples', samples, 0, MAX_SAMPLES);
  finite(fn, 'seed', seed, 'INVALID_ARGUMENT');
  if (fault !== undefined) {
    if (typeof fault !== 'object' || fault === null) throw invalid(fn, 'fault', 'an object { kind, from }', fault, 'INVALID_ARGUMENT');
    // Read once: a getter that throws is INVALID_ARGUMENT naming the field, and the copy is what the loop uses.
    fault = readFields(fn, 'fault', fault, ['kind', 'from'] as const) as { kind: MachineFault; from: number };
    if (!FAULTS.includes(fault.kind)) throw invalid(fn, 'fault.kind', `one of ${FAULTS.join(', ')}`, fault.kind, 'INVALID_ARGUMENT');
    finite(fn, 'fault.from', fault.from, 'INVALID_ARGUMENT');
  }
  const rand = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const rows: number[][] = [];
  let temp = 60;
  for (let t = 0; t < samples; t++) {
    const load = 0.6 + 0.3 * Math.sin((2 * Math.PI * t) / 120) + 0.05 * normal();
    const current = 20 + 15 * load + 0.3 * normal();
    temp += 0.05 * (40 + 1.2 * current - temp) + 0.1 * normal();
    let pressure = 5 + 2 * load + 0.05 * normal();
    let vibration = 1.5 + 0.8 * load + 0.05 * normal();
    let temperature = temp;
    if (fault && t >= fault.from) {
      const k = t - fault.from;
      if (fault.kind === 'step-pressure') pressure += 0.8;
      if (fault.kind === 'drift-vibration') vibration += 0.004 * k;
      if (fault.kind === 'decoupled-temperature') temperature += 3 + 0.01 * k;
    }
    rows.push([temperature, vibration, pressure, current]);
  }
  return rows;
}
