import { MACHINE_SIGNALS, simulateMachine } from '@lepton/manufacturing';

/** The package's seeded machine simulator (synthetic data), under the names the tests use. */
export const SIGNALS = [...MACHINE_SIGNALS];
export const machine = simulateMachine;
