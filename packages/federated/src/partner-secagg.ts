import { describeValue, isLeptonError, LeptonError } from '@lepton/core';
import type { ConfirmPost, KeyPost, RevealPost, RoundInfo } from './http-protocol.js';
import { signStatement, type IdentityKeys } from './identity.js';
import { exportMaskingPrivateKey, maskUpdate, pairSeed } from './masking.js';
import {
  checkSurvivors,
  createKeyAnnouncement,
  participantsDigest,
  survivorConfirmation,
  verifyConfirmations,
  verifyParticipants,
  type PartnerTrust,
  type PreparedAnnouncement,
} from './secagg.js';
import { readPartnerState, writePartnerState } from './partner-state.js';

/*
 * @internal A partner's side of secure aggregation (protocol in secagg.ts). It trusts nothing the coordinator says:
 * every participant list, survivor set and confirmation is checked against the identity keys the partner was
 * configured with before a masked update is sent, a confirmation signed or a secret revealed. Each step that refuses
 * throws, and nothing is sent.
 */

interface Session {
  roundId: string;
  attempt: number;
  prepared: PreparedAnnouncement;
  participants: string[] | null;
  keysDigest: string | null;
  uploaded: boolean;
  confirmed: string[] | null;
  /** A peer's mask key failed agreement: this partner sends nothing in this attempt. */
  abstained: boolean;
  /** The global model version and weights digest the update of this attempt is trained from. */
  baseVersion: number;
  baseDigest: string;
}

/** @internal Keys, checks and message bodies of one partner's secure-aggregation rounds. */
export class PartnerSecAgg {
  private readonly usedRoundIds = new Set<string>();
  /**
   * Base models (`v:federationId:version` and `d:weights digest`) an update of this partner was unmasked from, with the
   * round id of that attempt: a second unmasked sum over the same base would let the coordinator difference the two.
   */
  private readonly revealedBases = new Map<string, string>();
  private session: Session | null = null;

  /**
   * @param stateFile - where the used round ids and revealed bases are kept across restarts (read now; written before
   *   each announcement and reveal leaves), or null to keep them in this process only
   * @throws {@link @lepton/core!LeptonError} `FEDERATED_STATE_INVALID` for a state file that cannot be read, is corrupt
   *   or belongs to another partner
   */
  constructor(
    private readonly trust: PartnerTrust,
    private readonly identity: IdentityKeys,
    private readonly federationId: string | null,
    private readonly stateFile: string | null = null,
  ) {
    if (stateFile !== null) {
      const state = readPartnerState(stateFile, trust.me);
      for (const id of state.usedRoundIds) this.usedRoundIds.add(id);
      for (const [base, roundId] of state.revealedBases) this.revealedBases.set(base, roundId);
    }
  }

  /** Records the state before what it protects is sent; throws (and nothing is sent) when the file cannot be written. */
  private persist(): void {
    if (this.stateFile === null) return;
    writePartnerState(this.stateFile, this.trust.me, { usedRoundIds: [...this.usedRoundIds], revealedBases: [...this.revealedBases] });
  }

  /** Whether this partner holds keys for the attempt `info` describes. */
  holds(info: RoundInfo): boolean {
    return this.session !== null && this.session.roundId === info.roundId;
  }

  /** Whether a masked update for this attempt may already be at the coordinator (so confirming and revealing are safe). */
  uploaded(info: RoundInfo): boolean {
    return this.holds(info) && this.session!.uploaded;
  }

  /** Whether this partner abstains from the attempt `info` describes (a peer's mask key failed agreement). */
  abstained(info: RoundInfo): boolean {
    return this.holds(info) && this.session!.abstained;
  }

  /**
   * Whether an update trained from this base model (federation and version, or the weights' digest when known) was
   * already part of an unmasked sum: the partner then contributes nothing more from it.
   */
  spent(federationId: string, baseVersion: number, baseDigest: string | null): boolean {
    return this.revealedBases.has(`v:${federationId}:${baseVersion}`) || (baseDigest !== null && this.revealedBases.has(`d:${baseDigest}`));
  }

