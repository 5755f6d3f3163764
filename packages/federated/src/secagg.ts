import { createHash, randomBytes } from 'node:crypto';
import { describeValue, LeptonError, type LeptonErrorCode } from '@lepton/core';
import { canonicalJson, isRawKey, signStatement, verifyStatement, type IdentityKeys } from './identity.js';
import { createMaskingKeys, selfMaskCommitment, type MaskingKeys } from './masking.js';

/*
 * The secure-aggregation protocol statements and the checks each side makes on them (Bonawitz et al. 2017, §4 and
 * §6, with per-pair masking keys so drop-out recovery reveals only single pair seeds):
 *
 * 1. keys — each partner signs a KeyAnnouncement with its long-term identity: one fresh X25519 public key per peer and
 *    a commitment to a fresh self-mask seed, bound to the federation id, the round id and its own id.
 * 2. training — the coordinator publishes the signed announcements of the participants. A partner masks and sends its
 *    update only if every announcement verifies under the identity key it was configured with for that id, is bound
 *    to this federation and round, its own is unchanged, and there are at least `minParticipants` participants.
 * 3. confirming — the coordinator names the survivors (participants whose update arrived). Each survivor signs one
 *    SurvivorConfirmation per round: the participant set (with a digest of their signed announcements) and the survivor set,
 *    only if the survivors are at least `minParticipants` and include it.
 * 4. unmasking — once every survivor's confirmation of the same sets is published (and verifies), each survivor
 *    reveals its self-mask seed and, for each dropped participant, the private key of that pair. Because every
 *    survivor signed the same survivor set, no honest survivor reveals a pair key of a partner whose self-mask is
 *    revealed, so no single update can be unmasked (the attack in masking.ts's header).
 *
 * Error codes: `FEDERATED_BAD_KEY` (a malformed announcement or reveal), `FEDERATED_BAD_SIGNATURE` (a signature that
 * does not verify under the configured identity, a participant without a configured identity, an announcement bound to
 * another federation or round, or this partner's own announcement altered), `FEDERATED_TOO_FEW_PARTICIPANTS` (a
 * participant or survivor set smaller than the partner's minimum).
 */

/** A partner's signed key announcement for one secure-aggregation round attempt. */
export interface KeyAnnouncement {
  /** Statement type tag. */
  type: 'lepton-secagg-keys';
  /** Statement format version. */
  version: 1;
  /** The federation the keys are for (`RoundInfo.federationId`). */
  federationId: string;
  /** The round attempt the keys are for (`RoundInfo.roundId`); never reused. */
  roundId: string;
  /** The announcing partner. */
  partnerId: string;
  /** Training samples the partner claims (the coordinator may cap the weight it gives them). */
  samples: number;
  /** One fresh X25519 public key per peer id (base64 of 32 raw bytes): the peer derives their pair seed with it. */
  maskKeys: Record<string, string>;
  /** {@link selfMaskCommitment} of the partner's fresh self-mask seed. */
  selfMaskCommitment: string;
}

/** A survivor's signed statement of who took part in a round attempt and whose update is in the sum. */
export interface SurvivorConfirmation {
  /** Statement type tag. */
  type: 'lepton-secagg-survivors';
  /** Statement format version. */
  version: 1;
  /** The federation. */
  federationId: string;
  /** The round attempt. */
  roundId: string;
  /** The confirming survivor. */
  partnerId: string;
  /** Every participant of the attempt, sorted. */
  participants: string[];
  /** {@link participantsDigest} of the participants' signed announcements: binds the confirmation to the exact keys. */
  keysDigest: string;
  /** The participants whose masked update is in the sum, sorted. */
  survivors: string[];
}

