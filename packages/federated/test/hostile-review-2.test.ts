/*
 * Findings of the second hostile review of secure aggregation (repro scripts in /tmp/review-fed); each test failed
 * before its fix:
 *
 * A. (medium) A reveal that completed the round just before the reveal deadline failed the federation: the reveal timer
 *    kept running while the round's model was saved, fired, reset the attempt, and persistRound then threw
 *    (FEDERATED_STATE_INVALID). The timer now stops when the last reveal is in, and persistRound reads everything before
 *    its first await.
 * B. (high) A partner could announce a degenerate (low-order) X25519 mask key; the coordinator accepted it and every honest
 *    partner's run() then ended with FEDERATED_BAD_KEY. The coordinator now refuses such a key (400 FEDERATED_BAD_KEY),
 *    and a partner whose peer key fails agreement abstains from that attempt instead of ending its run.
 * C. (critical) A malicious coordinator could unmask attempt 1 with {A, B, C} and attempt 2 of the same round with
 *    {A, B} — both fed with the same cached updates — and learn C's update exactly as the difference. A partner now
 *    never lets an update of one base model version into two unmasked sums: after it has revealed, it abstains until the
 *    global model moves on; the coordinator ends a round whose unmasked aggregate it rejected instead of retrying it.
 */
import { stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, initRuntime, isLeptonError, tf } from '@lepton/core';
import {
  createIdentityKeys,
  createKeyAnnouncement,
  decodeWeights,
  encodeMasked,
  encodeWeights,
  exportMaskingPrivateKey,
  FederatedCoordinator,
  FederatedPartner,
  importMaskingPrivateKey,
  maskUpdate,
  pairSeed,
  participantsDigest,
  readWeights,
  removeDroppedMasks,
  removeSelfMask,
  signStatement,
  sumMasked,
  survivorConfirmation,
  unmaskSum,
  type IdentityKeys,
  type KeyAnnouncement,
  type PreparedAnnouncement,
  type PublishedParticipant,
  type RoundInfo,
  type WeightSpec,
} from '@lepton/federated';
import { ADMIN, call, memoryLogger, stateDir, tokenOf, until } from './support/federated.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
});

const MASKING = { scale: 2 ** 16 };

/** GET /v1/round as partner `id`. */
async function roundInfo(url: string, id: string): Promise<RoundInfo> {
  return (await call(url, 'GET', '/v1/round', { token: tokenOf(id) })).json as unknown as RoundInfo;
}

/** An honest secure-aggregation partner driven by hand over raw HTTP, one step per call. */
class Actor {
  prep!: PreparedAnnouncement;
  participants: string[] = [];
  keysDigest = '';
  survivors: string[] = [];

  constructor(
    readonly url: string,
    readonly id: string,
    readonly identity: IdentityKeys,
    readonly peers: string[],
    readonly specs: WeightSpec[],
  ) {}

  async keys(): Promise<Awaited<ReturnType<typeof call>>> {
    const i = await roundInfo(this.url, this.id);
    this.prep = createKeyAnnouncement(this.identity, { federationId: i.federationId, roundId: i.roundId!, partnerId: this.id, samples: 10, peers: this.peers });
    const body = { attempt: i.attempt, announcement: this.prep.announcement, signature: this.prep.signature };
    return call(this.url, 'POST', `/v1/rounds/${i.round}/keys/${this.id}`, { token: tokenOf(this.id), json: body });
  }

