import { describeValue, LeptonError } from '@lepton/core';
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
}

/** @internal Keys, checks and message bodies of one partner's secure-aggregation rounds. */
export class PartnerSecAgg {
  private readonly usedRoundIds = new Set<string>();
  private session: Session | null = null;

  constructor(
    private readonly trust: PartnerTrust,
    private readonly identity: IdentityKeys,
    private readonly federationId: string | null,
  ) {}

  /** Whether this partner holds keys for the attempt `info` describes. */
  holds(info: RoundInfo): boolean {
    return this.session !== null && this.session.roundId === info.roundId;
  }

  /** Whether a masked update for this attempt may already be at the coordinator (so confirming and revealing are safe). */
  uploaded(info: RoundInfo): boolean {
    return this.holds(info) && this.session!.uploaded;
  }

  /** Step 1: fresh keys for this attempt, signed. Never twice for one round id (a replayed id could reuse old keys). */
  keyPost(info: RoundInfo, samples: number): KeyPost {
    const roundId = info.roundId;
    if (typeof roundId !== 'string') throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}': the coordinator names no round id for secure aggregation.`);
    if (this.federationId !== null && info.federationId !== this.federationId) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}' belongs to federation '${this.federationId}', but the coordinator runs ${describeValue(info.federationId, 128)}. Nothing was sent.`);
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
    this.session = { roundId, attempt: info.attempt, prepared, participants: null, keysDigest: null, uploaded: false, confirmed: null };
    return { attempt: info.attempt, announcement: prepared.announcement, signature: prepared.signature };
  }

  /**
   * Step 2: checks the published participants, then masks the update (pre-weighted by this partner's published weight
   * over the participants' total) with the self-mask and every pair mask.
   */
  maskedUpdate(info: RoundInfo, delta: Float32Array): Uint32Array {
    const s = this.session!;
    const verified = verifyParticipants(this.trust, s.prepared, info.participants);
    if (info.masking === null) throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.trust.me}': the coordinator publishes no fixed-point parameters.`);
    const total = verified.reduce((sum, p) => sum + p.samples, 0);
    const mine = verified.find((p) => p.id === this.trust.me)!;
    const weight = mine.samples / total;
    const weighted = new Float32Array(delta.length);
    for (let i = 0; i < weighted.length; i++) weighted[i] = delta[i]! * weight;
    const peers = verified
      .filter((p) => p.id !== this.trust.me)
      .map((p) => ({ id: p.id, seed: pairSeed(s.prepared.maskKeys.get(p.id)!, this.trust.me, p.id, p.keyForMe!, s.roundId) }));
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
   * participants (never of a survivor).
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
    const pairKeys: Record<string, string> = {};
    for (const d of participants.filter((id) => !survivors.includes(id))) pairKeys[d] = exportMaskingPrivateKey(s.prepared.maskKeys.get(d)!);
    return { attempt: s.attempt, selfMask: Buffer.from(s.prepared.selfSeed).toString('base64'), pairKeys };
  }
}
