// Federated learning on non-IID partners: five regional card issuers train one fraud model without pooling data.
//
// Data: the finance package's seeded synthetic transactions (synthetic data, no real cardholders), turned into model
// inputs by its point-in-time FeatureEngine and standardised. Partners are regions: each card belongs to the region of
// its home city (the city nearest the median of its genuine card-present locations; Paris and Lille form one region),
// so every partner holds only its own cardholders' transactions.
//
// Why lone partners are worse (the split is chosen to make that true, and the test checks it): each region's fraud is
// of one pattern — region 0 sees card testing, regions 1 and 3 account takeover, regions 2 and 4 compromised
// merchants (the other patterns' fraud rows are left out of that region's training data, as if its issuer had never met
// them) — and the account-takeover and compromised-merchant regions hold only a handful of positives each. A lone model
// cannot score fraud patterns it never saw; the federated model learns them all from the partners together.
//
// All three are evaluated on one common held-out set: every card's transactions of the last six days, all patterns.
// Simplifications, stated: features come from one FeatureEngine replay over all transactions and the scaler is fitted
// on the union of the training rows (both could be computed per partner, the scaler from securely summed moments);
// rounds run in process (no HTTP), but every update goes through the binary wire format.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, initRuntime, tf } from '@lepton/core';
import {
  decodeWeights,
  encodeWeights,
  evaluateWeights,
  fedAvg,
  readWeights,
  trainLocal,
  type LocalTrainOptions,
  type WeightSet,
} from '@lepton/federated';
import { FeatureEngine, fitScaler, generateTransactions, replayHistory, scaleRows, type Pattern, type SyntheticTransaction } from '@lepton/finance';

const DAY = 86_400_000;
/** The generator's home cities (Paris, Lyon, Marseille, Lille, Bordeaux, Nantes) and the region each belongs to. */
const CITIES: ReadonlyArray<readonly [number, number]> = [
  [48.8566, 2.3522],
  [45.764, 4.8357],
  [43.2965, 5.3698],
  [50.6292, 3.0573],
  [44.8378, -0.5792],
  [47.2184, -1.5536],
];
const REGION_OF_CITY = [0, 1, 2, 0, 3, 4];
const REGION_PATTERN: readonly Pattern[] = ['card-testing', 'account-takeover', 'compromised-merchant', 'account-takeover', 'compromised-merchant'];
const PARTNERS = 5;
const ROUNDS = 15;
const MARGIN = 0.03;
/** The same optimiser, learning rate and batch size for every arm; central and lone train as many epochs as rounds. */
const LOCAL: LocalTrainOptions = { optimizer: 'sgd', learningRate: 0.2, batchSize: 128 };

interface Split {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

let partners: Split[];
let union: Split;
let heldOut: Split;
let positivesByPartner: Array<Record<string, number>>;
let inputDim: number;
let heldOutPatterns: Set<string>;

function homeRegions(txs: readonly SyntheticTransaction[]): Map<string, number> {
  const places = new Map<string, Array<[number, number]>>();
  for (const t of txs) {
    if (t.label !== 0 || t.latitude === undefined || t.longitude === undefined) continue;
    const list = places.get(t.cardId) ?? [];
    list.push([t.latitude, t.longitude]);
    places.set(t.cardId, list);
  }
  const median = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const out = new Map<string, number>();
  for (const [card, list] of places) {
    const lat = median(list.map((p) => p[0]));
    const lon = median(list.map((p) => p[1]));
    let best = 0;
    CITIES.forEach(([a, b], i) => {
      if ((a - lat) ** 2 + (b - lon) ** 2 < (CITIES[best]![0] - lat) ** 2 + (CITIES[best]![1] - lon) ** 2) best = i;
    });
    out.set(card, REGION_OF_CITY[best]!);
  }
  return out;
}

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  const days = 21;
  const txs = generateTransactions({ cards: 800, days, seed: 7 });
  const rows = await replayHistory(new FeatureEngine(), txs);
  inputDim = rows[0]!.length;
  const region = homeRegions(txs);
  const start = txs[0]!.timestamp;
  const trainFrom = start + 7 * DAY; // the first week only warms up the 7-day feature windows
  const trainTo = start + (days - 6) * DAY;
  const index = txs.map((_, i) => i);
  const trainIdx = index.filter((i) => txs[i]!.timestamp >= trainFrom && txs[i]!.timestamp < trainTo);
  const testIdx = index.filter((i) => txs[i]!.timestamp >= trainTo);
  const partIdx = Array.from({ length: PARTNERS }, (_, p) =>
    trainIdx.filter((i) => {
      const t = txs[i]!;
      return region.get(t.cardId) === p && (t.label === 0 || t.pattern === REGION_PATTERN[p]);
    }),
  );
  const unionIdx = partIdx.flat().sort((a, b) => a - b);
  const scaler = fitScaler(unionIdx.map((i) => rows[i]!));
  const make = (idx: number[]): Split => ({
    x: tf.tensor2d(scaleRows(idx.map((i) => rows[i]!), scaler), [idx.length, inputDim]),
    y: tf.tensor2d(idx.map((i) => txs[i]!.label), [idx.length, 1]),
  });
  partners = partIdx.map(make);
  union = make(unionIdx);
  heldOut = make(testIdx);
  heldOutPatterns = new Set(testIdx.filter((i) => txs[i]!.label === 1).map((i) => txs[i]!.pattern));
  positivesByPartner = partIdx.map((idx) => {
    const count: Record<string, number> = {};
    for (const i of idx) if (txs[i]!.label === 1) count[txs[i]!.pattern] = (count[txs[i]!.pattern] ?? 0) + 1;
    return count;
  });
});