  async update(delta: Float32Array): Promise<Awaited<ReturnType<typeof call>>> {
    const i = await roundInfo(this.url, this.id);
    const parts = i.participants!;
    const total = parts.reduce((s, p) => s + p.samples, 0);
    const w = parts.find((p) => p.id === this.id)!.samples / total;
    const peers = parts
      .filter((p) => p.id !== this.id)
      .map((p) => ({ id: p.id, seed: pairSeed(this.prep.maskKeys.get(p.id)!, this.id, p.id, p.announcement.maskKeys[this.id]!, i.roundId!) }));
    const words = maskUpdate(Float32Array.from(delta, (v) => v * w), this.id, peers, i.masking!, this.prep.selfSeed);
    this.participants = parts.map((p) => p.id).sort();
    this.keysDigest = participantsDigest(parts);
    const bytes = encodeMasked(words, this.specs, { samples: 10, baseVersion: i.completedRounds, attempt: i.attempt });
    return call(this.url, 'POST', `/v1/rounds/${i.round}/updates/${this.id}`, { token: tokenOf(this.id), bytes });
  }

  async confirm(): Promise<Awaited<ReturnType<typeof call>>> {
    const i = await roundInfo(this.url, this.id);
    this.survivors = [...i.survivors!].sort();
    const st = survivorConfirmation({ federationId: i.federationId, roundId: i.roundId!, partnerId: this.id, participants: this.participants, keysDigest: this.keysDigest, survivors: this.survivors });
    return call(this.url, 'POST', `/v1/rounds/${i.round}/confirmations/${this.id}`, { token: tokenOf(this.id), json: { attempt: i.attempt, signature: signStatement(this.identity.privateKey, st) } });
  }

  async reveal(): Promise<Awaited<ReturnType<typeof call>>> {
    const i = await roundInfo(this.url, this.id);
    const pairKeys: Record<string, string> = {};
    for (const d of this.participants.filter((x) => !this.survivors.includes(x))) pairKeys[d] = exportMaskingPrivateKey(this.prep.maskKeys.get(d)!);
    const body = { attempt: i.attempt, selfMask: Buffer.from(this.prep.selfSeed).toString('base64'), pairKeys };
    return call(this.url, 'POST', `/v1/rounds/${i.round}/reveals/${this.id}`, { token: tokenOf(this.id), json: body });
  }
}

function identitiesOf(ids: string[]): Map<string, IdentityKeys> {
  return new Map(ids.map((id) => [id, createIdentityKeys()]));
}

function peersOf(ids: string[], identities: Map<string, IdentityKeys>, me: string): Record<string, string> {
  return Object.fromEntries(ids.filter((p) => p !== me).map((p) => [p, identities.get(p)!.publicKey]));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('A. a reveal just before the reveal deadline completes the round (the deadline no longer fires during the save)', () => {
  it('closes the round once, keeps the federation running, and records no failed attempt', async () => {
    // A large model makes unmasking and saving take long enough for the old timer to fire during persistRound.
    const N = 4_000_000;
    const specs: WeightSpec[] = [{ name: 'w', shape: [N] }];
    const ids = ['A', 'B', 'C'];
    const identities = identitiesOf(ids);
    const logger = memoryLogger();
    const c = await FederatedCoordinator.start({
      initialWeights: { specs, values: new Float32Array(N).fill(0.5) },
      partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: identities.get(id)!.publicKey })),
      adminToken: ADMIN,
      rounds: 2,
      quorum: 2,
      roundDeadlineMs: 60_000,
      keyDeadlineMs: 60_000,
      revealDeadlineMs: 5_000,
      maxRoundAttempts: 3,
      secureAggregation: true,
      masking: MASKING,
      logger,
      stateDir: await stateDir(),
    });
    try {
      const actors = ids.map((id) => new Actor(c.url, id, identities.get(id)!, ids.filter((p) => p !== id), specs));
      for (const a of actors) expect((await a.keys()).status).toBe(200);
      const delta = new Float32Array(N).fill(0.1);
      for (const a of actors) expect((await a.update(delta)).status).toBe(200);
      for (const a of actors) expect((await a.confirm()).status).toBe(200);
      const i = await roundInfo(c.url, 'A');
      expect(i.phase).toBe('unmasking');
      const deadlineAt = i.deadlineAt!;
      expect((await actors[0]!.reveal()).status).toBe(200);
      expect((await actors[1]!.reveal()).status).toBe(200);
      // The last reveal arrives shortly before the reveal deadline; aggregating 4M values and saving them takes longer.
      await sleep(Math.max(0, deadlineAt - Date.now() - 300));
      const last = await actors[2]!.reveal();
      expect(last.status).toBe(200);
      await until(() => c.status().completedRounds === 1 || c.status().phase === 'failed', 30_000);
      // Well past the old deadline: nothing fires any more.
      await sleep(Math.max(0, deadlineAt - Date.now()) + 1_000);
      const s = c.status();
      expect(s.failure).toBeNull();
      expect(s.phase).toBe('keys');
      expect(s.round).toBe(2);
      expect(s.attempt).toBe(1);
      expect(s.completedRounds).toBe(1);
      expect(s.failures).toEqual([]);
      expect(logger.lines.filter((l) => l.level !== 'info')).toEqual([]);
    } finally {
      await c.close();
    }
  }, 90_000);
});

