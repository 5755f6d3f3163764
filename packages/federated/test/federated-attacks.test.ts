import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createBundleSigningKeys,
  initRuntime,
  loadBundle,
  seededRandom,
  tf,
  type TrainData,
} from '@lepton/core';
import {
  decodeWeights,
  encodeWeights,
  FederatedCoordinator,
  FederatedPartner,
  gaussianNoiseStd,
  privatizeUpdate,
  readWeights,
  type CoordinatorOptions,
  type WeightSet,
} from '@lepton/federated';
import { ADMIN, call, forgeWeights, memoryLogger, partnerData, smallModel, stateDir, tokenOf, until } from './support/federated.js';

/*
 * A partner (or an outsider) attacking the coordinator over loopback, as in issue 16 §1: every attack must now fail
 * safely — a typed 4xx, the round intact, the global model finite and served, a restart possible.
 */

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

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

async function start(over: Partial<CoordinatorOptions> = {}, ids = ['A', 'B', 'C']): Promise<FederatedCoordinator & { logger: ReturnType<typeof memoryLogger>; dir: string }> {
  const logger = memoryLogger();
  const dir = over.stateDir ?? (await stateDir());
  const c = await FederatedCoordinator.start({
    initialWeights: await initial(),
    partners: ids.map((id) => ({ id, token: tokenOf(id) })),
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

const post = (c: FederatedCoordinator, id: string, bytes: Uint8Array, round = 1) =>
  call(c.url, 'POST', `/v1/rounds/${round}/updates/${id}`, { token: tokenOf(id), bytes });

const fill = (g: WeightSet, f: (i: number) => number, meta: Record<string, unknown>): Uint8Array =>
  encodeWeights({ specs: g.specs, values: Float32Array.from({ length: g.values.length }, (_, i) => f(i)) }, meta);

/** Waits until `round` is saved and the next round is open (the state file is written in between). */
const roundDone = (c: FederatedCoordinator, round: number): Promise<void> =>
  until(() => c.status().completedRounds === round && (c.status().round > round || c.status().phase === 'done'));

const allFinite = (v: ArrayLike<number>): boolean => Array.from(v).every(Number.isFinite);

/** A wire payload with a hand-written header JSON, for metadata `encodeWeights` itself refuses to write. */
function rawPayload(g: WeightSet, values: Float32Array, metaJson: string): Uint8Array {
  const header = new TextEncoder().encode(`{"specs":${JSON.stringify(g.specs)},"dtype":"float32","count":${values.length},"meta":${metaJson}}`);
  const start = Math.ceil((8 + header.length) / 4) * 4;
  const out = new Uint8Array(start + values.length * 4);
  out.set(new TextEncoder().encode('LPW1'), 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  out.set(new Uint8Array(values.buffer), start);
  return out;
}

describe('poisoning to infinity', () => {
  it('refuses huge finite updates (3e38 × 10¹² samples, two rounds running); the global stays finite, served, decodable and restartable', async () => {
    const c = await start({ rounds: 2, closeOnQuorum: true });
    const g0 = c.globalWeights();
    for (const round of [1, 2]) {
      const g = c.globalWeights();
      const attack = await post(c, 'A', fill(g, (i) => (i % 2 === 0 ? 3e38 : -3e38), { samples: 1e12, baseVersion: round - 1 }), round);
      expect(attack.status).toBe(400);
      expect(attack.json?.code).toBe('FEDERATED_OUT_OF_BOUNDS');
      // Just over the default bound (1000) is refused too; a huge norm of small values as well.
      expect((await post(c, 'A', fill(g, (i) => (i === 0 ? 1001 : 0), { samples: 5, baseVersion: round - 1 }), round)).json?.code).toBe('FEDERATED_OUT_OF_BOUNDS');
      expect(c.status().current.submitted).toEqual([]);
      expect((await post(c, 'B', fill(g, () => 0.01, { samples: 10, baseVersion: round - 1 }), round)).status).toBe(200);
      expect((await post(c, 'C', fill(g, () => -0.02, { samples: 10, baseVersion: round - 1 }), round)).status).toBe(200);
      await roundDone(c, round);
    }
    const g2 = c.globalWeights();
    expect(allFinite(g2.values)).toBe(true);
    g2.values.forEach((v, i) => expect(v - g0.values[i]!).toBeCloseTo(2 * -0.005, 6));
    // Served and decodable by an honest partner; admin status answers.
    const served = await call(c.url, 'GET', '/v1/global', { token: tokenOf('B') });
    expect(allFinite(decodeWeights(served.bytes, g0.specs).values)).toBe(true);
    expect((await call(c.url, 'GET', '/v1/status', { token: ADMIN })).status).toBe(200);
    expect(c.status().rejections.filter((r) => r.code === 'FEDERATED_OUT_OF_BOUNDS' && r.partner === 'A')).toHaveLength(4);
    // A restart over the saved state succeeds with the same weights.
    await c.close();
    const again = await start({ rounds: 2, stateDir: c.dir });
    expect(again.status()).toMatchObject({ completedRounds: 2, phase: 'done' });
    expect(Buffer.from(again.globalWeights().values.buffer).equals(Buffer.from(g2.values.buffer))).toBe(true);
  });

  it('the L2-norm bound is configurable and enforced', async () => {
    const c = await start({ updateBounds: { maxAbs: 1, maxNorm: 2 } });
    const g = c.globalWeights();
    // every value 0.9 is within maxAbs, but the norm 0.9·√n is not
    const r = await post(c, 'A', fill(g, () => 0.9, { samples: 5, baseVersion: 0 }));
    expect(r.status).toBe(400);
    expect(r.json?.code).toBe('FEDERATED_OUT_OF_BOUNDS');
    expect(r.json?.message).toMatch(/maxNorm/);
    expect((await post(c, 'A', fill(g, (i) => (i === 0 ? 0.9 : 0), { samples: 5, baseVersion: 0 }))).status).toBe(200);
  });

  it('an aggregate that would overflow float32 fails the attempt: the last good model stays published, then the federation fails with FEDERATED_AGGREGATE_INVALID; a restart works', async () => {
    // Global weight 0 sits at float32's largest value; bounded updates (9e29 ≤ maxAbs 1e30) still push it past.
    const g = await initial();
    g.values[0] = 3.4028234663852886e38;
    const c = await start({ initialWeights: g, updateBounds: { maxAbs: 1e30, maxNorm: 1e30 }, maxRoundAttempts: 2 }, ['A', 'B']);
    for (const attempt of [1, 2]) {
      for (const id of ['A', 'B']) expect((await post(c, id, fill(g, (i) => (i === 0 ? 9e29 : 0), { samples: 3, baseVersion: 0 }))).status).toBe(200);
      await until(() => c.status().failures.length === attempt);
    }
    await expect(c.done()).rejects.toMatchObject({ code: 'FEDERATED_AGGREGATE_INVALID' });
    const s = c.status();
    expect(s.failures.map((f) => [f.attempt, f.code])).toEqual([
      [1, 'FEDERATED_AGGREGATE_INVALID'],
      [2, 'FEDERATED_AGGREGATE_INVALID'],
    ]);
    expect(s.completedRounds).toBe(0);
    expect(Buffer.from(c.globalWeights().values.buffer).equals(Buffer.from(g.values.buffer))).toBe(true);
    const served = await call(c.url, 'GET', '/v1/global', { token: tokenOf('A') });
    expect(allFinite(decodeWeights(served.bytes, g.specs).values)).toBe(true);
    await c.close();
    const again = await start({ initialWeights: g, stateDir: c.dir }, ['A', 'B']);
    expect(again.status()).toMatchObject({ completedRounds: 0, phase: 'training' });
  });
});

describe('self-reported sample counts', () => {
  it('are capped at the registered size: a partner claiming 10¹² gets the weight of its cap', async () => {
    const c = await start({ partners: [{ id: 'A', token: tokenOf('A'), maxSamples: 100 }, { id: 'B', token: tokenOf('B') }], closeOnQuorum: true }, []);
    const g = c.globalWeights();
    expect((await post(c, 'A', fill(g, () => 1, { samples: 1e12, baseVersion: 0 }))).status).toBe(200);
    expect((await post(c, 'B', fill(g, () => 0, { samples: 100, baseVersion: 0 }))).status).toBe(200);
    await until(() => c.status().completedRounds === 1);
    const rec = c.history()[0]!;
    expect(rec).toMatchObject({ samples: { A: 100, B: 100 }, cappedSamples: ['A'], totalSamples: 200 });
    c.globalWeights().values.forEach((v, i) => expect(v - g.values[i]!).toBeCloseTo(0.5, 6));
    expect(c.logger.lines.some((l) => l.message === 'sample claim capped' && l.fields['partner'] === 'A')).toBe(true);
  });

  it('default cap: 10⁶ per partner', async () => {
    const c = await start({ closeOnQuorum: true });
    const g = c.globalWeights();
    await post(c, 'A', fill(g, () => 1, { samples: 1e12, baseVersion: 0 }));
    await post(c, 'B', fill(g, () => 0, { samples: 1_000_000, baseVersion: 0 }));
    await until(() => c.status().completedRounds === 1);
    expect(c.history()[0]!.samples).toEqual({ A: 1_000_000, B: 1_000_000 });
  });
});

describe('update metadata', () => {
  it('a 10 000-deep value in meta.dp is refused; the round completes, saves, and GET /v1/status answers', async () => {
    const c = await start({ closeOnQuorum: true });
    const g = c.globalWeights();
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const zeros = new Float32Array(g.values.length);
    for (const meta of [
      `{"samples":5,"baseVersion":0,"dp":${deep}}`,
      `{"samples":5,"baseVersion":0,"metrics":{"loss":${deep}}}`,
      `{"samples":5,"baseVersion":0,"dp":{"clipNorm":1,"noiseMultiplier":1,"noiseStd":1,"partners":3,"extra":{"a":{"b":{}}}}}`,
      `{"samples":5,"baseVersion":0,"note":"unknown fields are refused"}`,
      `{"samples":5,"baseVersion":0,"metrics":{"loss":"${'x'.repeat(65_600)}"}}`,
    ]) {
      const r = await post(c, 'A', rawPayload(g, zeros, meta));
      expect(r.status, meta.slice(0, 80)).toBe(400);
      expect(r.json?.code).toBe('FEDERATED_BAD_UPDATE');
    }
    expect((await call(c.url, 'GET', '/v1/status', { token: ADMIN })).status).toBe(200);
    expect((await post(c, 'A', rawPayload(g, zeros, '{"samples":5,"baseVersion":0,"metrics":{"loss":0.5}}'))).status).toBe(200);
    expect((await post(c, 'B', fill(g, () => 0, { samples: 5, baseVersion: 0 }))).status).toBe(200);
    await roundDone(c, 1);
    expect(c.history()[0]!.trainMetrics).toEqual({ A: { loss: 0.5 } });
    const status = await call(c.url, 'GET', '/v1/status', { token: ADMIN });
    expect(status.status).toBe(200);
    expect(JSON.parse(await readFile(join(c.dir, 'state.json'), 'utf8'))).toMatchObject({ completedRounds: 1 });
  });
});

describe('differential-privacy claims', () => {
  // 4096 values: enough that Gaussian noise has a norm a noiseless update cannot fake.
  const big: WeightSet = { specs: [{ name: 'w', shape: [4096] }], values: new Float32Array(4096) };
  const dp = { clipNorm: 1, noiseMultiplier: 1.1 };
  const claim = { clipNorm: 1, noiseMultiplier: 1.1, noiseStd: gaussianNoiseStd(1, 1.1, 3), partners: 3 };
  const direction = (k: number): Float32Array => {
    const r = seededRandom(k);
    return Float32Array.from({ length: 4096 }, () => r() - 0.5);
  };
  const scaled = (v: Float32Array, norm: number): Float32Array => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => (x * norm) / n);
  };
  const honest = (k: number): Float32Array => privatizeUpdate(scaled(direction(k), 3), { ...dp, partners: 3, random: seededRandom(100 + k) }).values;

  it('refuses plain updates that claim DP but were not noised, or not clipped, or under-noised for the federation', async () => {
    const c = await start({ initialWeights: big, dp });
    const send = (values: Float32Array, meta: Record<string, unknown> = {}) =>
      post(c, 'A', encodeWeights({ specs: big.specs, values }, { samples: 10, baseVersion: 0, dp: claim, ...meta }));
    const noiseless = await send(scaled(direction(1), 0.9)); // clipped, claims noise, has none
    expect(noiseless.status).toBe(400);
    expect(noiseless.json?.code).toBe('FEDERATED_DP_VIOLATION');
    expect(noiseless.json?.message).toMatch(/noise was not added/);
    const noise2 = honest(2);
    const noisedUnclipped = direction(2).map((x, i) => x * 40 + noise2[i]!); // noised but norm ≈ 740 ≫ C
    const unclipped = await send(noisedUnclipped);
    expect(unclipped.json?.code).toBe('FEDERATED_DP_VIOLATION');
    expect(unclipped.json?.message).toMatch(/not clipped/);
    // A noise share computed for a million partners instead of the 3 enrolled is not the required noise.
    const tiny = await send(honest(3), { dp: { ...claim, partners: 1_000_000, noiseStd: gaussianNoiseStd(1, 1.1, 1_000_000) } });
    expect(tiny.json?.code).toBe('FEDERATED_BAD_UPDATE');
    expect(c.status().current.submitted).toEqual([]);
    expect((await send(honest(4))).status).toBe(200);
  });

  it('records the effective noise of the actual participants and weights (2 of 3 → 0.898; 30:10 → 0.669) and the (ε, δ)', async () => {
    const reference = JSON.parse(await readFile(new URL('./fixtures/federated/rdp-reference.json', import.meta.url), 'utf8')) as {
      effectiveNoise: { samples: number[]; effective: number }[];
      epsilon: { name: string; epsilon: number }[];
    };
    const run = async (samples: [number, number]) => {
      const c = await start({ initialWeights: big, dp, closeOnQuorum: true });
      for (const [k, id] of ['A', 'B'].entries()) {
        const r = await post(c, id, encodeWeights({ specs: big.specs, values: honest(10 + k) }, { samples: samples[k], baseVersion: 0, dp: claim }));
        expect(r.status).toBe(200);
      }
      await until(() => c.status().completedRounds === 1);
      return c;
    };
    const equal = await run([10, 10]);
    const p = equal.history()[0]!.privacy!;
    expect(p.claimedNoiseMultiplier).toBe(1.1);
    expect(p.effectiveNoiseMultiplier).toBeCloseTo(reference.effectiveNoise[0]!.effective, 12);
    expect(p.effectiveNoiseMultiplier).toBeCloseTo(0.898, 3);
    expect(p.verification).toBe('norm-checked');
    expect(p.epsilon).toBeGreaterThan(0);
    expect(equal.status().privacy).toEqual({ delta: 1e-5, epsilon: p.cumulativeEpsilon, rounds: 1 });
    const unequal = await run([30, 10]);
    expect(unequal.history()[0]!.privacy!.effectiveNoiseMultiplier).toBeCloseTo(reference.effectiveNoise[1]!.effective, 12);
  });
});

describe('slow clients', () => {
  /** Opens a raw connection, writes `head`, then one more byte every `everyMs`; resolves with ms until the server closes it. */
  function slowLoris(url: string, head: string, everyMs: number): Promise<{ closedAfterMs: number; response: string }> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let response = '';
      const socket = connect(Number(port), hostname, () => socket.write(head));
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write('a');
      }, everyMs);
      socket.on('data', (d) => (response += d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfterMs: Date.now() - started, response });
      });
      setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        reject(new Error('the server kept a slow client open for 10 s'));
      }, 10_000).unref();
    });
  }

  it('cuts off a 1-byte-per-200-ms body and a dripping header at requestTimeoutMs, and keeps serving', async () => {
    const c = await start({ http: { requestTimeoutMs: 1000 } });
    const body = await slowLoris(c.url, `POST /v1/rounds/1/updates/A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokenOf('A')}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`, 200);
    expect(body.closedAfterMs).toBeLessThan(4000);
    const header = await slowLoris(c.url, 'GET /v1/round HTTP/1.1\r\nHost: x\r\nX-Slow: ', 200);
    expect(header.closedAfterMs).toBeLessThan(4000);
    expect(c.status().current.submitted).toEqual([]);
    // Honest requests, a long poll included, still work.
    const info = await call(c.url, 'GET', '/v1/round', { token: tokenOf('B') });
    expect(info.status).toBe(200);
    const t0 = Date.now();
    const poll = await call(c.url, 'GET', `/v1/round?since=${String(info.json?.['stateVersion'])}&session=${String(info.json?.['session'])}&waitMs=1500`, { token: tokenOf('B') });
    expect(poll.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
  });
});