/** A key announcement as the partner made it, with the secrets it must keep (see {@link createKeyAnnouncement}). */
export interface PreparedAnnouncement {
  /** The statement to publish. */
  announcement: KeyAnnouncement;
  /** Its Ed25519 signature, base64. */
  signature: string;
  /** The private halves of `announcement.maskKeys`, by peer id. */
  maskKeys: Map<string, MaskingKeys>;
  /** The self-mask seed committed to in the announcement. */
  selfSeed: Uint8Array;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_PEERS = 10_000;

const fail = (code: LeptonErrorCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new LeptonError(code, message, { details });
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v);
const isToken = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max && /^[\x21-\x7e]+$/.test(v);

/**
 * Makes and signs a partner's key announcement: a fresh X25519 key pair per peer and a fresh self-mask seed.
 *
 * @param identity - the partner's long-term identity
 * @param fields - federation id, round id, own id, claimed samples, and the peer ids to make masking keys for
 * @returns the announcement, its signature and the secrets behind it
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad id, a repeated peer or a bad sample count
 */
export function createKeyAnnouncement(
  identity: IdentityKeys,
  fields: { federationId: string; roundId: string; partnerId: string; samples: number; peers: readonly string[] },
): PreparedAnnouncement {
  if (typeof identity !== 'object' || identity === null) {
    throw new LeptonError('INVALID_ARGUMENT', `createKeyAnnouncement: identity must be IdentityKeys (createIdentityKeys), got ${describeValue(identity)}.`);
  }
  if (typeof fields !== 'object' || fields === null) {
    throw new LeptonError('INVALID_ARGUMENT', `createKeyAnnouncement: fields must be {federationId, roundId, partnerId, samples, peers}, got ${describeValue(fields)}.`);
  }
  const { federationId, roundId, partnerId, samples, peers } = fields;
  if (!Array.isArray(peers) || peers.length > MAX_PEERS) {
    throw new LeptonError('INVALID_ARGUMENT', `createKeyAnnouncement: peers must be an array of at most ${MAX_PEERS} partner ids, got ${describeValue(peers)}.`);
  }
  if (!isToken(federationId, 128) || !isToken(roundId, 256) || !isId(partnerId)) {
    throw new LeptonError('INVALID_ARGUMENT', 'createKeyAnnouncement: federationId, roundId and partnerId must be printable ids.');
  }
  if (!(Number.isInteger(samples) && samples >= 1)) throw new LeptonError('INVALID_ARGUMENT', `createKeyAnnouncement: samples must be a positive integer, got ${describeValue(samples)}.`);
  const maskKeys = new Map<string, MaskingKeys>();
  for (const p of peers) {
    if (!isId(p) || p === partnerId || maskKeys.has(p)) throw new LeptonError('INVALID_ARGUMENT', `createKeyAnnouncement: peer id ${describeValue(p, 64)} is invalid, repeated or this partner's own.`);
    maskKeys.set(p, createMaskingKeys());
  }
  const selfSeed = new Uint8Array(randomBytes(32));
  const announcement: KeyAnnouncement = {
    type: 'lepton-secagg-keys',
    version: 1,
    federationId,
    roundId,
    partnerId,
    samples,
    maskKeys: Object.fromEntries([...maskKeys].map(([p, k]) => [p, k.publicKey])),
    selfMaskCommitment: selfMaskCommitment(selfSeed, roundId, partnerId),
  };
  return { announcement, signature: signStatement(identity.privateKey, announcement), maskKeys, selfSeed };
}

/**
 * @internal Validates the shape of a key announcement received as JSON and returns a clean copy (never the input
 * object, which may carry extra or deeply nested fields).
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY`
 */
export function parseKeyAnnouncement(v: unknown, what: string): KeyAnnouncement {
  const bad = (m: string): never => fail('FEDERATED_BAD_KEY', `${what}: the key announcement ${m}.`);
  if (!isObject(v)) return bad('is not an object');
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'federationId,maskKeys,partnerId,roundId,samples,selfMaskCommitment,type,version') bad(`has fields [${keys.slice(0, 200)}], not the announcement's`);
  if (v['type'] !== 'lepton-secagg-keys' || v['version'] !== 1) bad('has the wrong type or version');
  if (!isToken(v['federationId'], 128) || !isToken(v['roundId'], 256) || !isId(v['partnerId'])) bad('has a malformed federationId, roundId or partnerId');
  const samples = v['samples'];
  if (!(typeof samples === 'number' && Number.isInteger(samples) && samples >= 1 && samples <= 1e12)) bad('has a bad sample count');
  if (typeof v['selfMaskCommitment'] !== 'string' || !HEX64.test(v['selfMaskCommitment'])) bad('has a malformed selfMaskCommitment');
  const mk = v['maskKeys'];
  if (!isObject(mk)) return bad('has no maskKeys object');
  const entries = Object.entries(mk);
  if (entries.length > MAX_PEERS) bad(`lists ${entries.length} mask keys (at most ${MAX_PEERS})`);
  for (const [peer, key] of entries) {
    if (!isId(peer) || peer === v['partnerId'] || !isRawKey(key)) bad(`has a malformed mask key for '${peer.slice(0, 64)}'`);
  }
  return {
    type: 'lepton-secagg-keys',
    version: 1,
    federationId: v['federationId'] as string,
    roundId: v['roundId'] as string,
    partnerId: v['partnerId'] as string,
    samples: samples as number,
    maskKeys: Object.fromEntries(entries) as Record<string, string>,
    selfMaskCommitment: v['selfMaskCommitment'] as string,
  };
}

/**
 * SHA-256 (hex) of the participants' ids and announcement signatures, in id order: what a survivor confirmation binds
 * to, so a confirmation made for one set of keys can never vouch for another.
 *
 * @param participants - every participant's id and the signature of its key announcement
 * @returns 64 lowercase hex characters
 */