/** 32 zero bytes: u = 0, a small-order X25519 point (every agreement with it gives the all-zero secret). */
const ZERO_KEY = Buffer.alloc(32).toString('base64');
/** u = 1, another small-order point. */
const ONE_KEY = Buffer.from([1, ...new Array<number>(31).fill(0)]).toString('base64');

const tinyModel = (seed: number): ReturnType<typeof buildMlp> => buildMlp({ inputDim: 3, hiddenUnits: [2], dropout: 0, seed });
const tinyData = (k: number): { x: tf.Tensor2D; y: tf.Tensor2D } => ({
  x: tf.randomNormal([40, 3], 0, 1, 'float32', k) as tf.Tensor2D,
  y: tf.cast(tf.greater(tf.randomNormal([40, 1], 0, 1, 'float32', k + 7), 0), 'float32') as tf.Tensor2D,
});

interface FakeAttempt {
  attempt: number;
  roundId: string;
  phase: 'keys' | 'training' | 'confirming' | 'unmasking' | 'done';
  keys: Map<string, { announcement: KeyAnnouncement; signature: string }>;
  participants: PublishedParticipant[] | null;
  words: Map<string, Uint32Array>;
  survivors: string[] | null;
  conf: Map<string, string>;
  reveals: Map<string, { selfMask: string; pairKeys: Record<string, string> }>;
}

/**
 * A malicious coordinator over real HTTP, driven step by step by the test: it records what partners post and shows them
 * whatever phase, participants and survivors the test sets (the reviewer's repro 03).
 */
class FakeCoordinator {
  st!: FakeAttempt;
  version = 1;
  completed = 0;
  url = '';
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly globalBytes: Uint8Array;