describe('restart over any saved state', () => {
  const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

  it('removes stale round-*.tmp-* folders and state.json.tmp-* files', async () => {
    const c = await start();
    await c.close();
    await mkdir(join(c.dir, 'rounds', 'round-000001.tmp-123-456', 'bundle'), { recursive: true });
    await writeFile(join(c.dir, 'rounds', 'round-000001.tmp-123-456', 'weights.lpw'), 'half');
    await writeFile(join(c.dir, 'state.json.tmp-9-9'), '{');
    const again = await start({ stateDir: c.dir });
    expect(await readdir(join(c.dir, 'rounds'))).toEqual(['round-000000']);
    expect((await readdir(c.dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(again.logger.lines.some((l) => l.message === 'removed stale temporaries')).toBe(true);
  });

  it('falls back to the last good round when the current weights are non-finite (a state written before this fix)', async () => {
    const c = await start({ rounds: 3, closeOnQuorum: true });
    for (const round of [1, 2]) {
      const g = c.globalWeights();
      await post(c, 'A', fill(g, () => 0.1, { samples: 5, baseVersion: round - 1 }), round);
      await post(c, 'B', fill(g, () => 0.1, { samples: 5, baseVersion: round - 1 }), round);
      await roundDone(c, round);
    }
    const g1 = decodeWeights(new Uint8Array(await readFile(join(c.dir, 'rounds/round-000001/weights.lpw')))).values;
    await c.close();
    // What the old coordinator saved after the poisoning: ±Infinity weights with a matching digest.
    const poisoned = forgeWeights({ specs: c.globalWeights().specs, values: new Float32Array(g1.length).fill(Infinity) }, { round: 2, version: 2 });
    await writeFile(join(c.dir, 'rounds/round-000002/weights.lpw'), poisoned);
    const state = JSON.parse(await readFile(join(c.dir, 'state.json'), 'utf8')) as { current: { sha256: string }; history: { weightsSha256: string }[] };
    state.current.sha256 = digest(poisoned);
    state.history[1]!.weightsSha256 = digest(poisoned);
    await writeFile(join(c.dir, 'state.json'), JSON.stringify(state));

    const again = await start({ rounds: 3, closeOnQuorum: true, stateDir: c.dir });
    const s = again.status();
    expect(s).toMatchObject({ completedRounds: 1, round: 2, phase: 'training' });
    expect(s.history).toHaveLength(1);
    expect(s.failures.at(-1)).toMatchObject({ round: 2, phase: 'restart', code: 'FEDERATED_STATE_INVALID' });
    expect(s.failures.at(-1)!.message).toMatch(/fell back to round 1/);
    expect(Array.from(again.globalWeights().values)).toEqual(Array.from(g1));
    // and the federation goes on from there
    await post(again, 'A', fill(again.globalWeights(), () => 0, { samples: 5, baseVersion: 1 }), 2);
    await post(again, 'B', fill(again.globalWeights(), () => 0, { samples: 5, baseVersion: 1 }), 2);
    await until(() => again.status().completedRounds === 2);
    expect(allFinite(again.globalWeights().values)).toBe(true);
  });
});

describe('published bundles', () => {
  it('with bundleSigningKey, every round’s bundle is signed and loads with the trusted key', async () => {
    const keys = createBundleSigningKeys();
    const model = smallModel(1);
    const c = await start({ initialWeights: model, bundleSigningKey: keys.privateKey, closeOnQuorum: true });
    const g = c.globalWeights();
    await post(c, 'A', fill(g, () => 0.01, { samples: 5, baseVersion: 0 }));
    await post(c, 'B', fill(g, () => 0.01, { samples: 5, baseVersion: 0 }));
    await until(() => c.status().completedRounds === 1);
    for (const round of ['round-000000', 'round-000001']) {
      const bundle = await loadBundle(join(c.dir, 'rounds', round, 'bundle'), { trustedKeys: [keys.publicKey] });
      bundle.model.dispose();
    }
    await expect(loadBundle(join(c.dir, 'rounds/round-000001/bundle'), { trustedKeys: [createBundleSigningKeys().publicKey] })).rejects.toMatchObject({
      code: 'BUNDLE_SIGNATURE_INVALID',
    });
    model.dispose();
  });
});

describe('an honest federation still runs', () => {
  it('two partners train a round end to end with the new checks on', async () => {
    const c = await start({ closeOnQuorum: true }, ['A', 'B']);
    const mk = (id: string, k: number) => {
      const d = partnerData(k, 64, 3);
      disposables.push(d);
      return new FederatedPartner({ url: c.url, id, token: tokenOf(id), model: smallModel(k + 10), trainData: d, local: { epochs: 1, batchSize: 32, learningRate: 0.02, seed: k } });
    };
    const [a, b] = await Promise.all([mk('A', 1).runRound(), mk('B', 2).runRound()]);
    expect(a.aggregated && b.aggregated).toBe(true);
    expect(c.history()[0]!.trainMetrics['A']).toHaveProperty('loss'); // plain mode: diagnostics are shared by default
  });
});
