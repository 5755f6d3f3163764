// Federated benchmark (issue 7): round time and bytes sent per partner per round for a ≈1 M-parameter model with 5
// partners over real HTTP on loopback, plain FedAvg against secure aggregation (and secure aggregation with
// differential privacy). Local training is one gradient step on 64 synthetic rows, so a round's time is dominated by
// transport, masking and aggregation; the training time is measured and reported separately.
// `pnpm bench` runs it with the other suites; alone: `BENCH_SUITES=federated node --import tsx bench/run.ts`.
//
// Bytes are counted at the HTTP layer by a counting `fetch` handed to each partner: request bodies (upload) and response
// bodies (download) of every request the partner makes in the round, long polls and JSON included; HTTP headers are not
// counted. The coordinator and the partners run in this one process (partners' local training runs one at a time).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildMlp,
  initRuntime,
  runtimeInfo,
  seededRandom,
  tf,
  type TrainData,
} from '@lepton/core';
import {
  createIdentityKeys,
  FederatedCoordinator,
  FederatedPartner,
  readWeights,
  type DpOptions,
  type FederatedLogger,
} from '@lepton/federated';

/** The benchmark model: an MLP with 64 inputs and hidden layers of 1024 and 912 units (1,002,273 parameters). */
const MODEL = { inputDim: 64, hiddenUnits: [1024, 912], dropout: 0 };
const PARTNERS = 5;
const ROUNDS = 4; // the first is a warm-up and is left out of the medians
const ROWS_PER_PARTNER = 64;

/** One configuration's figures (medians over the timed rounds). */
export interface FederatedBenchRow {
  /** What the coordinator ran. */
  mode: 'fedavg' | 'secure-aggregation' | 'secure-aggregation+dp';
  /** Model parameters. */
  params: number;
  /** Partners (all take part in every round). */
  partners: number;
  /** Rounds timed (after one warm-up round). */
  rounds: number;
  /** Wall time of a round, from the partners' first request to the round closed at all of them, ms (median). */
  roundMs: number;
  /** Slowest timed round, ms. */
  roundMsMax: number;
  /** Local training (core `train()`, start to end) summed over the partners of a round, ms (median). */
  localTrainMs: number;
  /** Coordinator: last update accepted → round closed (aggregate or unmask, add, write weights and state), ms (median). */
  closeMs: number;
  /** Request body bytes one partner sends per round (median over partners and rounds). */
  uploadBytes: number;
  /** Response body bytes one partner receives per round. */
  downloadBytes: number;
  /** HTTP requests one partner makes per round (long polls included). */
  requests: number;
  /** The raw float32 size of the model, 4 × params. */
  rawBytes: number;
}

/** What {@link runFederatedBench} returns. */
export interface FederatedBench {
  /** Backend the partners trained on. */
  backend: string;
  /** One row per configuration. */
  rows: FederatedBenchRow[];
}

interface Counter {
  up: number;
  down: number;
  requests: number;
}

