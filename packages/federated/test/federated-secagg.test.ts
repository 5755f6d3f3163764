import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, isLeptonError, tf, type TrainData } from '@lepton/core';
import {
  createIdentityKeys,
  createKeyAnnouncement,
  createMaskingKeys,
  encodeWeights,
  exportMaskingPrivateKey,
  FederatedCoordinator,
  FederatedPartner,
  participantsDigest,
  readWeights,
  signStatement,
  survivorConfirmation,
  type CoordinatorOptions,
  type IdentityKeys,
  type PartnerOptions,
  type PreparedAnnouncement,
  type PublishedParticipant,
  type RoundInfo,
  type WeightSet,
} from '@lepton/federated';
import { ADMIN, call, memoryLogger, partnerData, smallModel, stateDir, tokenOf, until } from './support/federated.js';

/*
 * Secure aggregation against a malicious coordinator (issue 16 §1). A fake coordinator — a plain HTTP server in this
 * test — relays substituted keys, invents participants, replays old announcements or shrinks the survivor set; the
 * victim partner must refuse with a typed error before anything secret leaves it. Then a real coordinator facing a
 * partner that reveals made-up secrets, and what an honest round keeps in clear.
 */

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

const ids = ['V', 'B', 'C'];
const identities = new Map<string, IdentityKeys>(ids.map((id) => [id, createIdentityKeys()]));
const peersOf = (id: string): Record<string, string> => Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, identities.get(p)!.publicKey]));

const servers: Server[] = [];
const coordinators: FederatedCoordinator[] = [];
const disposables: TrainData[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(coordinators.splice(0).map((c) => c.close()));
  for (const d of disposables.splice(0)) tf.dispose([d.x as tf.Tensor, d.y]);
});

let initialSet: WeightSet | null = null;
const initial = async (): Promise<WeightSet> => {
  if (initialSet === null) {
    const m = smallModel(1);
    initialSet = await readWeights(m);
    m.dispose();
  }
  return initialSet;
};

function partner(url: string, id: string, k: number, over: Partial<PartnerOptions> = {}): FederatedPartner {
  const d = partnerData(k, 64, 5);
  disposables.push(d);
  return new FederatedPartner({
    url,
    id,
    token: tokenOf(id),
    model: smallModel(k + 10),
    trainData: d,
    local: { epochs: 1, batchSize: 32, learningRate: 0.02, seed: k },
    retry: { retries: 2, baseDelayMs: 20, maxDelayMs: 50 },
    pollWaitMs: 2000,
    identity: identities.get(id)!,
    peers: peersOf(id),
    secureAggregation: true,
    ...over,
  });
}

// ---- a fake, malicious coordinator ------------------------------------------------------------------------------

interface Posted {
  path: string;
  body: unknown;
}

interface Fake {
  url: string;
  info: RoundInfo;
  posts: Posted[];
  /** Changes the published round state (and wakes the victim's next poll). */
  set(patch: Partial<RoundInfo>, you?: Partial<RoundInfo['you']>): void;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A coordinator that answers like the real one but runs `onPost` for every POST, so a test can script what it relays.
 * It records every POST: the assertion that nothing secret was revealed is that no update, confirmation or reveal
 * arrived.
 */
async function fakeCoordinator(onPost: (fake: Fake, path: string, body: unknown) => void): Promise<Fake> {
  const g = await initial();
  const globalBytes = encodeWeights(g, { version: 0, round: 1 });
  const fake: Fake = {
    url: '',
    posts: [],
    info: {
      session: 'fake-session',
      stateVersion: 1,
      phase: 'keys',
      round: 1,
      attempt: 1,
      totalRounds: 1,
      completedRounds: 0,
      quorum: 2,
      partners: 3,
      deadlineAt: null,
      algorithm: 'fedavg',
      mu: 0.01,
      secureAggregation: true,
      masking: { scale: 2 ** 16, clipValue: 1000 },
      federationId: 'fed-under-attack',
      roundId: 'fake-session:1:1',
      participants: null,
      totalSamples: null,
      survivors: null,
      dropped: null,
      confirmations: null,
      dp: null,
      specs: g.specs,
      you: { id: 'V', fetched: false, keySubmitted: false, submitted: false, participant: false, survivor: false, confirmed: false, revealed: false },
      failure: null,
    },
    set(patch, you = {}) {
      fake.info = { ...fake.info, ...patch, you: { ...fake.info.you, ...you }, stateVersion: fake.info.stateVersion + 1 };
    },
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0]!;
      if (req.method === 'GET' && path === '/v1/global') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(globalBytes));
        return;
      }
      if (req.method === 'GET' && path === '/v1/round') {
        await new Promise((r) => setTimeout(r, 20)); // a short "long poll"
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fake.info));
        return;
      }
      let parsed: unknown = null;
      if ((req.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(body.toString('utf8'));
      fake.posts.push({ path, body: parsed ?? body.length });
      onPost(fake, path, parsed);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    })();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** Genuine announcements of B and C for the fake's round (the fake relays them, possibly altered). */
