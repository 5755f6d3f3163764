import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, isLeptonError, tf } from '@lepton/core';
import {
  addGaussianNoise,
  clipUpdate,
  createIdentityKeys,
  createKeyAnnouncement,
  createMaskingKeys,
  decodeWeights,
  effectiveNoiseMultiplier,
  encodeMasked,
  encodeWeights,
  epsilonFromRdp,
  evaluateWeights,
  exportMaskingPrivateKey,
  FederatedCoordinator,
  FederatedPartner,
  fedAvg,
  fedProxLoss,
  gaussianNoiseStd,
  maskClipLimit,
  maskUpdate,
  pairSeed,
  participantsDigest,
  privatizeUpdate,
  quantizeUpdate,
  RdpAccountant,
  rdpSampledGaussian,
  readWeights,
  removeDroppedMasks,
  removeSelfMask,
  resolveCoordinatorOptions,
  selfMaskCommitment,
  signStatement,
  specsEqual,
  specsSize,
  sumMasked,
  survivorConfirmation,
  trainLocal,
  unmaskSum,
  weightSpecs,
  WEIGHTS_MAGIC,
  writeWeights,
  type CoordinatorOptions,
  type PartnerOptions,
  type WeightSet,
} from '@lepton/federated';
import { expectRejected, HOSTILE, HOSTILE_JSON, outcome } from '../../../tests/support/hostile.js';
import { ADMIN, call, forgeWeights, partnerData, smallModel, stateDir, tokenOf } from './support/federated.js';

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