  constructor(
    readonly ids: string[],
    readonly global: { specs: WeightSpec[]; values: Float32Array },
  ) {
    this.globalBytes = encodeWeights(global, { version: 0, round: 1 });
    this.open(1);
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  open(attempt: number): void {
    this.st = { attempt, roundId: `evil:1:${attempt}`, phase: 'keys', keys: new Map(), participants: null, words: new Map(), survivors: null, conf: new Map(), reveals: new Map() };
    this.version++;
  }

  /** Publishes the announcements it holds as the participants. */
  publish(): void {
    this.st.participants = [...this.st.keys].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, k]) => ({ id, samples: k.announcement.samples, announcement: k.announcement, signature: k.signature }));
    this.st.phase = 'training';
    this.version++;
  }

  fixSurvivors(survivors: string[]): void {
    this.st.survivors = [...survivors].sort();
    this.st.phase = 'confirming';
    this.version++;
  }

  set(phase: FakeAttempt['phase'], completed = this.completed): void {
    this.st.phase = phase;
    this.completed = completed;
    this.version++;
  }

  /** The survivors' unmasked, pre-weighted sum (as the real coordinator computes it). */
  unmask(): Float32Array {
    const st = this.st;
    const sum = sumMasked(st.survivors!.map((s) => st.words.get(s)!));
    for (const [s, r] of st.reveals) {
      removeSelfMask(sum, new Uint8Array(Buffer.from(r.selfMask, 'base64')));
      for (const [d, pk] of Object.entries(r.pairKeys)) {
        removeDroppedMasks(sum, s, d, pairSeed(importMaskingPrivateKey(pk), s, d, st.keys.get(d)!.announcement.maskKeys[s]!, st.roundId));
      }
    }
    return unmaskSum(sum, { ...MASKING, clipValue: 1000 });
  }

  private info(id: string): Record<string, unknown> {
    const st = this.st;
    const active = st.phase !== 'done';
    return {
      session: 'evil', stateVersion: this.version, phase: st.phase, round: 1, attempt: st.attempt, totalRounds: 1, completedRounds: this.completed,
      quorum: 2, partners: this.ids.length, deadlineAt: null, algorithm: 'fedavg', mu: 0, secureAggregation: true,
      masking: { ...MASKING, clipValue: 1000 }, federationId: 'fed', roundId: st.roundId,
      participants: active ? st.participants : null,
      totalSamples: active && st.participants ? st.participants.reduce((s, p) => s + p.samples, 0) : null,
      survivors: active ? st.survivors : null,
      dropped: active && st.survivors ? st.participants!.map((p) => p.id).filter((p) => !st.survivors!.includes(p)) : null,
      confirmations: st.phase === 'unmasking' ? st.survivors!.map((s) => ({ id: s, signature: st.conf.get(s)! })) : null,
      dp: null, specs: this.global.specs,
      you: {
        id, fetched: true, keySubmitted: st.keys.has(id), submitted: st.words.has(id), participant: st.participants?.some((p) => p.id === id) ?? false,
        survivor: st.survivors?.includes(id) ?? false, confirmed: st.conf.has(id), revealed: st.reveals.has(id),
      },
      failure: null,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const id = this.ids.find((x) => req.headers.authorization === `Bearer ${tokenOf(x)}`)!;
    const path = (req.url ?? '').split('?')[0]!;
    const json = (status: number, v: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    if (path === '/v1/global') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(this.globalBytes));
    if (path === '/v1/round') {
      await sleep(20); // a short long-poll
      return json(200, this.info(id));
    }
    const st = this.st;
    if (path.includes('/keys/')) st.keys.set(id, JSON.parse(body.toString()) as { announcement: KeyAnnouncement; signature: string });
    else if (path.includes('/updates/')) st.words.set(id, decodeWeights(new Uint8Array(body)).values as Uint32Array);
    else if (path.includes('/confirmations/')) st.conf.set(id, (JSON.parse(body.toString()) as { signature: string }).signature);
    else if (path.includes('/reveals/')) st.reveals.set(id, JSON.parse(body.toString()) as { selfMask: string; pairKeys: Record<string, string> });
    this.version++;
    json(200, { accepted: true });
  }
}

function partnerFor(url: string, id: string, ids: string[], identities: Map<string, IdentityKeys>, k: number, logger = memoryLogger(), stateFile?: string): { partner: FederatedPartner; logger: ReturnType<typeof memoryLogger> } {
  const partner = new FederatedPartner({
    url, id, token: tokenOf(id), model: tinyModel(1), trainData: tinyData(k), local: { epochs: 2, learningRate: 0.1, seed: k },
    identity: identities.get(id)!, peers: peersOf(ids, identities, id), pollWaitMs: 200, logger, ...(stateFile === undefined ? {} : { stateFile }),
  });
  return { partner, logger };
}

/** A signed announcement of `id` whose mask keys are replaced by `maskKey` (a malicious partner's). */
function degenerateAnnouncement(identity: IdentityKeys, fields: { federationId: string; roundId: string; partnerId: string; peers: string[] }, maskKey: string): { announcement: KeyAnnouncement; signature: string } {
  const prep = createKeyAnnouncement(identity, { ...fields, samples: 10 });
  const announcement = { ...prep.announcement, maskKeys: Object.fromEntries(fields.peers.map((p) => [p, maskKey])) };
  return { announcement, signature: signStatement(identity.privateKey, announcement) };
}

