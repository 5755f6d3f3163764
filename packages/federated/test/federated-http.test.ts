import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, isLeptonError, tf, type TrainData } from '@lepton/core';
import {
  createIdentityKeys,
  createKeyAnnouncement,
  encodeMasked,
  encodeWeights,
  FederatedCoordinator,
  FederatedPartner,
  quantizeUpdate,
  readWeights,
  type CoordinatorOptions,
  type PartnerOptions,
  type RoundInfo,
  type WeightSet,
} from '@lepton/federated';
import { ADMIN, call, containsBytes, forgeWeights, memoryLogger, partnerData, smallModel, stateDir, tokenOf, until } from './support/federated.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

/** Long-term identities of the test partners (secure aggregation verifies every key announcement against them). */
const identities = new Map(['A', 'B', 'C'].map((id) => [id, createIdentityKeys()]));
const peersOf = (id: string, ids = ['A', 'B', 'C']): Record<string, string> =>
  Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, identities.get(p)!.publicKey]));

/** Partner options for secure aggregation: its identity and its peers' identity keys. */
const secure = (id: string): Partial<PartnerOptions> => ({ identity: identities.get(id)!, peers: peersOf(id) });

const coordinators: FederatedCoordinator[] = [];
const disposables: TrainData[] = [];
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((c) => c.close()));
  for (const d of disposables.splice(0)) tf.dispose([d.x as tf.Tensor, d.y]);
});

const initial = async (): Promise<WeightSet> => {
  const m = smallModel(1);
  const w = await readWeights(m);
  m.dispose();
  return w;
};

async function startCoordinator(
  over: Partial<CoordinatorOptions> = {},
  ids = ['A', 'B', 'C'],
): Promise<FederatedCoordinator & { logger: ReturnType<typeof memoryLogger>; dir: string }> {
  const logger = memoryLogger();
  const dir = over.stateDir ?? (await stateDir());
  const c = await FederatedCoordinator.start({
    initialWeights: await initial(),
    partners: ids.map((id) => ({ id, token: tokenOf(id), ...(identities.has(id) ? { identityKey: identities.get(id)!.publicKey } : {}) })),
    adminToken: ADMIN,
    rounds: 1,
    quorum: 2,
    roundDeadlineMs: 60_000,
    logger,
    ...over,
    stateDir: dir,
  });
  coordinators.push(c);
  return Object.assign(c, { logger, dir });
}

function data(k: number, n = 96, seed = 1): TrainData {
  const d = partnerData(k, n, seed);
  disposables.push(d);
  return d;
}

function partner(url: string, id: string, k: number, over: Partial<PartnerOptions> = {}): FederatedPartner {
  return new FederatedPartner({
    url,
    id,
    token: tokenOf(id),
    model: smallModel(k + 10),
    trainData: data(k, 64 + 16 * k),
    local: { epochs: 2, batchSize: 32, learningRate: 0.02, seed: 10 + k },
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
    pollWaitMs: 5000,
    ...over,
  });
}

