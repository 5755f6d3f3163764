import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  addGaussianNoise,
  clipUpdate,
  createIdentityKeys,
  createKeyAnnouncement,
  createMaskingKeys,
  decodeWeights,
  encodeWeights,
  epsilonFromRdp,
  FederatedCoordinator,
  FederatedPartner,
  fedAvg,
  fedProxLoss,
  gaussianNoiseStd,
  maskClipLimit,
  maskUpdate,
  pairSeed,
  RdpAccountant,
  rdpSampledGaussian,
  readWeights,
  resolveCoordinatorOptions,
  trainLocal,
  WEIGHTS_MAGIC,
  type CoordinatorOptions,
  type WeightSet,
} from '@lepton/federated';
import { expectRejected, HOSTILE, HOSTILE_JSON } from '../../../tests/support/hostile.js';
import { ADMIN, call, partnerData, smallModel, stateDir, tokenOf } from './support/federated.js';

// Every position below is validated; a hostile value there must be refused with a LeptonError, never a TypeError
// from building the message (`${value}` / String(value) of a value whose toString is missing or throws).

/** A weights payload whose header JSON is `header` (the wire format of encodeWeights, hand-built). */
function payload(header: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + Math.ceil(json.length / 4) * 4);
  out.set(new TextEncoder().encode(WEIGHTS_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  return out;
}

describe('federated entry points with hostile values: a LeptonError, never a TypeError', () => {
  let model: ReturnType<typeof smallModel>;
  let weights: WeightSet;
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' }, {});
    model = smallModel(1);
    weights = await readWeights(model);
  });
  afterAll(() => model.dispose());

  it('differential privacy: clipUpdate, addGaussianNoise, gaussianNoiseStd', async () => {
    const delta = new Float32Array([3, 4]);
    await expectRejected('clipUpdate(clipNorm)', (v) => clipUpdate(delta, v as number), 'INVALID_ARGUMENT');
    await expectRejected('addGaussianNoise(stddev)', (v) => addGaussianNoise(delta, v as number, Math.random), 'INVALID_ARGUMENT');
    await expectRejected('gaussianNoiseStd(clipNorm)', (v) => gaussianNoiseStd(v as number, 1, 2), 'INVALID_ARGUMENT');
    await expectRejected('gaussianNoiseStd(noiseMultiplier)', (v) => gaussianNoiseStd(1, v as number, 2), 'INVALID_ARGUMENT');
    await expectRejected('gaussianNoiseStd(partners)', (v) => gaussianNoiseStd(1, 1, v as number), 'INVALID_ARGUMENT');
  });

  it('privacy accounting: rdpSampledGaussian, epsilonFromRdp, RdpAccountant.compose', async () => {
    await expectRejected('rdpSampledGaussian(samplingRate)', (v) => rdpSampledGaussian(v as number, 1), 'INVALID_ARGUMENT');
    await expectRejected('rdpSampledGaussian(noiseMultiplier)', (v) => rdpSampledGaussian(0.5, v as number), 'INVALID_ARGUMENT');
    await expectRejected('rdpSampledGaussian(orders[0])', (v) => rdpSampledGaussian(0.5, 1, [v as number]), 'INVALID_ARGUMENT');
    await expectRejected('epsilonFromRdp(delta)', (v) => epsilonFromRdp([1], [2], v as number), 'INVALID_ARGUMENT');
    await expectRejected('RdpAccountant.compose(steps)', (v) => new RdpAccountant().compose({ noiseMultiplier: 1, steps: v as number }), 'INVALID_ARGUMENT');
  });

  it('secure aggregation: maskClipLimit, maskUpdate options and seeds, pairSeed round id, createKeyAnnouncement', async () => {
    const delta = new Float32Array([0.5, -0.5]);
    await expectRejected('maskClipLimit(partners)', (v) => maskClipLimit(1, v as number), 'INVALID_ARGUMENT');
    await expectRejected('maskUpdate(scale)', (v) => maskUpdate(delta, 'a', [], { scale: v as number, clipValue: 1 }), 'INVALID_ARGUMENT');
    await expectRejected('maskUpdate(clipValue)', (v) => maskUpdate(delta, 'a', [], { scale: 256, clipValue: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('maskUpdate(peer seed)', (v) => maskUpdate(delta, 'a', [{ id: 'b', seed: v as Uint8Array }], { scale: 256, clipValue: 1 }), 'FEDERATED_BAD_KEY');
    const me = createMaskingKeys();
    const peer = createMaskingKeys();
    await expectRejected('pairSeed(roundId)', (v) => pairSeed(me, 'a', 'b', peer.publicKey, v as string), 'INVALID_ARGUMENT', HOSTILE);
    const identity = createIdentityKeys();
    const fields = { federationId: 'f', roundId: 'r', partnerId: 'a', samples: 5, peers: ['b'] };
    await expectRejected('createKeyAnnouncement(samples)', (v) => createKeyAnnouncement(identity, { ...fields, samples: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('createKeyAnnouncement(peers[0])', (v) => createKeyAnnouncement(identity, { ...fields, peers: [v as string] }), 'INVALID_ARGUMENT');
  });

  it('FedAvg, FedProx and local training options', async () => {
    await expectRejected('fedAvg(samples)', (v) => fedAvg([{ values: new Float32Array(2), samples: v as number }]), 'INVALID_ARGUMENT');
    await expectRejected('fedProxLoss(mu)', (v) => fedProxLoss('binaryCrossentropy', model, weights, v as number), 'INVALID_ARGUMENT');
    await expectRejected('fedProxLoss(loss name)', (v) => fedProxLoss(v as string, model, weights, 0.1), 'INVALID_ARGUMENT');
    const data = partnerData(1, 8, 1);
    try {
      await expectRejected('trainLocal(algorithm)', (v) => trainLocal(model, weights, data, { algorithm: v as 'fedavg' }), 'INVALID_ARGUMENT');
    } finally {
      tf.dispose([data.x, data.y]);
    }
  });

  it('the wire format: a header from the network, and meta a caller cannot write as JSON', async () => {
    const specs = weights.specs.map((s) => ({ name: s.name, shape: [...s.shape] }));
    await expectRejected('decodeWeights(header.dtype)', (v) => decodeWeights(payload({ specs, dtype: v, count: 0, meta: {} })), 'FEDERATED_BAD_UPDATE', HOSTILE_JSON);
    await expectRejected('decodeWeights(header.count)', (v) => decodeWeights(payload({ specs, dtype: 'float32', count: v, meta: {} })), 'FEDERATED_BAD_UPDATE', [...HOSTILE_JSON, ['long', 'c'.repeat(1e6)]]);
    await expectRejected('encodeWeights(meta.x)', (v) => encodeWeights(weights, { x: v }), 'INVALID_ARGUMENT', [['BigInt', 12n], ['toJSON throws', { toJSON: (): never => { throw new Error('toJSON'); } }]]);
  });

  it('coordinator options and partner options', async () => {
    const dir = await stateDir();
    const base = (): CoordinatorOptions => ({ initialWeights: weights, partners: [{ id: 'A', token: tokenOf('A') }, { id: 'B', token: tokenOf('B') }], rounds: 1, stateDir: dir });
    for (const key of ['rounds', 'quorum', 'roundDeadlineMs', 'maxSamples', 'algorithm', 'mu', 'bundleName', 'port'] as const) {
      // A long bundle name of letters is a valid one.
      await expectRejected(`resolveCoordinatorOptions(${key})`, (v) => resolveCoordinatorOptions({ ...base(), [key]: v }), 'INVALID_ARGUMENT', key === 'bundleName' ? HOSTILE : undefined);
    }
    await expectRejected('resolveCoordinatorOptions(partners[0].id)', (v) => resolveCoordinatorOptions({ ...base(), partners: [{ id: v as string, token: tokenOf('A') }] }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(masking.scale)', (v) => resolveCoordinatorOptions({ ...base(), masking: { scale: v as number } }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(masking.clipValue)', (v) => resolveCoordinatorOptions({ ...base(), masking: { clipValue: v as number } }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(dp.clipNorm)', (v) => resolveCoordinatorOptions({ ...base(), dp: { clipNorm: v as number, noiseMultiplier: 1 } }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(dp.delta)', (v) => resolveCoordinatorOptions({ ...base(), dp: { clipNorm: 1, noiseMultiplier: 1, delta: v as number } }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(updateBounds.maxAbs)', (v) => resolveCoordinatorOptions({ ...base(), updateBounds: { maxAbs: v as number } }), 'INVALID_ARGUMENT');
    await expectRejected('resolveCoordinatorOptions(http.requestTimeoutMs)', (v) => resolveCoordinatorOptions({ ...base(), http: { requestTimeoutMs: v as number } }), 'INVALID_ARGUMENT');
    const a = createIdentityKeys();
    const b = createIdentityKeys();
    const partnerOptions = { url: 'http://127.0.0.1:9', id: 'A', token: tokenOf('A'), model, trainData: partnerData(1, 4, 1), identity: a, peers: { B: b.publicKey } };
    try {
      await expectRejected('FederatedPartner(minParticipants)', (v) => new FederatedPartner({ ...partnerOptions, minParticipants: v as number }), 'INVALID_ARGUMENT');
    } finally {
      tf.dispose([partnerOptions.trainData.x, partnerOptions.trainData.y]);
    }
  });

  it('a running coordinator answers hostile JSON bodies with 400 and its code, not a 500', async () => {
    const c = await FederatedCoordinator.start({
      initialWeights: weights,
      partners: ['A', 'B'].map((id) => ({ id, token: tokenOf(id) })),
      adminToken: ADMIN,
      rounds: 1,
      quorum: 2,
      stateDir: await stateDir(),
    });
    try {
      for (const [name, samples] of [...HOSTILE_JSON, ['long', 's'.repeat(100_000)] as const]) {
        const r = await call(c.url, 'POST', '/v1/models/0/metrics/A', { token: tokenOf('A'), json: { metrics: { auc: 0.9 }, samples } });
        expect.soft({ status: r.status, code: r.json?.code }, `metrics with samples ${name}`).toEqual({ status: 400, code: 'FEDERATED_BAD_REQUEST' });
        expect.soft(r.json?.message?.length ?? 0, `metrics with samples ${name}: message length`).toBeLessThan(500);
      }
    } finally {
      await c.close();
    }
  });
  it('messages describe the hostile value without running its code', () => {
    expect(() => clipUpdate(new Float32Array(2), Symbol('c') as unknown as number)).toThrow(/got Symbol\(c\)/);
    expect(() => clipUpdate(new Float32Array(2), { valueOf: () => 1 } as unknown as number)).toThrow(/got \(object\)/); // valueOf never called
  });
});
