import { seededRandom } from '@lepton/core';

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
 */
export function simulateMachine(samples: number, seed: number, fault?: { kind: MachineFault; from: number }): number[][] {
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