/** Σ nᵢ·δᵢ / Σ nᵢ in float64: the FedAvg the coordinator must have applied, computed independently. */
function weightedMean(parts: { delta: Float32Array; samples: number }[]): Float64Array {
  const total = parts.reduce((s, p) => s + p.samples, 0);
  const out = new Float64Array(parts[0]!.delta.length);
  for (const p of parts) for (let i = 0; i < out.length; i++) out[i]! += (p.samples * p.delta[i]!) / total;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const appliedDelta = (before: WeightSet, after: WeightSet): Float64Array => Float64Array.from(after.values, (v, i) => v - before.values[i]!);

/** A plain update with hand-chosen values. */
function handUpdate(specs: WeightSet['specs'], n: number, f: (i: number) => number, samples: number, baseVersion = 0): Uint8Array {
  // forgeWeights, not encodeWeights: some tests send NaN, which encodeWeights refuses to write.
  return forgeWeights({ specs, values: Float32Array.from({ length: n }, (_, i) => f(i)) }, { samples, baseVersion });
}

describe('FederatedCoordinator authentication and isolation', () => {
  it('a missing or wrong token gets 401 on every route and changes nothing; A cannot post as B', async () => {
    const c = await startCoordinator();
    const g = c.globalWeights();
    const before = c.status();
    const update = handUpdate(g.specs, g.values.length, () => 0.01, 10);
    for (const token of [undefined, 'not-a-partner-token-at-all', `${tokenOf('A')}x`]) {
      const opts = token === undefined ? {} : { token };
      for (const [method, path, body] of [
        ['GET', '/v1/round', {}],
        ['GET', '/v1/global', {}],
        ['GET', '/v1/status', {}],
        ['POST', '/v1/rounds/1/updates/A', { bytes: update }],
        ['POST', '/v1/models/0/metrics/A', { json: { metrics: { auc: 0.9 }, samples: 5 } }],
        ['GET', '/v1/no-such-route', {}],
      ] as const) {
        const r = await call(c.url, method, path, { ...opts, ...body });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.json?.code).toBe('FEDERATED_UNAUTHORIZED');
      }
    }
    const after = c.status();
    expect(after.current).toEqual(before.current);
    expect(after.baseline).toEqual({});
    expect(after.completedRounds).toBe(0);
    // Counted, never recorded or logged one by one: an outsider cannot write into the operator's rejection list or log.
    expect(after.rejections.filter((r) => r.code === 'FEDERATED_UNAUTHORIZED')).toHaveLength(0);
    expect(after.unauthenticatedRequests).toBe(18);
    expect(c.logger.lines.filter((l) => l.level === 'warn' && l.fields['code'] === 'FEDERATED_UNAUTHORIZED')).toHaveLength(0);

    // A's valid token, B's id: forbidden, and B's slot stays free.
    const asB = await call(c.url, 'POST', '/v1/rounds/1/updates/B', { token: tokenOf('A'), bytes: update });
    expect(asB.status).toBe(403);
    expect(asB.json?.code).toBe('FEDERATED_FORBIDDEN');
    expect(c.status().current.submitted).toEqual([]);
    expect((await call(c.url, 'POST', '/v1/rounds/1/updates/B', { token: tokenOf('B'), bytes: update })).status).toBe(200);
    expect(c.status().current.submitted).toEqual(['B']);
    // A partner token is not an admin token.
    expect((await call(c.url, 'GET', '/v1/status', { token: tokenOf('A') })).json?.code).toBe('FEDERATED_FORBIDDEN');
    expect((await call(c.url, 'GET', '/v1/status', { token: ADMIN })).json?.['completedRounds']).toBe(0);
  });

  it('no route returns another partner’s update', async () => {
    const c = await startCoordinator({ rounds: 2 });
    const g = c.globalWeights();
    const n = g.values.length;
    // B's update: a value pattern that cannot occur by chance in any other payload.
    const bValues = Float32Array.from({ length: n }, (_, i) => 0.123456 + i * 1e-4);
    const bBytes = encodeWeights({ specs: g.specs, values: bValues }, { samples: 7, baseVersion: 0 });
    expect((await call(c.url, 'POST', '/v1/rounds/1/updates/B', { token: tokenOf('B'), bytes: bBytes })).status).toBe(200);
    const needle = new Uint8Array(bValues.buffer, 0, 64);
    const routes = c.routes();
    expect(routes.length).toBeGreaterThanOrEqual(7);
    for (const token of [tokenOf('A'), ADMIN]) {
      for (const r of routes) {
        const path = r.url.replace(':round', '1').replace(':version', '0').replace(':partnerId', 'B');
        const res = await call(c.url, r.method, path, r.method === 'POST' ? { token, json: {} } : { token });
        expect(containsBytes(res.bytes, needle), `${r.method} ${path}`).toBe(false);
      }
      for (const guess of ['/v1/rounds/1/updates/B', '/v1/updates/B', '/v1/rounds/1/updates']) {
        const res = await call(c.url, 'GET', guess, { token });
        expect(res.status).toBe(404);
        expect(containsBytes(res.bytes, needle)).toBe(false);
      }
    }
  });
});