function genuine(fake: Fake, id: 'B' | 'C', over: { roundId?: string } = {}): PreparedAnnouncement {
  return createKeyAnnouncement(identities.get(id)!, {
    federationId: fake.info.federationId,
    roundId: over.roundId ?? fake.info.roundId!,
    partnerId: id,
    samples: 50,
    peers: ids.filter((p) => p !== id),
  });
}

const entry = (id: string, p: { announcement: PreparedAnnouncement['announcement']; signature: string }): PublishedParticipant => ({
  id,
  samples: p.announcement.samples,
  announcement: structuredClone(p.announcement),
  signature: p.signature,
});

/** The fake's reaction to the victim's key: publish `others` beside the victim's own announcement. */
const relayParticipants =
  (others: (fake: Fake) => PublishedParticipant[], keepVictim = true) =>
  (fake: Fake, path: string, body: unknown): void => {
    if (!path.includes('/keys/')) return;
    const mine = body as { announcement: PreparedAnnouncement['announcement']; signature: string };
    const participants = [...(keepVictim ? [entry('V', mine)] : []), ...others(fake)];
    fake.set({ phase: 'training', participants }, { keySubmitted: true, participant: true });
  };

async function refusal(fake: Fake): Promise<unknown> {
  const err = await partner(fake.url, 'V', 1).runRound().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).not.toBeNull();
  return err;
}