/** A `fetch` that counts request and response body bytes into `c`. */
function countingFetch(c: Counter): typeof fetch {
  return async (input, init) => {
    const body = init?.body;
    if (body instanceof Uint8Array) c.up += body.byteLength;
    else if (typeof body === 'string') c.up += Buffer.byteLength(body, 'utf8');
    else if (body !== undefined && body !== null) throw new Error('countingFetch: unexpected body type');
    c.requests++;
    const res = await fetch(input, init);
    const bytes = new Uint8Array(await res.arrayBuffer());
    c.down += bytes.byteLength;
    return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function partnerData(k: number): TrainData {
  const rand = seededRandom(1000 + k);
  const x = Float32Array.from({ length: ROWS_PER_PARTNER * MODEL.inputDim }, () => rand() * 2 - 1);
  const y = Float32Array.from({ length: ROWS_PER_PARTNER }, (_, i) => (x[i * MODEL.inputDim]! + 0.3 * (k - 2) > 0 ? 1 : 0));
  return { x: tf.tensor2d(x, [ROWS_PER_PARTNER, MODEL.inputDim]), y: tf.tensor2d(y, [ROWS_PER_PARTNER, 1]) };
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runMode(mode: FederatedBenchRow['mode']): Promise<FederatedBenchRow> {
  const init = buildMlp({ ...MODEL, seed: 1 });
  const initial = await readWeights(init);
  init.dispose();
  const params = initial.values.length;
  const stateDir = await mkdtemp(join(tmpdir(), 'lepton-fed-bench-'));
  // Round closing time from the coordinator's own log events.
  const lastAccepted = new Map<number, number>();
  const closed = new Map<number, number>();
  const logger: FederatedLogger = {
    info: (message, fields) => {
      const round = Number(fields?.['round']);
      if (message === 'update accepted') lastAccepted.set(round, performance.now());
      if (message === 'round closed') closed.set(round, performance.now());
    },
    warn: (message, fields) => console.warn(`coordinator: ${message} ${JSON.stringify(fields ?? {})}`),
    error: (message, fields) => console.error(`coordinator: ${message} ${JSON.stringify(fields ?? {})}`),
  };
  const ids = Array.from({ length: PARTNERS }, (_, k) => `p${k + 1}`);
  const token = (id: string): string => `bench-token-${id}-0123456789abcdef`;
  const dp: DpOptions | undefined = mode === 'secure-aggregation+dp' ? { clipNorm: 1, noiseMultiplier: 0.5 } : undefined;
  // Under secure aggregation every partner has a long-term identity the others (and the coordinator) know.
  const identities = new Map(ids.map((id) => [id, createIdentityKeys()]));
  const peersOf = (id: string): Record<string, string> => Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, identities.get(p)!.publicKey]));
  const secure = mode !== 'fedavg';
  const coordinator = await FederatedCoordinator.start({
    initialWeights: initial,
    partners: ids.map((id) => ({ id, token: token(id), identityKey: identities.get(id)!.publicKey })),
    rounds: ROUNDS,
    secureAggregation: secure,
    ...(dp ? { dp } : {}),
    roundDeadlineMs: 120_000,
    stateDir,
    logger,
  });
  const counters = ids.map((): Counter => ({ up: 0, down: 0, requests: 0 }));
  const data = ids.map((_, k) => partnerData(k));
  let trainMs = 0;
  const partners = ids.map((id, k) => {
    let t0 = 0;
    return new FederatedPartner({
      url: coordinator.url,
      id,
      token: token(id),
      model: buildMlp({ ...MODEL, seed: 1 }),
      trainData: data[k]!,
      local: {
        epochs: 1,
        batchSize: ROWS_PER_PARTNER,
        learningRate: 1e-3,
        seed: k + 1,
        onProgress: (e) => {
          if (e.type === 'start') t0 = performance.now();
          if (e.type === 'end') trainMs += performance.now() - t0;
        },
      },
      fetch: countingFetch(counters[k]!),
      pollWaitMs: 10_000,
      ...(secure ? { identity: identities.get(id)!, peers: peersOf(id) } : {}),
    });
  });
  const roundMs: number[] = [];
  const train: number[] = [];
  const close: number[] = [];
  const up: number[] = [];
  const down: number[] = [];
  const requests: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const before = counters.map((c) => ({ ...c }));
      trainMs = 0;
      const t0 = performance.now();
      const reports = await Promise.all(partners.map((p) => p.runRound()));
      const ms = performance.now() - t0;
      if (!reports.every((r) => r.aggregated)) throw new Error(`federated bench (${mode}): round ${round} did not aggregate every partner`);
      if (round === 1) continue; // warm-up
      roundMs.push(ms);
      train.push(trainMs);
      close.push(closed.get(round)! - lastAccepted.get(round)!);
      counters.forEach((c, k) => {
        up.push(c.up - before[k]!.up);
        down.push(c.down - before[k]!.down);
        requests.push(c.requests - before[k]!.requests);
      });
    }
    await Promise.all(partners.map((p) => p.runRound())); // the final "done" answer, not counted
  } finally {
    await coordinator.close();
    tf.dispose(data.flatMap((d) => [d.x as tf.Tensor, d.y]));
    await rm(stateDir, { recursive: true, force: true });
  }
  return {
    mode,
    params,
    partners: PARTNERS,
    rounds: ROUNDS - 1,
    roundMs: median(roundMs),
    roundMsMax: Math.max(...roundMs),
    localTrainMs: median(train),
    closeMs: median(close),
    uploadBytes: median(up),
    downloadBytes: median(down),
    requests: median(requests),
    rawBytes: 4 * params,
  };
}

/** Runs FedAvg, secure aggregation and secure aggregation + DP and prints a table. */
export async function runFederatedBench(log: (s: string) => void = console.log): Promise<FederatedBench> {
  await initRuntime();
  const rows: FederatedBenchRow[] = [];
  for (const mode of ['fedavg', 'secure-aggregation', 'secure-aggregation+dp'] as const) rows.push(await runMode(mode));
  const backend = runtimeInfo().backend;
  const p = rows[0]!.params;
  const mb = (b: number): string => `${(b / 1e6).toFixed(3)} MB (${(b / rows[0]!.rawBytes).toFixed(3)}× raw)`;
  log(
    `\nfederated rounds (MLP ${MODEL.inputDim}→${MODEL.hiddenUnits.join('→')}→1, ${p.toLocaleString('en-US')} parameters = ${(4 * p / 1e6).toFixed(3)} MB float32; ` +
      `${PARTNERS} partners over HTTP on 127.0.0.1, coordinator in the same process; one local step on ${ROWS_PER_PARTNER} rows; ${backend}; medians of ${ROUNDS - 1} rounds after a warm-up):`,
  );
  log('| mode | round wall time (ms) | of which local training, 5 partners (ms) | coordinator close (ms) | upload / partner / round | download / partner / round | requests / partner / round |');
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    log(`| ${r.mode} | ${r.roundMs.toFixed(0)} (max ${r.roundMsMax.toFixed(0)}) | ${r.localTrainMs.toFixed(0)} | ${r.closeMs.toFixed(0)} | ${mb(r.uploadBytes)} | ${mb(r.downloadBytes)} | ${r.requests} |`);
  }
  return { backend, rows };
}