describe('FederatedCoordinator rounds', () => {
  it('closes at quorum with the sample-weighted mean; a later post gets ROUND_CLOSED', async () => {
    const c = await startCoordinator({ closeOnQuorum: true, rounds: 2 });
    const g0 = c.globalWeights();
    const n = g0.values.length;
    const post = (id: string, bytes: Uint8Array) => call(c.url, 'POST', '/v1/rounds/1/updates/' + id, { token: tokenOf(id), bytes });
    expect((await post('A', handUpdate(g0.specs, n, (i) => (i % 2 === 0 ? 0.1 : -0.2), 10))).status).toBe(200);
    expect(c.status().completedRounds).toBe(0);
    expect((await post('B', handUpdate(g0.specs, n, () => 0.5, 30))).status).toBe(200);
    // Round 1 is saved before round 2 opens (the state file is written in between): wait for both.
    await until(() => c.status().completedRounds === 1 && c.status().round === 2);
    const rec = c.history()[0]!;
    expect(rec).toMatchObject({ round: 1, closedBy: 'quorum', participants: ['A', 'B'], samples: { A: 10, B: 30 }, totalSamples: 40 });
    // (10·0.1 + 30·0.5)/40 = 0.4 for even indices, (10·(−0.2) + 30·0.5)/40 = 0.325 for odd ones.
    const d = appliedDelta(g0, c.globalWeights());
    for (let i = 0; i < n; i++) expect(d[i]).toBeCloseTo(i % 2 === 0 ? 0.4 : 0.325, 6);
    const late = await post('C', handUpdate(g0.specs, n, () => 1, 5));
    expect(late.status).toBe(409);
    expect(late.json?.code).toBe('FEDERATED_ROUND_CLOSED');
    // A replay of A's round-1 update into round 2 is also refused (trained from version 0, round 2 starts from 1).
    const replay = await call(c.url, 'POST', '/v1/rounds/2/updates/A', { token: tokenOf('A'), bytes: handUpdate(g0.specs, n, () => 0.1, 10) });
    expect(replay.json?.code).toBe('FEDERATED_ROUND_CLOSED');
    expect(c.status().current.submitted).toEqual([]);
  });

  it('closes at the deadline without a straggler that fetched and never posted; its late update is ROUND_CLOSED', async () => {
    const c = await startCoordinator({ roundDeadlineMs: 4000 });
    const g0 = c.globalWeights();
    // C fetches the weights (starting the deadline) and then goes silent.
    const fetched = await call(c.url, 'GET', '/v1/global', { token: tokenOf('C') });
    expect(fetched.status).toBe(200);
    const [a, b] = await Promise.all([partner(c.url, 'A', 1).runRound(), partner(c.url, 'B', 2).runRound()]);
    expect(a.aggregated && b.aggregated).toBe(true);
    const rec = c.history()[0]!;
    expect(rec).toMatchObject({ closedBy: 'deadline', participants: ['A', 'B'], dropped: ['C'] });
    const expected = weightedMean([a, b].map((r) => ({ delta: r.delta!, samples: r.samples })));
    expect(maxAbsDiff(appliedDelta(g0, c.globalWeights()), expected)).toBeLessThan(1e-6);
    const late = await call(c.url, 'POST', '/v1/rounds/1/updates/C', { token: tokenOf('C'), bytes: handUpdate(g0.specs, g0.values.length, () => 0.3, 50) });
    expect(late.status).toBe(409);
    expect(late.json?.code).toBe('FEDERATED_ROUND_CLOSED');
    expect(c.status().rejections.at(-1)).toMatchObject({ code: 'FEDERATED_ROUND_CLOSED', partner: 'C', status: 409 });
    expect(c.logger.lines.some((l) => l.level === 'warn' && l.fields['code'] === 'FEDERATED_ROUND_CLOSED')).toBe(true);
  });

  it('a partner that crashes mid-round (trained, never posts) neither stalls nor corrupts the aggregate', async () => {
    // Round 2 must close with all three: their training (one after another on this thread) has to fit the deadline.
    const c = await startCoordinator({ roundDeadlineMs: 8000, rounds: 2 });
    const g0 = c.globalWeights();
    // C's process dies right when it would send its update.
    const crashing: typeof fetch = async (input, init) => {
      if (String(input).includes('/updates/')) throw new Error('process killed');
      return fetch(input, init);
    };
    const cCrash = partner(c.url, 'C', 3, { fetch: crashing, retry: { retries: 0 } });
    const results = await Promise.allSettled([partner(c.url, 'A', 1).runRound(), partner(c.url, 'B', 2).runRound(), cCrash.runRound()]);
    expect(results[2]!.status).toBe('rejected');
    expect(isLeptonError((results[2] as PromiseRejectedResult).reason, 'FEDERATED_UNREACHABLE')).toBe(true);
    const [a, b] = results.slice(0, 2).map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<FederatedPartner['runRound']>>>).value);
    const rec = c.history()[0]!;
    expect(rec.participants).toEqual(['A', 'B']);
    expect(rec.dropped).toEqual(['C']);
    const expected = weightedMean([a!, b!].map((r) => ({ delta: r.delta!, samples: r.samples })));
    expect(maxAbsDiff(appliedDelta(g0, c.globalWeights()), expected)).toBeLessThan(1e-6);
    // The next round runs normally with C back.
    const g1 = c.globalWeights();
    const round2 = await Promise.all([partner(c.url, 'A', 1).runRound(), partner(c.url, 'B', 2).runRound(), partner(c.url, 'C', 3).runRound()]);
    expect(c.history()[1]).toMatchObject({ closedBy: 'all', participants: ['A', 'B', 'C'], dropped: [] });
    expect(maxAbsDiff(appliedDelta(g1, c.globalWeights()), weightedMean(round2.map((r) => ({ delta: r.delta!, samples: r.samples }))))).toBeLessThan(1e-6);
    await expect(c.done()).resolves.toHaveLength(2);
  });

  it('malformed, wrong-shaped, non-finite and wrong-dtype updates get typed 4xx errors, are logged, and leave the round intact', async () => {
    const c = await startCoordinator();
    const g = c.globalWeights();
    const n = g.values.length;
    const post = (bytes: Uint8Array, contentType?: string) =>
      call(c.url, 'POST', '/v1/rounds/1/updates/A', contentType === undefined ? { token: tokenOf('A'), bytes } : { token: tokenOf('A'), bytes, contentType });
    const wrongShape = encodeWeights({ specs: [{ name: 'w', shape: [n - 1] }], values: new Float32Array(n - 1) }, { samples: 5, baseVersion: 0 });
    const withNaN = handUpdate(g.specs, n, (i) => (i === 3 ? Number.NaN : 0), 5);
    const truncated = handUpdate(g.specs, n, () => 0.1, 5).subarray(0, 100);
    const masked = encodeMasked(new Uint32Array(n), g.specs, { samples: 5, baseVersion: 0 });
    const noSamples = encodeWeights({ specs: g.specs, values: new Float32Array(n) }, { baseVersion: 0 });
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256);
    for (const bad of [garbage, truncated, wrongShape, withNaN, masked, noSamples]) {
      const r = await post(bad);
      expect(r.status).toBe(400);
      expect(r.json?.code).toBe('FEDERATED_BAD_UPDATE');
      expect(typeof r.json?.message).toBe('string');
    }
    // A valid payload under the wrong content type: text is parsed but is no update; unknown types are refused outright.
    const asText = await post(handUpdate(g.specs, n, () => 0.1, 5), 'text/plain');
    expect(asText.status).toBe(400);
    expect(asText.json?.code).toBe('FEDERATED_BAD_UPDATE');
    const unknownType = await post(handUpdate(g.specs, n, () => 0.1, 5), 'image/png');
    expect(unknownType.status).toBe(415);
    expect(unknownType.json?.code).toBe('FEDERATED_BAD_REQUEST');
    expect(c.status().rejections.filter((r) => r.code === 'FEDERATED_BAD_UPDATE' && r.partner === 'A')).toHaveLength(7);
    expect(c.logger.lines.filter((l) => l.level === 'warn' && l.fields['code'] === 'FEDERATED_BAD_UPDATE')).toHaveLength(7);
    expect(c.status().current.submitted).toEqual([]);
    // The round is unaffected: A's good update is still accepted once, and the aggregate is only the good updates.
    expect((await post(handUpdate(g.specs, n, () => 0.25, 5))).status).toBe(200);
    const dup = await post(handUpdate(g.specs, n, () => 9, 5));
    expect(dup.status).toBe(409);
    expect(dup.json?.code).toBe('FEDERATED_DUPLICATE_UPDATE');
    await call(c.url, 'POST', '/v1/rounds/1/updates/B', { token: tokenOf('B'), bytes: handUpdate(g.specs, n, () => -0.05, 15) });
    await call(c.url, 'POST', '/v1/rounds/1/updates/C', { token: tokenOf('C'), bytes: handUpdate(g.specs, n, () => 0.05, 20) });
    await until(() => c.status().completedRounds === 1);
    // (5·0.25 + 15·(−0.05) + 20·0.05) / 40 = 0.0375
    const d = appliedDelta(g, c.globalWeights());
    for (let i = 0; i < n; i++) expect(d[i]).toBeCloseTo(0.0375, 6);
  });

  it('fails a round that misses its quorum on every attempt with FEDERATED_QUORUM_NOT_MET', async () => {
    const c = await startCoordinator({ quorum: 3, roundDeadlineMs: 300, maxRoundAttempts: 2 });
    const g = c.globalWeights();
    // The accepted update itself starts the 300 ms deadline (a GET of the weights first would start it earlier, and
    // on a loaded machine the update could then land after attempt 1 had already failed with nothing received).
    await call(c.url, 'POST', '/v1/rounds/1/updates/A', { token: tokenOf('A'), bytes: handUpdate(g.specs, g.values.length, () => 0.1, 5) });
    await expect(c.done()).rejects.toMatchObject({ code: 'FEDERATED_QUORUM_NOT_MET' });
    const s = c.status();
    expect(s.phase).toBe('failed');
    expect(s.failures.map((f) => [f.round, f.attempt, f.received, f.required])).toEqual([
      [1, 1, 1, 3],
      [1, 2, 1, 3],
    ]);
    expect(s.completedRounds).toBe(0);
    expect(c.globalWeights().values).toEqual(g.values);
    await expect(partner(c.url, 'B', 2).runRound()).rejects.toMatchObject({ code: 'FEDERATED_QUORUM_NOT_MET' });
  });
});