const secretPosts = (fake: Fake): Posted[] => fake.posts.filter((p) => /\/(updates|confirmations|reveals)\//.test(p.path));

describe('a partner facing a malicious coordinator', () => {
  it('refuses when the coordinator substitutes its own mask key for a peer’s (signature no longer verifies); nothing is sent', async () => {
    const fake = await fakeCoordinator(
      relayParticipants((f) => {
        const b = entry('B', genuine(f, 'B'));
        b.announcement.maskKeys['V'] = createMaskingKeys().publicKey; // the coordinator's own key, B's signature kept
        return [b, entry('C', genuine(f, 'C'))];
      }),
    );
    const err = await refusal(fake);
    expect(isLeptonError(err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect((err as Error).message).toMatch(/'B' is not signed by its identity key/);
    expect(secretPosts(fake)).toEqual([]);
  });

  it('refuses a peer announcement re-signed with a key that is not the peer’s configured identity', async () => {
    const fake = await fakeCoordinator(
      relayParticipants((f) => {
        const forged = createKeyAnnouncement(createIdentityKeys(), { federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'B', samples: 50, peers: ['V', 'C'] });
        return [entry('B', forged), entry('C', genuine(f, 'C'))];
      }),
    );
    expect(isLeptonError(await refusal(fake), 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect(secretPosts(fake)).toEqual([]);
  });

  it('refuses participants = [victim] (or any set below minParticipants) with FEDERATED_TOO_FEW_PARTICIPANTS', async () => {
    const alone = await fakeCoordinator(relayParticipants(() => []));
    const err = await refusal(alone);
    expect(isLeptonError(err, 'FEDERATED_TOO_FEW_PARTICIPANTS')).toBe(true);
    expect((isLeptonError(err) && err.details) || {}).toMatchObject({ participants: 1, required: 2 });
    expect(secretPosts(alone)).toEqual([]);
    // with minParticipants 3, two are too few as well
    const two = await fakeCoordinator(relayParticipants((f) => [entry('B', genuine(f, 'B'))]));
    const err2 = await partner(two.url, 'V', 1, { minParticipants: 3 }).runRound().catch((e: unknown) => e);
    expect(isLeptonError(err2, 'FEDERATED_TOO_FEW_PARTICIPANTS')).toBe(true);
    expect(secretPosts(two)).toEqual([]);
  });

  it('refuses an unknown participant, even with a valid signature under its own key', async () => {
    const z = createIdentityKeys();
    const fake = await fakeCoordinator(
      relayParticipants((f) => [entry('B', genuine(f, 'B')), entry('Z', createKeyAnnouncement(z, { federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'Z', samples: 50, peers: ['V', 'B'] }))]),
    );
    const err = await refusal(fake);
    expect(isLeptonError(err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect((err as Error).message).toMatch(/'Z' has no configured identity key/);
    expect(secretPosts(fake)).toEqual([]);
  });

  it('refuses a genuine announcement replayed from another round, and never announces twice for one round id', async () => {
    const fake = await fakeCoordinator(relayParticipants((f) => [entry('B', genuine(f, 'B', { roundId: 'fake-session:0:1' })), entry('C', genuine(f, 'C'))]));
    const victim = partner(fake.url, 'V', 1);
    const err = await victim.runRound().catch((e: unknown) => e);
    expect(isLeptonError(err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect((err as Error).message).toMatch(/replay/);
    // The coordinator offers the same round id again: the victim will not make keys for it a second time.
    fake.set({ phase: 'keys', participants: null }, { keySubmitted: false, participant: false });
    const again = await victim.runRound().catch((e: unknown) => e);
    expect(isLeptonError(again, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect(fake.posts.filter((p) => p.path.includes('/keys/'))).toHaveLength(1);
    expect(secretPosts(fake)).toEqual([]);
  });

  it('after sending its masked update, refuses to confirm survivors = [victim] and to reveal without every survivor’s confirmation', async () => {
    const scenario = async (survivors: string[], confirmationsOf: (f: Fake, victimSig: string) => { id: string; signature: string }[]) => {
      const fake = await fakeCoordinator((f, path, body) => {
        if (path.includes('/keys/')) {
          const mine = body as { announcement: PreparedAnnouncement['announcement']; signature: string };
          f.set({ phase: 'training', participants: [entry('V', mine), entry('B', genuine(f, 'B')), entry('C', genuine(f, 'C'))] }, { keySubmitted: true, participant: true });
        } else if (path.includes('/updates/')) {
          f.set({ phase: 'confirming', survivors, dropped: ids.filter((id) => !survivors.includes(id)).sort() }, { submitted: true, survivor: true });
        } else if (path.includes('/confirmations/')) {
          const sig = (body as { signature: string }).signature;
          f.set({ phase: 'unmasking', confirmations: confirmationsOf(f, sig) }, { confirmed: true });
        }
      });
      const err = await refusal(fake);
      return { fake, err };
    };
    // 1. Only the victim "survived": the sum would be its update alone.
    const alone = await scenario(['V'], () => []);
    expect(isLeptonError(alone.err, 'FEDERATED_TOO_FEW_PARTICIPANTS')).toBe(true);
    expect(alone.fake.posts.filter((p) => /confirmations|reveals/.test(p.path))).toEqual([]);
    // 2. Survivors V and B, but B never confirmed that set (the coordinator forges B's confirmation): no reveal.
    const forged = await scenario(['B', 'V'], (f, victimSig) => [
      { id: 'V', signature: victimSig },
      { id: 'B', signature: signStatement(createIdentityKeys().privateKey, survivorConfirmation({ federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'B', participants: ids, keysDigest: participantsDigest(f.info.participants!), survivors: ['B', 'V'] })) },
    ]);
    expect(isLeptonError(forged.err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect((forged.err as Error).message).toMatch(/confirmation of 'B' does not verify/);
    expect(forged.fake.posts.filter((p) => p.path.includes('/reveals/'))).toEqual([]);
    // 3. B's genuine confirmation of a different survivor set (equivocation) does not count either.
    const other = await scenario(['B', 'V'], (f, victimSig) => [
      { id: 'V', signature: victimSig },
      { id: 'B', signature: signStatement(identities.get('B')!.privateKey, survivorConfirmation({ federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'B', participants: ids, keysDigest: participantsDigest(f.info.participants!), survivors: ids })) },
    ]);
    expect(isLeptonError(other.err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect(other.fake.posts.filter((p) => p.path.includes('/reveals/'))).toEqual([]);
    // 4. B's genuine confirmation of the same ids and survivors, but made for other key announcements, does not count.
    const otherKeys = await scenario(['B', 'V'], (f, victimSig) => [
      { id: 'V', signature: victimSig },
      { id: 'B', signature: signStatement(identities.get('B')!.privateKey, survivorConfirmation({ federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'B', participants: ids, keysDigest: participantsDigest([{ id: 'B', signature: 'x' }]), survivors: ['B', 'V'] })) },
    ]);
    expect(isLeptonError(otherKeys.err, 'FEDERATED_BAD_SIGNATURE')).toBe(true);
    expect(otherKeys.fake.posts.filter((p) => p.path.includes('/reveals/'))).toEqual([]);
    // Control: B's genuine confirmation of exactly these keys and survivors is accepted, and the victim reveals.
    const honest = await fakeCoordinator((f, path, body) => {
      if (path.includes('/keys/')) {
        const mine = body as { announcement: PreparedAnnouncement['announcement']; signature: string };
        f.set({ phase: 'training', participants: [entry('V', mine), entry('B', genuine(f, 'B')), entry('C', genuine(f, 'C'))] }, { keySubmitted: true, participant: true });
      } else if (path.includes('/updates/')) {
        f.set({ phase: 'confirming', survivors: ['B', 'V'], dropped: ['C'] }, { submitted: true, survivor: true });
      } else if (path.includes('/confirmations/')) {
        const b = survivorConfirmation({ federationId: f.info.federationId, roundId: f.info.roundId!, partnerId: 'B', participants: ids, keysDigest: participantsDigest(f.info.participants!), survivors: ['B', 'V'] });
        f.set({ phase: 'unmasking', confirmations: [{ id: 'V', signature: (body as { signature: string }).signature }, { id: 'B', signature: signStatement(identities.get('B')!.privateKey, b) }] }, { confirmed: true });
      } else if (path.includes('/reveals/')) {
        f.set({ phase: 'done', completedRounds: 1, participants: null, survivors: null, dropped: null, confirmations: null }, { revealed: true });
      }
    });
    await partner(honest.url, 'V', 1).runRound();
    const reveal = honest.posts.find((p) => p.path.includes('/reveals/'))!.body as { pairKeys: Record<string, string> };
    expect(Object.keys(reveal.pairKeys)).toEqual(['C']); // the dropped participant's pair only, never a survivor's
  });
});

// ---- a real coordinator ------------------------------------------------------------------------------------------

async function start(over: Partial<CoordinatorOptions> = {}): Promise<FederatedCoordinator & { logger: ReturnType<typeof memoryLogger> }> {
  const logger = memoryLogger();
  const c = await FederatedCoordinator.start({
    initialWeights: await initial(),
    partners: ids.map((id) => ({ id, token: tokenOf(id), identityKey: identities.get(id)!.publicKey })),
    adminToken: ADMIN,
    rounds: 1,
    quorum: 2,
    roundDeadlineMs: 30_000,
    secureAggregation: true,
    masking: { scale: 2 ** 16 },
    logger,
    stateDir: await stateDir(),
    ...over,
  });
  coordinators.push(c);
  return Object.assign(c, { logger });
}

/** A fetch that rewrites the JSON body of reveals before sending it (a partner lying about its secrets). */
const tamperReveal =
  (edit: (body: { selfMask: string; pairKeys: Record<string, string> }) => void): typeof fetch =>
  async (input, init) => {
    if (String(input).includes('/reveals/') && typeof init?.body === 'string') {
      const body = JSON.parse(init.body) as { selfMask: string; pairKeys: Record<string, string> };
      edit(body);
      return fetch(input, { ...init, body: JSON.stringify(body) });
    }
    return fetch(input, init);
  };

describe('a real coordinator facing a lying survivor', () => {
  it('refuses a made-up self-mask seed (FEDERATED_BAD_KEY); the round cannot be shifted and fails safely at the reveal deadline', async () => {
    const c = await start({ revealDeadlineMs: 4000, maxRoundAttempts: 1 });
    const g0 = c.globalWeights();
    const liar = partner(c.url, 'C', 3, { fetch: tamperReveal((b) => (b.selfMask = randomBytes(32).toString('base64'))) });
    const results = await Promise.allSettled([partner(c.url, 'V', 1).runRound(), partner(c.url, 'B', 2).runRound(), liar.runRound()]);
    expect(results[2]!.status).toBe('rejected');
    expect(isLeptonError((results[2] as PromiseRejectedResult).reason, 'FEDERATED_BAD_KEY')).toBe(true);
    await expect(c.done()).rejects.toMatchObject({ code: 'FEDERATED_QUORUM_NOT_MET' });
    expect(c.status().rejections.some((r) => r.code === 'FEDERATED_BAD_KEY' && r.partner === 'C' && /commitment/.test(r.message))).toBe(true);
    expect(c.status().completedRounds).toBe(0);
    expect(Buffer.from(c.globalWeights().values.buffer).equals(Buffer.from(g0.values.buffer))).toBe(true);
  });

  it('refuses a pair key for a dropped partner that does not reproduce the announced public key', async () => {
    // The key phase ends once all three keys are in (not at a 2 s key deadline V and B might miss while training).
    const c = await start({ roundDeadlineMs: 2000, keyDeadlineMs: 30_000, revealDeadlineMs: 1500, maxRoundAttempts: 1 });
    // C announces keys and vanishes; B then reveals a random key instead of its key for the pair (B, C).
    const info = (await call(c.url, 'GET', '/v1/round', { token: tokenOf('C') })).json as unknown as RoundInfo;
    const { announcement, signature } = createKeyAnnouncement(identities.get('C')!, { federationId: info.federationId, roundId: info.roundId!, partnerId: 'C', samples: 50, peers: ['V', 'B'] });
    expect((await call(c.url, 'POST', '/v1/rounds/1/keys/C', { token: tokenOf('C'), json: { attempt: 1, announcement, signature } })).status).toBe(200);
    const liar = partner(c.url, 'B', 2, { fetch: tamperReveal((b) => (b.pairKeys['C'] = exportMaskingPrivateKey(createMaskingKeys()))) });
    const results = await Promise.allSettled([partner(c.url, 'V', 1).runRound(), liar.runRound()]);
    expect(isLeptonError((results[1] as PromiseRejectedResult).reason, 'FEDERATED_BAD_KEY')).toBe(true);
    expect(c.status().rejections.some((r) => r.code === 'FEDERATED_BAD_KEY' && /does not reproduce the public key/.test(r.message))).toBe(true);
    await expect(c.done()).rejects.toMatchObject({ code: 'FEDERATED_QUORUM_NOT_MET' });
    expect(c.status().completedRounds).toBe(0);
  });

  it('refuses a key announcement not signed by the registered identity, and one bound to another round', async () => {
    const c = await start();
    const info = (await call(c.url, 'GET', '/v1/round', { token: tokenOf('C') })).json as unknown as RoundInfo;
    const fields = { federationId: info.federationId, roundId: info.roundId!, partnerId: 'C', samples: 5, peers: ['V', 'B'] };
    const forged = createKeyAnnouncement(createIdentityKeys(), fields);
    const r1 = await call(c.url, 'POST', '/v1/rounds/1/keys/C', { token: tokenOf('C'), json: { attempt: 1, announcement: forged.announcement, signature: forged.signature } });
    expect(r1.json?.code).toBe('FEDERATED_BAD_SIGNATURE');
    const replay = createKeyAnnouncement(identities.get('C')!, { ...fields, roundId: 'old-session:1:1' });
    const r2 = await call(c.url, 'POST', '/v1/rounds/1/keys/C', { token: tokenOf('C'), json: { attempt: 1, announcement: replay.announcement, signature: replay.signature } });
    expect(r2.json?.code).toBe('FEDERATED_BAD_KEY');
    expect(c.status().current.keys).toEqual([]);
  });
});

describe('what an honest secure-aggregation round keeps in clear', () => {
  it('no per-partner norm or training metrics are sent or shown by default; both sides must opt in', async () => {
    const dp = { clipNorm: 0.5, noiseMultiplier: 0.5 };
    const sentMeta: string[] = [];
    const spy: typeof fetch = async (input, init) => {
      if (String(input).includes('/updates/') && init?.body instanceof Uint8Array) {
        const len = new DataView(init.body.buffer, init.body.byteOffset).getUint32(4, true);
        sentMeta.push(new TextDecoder().decode(init.body.subarray(8, 8 + len)));
      }
      return fetch(input, init);
    };
    const c = await start({ dp });
    await Promise.all(ids.map((id, k) => partner(c.url, id, k + 1, { fetch: spy }).runRound()));
    const rec = c.history()[0]!;
    expect(rec.participants).toEqual(['B', 'C', 'V']);
    expect(rec.trainMetrics).toEqual({});
    for (const id of ids) expect(Object.keys(rec.appliedDp[id]!).sort()).toEqual(['clipNorm', 'noiseMultiplier', 'noiseStd', 'partners']);
    expect(rec.privacy).toMatchObject({ verification: 'claimed', claimedNoiseMultiplier: 0.5 });
    const status = JSON.stringify((await call(c.url, 'GET', '/v1/status', { token: ADMIN })).json);
    expect(status).not.toMatch(/"norm"|"clipped"|"loss"/);
    expect(sentMeta).toHaveLength(3);
    for (const m of sentMeta) expect(m).not.toMatch(/"norm"|"clipped"|"metrics"/);

    // Opt-in on both sides: the partner shares, the coordinator keeps.
    const shared = await start({ dp, partnerDiagnostics: true });
    await Promise.all(ids.map((id, k) => partner(shared.url, id, k + 1, { shareDiagnostics: true }).runRound()));
    const rec2 = shared.history()[0]!;
    expect(Object.keys(rec2.trainMetrics).sort()).toEqual(['B', 'C', 'V']);
    expect(rec2.appliedDp['V']).toHaveProperty('norm');
    await until(() => shared.status().phase === 'done');
  });
});