/** Hostile values plus the number-shaped ones a range check must not let through (null means "the default" in options). */
const NUMBERS: ReadonlyArray<readonly [string, unknown]> = [...HOSTILE, ['NaN', NaN], ['Infinity', Infinity], ['-1', -1], ["'1'", '1']];
/** What a string position must refuse: the hostile kinds and the non-strings JSON and JavaScript have. */
const NOT_STRINGS: ReadonlyArray<readonly [string, unknown]> = [...HOSTILE.filter(([n]) => n !== 'BigInt'), ['BigInt', 12n], ['NaN', NaN], ['null', null], ['1', 1]];

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

  describe('federated entry points not covered above, with hostile values (sweep 2)', () => {

    it('weights: readWeights, weightSpecs, writeWeights, specsSize and the encoders refuse what is not a model, a set or specs', async () => {
      await expectRejected('readWeights(model)', (v) => readWeights(v as tf.LayersModel), 'INVALID_ARGUMENT');
      await expectRejected('weightSpecs(model)', (v) => weightSpecs(v as tf.LayersModel), 'INVALID_ARGUMENT');
      await expectRejected('writeWeights(model)', (v) => writeWeights(v as tf.LayersModel, weights), 'INVALID_ARGUMENT');
      await expectRejected('writeWeights(set)', (v) => writeWeights(model, v as WeightSet), 'INVALID_ARGUMENT');
      await expectRejected('writeWeights(set.values)', (v) => writeWeights(model, { specs: weights.specs, values: v as Float32Array }), 'INVALID_ARGUMENT');
      // A model holding NaN predicts NaN: refused before anything is written (it was written silently).
      const poisoned = Float32Array.from(weights.values);
      poisoned[3] = Number.NaN;
      expect(await outcome(() => writeWeights(model, { specs: weights.specs, values: poisoned }))).toBe('LeptonError INVALID_INPUT');
      expect((await readWeights(model)).values).toEqual(weights.values);
      await expectRejected('specsSize(specs)', (v) => specsSize(v as []), 'INVALID_ARGUMENT');
      await expectRejected('specsSize(shape[0])', (v) => specsSize([{ name: 'w', shape: [v as number, 2] }]), 'INVALID_ARGUMENT', NUMBERS);
      expect(await outcome(() => specsSize([{ name: 'w', shape: [2 ** 40, 2 ** 40] }]))).toBe('LeptonError INVALID_ARGUMENT');
      for (const [name, v] of [...HOSTILE, ['[null]', [null]], ['holes', [, weights.specs[0]]]] as const) {
        expect.soft(() => specsEqual(v as [], weights.specs), `specsEqual(${name})`).not.toThrow();
        expect.soft(specsEqual(weights.specs, v as []), `specsEqual(…, ${name})`).toBe(false);
      }
      await expectRejected('encodeWeights(set)', (v) => encodeWeights(v as WeightSet), 'INVALID_ARGUMENT');
      await expectRejected('encodeWeights(set.values)', (v) => encodeWeights({ specs: weights.specs, values: v as Float32Array }), 'INVALID_ARGUMENT');
      await expectRejected('encodeMasked(values)', (v) => encodeMasked(v as Uint32Array, weights.specs), 'INVALID_ARGUMENT');
      await expectRejected('encodeMasked(specs)', (v) => encodeMasked(new Uint32Array(weights.values.length), v as []), 'INVALID_ARGUMENT');
      await expectRejected('decodeWeights(…, expect)', (v) => decodeWeights(encodeWeights(weights), v as []), 'INVALID_ARGUMENT');
    });

    it('fedAvg refuses a NaN update even at weight 0, non-arrays, and sample counts whose total overflows (it averaged to zeros)', async () => {
      const two = new Float32Array([1, 1]);
      await expectRejected('fedAvg(updates)', (v) => fedAvg(v as []), 'INVALID_ARGUMENT');
      await expectRejected('fedAvg(updates[0])', (v) => fedAvg([v as { values: Float32Array; samples: number }]), 'INVALID_ARGUMENT');
      await expectRejected('fedAvg(values)', (v) => fedAvg([{ values: v as Float32Array, samples: 1 }]), 'INVALID_ARGUMENT', [...HOSTILE, ['plain array', [1, 2]]]);
      for (const bad of [Number.NaN, Infinity, -Infinity]) {
        expect.soft(await outcome(() => fedAvg([{ values: two, samples: 1 }, { values: new Float32Array([bad, 0]), samples: 0 }])), `zero-weight ${bad}`).toBe('LeptonError FEDERATED_BAD_UPDATE');
      }
      expect(await outcome(() => fedAvg([{ values: two, samples: 1e308 }, { values: new Float32Array([3, 3]), samples: 1e308 }]))).toBe('LeptonError INVALID_ARGUMENT');
      expect(Array.from(fedAvg([{ values: two, samples: 1e300 }, { values: new Float32Array([3, 3]), samples: 1e300 }]))).toEqual([2, 2]);
    });

    it('differential privacy: a random source that is not a function or leaves [0, 1), non-float updates, rdp values that are not numbers', async () => {
      const delta = new Float32Array([3, 4]);
      await expectRejected('clipUpdate(delta)', (v) => clipUpdate(v as Float32Array, 1), 'INVALID_ARGUMENT', [...HOSTILE, ['plain array', [3, 4]]]);
      await expectRejected('addGaussianNoise(values)', (v) => addGaussianNoise(v as Float32Array, 1, Math.random), 'INVALID_ARGUMENT');
      await expectRejected('addGaussianNoise(random)', (v) => addGaussianNoise(delta, 1, v as () => number), 'INVALID_ARGUMENT');
      // Each of these made the "noise" NaN or infinite: no privacy, and an update every coordinator refuses.
      await expectRejected('addGaussianNoise(random())', (v) => addGaussianNoise(delta, 1, () => v as number), 'INVALID_ARGUMENT', [...NUMBERS, ['1', 1], ['undefined', undefined]]);
      await expectRejected('privatizeUpdate(options)', (v) => privatizeUpdate(delta, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('privatizeUpdate(random)', (v) => privatizeUpdate(delta, { clipNorm: 1, noiseMultiplier: 1, partners: 2, random: v as () => number }), 'INVALID_ARGUMENT');
      await expectRejected('privatizeUpdate(noiseMultiplier)', (v) => privatizeUpdate(delta, { clipNorm: 1, noiseMultiplier: v as number, partners: 2, random: Math.random }), 'INVALID_ARGUMENT', NUMBERS);
      // A missing or non-numeric RDP value was read as 0: epsilon 0, a perfect-privacy claim.
      await expectRejected('epsilonFromRdp(rdp[0])', (v) => epsilonFromRdp([v as number], [2], 1e-5), 'INVALID_ARGUMENT', [...NUMBERS.filter(([n]) => n !== 'NaN' && n !== 'Infinity'), ['undefined', undefined], ['-Infinity', -Infinity]]);
      expect(epsilonFromRdp([Number.NaN], [2], 1e-5).epsilon).toBe(Infinity); // NaN stays "no guarantee"
      await expectRejected('RdpAccountant.compose(event)', (v) => new RdpAccountant().compose(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      // Scaling every weight by 1e200 must not change the answer (it overflowed to Infinity: infinite noise claimed).
      const z = effectiveNoiseMultiplier([0.5, 0.5].map((weight) => ({ weight, clipNorm: 1, noiseStd: 1.1 })));
      for (const scale of [1e200, 1e-200]) {
        expect.soft(effectiveNoiseMultiplier([0.5, 0.5].map((w) => ({ weight: w * scale, clipNorm: 1, noiseStd: 1.1 }))), `weights × ${scale}`).toBeCloseTo(z, 12);
      }
    });

    it('secure aggregation and identities: words, sums, keys and statements of the wrong type; NaN never signs like null', async () => {
      const delta = new Float32Array([0.5, -0.5]);
      const options = { scale: 256, clipValue: 1 };
      const seed = new Uint8Array(32).fill(7);
      await expectRejected('maskClipLimit(scale)', (v) => maskClipLimit(v as number, 2), 'INVALID_ARGUMENT', NUMBERS);
      await expectRejected('quantizeUpdate(delta)', (v) => quantizeUpdate(v as Float32Array, options), 'INVALID_ARGUMENT');
      await expectRejected('quantizeUpdate(options)', (v) => quantizeUpdate(delta, v as typeof options), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('maskUpdate(delta)', (v) => maskUpdate(v as Float32Array, 'a', [], options), 'INVALID_ARGUMENT');
      await expectRejected('maskUpdate(peers)', (v) => maskUpdate(delta, 'a', v as [], options), 'INVALID_ARGUMENT');
      await expectRejected('maskUpdate(peers[0])', (v) => maskUpdate(delta, 'a', [v as { id: string; seed: Uint8Array }], options), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('sumMasked(parts)', (v) => sumMasked(v as []), 'INVALID_ARGUMENT');
      await expectRejected('sumMasked(parts[1])', (v) => sumMasked([new Uint32Array(2), v as Uint32Array]), 'INVALID_ARGUMENT', [...HOSTILE, ['Float32Array', new Float32Array(2)]]);
      await expectRejected('unmaskSum(sum)', (v) => unmaskSum(v as Uint32Array, options), 'INVALID_ARGUMENT');
      await expectRejected('removeSelfMask(sum)', (v) => removeSelfMask(v as Uint32Array, seed), 'INVALID_ARGUMENT');
      await expectRejected('removeDroppedMasks(sum)', (v) => removeDroppedMasks(v as Uint32Array, 'a', 'b', seed), 'INVALID_ARGUMENT');
      // A Symbol, NaN and null round id all committed to the same digest.
      await expectRejected('selfMaskCommitment(roundId)', (v) => selfMaskCommitment(seed, v as string, 'a'), 'INVALID_ARGUMENT', NOT_STRINGS);
      await expectRejected('selfMaskCommitment(partnerId)', (v) => selfMaskCommitment(seed, 'r', v as string), 'INVALID_ARGUMENT', NOT_STRINGS);
      await expectRejected('exportMaskingPrivateKey(keys)', (v) => exportMaskingPrivateKey(v as never), 'INVALID_ARGUMENT');
      const peer = createMaskingKeys();
      // A key pair that is not one was blamed on the peer (FEDERATED_BAD_KEY).
      await expectRejected('pairSeed(keys)', (v) => pairSeed(v as never, 'a', 'b', peer.publicKey, 'r'), 'INVALID_ARGUMENT', [...HOSTILE, ['identity keys', createIdentityKeys()]]);
      const identity = createIdentityKeys();
      await expectRejected('signStatement(statement)', (v) => signStatement(identity.privateKey, v as object), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null]]);
      // JSON writes these as null (or drops them): `{ n: NaN }` signed the same bytes as `{ n: null }`.
      await expectRejected('signStatement({ n })', (v) => signStatement(identity.privateKey, { n: v }), 'INVALID_ARGUMENT', [
        ['NaN', Number.NaN],
        ['Infinity', Infinity],
        ['Symbol()', Symbol('s')],
        ['BigInt', 12n],
        ['function', () => 1],
        ['array hole', [1, , 3]],
      ]);
      await expectRejected('participantsDigest(list)', (v) => participantsDigest(v as []), 'INVALID_ARGUMENT');
      await expectRejected('participantsDigest(list[0].signature)', (v) => participantsDigest([{ id: 'a', signature: v as string }]), 'INVALID_ARGUMENT', NOT_STRINGS);
      const fields = { federationId: 'f', roundId: 'r', partnerId: 'a', participants: ['a', 'b'], keysDigest: 'd', survivors: ['a', 'b'] };
      await expectRejected('survivorConfirmation(fields)', (v) => survivorConfirmation(v as typeof fields), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('survivorConfirmation(participants)', (v) => survivorConfirmation({ ...fields, participants: v as string[] }), 'INVALID_ARGUMENT', [...HOSTILE, ['[1]', [1]], ['holes', ['a', , 'b']]]);
      await expectRejected('survivorConfirmation(roundId)', (v) => survivorConfirmation({ ...fields, roundId: v as string }), 'INVALID_ARGUMENT', NOT_STRINGS);
      const announce = { federationId: 'f', roundId: 'r', partnerId: 'a', samples: 5, peers: ['b'] };
      await expectRejected('createKeyAnnouncement(identity)', (v) => createKeyAnnouncement(v as typeof identity, announce), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('createKeyAnnouncement(fields)', (v) => createKeyAnnouncement(identity, v as typeof announce), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('createKeyAnnouncement(peers)', (v) => createKeyAnnouncement(identity, { ...announce, peers: v as string[] }), 'INVALID_ARGUMENT');
    });

    it('local training: trainLocal and evaluateWeights check the model, weights, data and options before any work', async () => {
      const data = partnerData(1, 8, 1);
      try {
        await expectRejected('trainLocal(model)', (v) => trainLocal(v as tf.LayersModel, weights, data), 'INVALID_ARGUMENT');
        await expectRejected('trainLocal(global)', (v) => trainLocal(model, v as WeightSet, data), 'INVALID_ARGUMENT');
        await expectRejected('trainLocal(data)', (v) => trainLocal(model, weights, v as typeof data), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{ x }', { x: data.x }]]);
        await expectRejected('trainLocal(options)', (v) => trainLocal(model, weights, data, v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['array', []]]);
        // 1e308 epochs trained forever; a NaN or '1' seed trained unseeded (or `'1' + round` became '11').
        for (const key of ['epochs', 'batchSize', 'learningRate', 'seed', 'mu'] as const) {
          const values = [...NUMBERS, ['1e308', key === 'seed' || key === 'epochs' ? 1e308 : Number.NaN]] as const;
          await expectRejected(`trainLocal(${key})`, (v) => trainLocal(model, weights, data, { algorithm: 'fedprox', [key]: v }), 'INVALID_ARGUMENT', key === 'seed' ? values.filter(([n]) => n !== '-1') : values);
        }
        await expectRejected('trainLocal(optimizer)', (v) => trainLocal(model, weights, data, { optimizer: v as 'adam' }), 'INVALID_ARGUMENT', [...HOSTILE, ['unknown', 'adagrad']]);
        await expectRejected('trainLocal(loss)', (v) => trainLocal(model, weights, data, { loss: v as string }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['object', { toString: '' }]]);
        const poisoned = { specs: weights.specs, values: Float32Array.from(weights.values, (x, i) => (i === 0 ? Infinity : x)) };
        expect(await outcome(() => trainLocal(model, poisoned, data))).toBe('LeptonError INVALID_INPUT');
        await expectRejected('evaluateWeights(model)', (v) => evaluateWeights(v as tf.LayersModel, weights, data), 'INVALID_ARGUMENT');
        await expectRejected('evaluateWeights(weights)', (v) => evaluateWeights(model, v as WeightSet, data), 'INVALID_ARGUMENT');
        await expectRejected('evaluateWeights(data)', (v) => evaluateWeights(model, weights, v as typeof data), 'INVALID_ARGUMENT');
        await expectRejected('fedProxLoss(model)', (v) => fedProxLoss('meanSquaredError', v as tf.LayersModel, weights, 0.1), 'INVALID_ARGUMENT');
        await expectRejected('fedProxLoss(global)', (v) => fedProxLoss('meanSquaredError', model, v as WeightSet, 0.1), 'INVALID_ARGUMENT');
      } finally {
        tf.dispose([data.x, data.y]);
      }
    });

    it('coordinator options: booleans, deadlines past 24.8 days, counts past 2^53, host, logger, option groups, initial weights, __proto__', async () => {
      const dir = await stateDir();
      const base = (): CoordinatorOptions => ({ initialWeights: weights, partners: [{ id: 'A', token: tokenOf('A') }, { id: 'B', token: tokenOf('B') }], rounds: 1, stateDir: dir });
      const resolve = (over: Record<string, unknown>): Promise<unknown> => resolveCoordinatorOptions({ ...base(), ...over } as CoordinatorOptions);
      // `secureAggregation: 'false'` turned secure aggregation on; 'yes', 1 or NaN reached the partners, which refuse them.
      for (const key of ['closeOnQuorum', 'secureAggregation', 'partnerDiagnostics'] as const) {
        await expectRejected(`resolveCoordinatorOptions(${key})`, (v) => resolve({ [key]: v }), 'INVALID_ARGUMENT', [...NUMBERS, ["'false'", 'false'], ['0', 0]]);
      }
      // Node cuts a timer past 2^31 − 1 ms to 1 ms: a 30-day deadline failed every attempt at once.
      for (const key of ['roundDeadlineMs', 'keyDeadlineMs', 'revealDeadlineMs'] as const) {
        await expectRejected(`resolveCoordinatorOptions(${key})`, (v) => resolve({ [key]: v }), 'INVALID_ARGUMENT', [...NUMBERS, ['30 days', 30 * 86_400_000]]);
      }
      for (const key of ['requestTimeoutMs', 'connectionTimeoutMs', 'keepAliveTimeoutMs'] as const) {
        await expectRejected(`resolveCoordinatorOptions(http.${key})`, (v) => resolve({ http: { [key]: v } }), 'INVALID_ARGUMENT', [...NUMBERS, ['30 days', 30 * 86_400_000]]);
      }
      // 1e308 rounds: the partners read totalRounds back as unsafe and refused every round info.
      await expectRejected('resolveCoordinatorOptions(rounds)', (v) => resolve({ rounds: v }), 'INVALID_ARGUMENT', [['1e308', 1e308], ['2^53', 2 ** 53]]);
      await expectRejected('resolveCoordinatorOptions(maxRoundAttempts)', (v) => resolve({ maxRoundAttempts: v }), 'INVALID_ARGUMENT', [...NUMBERS, ['1e308', 1e308]]);
      await expectRejected('resolveCoordinatorOptions(partners[0].maxSamples)', (v) => resolve({ partners: [{ id: 'A', token: tokenOf('A'), maxSamples: v }, { id: 'B', token: tokenOf('B') }] }), 'INVALID_ARGUMENT', [...NUMBERS, ['1e308', 1e308]]);
      // An empty host listened on every interface instead of the loopback default.
      await expectRejected('resolveCoordinatorOptions(host)', (v) => resolve({ host: v }), 'INVALID_ARGUMENT', [...HOSTILE, ["''", ''], ['12', 12]]);
      // A logger without functions crashed start() after it was listening, leaving the port open.
      await expectRejected('resolveCoordinatorOptions(logger)', (v) => resolve({ logger: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['{}', {}], ['{ info: 1 }', { info: 1, warn: 1, error: 1 }], ['null', null]]);
      for (const key of ['masking', 'dp', 'updateBounds', 'http'] as const) {
        await expectRejected(`resolveCoordinatorOptions(${key})`, (v) => resolve({ [key]: v }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['5', 5], ["'x'", 'x'], ['array', []]]);
      }
      await expectRejected('resolveCoordinatorOptions(dp.noiseMultiplier)', (v) => resolve({ dp: { clipNorm: 1, noiseMultiplier: v } }), 'INVALID_ARGUMENT', NUMBERS);
      await expectRejected('resolveCoordinatorOptions(updateBounds.maxNorm)', (v) => resolve({ updateBounds: { maxNorm: v } }), 'INVALID_ARGUMENT', NUMBERS);
      // A NaN initial model was saved and published, and every partner then refused the global weights.
      const nan = Float32Array.from(weights.values, (x, i) => (i === 2 ? Number.NaN : x));
      expect(await outcome(() => resolve({ initialWeights: { specs: weights.specs, values: nan } }))).toBe('LeptonError INVALID_ARGUMENT');
      await expectRejected('resolveCoordinatorOptions(initialWeights.specs[0].name)', (v) => resolve({ initialWeights: { specs: [{ name: v, shape: [2] }], values: new Float32Array(2) } }), 'INVALID_ARGUMENT', NOT_STRINGS);
      await expectRejected('resolveCoordinatorOptions(initialWeights.specs[0].shape)', (v) => resolve({ initialWeights: { specs: [{ name: 'w', shape: [v, -2] }], values: new Float32Array(2) } }), 'INVALID_ARGUMENT', NUMBERS);
      // `maxSamples['__proto__'] = n` sets no entry: the cap read Object.prototype and every round averaged to NaN.
      expect(await outcome(() => resolve({ partners: [{ id: '__proto__', token: tokenOf('A') }, { id: 'B', token: tokenOf('B') }] }))).toBe('LeptonError INVALID_ARGUMENT');
    });

    it('partner options: every one is checked at construction (they failed rounds later, weakened the partner or retried forever)', async () => {
      const data = partnerData(1, 4, 1);
      const base = (): PartnerOptions => ({ url: 'http://127.0.0.1:9', id: 'A', token: tokenOf('A'), model, trainData: data });
      const make = (over: Record<string, unknown>): FederatedPartner => new FederatedPartner({ ...base(), ...over } as PartnerOptions);
      try {
        await expectRejected('FederatedPartner(options)', (v) => new FederatedPartner(v as PartnerOptions), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
        await expectRejected('FederatedPartner(model)', (v) => make({ model: v }), 'INVALID_ARGUMENT');
        await expectRejected('FederatedPartner(trainData)', (v) => make({ trainData: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
        await expectRejected('FederatedPartner(heldOutData)', (v) => make({ heldOutData: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
        await expectRejected('FederatedPartner(id)', (v) => make({ id: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['__proto__', '__proto__'], ['a/b', 'a/b']]);
        await expectRejected('FederatedPartner(token)', (v) => make({ token: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['with a space', 'tok en-0123456789abcdef'], ['newline', 'token\n0123456789abcdef']]);
        // `secureAggregation: 'true'` was read as off: the partner sent unmasked updates.
        for (const key of ['secureAggregation', 'shareDiagnostics'] as const) {
          await expectRejected(`FederatedPartner(${key})`, (v) => make({ [key]: v }), 'INVALID_ARGUMENT', [...NUMBERS, ["'true'", 'true']]);
        }
        await expectRejected('FederatedPartner(dp)', (v) => make({ dp: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['5', 5]]);
        for (const key of ['clipNorm', 'noiseMultiplier', 'delta'] as const) {
          await expectRejected(`FederatedPartner(dp.${key})`, (v) => make({ dp: { clipNorm: 1, noiseMultiplier: 1, [key]: v } }), 'INVALID_ARGUMENT', NUMBERS);
        }
        await expectRejected('FederatedPartner(random)', (v) => make({ random: v }), 'INVALID_ARGUMENT', [...NUMBERS]);
        await expectRejected('FederatedPartner(fetch)', (v) => make({ fetch: v }), 'INVALID_ARGUMENT', [...NUMBERS]);
        await expectRejected('FederatedPartner(logger)', (v) => make({ logger: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['{}', {}], ['null', null]]);
        await expectRejected('FederatedPartner(pollWaitMs)', (v) => make({ pollWaitMs: v }), 'INVALID_ARGUMENT', [...NUMBERS, ['1e308', 1e308]]);
        await expectRejected('FederatedPartner(federationId)', (v) => make({ federationId: v }), 'INVALID_ARGUMENT', [...NOT_STRINGS, ["''", ''], ['with a space', 'fed 1']]);
        await expectRejected('FederatedPartner(retry)', (v) => make({ retry: v }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['5', 5], ['array', []]]);
        // `retries: NaN` never ran out (`attempt >= NaN` is false); a NaN delay made a tight loop.
        for (const key of ['retries', 'baseDelayMs', 'maxDelayMs', 'timeoutMs'] as const) {
          await expectRejected(`FederatedPartner(retry.${key})`, (v) => make({ retry: { [key]: v } }), 'INVALID_ARGUMENT', [...NUMBERS, ['1e308', 1e308]]);
        }
        await expectRejected('FederatedPartner(local)', (v) => make({ local: v }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('s')], ['BigInt', 12n], ['null', null], ['5', 5]]);
        for (const key of ['epochs', 'batchSize', 'learningRate', 'seed'] as const) {
          const values = [...NUMBERS, ['1e308', key === 'learningRate' ? Number.NaN : 1e308]] as const;
          await expectRejected(`FederatedPartner(local.${key})`, (v) => make({ local: { [key]: v } }), 'INVALID_ARGUMENT', key === 'seed' ? values.filter(([n]) => n !== '-1') : values);
        }
        expect(await outcome(() => make({ local: { algorithm: 'fedprox' } }))).toBe('LeptonError INVALID_ARGUMENT');
        expect(await outcome(() => make({ minParticipants: 1.5 }))).toBe('LeptonError INVALID_ARGUMENT');
        const identity = createIdentityKeys();
        await expectRejected('FederatedPartner(peers)', (v) => make({ identity, peers: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['array', [createIdentityKeys().publicKey]], ['__proto__ key', JSON.parse(`{"__proto__": "${createIdentityKeys().publicKey}"}`)]]);
      } finally {
        tf.dispose([data.x, data.y]);
      }
    });

    it('a partner refuses a coordinator whose weight specs are not specs, with a typed error (a TypeError before)', async () => {
      const data = partnerData(1, 4, 1);
      const info = {
        session: 's', stateVersion: 0, phase: 'training', round: 1, attempt: 1, totalRounds: 1, completedRounds: 0, quorum: 1, partners: 1,
        deadlineAt: null, algorithm: 'fedavg', mu: 0, secureAggregation: false, masking: null, federationId: 'f', roundId: null,
        participants: null, survivors: null, dropped: null, confirmations: null, totalSamples: null, dp: null, failure: null,
        you: { id: 'A', fetched: false, keySubmitted: false, submitted: false, participant: false, survivor: false, confirmed: false, revealed: false },
      };
      const posts: string[] = [];
      try {
        // As many entries as the model has, so the comparison reaches the malformed one.
        const rest = weights.specs.slice(1);
        for (const specs of [[null, ...rest], [{ name: { toString: '' }, shape: [1] }, ...rest], [{ name: weights.specs[0]!.name, shape: 'big' }, ...rest]]) {
          const fake: typeof fetch = async (input, init) => {
            if ((init?.method ?? 'GET') !== 'GET') posts.push(String(input));
            return new Response(JSON.stringify({ ...info, specs }), { status: 200, headers: { 'content-type': 'application/json' } });
          };
          const p = new FederatedPartner({ url: 'http://127.0.0.1:9', id: 'A', token: tokenOf('A'), model, trainData: data, fetch: fake, retry: { retries: 0 } });
          expect.soft(await outcome(() => p.run()), JSON.stringify(specs)).toBe('LeptonError FEDERATED_POLICY_MISMATCH');
        }
        expect(posts).toEqual([]);
      } finally {
        tf.dispose([data.x, data.y]);
      }
    });

    it('a secure-aggregation coordinator answers an attempt that is not a positive integer with 400 (it was 409 "attempt is over")', async () => {
      const ids = ['A', 'B'];
      const c = await FederatedCoordinator.start({
        initialWeights: weights,
        partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: createIdentityKeys().publicKey })),
        rounds: 1,
        quorum: 2,
        secureAggregation: true,
        stateDir: await stateDir(),
      });
      try {
        for (const [name, attempt] of [...HOSTILE_JSON, ["'1'", '1'], ['null', null], ['1.5', 1.5], ['-1', -1], ['0', 0], ['1e300', 1e300]] as const) {
          const r = await call(c.url, 'POST', '/v1/rounds/1/keys/A', { token: tokenOf('A'), json: { attempt, announcement: {}, signature: 'x' } });
          expect.soft({ status: r.status, code: r.json?.code }, `attempt ${name}`).toEqual({ status: 400, code: 'FEDERATED_BAD_REQUEST' });
        }
      } finally {
        await c.close();
      }
    });

    it('a running coordinator: a NaN or wrong-shaped update is refused and counted, never averaged; partners named constructor report; path numbers are decimal', async () => {
      const dir = await stateDir();
      const ids = ['constructor', 'toString'];
      const c = await FederatedCoordinator.start({ initialWeights: weights, partners: ids.map((id) => ({ id, token: tokenOf(id) })), adminToken: ADMIN, rounds: 1, quorum: 2, stateDir: dir });
      try {
        const n = weights.values.length;
        const update = (fill: (i: number) => number, meta: Record<string, unknown> = {}): Uint8Array =>
          // forgeWeights: encodeWeights refuses to write NaN, a hostile sender builds the bytes itself.
          forgeWeights({ specs: weights.specs, values: Float32Array.from({ length: n }, (_, i) => fill(i)) }, { samples: 10, baseVersion: 0, ...meta });
        const post = (id: string, bytes: Uint8Array, round = '1') => call(c.url, 'POST', `/v1/rounds/${round}/updates/${id}`, { token: tokenOf(id), bytes });
        // Metrics of partners whose id is an Object.prototype name were refused as duplicates.
        for (const id of ids) {
          const r = await call(c.url, 'POST', `/v1/models/0/metrics/${id}`, { token: tokenOf(id), json: { metrics: { auc: 0.5 }, samples: 5 } });
          expect.soft(r.status, `metrics of '${id}'`).toBe(200);
        }
        expect(Object.keys(c.baseline()).sort()).toEqual([...ids].sort());
        // '1e0', '0x1', '1.0' and ' 1' read as round 1.
        for (const round of ['1e0', '0x1', '1.0', '%201', '-0', '01']) {
          const r = await post('constructor', update(() => 0.01), round);
          expect.soft({ status: r.status, code: r.json?.code }, `round '${round}'`).toEqual({ status: 400, code: 'FEDERATED_BAD_REQUEST' });
        }
        const nanUpdate = await post('constructor', update((i) => (i === 1 ? Number.NaN : 0.01)));
        const infUpdate = await post('constructor', update((i) => (i === 2 ? -Infinity : 0.01)));
        const wrongShape = await post('constructor', encodeWeights({ specs: [{ name: 'w', shape: [n] }], values: new Float32Array(n) }, { samples: 10, baseVersion: 0 }));
        for (const r of [nanUpdate, infUpdate, wrongShape]) expect.soft({ status: r.status, code: r.json?.code }).toEqual({ status: 400, code: 'FEDERATED_BAD_UPDATE' });
        const codes = c.status().rejections.filter((r) => r.partner === 'constructor' && r.code === 'FEDERATED_BAD_UPDATE');
        expect(codes.length).toBe(3);
        // A metric named 'constructor' read Object's function, and the round's mean training metric became text.
        expect((await post('constructor', update(() => 0.01, { metrics: { constructor: 0.25, loss: 1 } }))).status).toBe(200);
        expect((await post('toString', update(() => 0.03, { metrics: { constructor: 0.75, loss: 1 } }))).status).toBe(200);
        await c.done();
        const global = c.globalWeights().values;
        global.forEach((v, i) => expect.soft(v, `weight ${i}`).toBeCloseTo(weights.values[i]! + 0.02, 6));
        const manifest = JSON.parse(await readFile(join(dir, 'rounds', 'round-000001', 'round.json'), 'utf8')) as { meanTrainMetrics: Record<string, unknown> };
        expect(manifest.meanTrainMetrics).toEqual({ constructor: 0.5, loss: 1 });
      } finally {
        await c.close();
      }
    });
  });
});