describe('B. degenerate (low-order) X25519 mask keys', () => {
  it('the coordinator refuses them with 400 FEDERATED_BAD_KEY, and the honest partners finish the round without the sender', async () => {
    const ids = ['A', 'B', 'M'];
    const identities = identitiesOf(ids);
    const c = await FederatedCoordinator.start({
      initialWeights: await readWeights(tinyModel(1)),
      partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: identities.get(id)!.publicKey })),
      adminToken: ADMIN, rounds: 1, quorum: 2, roundDeadlineMs: 30_000, keyDeadlineMs: 4_000, revealDeadlineMs: 30_000, maxRoundAttempts: 1,
      secureAggregation: true, masking: MASKING, logger: memoryLogger(), stateDir: await stateDir(),
    });
    try {
      const i = await roundInfo(c.url, 'M');
      const fields = { federationId: i.federationId, roundId: i.roundId!, partnerId: 'M', peers: ['A', 'B'] };
      for (const key of [ZERO_KEY, ONE_KEY]) {
        const r = await call(c.url, 'POST', '/v1/rounds/1/keys/M', { token: tokenOf('M'), json: { attempt: 1, ...degenerateAnnouncement(identities.get('M')!, fields, key) } });
        expect(r.status).toBe(400);
        expect(r.json?.code).toBe('FEDERATED_BAD_KEY');
        expect(r.json?.message).toMatch(/degenerate|agreement/);
        expect(r.json?.message).not.toContain(key);
      }
      expect(c.status().current.keys).toEqual([]);
      const runs = ['A', 'B'].map((id, k) => partnerFor(c.url, id, ids, identities, k + 2).partner.run());
      const reports = await Promise.all(runs);
      expect(reports.map((r) => r.completedRounds)).toEqual([1, 1]);
      await expect(c.done()).resolves.toHaveLength(1);
      expect(c.status().history[0]!.participants).toEqual(['A', 'B']);
    } finally {
      await c.close();
    }
  }, 60_000);

  it('a partner shown a peer key that fails agreement abstains from that attempt instead of ending its run', async () => {
    const ids = ['A', 'B', 'M'];
    const identities = identitiesOf(ids);
    const fake = new FakeCoordinator(ids, await readWeights(tinyModel(1)));
    await fake.start();
    try {
      const a = partnerFor(fake.url, 'A', ids, identities, 2);
      const b = partnerFor(fake.url, 'B', ids, identities, 3);
      const runs = [a.partner.runRound(), b.partner.runRound()];
      const abstained = (l: ReturnType<typeof memoryLogger>): boolean => l.lines.some((x) => x.message.startsWith('peer mask key unusable'));
      let failed: unknown = null;
      void Promise.all(runs).catch((err: unknown) => (failed = err));
      // Attempt 1: a coordinator that does not check keys relays M's degenerate keys.
      await until(() => fake.st.keys.size === 2, 30_000);
      fake.st.keys.set('M', degenerateAnnouncement(identities.get('M')!, { federationId: 'fed', roundId: fake.st.roundId, partnerId: 'M', peers: ['A', 'B'] }, ZERO_KEY));
      fake.publish();
      await until(() => failed !== null || (abstained(a.logger) && abstained(b.logger)), 30_000);
      expect(failed).toBeNull();
      expect(fake.st.words.size).toBe(0); // nothing sent in the attempt with the bad key
      const warn = a.logger.lines.find((x) => x.message.startsWith('peer mask key unusable'))!;
      expect(warn.level).toBe('warn');
      expect(warn.fields['peer']).toBe('M');
      // Attempt 2 without M: both take part with fresh keys and finish the round.
      fake.open(2);
      await until(() => fake.st.keys.size === 2, 30_000);
      fake.publish();
      await until(() => fake.st.words.size === 2, 30_000);
      fake.fixSurvivors(['A', 'B']);
      await until(() => fake.st.conf.size === 2, 30_000);
      fake.set('unmasking');
      await until(() => fake.st.reveals.size === 2, 30_000);
      fake.set('done', 1);
      const reports = await Promise.all(runs);
      expect(reports.map((r) => r.submitted)).toEqual([true, true]);
      for (const r of reports) expect(r.abstentions).toEqual([{ attempt: 1, reason: 'peer-key-unusable', peer: 'M' }]);
    } finally {
      await fake.close();
    }
  }, 60_000);
});