export function participantsDigest(participants: readonly { id: string; signature: string }[]): string {
  if (!Array.isArray(participants)) throw new LeptonError('INVALID_ARGUMENT', `participantsDigest: participants must be an array of {id, signature}, got ${describeValue(participants)}.`);
  for (let i = 0; i < participants.length; i++) {
    const e = participants[i] as { id?: unknown; signature?: unknown } | null | undefined;
    if (typeof e !== 'object' || e === null || typeof e.id !== 'string' || typeof e.signature !== 'string') {
      throw new LeptonError('INVALID_ARGUMENT', `participantsDigest: participant ${i} must be {id: string, signature: string}, got ${describeValue(e)}.`);
    }
  }
  const pairs = participants.map((p) => [p.id, p.signature]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  return createHash('sha256').update(canonicalJson(pairs), 'utf8').digest('hex');
}

/**
 * The statement a survivor signs in the confirming phase (see {@link SurvivorConfirmation}).
 *
 * @param fields - federation id, round id, the confirming partner, participants and survivors (any order), and the
 *   {@link participantsDigest} of the participants' announcements
 * @returns the statement, with both id lists sorted
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when a field is not a string or an id list is not an array of
 *   strings
 */
export function survivorConfirmation(fields: {
  federationId: string;
  roundId: string;
  partnerId: string;
  participants: readonly string[];
  keysDigest: string;
  survivors: readonly string[];
}): SurvivorConfirmation {
  const bad = (m: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `survivorConfirmation: ${m}.`);
  };
  if (typeof fields !== 'object' || fields === null) bad(`fields must be an object, got ${describeValue(fields)}`);
  for (const k of ['federationId', 'roundId', 'partnerId', 'keysDigest'] as const) {
    if (typeof fields[k] !== 'string') bad(`${k} must be a string, got ${describeValue(fields[k])}`);
  }
  for (const k of ['participants', 'survivors'] as const) {
    const list: unknown = fields[k];
    if (!Array.isArray(list) || list.length > MAX_PEERS + 1 || ![...list].every((id) => typeof id === 'string')) bad(`${k} must be an array of partner ids, got ${describeValue(list)}`);
  }
  return {
    type: 'lepton-secagg-survivors',
    version: 1,
    federationId: fields.federationId,
    roundId: fields.roundId,
    partnerId: fields.partnerId,
    participants: [...fields.participants].sort(),
    keysDigest: fields.keysDigest,
    survivors: [...fields.survivors].sort(),
  };
}

/** A participant as the coordinator publishes it: the signed announcement and the sample weight it was given. */
export interface PublishedParticipant {
  /** Partner id. */
  id: string;
  /** The sample count the coordinator weights this participant with (its claim, capped by the coordinator). */
  samples: number;
  /** The participant's signed key announcement. */
  announcement: KeyAnnouncement;
  /** Its signature, base64. */
  signature: string;
}

/** @internal What a partner checks the coordinator's messages against. */
export interface PartnerTrust {
  /** This partner's id. */
  me: string;
  /** Its own identity public key. */
  myKey: string;
  /** Trusted identity keys of the peers, by id. */
  peers: Readonly<Record<string, string>>;
  /** Smallest participant and survivor set to take part in. */
  minParticipants: number;
}

/** @internal A verified participant: id, weight, announcement signature, and the mask key it announced for this partner. */
export interface VerifiedParticipant {
  id: string;
  samples: number;
  signature: string;
  keyForMe: string | null;
}

function trustedKey(trust: PartnerTrust, id: string): string | undefined {
  if (id === trust.me) return trust.myKey;
  return Object.hasOwn(trust.peers, id) ? trust.peers[id] : undefined;
}

/**
 * @internal Partner side of step 2: checks the published participants before anything secret is used.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_TOO_FEW_PARTICIPANTS`, `FEDERATED_BAD_SIGNATURE`
 */