  /** Step 1: fresh keys for this attempt, signed. Never twice for one round id (a replayed id could reuse old keys). */
  keyPost(info: RoundInfo, samples: number, baseVersion: number, baseDigest: string): KeyPost {
    const roundId = info.roundId;
    if (typeof roundId !== 'string') throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}': the coordinator names no round id for secure aggregation.`);
    if (this.federationId !== null && info.federationId !== this.federationId) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}' belongs to federation '${this.federationId}', but the coordinator runs ${describeValue(info.federationId, 128)}. Nothing was sent.`);
    }
    if (this.spent(info.federationId, baseVersion, baseDigest)) {
      throw new LeptonError('FEDERATED_BAD_SIGNATURE', `Partner '${this.trust.me}' already revealed an update trained from global version ${baseVersion}; it never joins a second unmasked sum from one base model. Nothing was sent.`);
    }
    if (this.usedRoundIds.has(roundId)) {
      throw new LeptonError('FEDERATED_BAD_SIGNATURE', `Partner '${this.trust.me}' already announced keys for round id '${roundId.slice(0, 256)}'; a coordinator that reuses a round id is replaying. Nothing was sent.`);
    }
    const prepared = createKeyAnnouncement(this.identity, {
      federationId: info.federationId,
      roundId,
      partnerId: this.trust.me,
      samples,
      peers: Object.keys(this.trust.peers),
    });
    this.usedRoundIds.add(roundId);
    this.persist();
    this.session = { roundId, attempt: info.attempt, prepared, participants: null, keysDigest: null, uploaded: false, confirmed: null, abstained: false, baseVersion, baseDigest };
    return { attempt: info.attempt, announcement: prepared.announcement, signature: prepared.signature };
  }

  /**
   * Step 2: checks the published participants, then masks the update (pre-weighted by this partner's published weight
   * over the participants' total) with the self-mask and every pair mask.
   *
   * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` when a peer's signed mask key fails agreement (low
   *   order, not a curve point): the partner then abstains from this attempt — it sends nothing, so the coordinator
   *   counts it as dropped — and takes part again in the next attempt with fresh keys
   */
  maskedUpdate(info: RoundInfo, delta: Float32Array): Uint32Array {
    const s = this.session!;
    if (s.abstained) throw new LeptonError('FEDERATED_BAD_KEY', `Partner '${this.trust.me}' abstains from this attempt: a peer's mask key failed agreement. Nothing was sent.`);
    const verified = verifyParticipants(this.trust, s.prepared, info.participants);
    if (info.masking === null) throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}': the coordinator publishes no fixed-point parameters.`);
    const total = verified.reduce((sum, p) => sum + p.samples, 0);
    const mine = verified.find((p) => p.id === this.trust.me)!;
    const weight = mine.samples / total;
    const weighted = new Float32Array(delta.length);
    for (let i = 0; i < weighted.length; i++) weighted[i] = delta[i]! * weight;
    let peers: { id: string; seed: Uint8Array }[];
    try {
      peers = verified
        .filter((p) => p.id !== this.trust.me)
        .map((p) => ({ id: p.id, seed: pairSeed(s.prepared.maskKeys.get(p.id)!, this.trust.me, p.id, p.keyForMe!, s.roundId) }));
    } catch (err) {
      if (isLeptonError(err, 'FEDERATED_BAD_KEY')) s.abstained = true;
      throw err;
    }
    const words = maskUpdate(weighted, this.trust.me, peers, info.masking, s.prepared.selfSeed);
    s.participants = verified.map((p) => p.id);
    s.keysDigest = participantsDigest(verified);
    // From here on the update may be at the coordinator, even if the response is lost.
    s.uploaded = true;
    return words;
  }

  /** Step 3: signs the survivor set — once per attempt, and only if it is large enough and includes this partner. */
  confirmPost(info: RoundInfo): ConfirmPost {
    const s = this.session!;
    const survivors = checkSurvivors(this.trust, s.participants!, info.survivors, s.confirmed);
    const statement = survivorConfirmation({
      federationId: s.prepared.announcement.federationId,
      roundId: s.roundId,
      partnerId: this.trust.me,
      participants: s.participants!,
      keysDigest: s.keysDigest!,
      survivors,
    });
    s.confirmed = survivors;
    return { attempt: s.attempt, signature: signStatement(this.identity.privateKey, statement) };
  }

  /**
   * Step 4: once every survivor has signed the same sets, reveals the self-mask seed and the pair keys of the dropped
   * participants (never of a survivor). From then on the base model this attempt's update was trained from is spent
   * ({@link PartnerSecAgg.spent}): this partner joins no other attempt or round from it.
   */
  revealPost(info: RoundInfo): RevealPost {
    const s = this.session!;
    if (s.confirmed === null) throw new LeptonError('FEDERATED_BAD_SIGNATURE', `Partner '${this.trust.me}' refuses to reveal: it has not confirmed a survivor set for this round. Nothing was revealed.`);
    const participants = [...s.participants!].sort();
    const survivors = s.confirmed;
    verifyConfirmations(
      this.trust,
      { type: 'lepton-secagg-survivors', version: 1, federationId: s.prepared.announcement.federationId, roundId: s.roundId, participants, keysDigest: s.keysDigest!, survivors },
      info.confirmations,
    );
    // One unmasked sum per base model: refuse if another attempt already revealed an update from it, else record this one.
    const bases = [`v:${s.prepared.announcement.federationId}:${s.baseVersion}`, `d:${s.baseDigest}`];
    const other = bases.map((b) => this.revealedBases.get(b)).find((r) => r !== undefined && r !== s.roundId);
    if (other !== undefined) {
      throw new LeptonError('FEDERATED_BAD_SIGNATURE', `Partner '${this.trust.me}' refuses to reveal: an update from global version ${s.baseVersion} was already unmasked in another attempt. Nothing was revealed.`);
    }
    for (const b of bases) this.revealedBases.set(b, s.roundId);
    this.persist();
    const pairKeys: Record<string, string> = {};
    for (const d of participants.filter((id) => !survivors.includes(id))) pairKeys[d] = exportMaskingPrivateKey(s.prepared.maskKeys.get(d)!);
    return { attempt: s.attempt, selfMask: Buffer.from(s.prepared.selfSeed).toString('base64'), pairKeys };
  }
}