describe('C. one base model never feeds two unmasked sums', () => {
  it('partners that revealed abstain from a second attempt at the same base version, so it cannot be differenced', async () => {
    const ids = ['A', 'B', 'C'];
    const identities = identitiesOf(ids);
    const fake = new FakeCoordinator(ids, await readWeights(tinyModel(1)));
    await fake.start();
    try {
      const ps = ids.map((id, k) => partnerFor(fake.url, id, ids, identities, k + 1));
      const runs = ps.map((p) => p.partner.runRound());
      let failed: unknown = null;
      void Promise.all(runs).catch((err: unknown) => (failed = err));
      // Attempt 1: everybody survives; the coordinator unmasks S1 = A + B + C (weighted).
      await until(() => fake.st.keys.size === 3, 30_000);
      fake.publish();
      await until(() => fake.st.words.size === 3, 30_000);
      fake.fixSurvivors(ids);
      await until(() => fake.st.conf.size === 3, 30_000);
      fake.set('unmasking');
      await until(() => fake.st.reveals.size === 3, 30_000);
      expect(fake.unmask().length).toBeGreaterThan(0);
      // Attempt 2 of the same round from the same global version: it would declare C dropped and unmask S2 = A + B.
      fake.open(2);
      const abstained = (l: ReturnType<typeof memoryLogger>): boolean => l.lines.some((x) => x.level === 'warn' && x.message.startsWith('update already unmasked'));
      await until(() => failed !== null || fake.st.keys.size > 0 || ps.every((p) => abstained(p.logger)), 30_000);
      expect(failed).toBeNull();
      expect(fake.st.keys.size).toBe(0); // no announcement, so no masked update and no reveal for attempt 2
      expect(fake.st.words.size).toBe(0);
      for (const p of ps) expect(p.logger.lines.filter((x) => x.message.startsWith('update already unmasked'))).toHaveLength(1);
      fake.set('done', 1);
      const reports = await Promise.all(runs);
      for (const r of reports) expect(r.abstentions).toEqual([{ attempt: 2, reason: 'update-already-unmasked', peer: null }]);
    } finally {
      await fake.close();
    }
  }, 60_000);

  it('a partner with a stateFile remembers across a restart that its update from this base was unmasked', async () => {
    const ids = ['A', 'B', 'C'];
    const identities = identitiesOf(ids);
    const dir = await stateDir();
    const fileOf = (id: string): string => join(dir, `partner-${id}.json`);
    const fake = new FakeCoordinator(ids, await readWeights(tinyModel(1)));
    await fake.start();
    try {
      // A and B keep a state file, C does not.
      const first = ids.map((id, k) => partnerFor(fake.url, id, ids, identities, k + 1, memoryLogger(), id === 'C' ? undefined : fileOf(id)));
      const runs: Promise<unknown>[] = first.map((p) => p.partner.runRound());
      let failed: unknown = null;
      void Promise.all(runs).catch((err: unknown) => (failed = err));
      await until(() => fake.st.keys.size === 3, 30_000);
      fake.publish();
      await until(() => fake.st.words.size === 3, 30_000);
      fake.fixSurvivors(ids);
      await until(() => fake.st.conf.size === 3, 30_000);
      fake.set('unmasking');
      await until(() => fake.st.reveals.size === 3, 30_000);
      for (const id of ['A', 'B']) expect((await stat(fileOf(id))).mode & 0o777).toBe(0o600);
      // The three restart (new processes: new objects; the old ones are left to abstain), and attempt 2 opens at the same base version.
      const restarted = ids.map((id, k) => partnerFor(fake.url, id, ids, identities, k + 1, memoryLogger(), id === 'C' ? undefined : fileOf(id)));
      fake.open(2);
      runs.push(...restarted.map((p) => p.partner.runRound()));
      const abstained = (l: ReturnType<typeof memoryLogger>): boolean => l.lines.some((x) => x.message.startsWith('update already unmasked'));
      const settled = (id: string, k: number): boolean => abstained(restarted[k]!.logger) || fake.st.keys.has(id);
      await until(() => failed !== null || (fake.st.keys.has('C') && settled('A', 0) && settled('B', 1)), 30_000);
      expect(failed).toBeNull();
      // Only C, which forgot, announced keys again: the records in A's and B's files kept them out.
      expect([...fake.st.keys.keys()]).toEqual(['C']);
      fake.set('done', 1);
      await Promise.all(runs);
    } finally {
      await fake.close();
    }
  }, 60_000);

  it('a stateFile that is corrupt, another partner\'s or a symbolic link stops the partner before it starts', async () => {
    const ids = ['A', 'B'];
    const identities = identitiesOf(ids);
    const dir = await stateDir();
    const make = (file: string): unknown => {
      try {
        partnerFor('http://127.0.0.1:9', 'A', ids, identities, 1, memoryLogger(), file);
        return null;
      } catch (err) {
        return err;
      }
    };
    const corrupt = join(dir, 'corrupt.json');
    await writeFile(corrupt, '{"type":"lepton-federated-partner-state","version":1,"partnerId":"A","usedRoundIds":[1],"revealedBases":[]}');
    const foreign = join(dir, 'foreign.json');
    await writeFile(foreign, '{"type":"lepton-federated-partner-state","version":1,"partnerId":"B","usedRoundIds":[],"revealedBases":[]}');
    const link = join(dir, 'link.json');
    await symlink(foreign, link);
    for (const [file, pattern] of [[corrupt, /usedRoundIds/], [foreign, /belongs to partner 'B'/], [link, /symbolic link/], [dir, /regular file/]] as const) {
      const err = make(file);
      expect(isLeptonError(err, 'FEDERATED_STATE_INVALID'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(pattern);
    }
    // A file that does not exist yet is an empty record; one the partner can read is accepted.
    expect(make(join(dir, 'new.json'))).toBeNull();
    await writeFile(join(dir, 'ok.json'), '{"type":"lepton-federated-partner-state","version":1,"partnerId":"A","usedRoundIds":["r1"],"revealedBases":[["v:fed:0","r1"]]}');
    expect(make(join(dir, 'ok.json'))).toBeNull();
    // Without secure aggregation there is nothing to keep.
    expect(() => new FederatedPartner({ url: 'http://127.0.0.1:9', id: 'A', token: tokenOf('A'), model: tinyModel(1), trainData: tinyData(1), stateFile: join(dir, 'x.json') })).toThrow(/needs identity and peers/);
  });

  it('the coordinator does not wait for partners whose update was unmasked in a rejected aggregate, and fails clearly when too few are left', async () => {
    const ids = ['A', 'B', 'C', 'D', 'E'];
    const specs: WeightSpec[] = [{ name: 'w', shape: [8] }];
    const identities = identitiesOf(ids);
    const c = await FederatedCoordinator.start({
      initialWeights: { specs, values: new Float32Array(8).fill(0.5) },
      partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: identities.get(id)!.publicKey })),
      adminToken: ADMIN, rounds: 1, quorum: 2, roundDeadlineMs: 60_000, keyDeadlineMs: 3_000, revealDeadlineMs: 60_000, maxRoundAttempts: 5,
      secureAggregation: true, masking: MASKING, updateBounds: { maxAbs: 1000, maxNorm: 0.01 }, logger: memoryLogger(), stateDir: await stateDir(),
    });
    try {
      const actor = new Map(ids.map((id) => [id, new Actor(c.url, id, identities.get(id)!, ids.filter((p) => p !== id), specs)]));
      const runAttempt = async (who: string[]): Promise<void> => {
        for (const id of who) expect((await actor.get(id)!.update(new Float32Array(8).fill(0.1))).status).toBe(200);
        for (const id of who) expect((await actor.get(id)!.confirm()).status).toBe(200);
        for (const id of who) expect((await actor.get(id)!.reveal()).status).toBe(200);
      };
      // Attempt 1: A, B, C take part (D and E miss the key deadline); the unmasked aggregate is out of bounds.
      for (const id of ['A', 'B', 'C']) expect((await actor.get(id)!.keys()).status).toBe(200);
      await until(() => c.status().phase === 'training', 30_000);
      await runAttempt(['A', 'B', 'C']);
      await until(() => c.status().attempt === 2 || c.status().phase === 'failed', 30_000);
      expect(c.status().phase).toBe('keys');
      expect(c.status().failures[0]!.code).toBe('FEDERATED_AGGREGATE_INVALID');
      // A's update from version 0 is spent: its key for attempt 2 is refused; D and E alone complete the key phase.
      const again = await actor.get('A')!.keys();
      expect(again.status).toBe(409);
      expect(again.json?.code).toBe('FEDERATED_ROUND_CLOSED');
      expect(again.json?.message).toContain('already unmasked');
      for (const id of ['D', 'E']) expect((await actor.get(id)!.keys()).status).toBe(200);
      expect(c.status().phase).toBe('training'); // published at once: A, B and C are not waited for
      // Attempt 2 is rejected as well: nobody is left who could send an update from version 0.
      await runAttempt(['D', 'E']);
      await until(() => c.status().phase === 'failed', 30_000);
      expect(c.status().failure?.code).toBe('FEDERATED_AGGREGATE_INVALID');
      expect(c.status().failure?.message).toMatch(/will not be sent again/);
      expect(c.status().attempt).toBe(2);
      await expect(c.done()).rejects.toMatchObject({ code: 'FEDERATED_AGGREGATE_INVALID' });
    } finally {
      await c.close();
    }
  }, 60_000);
});