export function verifyParticipants(
  trust: PartnerTrust,
  mine: PreparedAnnouncement,
  published: unknown,
): VerifiedParticipant[] {
  const { me } = trust;
  const { federationId, roundId } = mine.announcement;
  if (!Array.isArray(published)) return fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}': the coordinator published no participant list.`);
  if (published.length < trust.minParticipants) {
    fail(
      'FEDERATED_TOO_FEW_PARTICIPANTS',
      `Partner '${me}' refuses to send a masked update: the coordinator lists ${published.length} participant(s) and this partner requires at least ${trust.minParticipants} (minParticipants). Nothing was sent.`,
      { participants: published.length, required: trust.minParticipants },
    );
  }
  const seen = new Set<string>();
  const out: VerifiedParticipant[] = [];
  for (const p of published as unknown[]) {
    const bad = (m: string): never => fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}' refuses to send a masked update: ${m}. Nothing was sent.`);
    if (!isObject(p) || !isId(p['id'])) return bad('a participant entry is malformed');
    const id = p['id'];
    if (seen.has(id)) bad(`participant '${id}' is listed twice`);
    seen.add(id);
    const trusted = trustedKey(trust, id);
    if (trusted === undefined) bad(`participant '${id}' has no configured identity key (unknown partner)`);
    let a: KeyAnnouncement;
    try {
      a = parseKeyAnnouncement(p['announcement'], `participant '${id}'`);
    } catch {
      return bad(`participant '${id}' has a malformed key announcement`);
    }
    if (typeof p['signature'] !== 'string' || !verifyStatement(trusted!, a, p['signature'])) bad(`the key announcement of '${id}' is not signed by its identity key (substituted or forged)`);
    if (a.partnerId !== id || a.federationId !== federationId || a.roundId !== roundId) bad(`the key announcement of '${id}' was signed for another partner, federation or round (replay)`);
    const samples = p['samples'];
    if (!(typeof samples === 'number' && Number.isInteger(samples) && samples >= 1 && samples <= a.samples)) bad(`participant '${id}' is given a sample weight outside 1…${a.samples} (its signed claim)`);
    if (id === me) {
      if (p['signature'] !== mine.signature) bad('this partner’s own key announcement was altered');
      out.push({ id, samples: samples as number, signature: p['signature'] as string, keyForMe: null });
      continue;
    }
    const keyForMe = Object.hasOwn(a.maskKeys, me) ? a.maskKeys[me] : undefined;
    if (keyForMe === undefined) bad(`participant '${id}' announced no mask key for this partner`);
    if (!mine.maskKeys.has(id)) bad(`participant '${id}' is not a peer this partner made a mask key for`);
    out.push({ id, samples: samples as number, signature: p['signature'] as string, keyForMe: keyForMe! });
  }
  if (!seen.has(me)) fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}': the coordinator's participant list does not include this partner.`);
  return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/**
 * @internal Partner side of step 3: the survivor set it is asked to confirm.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_TOO_FEW_PARTICIPANTS`, `FEDERATED_BAD_SIGNATURE`
 */
export function checkSurvivors(trust: PartnerTrust, participants: readonly string[], survivors: unknown, confirmedBefore: readonly string[] | null): string[] {
  const { me } = trust;
  if (!Array.isArray(survivors) || !survivors.every(isId) || new Set(survivors).size !== survivors.length) {
    return fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}': the coordinator's survivor list is malformed.`);
  }
  const s = [...(survivors as string[])].sort();
  if (!s.every((id) => participants.includes(id)) || !s.includes(me)) {
    fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}' refuses to confirm: the survivors [${s.join(', ')}] are not participants of this round or omit this partner.`);
  }
  if (s.length < trust.minParticipants) {
    fail(
      'FEDERATED_TOO_FEW_PARTICIPANTS',
      `Partner '${me}' refuses to confirm ${s.length} survivor(s): at least ${trust.minParticipants} required (minParticipants), or the sum would expose too few updates. Nothing was revealed.`,
      { survivors: s.length, required: trust.minParticipants },
    );
  }
  if (confirmedBefore !== null && confirmedBefore.join('\n') !== s.join('\n')) {
    fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}' already confirmed another survivor set for this round; it never confirms two. Nothing was revealed.`);
  }
  return s;
}

/**
 * @internal Partner side of step 4: every survivor must have signed the same participant and survivor sets.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_SIGNATURE`
 */
export function verifyConfirmations(
  trust: PartnerTrust,
  statement: Omit<SurvivorConfirmation, 'partnerId'>,
  confirmations: unknown,
): void {
  const { me } = trust;
  const bad = (m: string): never => fail('FEDERATED_BAD_SIGNATURE', `Partner '${me}' refuses to reveal its masks: ${m}. Nothing was revealed.`);
  if (!Array.isArray(confirmations)) bad('the coordinator published no survivor confirmations');
  const byId = new Map<string, string>();
  for (const c of confirmations as unknown[]) {
    if (isObject(c) && isId(c['id']) && typeof c['signature'] === 'string') byId.set(c['id'], c['signature']);
  }
  for (const id of statement.survivors) {
    const sig = byId.get(id);
    if (sig === undefined) bad(`survivor '${id}' has not confirmed the survivor set`);
    const key = trustedKey(trust, id);
    if (key === undefined || !verifyStatement(key, { ...statement, partnerId: id }, sig!)) bad(`the confirmation of '${id}' does not verify (another survivor set was shown to it, or it is forged)`);
  }
}