describe('federated learning on non-IID regional partners (finance synthetic transactions)', () => {
  it('FedAvg and FedProx land within the margin of central training and clearly beat lone partners', async () => {
    // the split is what the header says: one fraud pattern per region, few positives outside region 0
    positivesByPartner.forEach((count, p) => expect(Object.keys(count)).toEqual([REGION_PATTERN[p]]));
    expect(positivesByPartner.slice(1).every((c) => Object.values(c)[0]! <= 20)).toBe(true);
    expect([...heldOutPatterns].sort()).toEqual(['account-takeover', 'card-testing', 'compromised-merchant']);

    const model = buildMlp({ inputDim, hiddenUnits: [16], seed: 1 });
    const init = await readWeights(model);
    const plus = (base: WeightSet, delta: Float32Array): WeightSet => ({ specs: base.specs, values: base.values.map((v, i) => v + delta[i]!) });
    const auc = async (w: WeightSet): Promise<number> => (await evaluateWeights(model, w, heldOut))['auc']!;

    // (a) central: one model on the union of the partners' training data
    const central = await auc(plus(init, (await trainLocal(model, init, union, { ...LOCAL, epochs: ROUNDS, seed: 1 })).delta));

    // (c) each partner alone, as many epochs
    const lone: number[] = [];
    for (const data of partners) lone.push(await auc(plus(init, (await trainLocal(model, init, data, { ...LOCAL, epochs: ROUNDS, seed: 1 })).delta)));
    const loneMean = lone.reduce((a, b) => a + b, 0) / lone.length;

    // (b) federated: ROUNDS rounds of one local epoch per partner, deltas through the wire format, weighted mean
    const before = tf.memory().numTensors;
    const federate = async (algorithm: 'fedavg' | 'fedprox'): Promise<number> => {
      let global = init;
      for (let round = 0; round < ROUNDS; round++) {
        const updates = [];
        for (let p = 0; p < PARTNERS; p++) {
          const u = await trainLocal(model, global, partners[p]!, { ...LOCAL, epochs: 1, seed: 100 * round + p, algorithm, mu: 0.01 });
          const wire = encodeWeights({ specs: global.specs, values: u.delta }, { round, partner: p, samples: u.samples });
          const received = decodeWeights(wire, global.specs);
          updates.push({ values: received.values as Float32Array, samples: received.meta['samples'] as number });
        }
        global = plus(global, fedAvg(updates));
      }
      return await auc(global);
    };
    const fedavg = await federate('fedavg');
    const fedprox = await federate('fedprox');
    expect(tf.memory().numTensors).toBe(before);

    console.log(
      `non-IID federated fraud (held-out ROC AUC): central ${central.toFixed(4)}, FedAvg ${fedavg.toFixed(4)}, FedProx(mu 0.01) ${fedprox.toFixed(4)}, ` +
        `lone partners ${lone.map((a) => a.toFixed(3)).join(' / ')} (mean ${loneMean.toFixed(4)})`,
    );
    expect(central).toBeGreaterThan(0.95);
    expect(fedavg).toBeGreaterThanOrEqual(central - MARGIN);
    expect(fedprox).toBeGreaterThanOrEqual(central - MARGIN);
    expect(fedavg).toBeGreaterThan(loneMean + 0.15);
    expect(fedavg).toBeGreaterThan(Math.max(...lone));
    model.dispose();
  });
});
