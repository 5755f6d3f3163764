// The federation's coordinator as its own Node process (forked by main.ts). It holds no patient data: it starts a
// FederatedCoordinator on 127.0.0.1 (port 0: any free port), reports the URL over IPC, and from then on only sees what
// the hospitals send over HTTP: under secure aggregation, masked updates whose sum is all it can unmask, and held-out
// metrics. Its state directory receives the global model of every round (weights, manifest, core bundle) and
// state.json, which is what lets a restarted coordinator resume.
import { initRuntime, isLeptonError } from '@lepton/core';
import { FederatedCoordinator, type FederatedLogger } from '@lepton/federated';
import { buildNetwork, type CoordinatorMessage, type StartMessage, type StopMessage } from './shared.js';

// The coordinator stays up after the last round until told to stop: the hospitals still fetch the final model and
// send its held-out metrics, and the evaluator downloads it.
let stop: () => void = () => {};
const stopRequested = new Promise<void>((resolve) => (stop = resolve));

const send = (m: CoordinatorMessage): void => {
  process.send?.(m);
};

// Warnings and errors are worth seeing in the demo output; routine progress is printed by main.ts as a table.
const logger: FederatedLogger = {
  info: () => {},
  warn: (message, fields) => console.warn(`[coordinator] ${message} ${JSON.stringify(fields ?? {})}`),
  error: (message, fields) => console.error(`[coordinator] ${message} ${JSON.stringify(fields ?? {})}`),
};

async function start(m: StartMessage): Promise<void> {
  await initRuntime({ backend: m.backend });
  const model = buildNetwork(m.network);
  const coordinator = await FederatedCoordinator.start({
    // With the model itself (not only its weights) every round's global model is also saved as a core bundle.
    initialWeights: model,
    partners: m.partners,
    adminToken: m.adminToken,
    rounds: m.rounds,
    // Hospitals are the textbook case for secure aggregation: the coordinator only ever unmasks the sum of the three
    // updates, never one hospital's update. It needs every participant of a round (or the seeds of those who drop).
    secureAggregation: true,
    quorum: m.partners.length,
    roundDeadlineMs: 120_000,
    stateDir: m.stateDir,
    bundleName: 'federated-ct-nodule',
    host: '127.0.0.1',
    port: 0,
    logger,
  });
  // If the hospitals' process goes away, do not linger.
  process.on('disconnect', () => void coordinator.close().then(() => process.exit(0)));
  send({ type: 'listening', url: coordinator.url, pid: process.pid });
  const history = await coordinator.done();
  send({ type: 'done', completedRounds: history.length });
  await stopRequested;
  await coordinator.close();
  process.disconnect?.();
}

process.on('message', (m: StartMessage | StopMessage) => {
  if (m.type === 'stop') {
    stop();
    return;
  }
  start(m).catch((err: unknown) => {
    send({ type: 'error', code: isLeptonError(err) ? String(err.code) : 'COORDINATOR_FAILED', message: (err as Error).message });
    process.exitCode = 1;
    process.disconnect?.();
  });
});