describe('FederatedCoordinator restart', () => {
  it('resumes at the last completed round with bit-identical global weights after being killed mid-round', async () => {
    const dir = await stateDir();
    const model = smallModel(1);
    const opts: CoordinatorOptions = {
      initialWeights: model,
      partners: ['P', 'Q'].map((id) => ({ id, token: tokenOf(id) })),
      rounds: 4,
      quorum: 2,
      roundDeadlineMs: 60_000,
      stateDir: dir,
    };
    const first = await FederatedCoordinator.start(opts);
    coordinators.push(first);
    const port = Number(new URL(first.url).port);
    // P's retries (backoff up to 500 ms) must outlast the restart below, also on a loaded machine.
    const p = partner(first.url, 'P', 1, { retry: { retries: 20 } });
    const q = partner(first.url, 'Q', 2);
    for (let r = 0; r < 2; r++) await Promise.all([p.runRound(), q.runRound()]);
    const g2 = first.globalWeights();
    const history2 = first.history();
    // Round 3: P's update is in, Q has not sent yet — then the coordinator dies.
    const pRound3 = p.runRound();
    await until(() => first.status().current.submitted.includes('P'));
    await first.close();

    const second = await FederatedCoordinator.start({ ...opts, port });
    coordinators.push(second);
    const s = second.status();
    expect(s).toMatchObject({ completedRounds: 2, round: 3, phase: 'training' });
    expect(s.current.submitted).toEqual([]);
    const g2b = second.globalWeights();
    expect(Buffer.from(g2b.values.buffer).equals(Buffer.from(g2.values.buffer))).toBe(true);
    expect(second.history()).toEqual(history2);
    // The in-flight partner rides out the restart (retries), sees its update is gone, and sends it again.
    const [p3] = await Promise.all([pRound3, q.runRound()]);
    expect(p3.aggregated).toBe(true);
    expect(second.history()[2]).toMatchObject({ round: 3, participants: ['P', 'Q'] });
    await Promise.all([p.runRound(), q.runRound()]);
    await expect(second.done()).resolves.toHaveLength(4);
    // Every round is a versioned bundle plus the binary weights and the state file points at the last.
    const manifest = JSON.parse(await readFile(join(dir, 'rounds/round-000004/bundle/lepton.json'), 'utf8')) as { version: string };
    expect(manifest.version).toBe('0.4.0');
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { completedRounds: number; current: { file: string } };
    expect(state).toMatchObject({ completedRounds: 4, current: { file: 'rounds/round-000004/weights.lpw' } });
    model.dispose();
  });

  it('refuses a corrupt state or one made for another model with FEDERATED_STATE_INVALID', async () => {
    const c = await startCoordinator();
    const dir = c.dir;
    await c.close();
    const other = smallModel(2);
    const base = { partners: [{ id: 'A', token: tokenOf('A') }], rounds: 1, stateDir: dir };
    const wrongModel = await readWeights(other);
    wrongModel.specs = wrongModel.specs.map((s, i) => (i === 0 ? { ...s, name: 'renamed' } : s));
    await expect(FederatedCoordinator.start({ ...base, initialWeights: wrongModel })).rejects.toMatchObject({ code: 'FEDERATED_STATE_INVALID' });
    const weightsFile = join(dir, 'rounds/round-000000/weights.lpw');
    const bytes = await readFile(weightsFile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(weightsFile, bytes);
    await expect(FederatedCoordinator.start({ ...base, initialWeights: await initial() })).rejects.toMatchObject({ code: 'FEDERATED_STATE_INVALID' });
    other.dispose();
  });
});

describe('FederatedCoordinator secure aggregation', () => {
  const masking = { scale: 2 ** 16 };

  it('three partners: the unmasked aggregate equals plain FedAvg within quantisation; plain floats are refused', async () => {
    const c = await startCoordinator({ secureAggregation: true, masking, roundDeadlineMs: 30_000 });
    const g0 = c.globalWeights();
    const plain = await call(c.url, 'POST', '/v1/rounds/1/updates/A', { token: tokenOf('A'), bytes: handUpdate(g0.specs, g0.values.length, () => 0.1, 5) });
    expect(plain.json?.code).toBe('FEDERATED_WRONG_PHASE'); // keys first
    const reports = await Promise.all(['A', 'B', 'C'].map((id, k) => partner(c.url, id, k + 1, { secureAggregation: true, ...secure(id) }).runRound()));
    const rec = c.history()[0]!;
    expect(rec).toMatchObject({ secureAggregation: true, closedBy: 'all', participants: ['A', 'B', 'C'] });
    const expected = weightedMean(reports.map((r) => ({ delta: r.delta!, samples: r.samples })));
    // Each partner's pre-weighted value is rounded to 1/scale: at most 3 · 0.5/scale apart, plus float32 rounding.
    const err = maxAbsDiff(appliedDelta(g0, c.globalWeights()), expected);
    expect(err).toBeLessThanOrEqual((3 * 0.5) / masking.scale + 1e-6);
    expect(err).toBeGreaterThan(0); // quantisation happened: the coordinator never saw the floats
  });

  it('a participant dropping after the key phase: survivors reveal, the result is the survivors’ exact aggregate', async () => {
    const c = await startCoordinator({ secureAggregation: true, masking, roundDeadlineMs: 2500, keyDeadlineMs: 30_000, revealDeadlineMs: 10_000 });
    const g0 = c.globalWeights();
    // C joins the key phase (announcing 96 samples, signed with its identity) and then disappears.
    const info = (await call(c.url, 'GET', '/v1/round', { token: tokenOf('C') })).json as unknown as RoundInfo;
    const { announcement, signature } = createKeyAnnouncement(identities.get('C')!, {
      federationId: info.federationId,
      roundId: info.roundId!,
      partnerId: 'C',
      samples: 96,
      peers: ['A', 'B'],
    });
    const key = await call(c.url, 'POST', '/v1/rounds/1/keys/C', { token: tokenOf('C'), json: { attempt: 1, announcement, signature } });
    expect(key.status).toBe(200);
    const [a, b] = await Promise.all([partner(c.url, 'A', 1, secure('A')).runRound(), partner(c.url, 'B', 2, secure('B')).runRound()]);
    const rec = c.history()[0]!;
    expect(rec).toMatchObject({ closedBy: 'deadline', participants: ['A', 'B'], dropped: ['C'] });
    // Independently: each survivor sent round((nᵢ/N)·δᵢ·scale) with N = nA + nB + 96; the coordinator rescales by N/(nA+nB).
    const N = a!.samples + b!.samples + 96;
    const words = [a!, b!].map((r) => {
      const w = new Float32Array(r.delta!.length);
      for (let i = 0; i < w.length; i++) w[i] = r.delta![i]! * (r.samples / N);
      return new Int32Array(quantizeUpdate(w, { scale: masking.scale, clipValue: 1000 }).buffer);
    });
    const exact = Float64Array.from(words[0]!, (v, i) => ((v + words[1]![i]!) / masking.scale) * (N / (a!.samples + b!.samples)));
    // Float32 rounding only (≪ one quantum of 1/scale): the dropped partner's masks are removed exactly.
    expect(maxAbsDiff(appliedDelta(g0, c.globalWeights()), exact)).toBeLessThan(1e-6);
    expect(maxAbsDiff(appliedDelta(g0, c.globalWeights()), weightedMean([a!, b!].map((r) => ({ delta: r.delta!, samples: r.samples }))))).toBeLessThan(
      1.5 / masking.scale,
    );
    const late = await call(c.url, 'POST', '/v1/rounds/1/updates/C', {
      token: tokenOf('C'),
      bytes: encodeMasked(new Uint32Array(g0.values.length), g0.specs, { samples: 96, baseVersion: 0, attempt: 1 }),
    });
    expect(late.json?.code).toBe('FEDERATED_ROUND_CLOSED');
  });
});

describe('FederatedCoordinator differential privacy', () => {
  it('partners clip and noise; the noise multiplier is reported per round; updates without DP are refused', async () => {
    const dp = { clipNorm: 0.05, noiseMultiplier: 0.8 };
    const c = await startCoordinator({ dp }, ['A', 'B']);
    const g = c.globalWeights();
    const bare = await call(c.url, 'POST', '/v1/rounds/1/updates/A', { token: tokenOf('A'), bytes: handUpdate(g.specs, g.values.length, () => 0, 5) });
    expect(bare.status).toBe(400);
    expect(bare.json?.code).toBe('FEDERATED_BAD_UPDATE');
    const [a, b] = await Promise.all([
      partner(c.url, 'A', 1, { random: () => 0.5 }).runRound(),
      partner(c.url, 'B', 2, { dp: { clipNorm: 0.05, noiseMultiplier: 1.2 } }).runRound(),
    ]);
    // σ = z·C/√n with n = 2 partners.
    expect(a.dp).toMatchObject({ clipNorm: 0.05, noiseMultiplier: 0.8 });
    expect(a.dp!.noiseStd).toBeCloseTo((0.8 * 0.05) / Math.SQRT2, 12);
    expect(b.dp!.noiseMultiplier).toBe(1.2); // B's own stricter setting wins
    expect(b.dp!.noiseStd).toBeCloseTo((1.2 * 0.05) / Math.SQRT2, 12);
    expect(c.status().dp).toEqual({ ...dp, delta: 1e-5 }); // δ defaults to 1e-5
    const rec = c.history()[0]!;
    expect(rec.dp).toEqual({ ...dp, delta: 1e-5 });
    expect(rec.appliedDp['A']?.noiseMultiplier).toBe(0.8);
    expect(rec.appliedDp['B']?.noiseMultiplier).toBe(1.2);
    // The recorded privacy is that of the actual weights: √(Σ wᵢ²σᵢ²) / max wᵢ·C, not the configured 0.8.
    const wA = a.samples / (a.samples + b.samples);
    const wB = 1 - wA;
    const zEff = Math.hypot(wA * a.dp!.noiseStd, wB * b.dp!.noiseStd) / (Math.max(wA, wB) * 0.05);
    expect(rec.privacy).toMatchObject({ claimedNoiseMultiplier: 0.8, clipNorm: 0.05, delta: 1e-5, verification: 'norm-checked' });
    expect(rec.privacy!.effectiveNoiseMultiplier).toBeCloseTo(zEff, 12);
    expect(rec.privacy!.cumulativeEpsilon).toBe(rec.privacy!.epsilon); // one round
    // random() = 0.5 gives Box–Muller radius √(2 ln 2)·σ at θ = π: the noise is r·cos π on even indices and r·sin π
    // (≈ 0) on odd ones, so subtracting it recovers the clipped update, whose norm is ≤ C.
    const radius = Math.sqrt(2 * Math.log(2)) * a.dp!.noiseStd;
    let sq = 0;
    a.delta!.forEach((v, i) => (sq += (v - radius * (i % 2 === 0 ? Math.cos(Math.PI) : Math.sin(Math.PI))) ** 2));
    expect(Math.sqrt(sq)).toBeLessThanOrEqual(0.05 + 1e-6);
    expect(a.dp!.clipped).toBe(a.dp!.norm > 0.05);
  });
});

describe('FederatedPartner.run()', () => {
  it('runs a whole federation; every partner’s held-out metrics improve and are reported per round; no tensor leaks', async () => {
    const model = smallModel(1);
    const c = await startCoordinator({ initialWeights: model, rounds: 4, quorum: 3 });
    const partners = ['A', 'B', 'C'].map((id, k) => partner(c.url, id, k + 1, { heldOutData: data(k + 1, 200, 99) }));
    const tensorsBefore = tf.memory().numTensors;
    const reports = await Promise.all(partners.map((p) => p.run()));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const history = await c.done();
    expect(history.map((h) => h.participants)).toEqual(Array(4).fill(['A', 'B', 'C']));
    const baseline = c.baseline();
    for (const r of reports) {
      expect(r.rounds).toHaveLength(4);
      expect(r.evaluations.map((e) => e.version)).toEqual([0, 1, 2, 3, 4]);
      const first = r.evaluations[0]!.metrics;
      const last = r.evaluations[4]!.metrics;
      expect(baseline[r.id]).toEqual(first);
      expect(history[3]!.evaluations[r.id]).toEqual(last);
      expect(last['loss']).toBeLessThan(first['loss']!);
      expect(last['auc']).toBeGreaterThan(first['auc']! + 0.05);
      expect(last['auc']).toBeGreaterThan(0.9);
    }
    const status = await call(c.url, 'GET', '/v1/status', { token: ADMIN });
    expect((status.json?.['history'] as unknown[]).length).toBe(4);
    model.dispose();
  });
});

describe('a partner facing a coordinator whose round info is malformed', () => {
  /** A fetch that rewrites the coordinator's GET /v1/round answer and counts what the partner posts. */
  const tamperInfo = (edit: (info: Record<string, unknown>) => void, posts: string[]): typeof fetch =>
    async (input, init) => {
      if ((init?.method ?? 'GET') !== 'GET') posts.push(String(input));
      const res = await fetch(input, init);
      if (!new URL(String(input)).pathname.endsWith('/round') || !res.ok) return res;
      const info = (await res.json()) as Record<string, unknown>;
      edit(info);
      return new Response(JSON.stringify(info), { status: 200, headers: { 'content-type': 'application/json' } });
    };

  it('stops with FEDERATED_BAD_RESPONSE naming the field, and posts nothing (wrong types, NaN-making values, hostile JSON)', async () => {
    const c = await startCoordinator({}, ['A', 'B']);
    const cases: [string, (i: Record<string, unknown>) => void][] = [
      ['session', (i) => (i['session'] = { toString: '' })],
      ['completedRounds', (i) => (i['completedRounds'] = '0')],
      ['phase', (i) => (i['phase'] = 'party')],
      ['mu', (i) => (i['mu'] = -1)],
      ['masking', (i) => (i['masking'] = { scale: 'big', clipValue: 1 })],
      ['dp', (i) => (i['dp'] = { clipNorm: 0, noiseMultiplier: 1 })],
      ['you', (i) => (i['you'] = null)],
      ['specs', (i) => (i['specs'] = 'all of them')],
      ['the body', (i) => Object.keys(i).forEach((k) => delete i[k])],
    ];
    for (const [field, edit] of cases) {
      const posts: string[] = [];
      const p = partner(c.url, 'A', 0, { fetch: tamperInfo(edit, posts) });
      const err = await p.run().catch((e: unknown) => e);
      expect(isLeptonError(err) && err.code, field).toBe('FEDERATED_BAD_RESPONSE');
      if (field !== 'the body') expect((err as { details: { field: string } }).details.field).toBe(field);
      expect((err as Error).message.length).toBeLessThan(400);
      expect(posts, field).toEqual([]);
    }
    // (every other partner test here runs real round infos through the same check)
  });
});