describe('minor: a future attempt number is not "over"', () => {
  it('answers 409 FEDERATED_ROUND_CLOSED saying it is not the current attempt', async () => {
    const ids = ['A', 'B'];
    const specs: WeightSpec[] = [{ name: 'w', shape: [8] }];
    const identities = identitiesOf(ids);
    const c = await FederatedCoordinator.start({
      initialWeights: { specs, values: new Float32Array(8).fill(0.5) },
      partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: identities.get(id)!.publicKey })),
      adminToken: ADMIN, rounds: 1, quorum: 2, secureAggregation: true, masking: MASKING, logger: memoryLogger(), stateDir: await stateDir(),
    });
    try {
      const i = await roundInfo(c.url, 'A');
      const prep = createKeyAnnouncement(identities.get('A')!, { federationId: i.federationId, roundId: i.roundId!, partnerId: 'A', samples: 10, peers: ['B'] });
      const r = await call(c.url, 'POST', '/v1/rounds/1/keys/A', { token: tokenOf('A'), json: { attempt: 2, announcement: prep.announcement, signature: prep.signature } });
      expect(r.status).toBe(409);
      expect(r.json?.code).toBe('FEDERATED_ROUND_CLOSED');
      expect(r.json?.message).toContain('attempt 2 is not the current attempt; round 1 is on attempt 1');
    } finally {
      await c.close();
    }
  }, 30_000);
});
