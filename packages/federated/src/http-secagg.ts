import { LeptonError, type LeptonErrorCode } from '@lepton/core';
import type { PartnerCredential } from './http-options.js';
import { isRawKey, verifyStatement } from './identity.js';
import {
  checkMaskPublicKey,
  importMaskingPrivateKey,
  pairSeed,
  removeDroppedMasks,
  removeSelfMask,
  selfMaskCommitment,
  sumMasked,
  unmaskSum,
  type MaskingKeys,
  type MaskOptions,
} from './masking.js';
import { parseKeyAnnouncement, participantsDigest, survivorConfirmation, type KeyAnnouncement, type PublishedParticipant } from './secagg.js';

/*
 * @internal The coordinator's side of one secure-aggregation round attempt (protocol in secagg.ts): it verifies every
 * announcement, confirmation and reveal against the partner's registered identity and its own earlier statements, and
 * holds only the running sum of masked updates. Every method either throws a LeptonError and changes nothing, or
 * applies its whole change.
 */

const fail = (code: LeptonErrorCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new LeptonError(code, message, { details });
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface KeyEntry {
  announcement: KeyAnnouncement;
  signature: string;
  /** Capped sample weight. */
  samples: number;
}

interface Reveal {
  selfMask: Uint8Array;
  pairKeys: Map<string, MaskingKeys>;
}

/** @internal Coordinator-side state of one secure-aggregation attempt. */
export class SecAggAttempt {
  private readonly keys = new Map<string, KeyEntry>();
  participants: PublishedParticipant[] | null = null;
  totalSamples: number | null = null;
  private maskedSum: Uint32Array | null = null;
  survivors: string[] | null = null;
  dropped: string[] | null = null;
  private readonly confirmations = new Map<string, string>();
  private readonly reveals = new Map<string, Reveal>();

  constructor(
    private readonly federationId: string,
    readonly roundId: string,
    private readonly enrolled: readonly PartnerCredential[],
  ) {}

  get keyCount(): number {
    return this.keys.size;
  }

  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  isParticipant(id: string): boolean {
    return this.participants?.some((p) => p.id === id) ?? false;
  }

  isSurvivor(id: string): boolean {
    return this.survivors?.includes(id) ?? false;
  }

  hasConfirmed(id: string): boolean {
    return this.confirmations.has(id);
  }

  hasRevealed(id: string): boolean {
    return this.reveals.has(id);
  }

  get revealCount(): number {
    return this.reveals.size;
  }

  get confirmationCount(): number {
    return this.confirmations.size;
  }

  /** The sample count partner `id` signed in its announcement. */
  claimedSamples(id: string): number {
    return this.keys.get(id)!.announcement.samples;
  }

  /** The (capped) weight partner `id` was published with. */
  weight(id: string): number {
    return this.keys.get(id)!.samples;
  }

  /**
   * `POST …/keys/:id` body `{attempt, announcement, signature}` (attempt checked by the caller). Every announced mask
   * key must give a usable X25519 agreement (`FEDERATED_BAD_KEY` for a malformed or low-order key).
   */
  addKey(id: string, body: Record<string, unknown>): { capped: boolean } {
    if (this.keys.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Key: partner '${id}' already announced its keys for this attempt.`);
    const a = parseKeyAnnouncement(body['announcement'], 'Key');
    if (a.partnerId !== id || a.federationId !== this.federationId || a.roundId !== this.roundId) {
      fail('FEDERATED_BAD_KEY', `Key: the announcement is bound to partner '${a.partnerId}', federation '${a.federationId}', round '${a.roundId}', not to '${id}' in this federation's round ${this.roundId}.`);
    }
    const others = this.enrolled.map((p) => p.id).filter((p) => p !== id).sort();
    const announced = Object.keys(a.maskKeys).sort();
    if (announced.join('\n') !== others.join('\n')) {
      fail('FEDERATED_BAD_KEY', `Key: maskKeys must name exactly the other enrolled partners [${others.join(', ')}], got [${announced.slice(0, 50).join(', ')}]; configure the partner's peers to match.`);
    }
    const credential = this.enrolled.find((p) => p.id === id)!;
    const signature = body['signature'];
    if (typeof signature !== 'string' || !verifyStatement(credential.identityKey!, a, signature)) {
      fail('FEDERATED_BAD_SIGNATURE', `Key: the announcement of '${id}' is not signed by its registered identity key.`);
    }
    // A key no agreement can use (low order: an all-zero secret) would make every honest peer refuse to mask: refused
    // here, so one partner cannot knock the others out of the attempt.
    for (const peer of announced) checkMaskPublicKey(a.maskKeys[peer], id, `Key (mask key for '${peer}')`);
    const samples = Math.min(a.samples, credential.maxSamples!);
    this.keys.set(id, { announcement: a, signature: signature as string, samples });
    return { capped: samples < a.samples };
  }

  /** Ends the key phase: the participants are every partner that announced. */
  publish(): void {
    const ids = this.keyIds();
    this.participants = ids.map((id) => {
      const k = this.keys.get(id)!;
      return { id, samples: k.samples, announcement: k.announcement, signature: k.signature };
    });
    this.totalSamples = ids.reduce((s, id) => s + this.keys.get(id)!.samples, 0);
  }

  /** Adds one participant's masked words to the running sum. */
  addMasked(words: Uint32Array): void {
    this.maskedSum = this.maskedSum === null ? Uint32Array.from(words) : sumMasked([this.maskedSum, words]);
  }

  /** Ends training: the survivors are the participants whose update arrived. */
  fixSurvivors(received: readonly string[]): void {
    const p = (this.participants ?? []).map((x) => x.id);
    this.survivors = p.filter((id) => received.includes(id));
    this.dropped = p.filter((id) => !received.includes(id));
  }

  /** `POST …/confirmations/:id` body `{attempt, signature}`. */
  addConfirmation(id: string, body: Record<string, unknown>): void {
    if (!this.isSurvivor(id)) fail('FEDERATED_FORBIDDEN', `Confirmation: partner '${id}' is not a survivor of this attempt; only survivors confirm.`);
    if (this.confirmations.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Confirmation: partner '${id}' already confirmed.`);
    const statement = survivorConfirmation({
      federationId: this.federationId,
      roundId: this.roundId,
      partnerId: id,
      participants: this.participants!.map((x) => x.id),
      keysDigest: participantsDigest(this.participants!),
      survivors: this.survivors!,
    });
    const credential = this.enrolled.find((p) => p.id === id)!;
    const signature = body['signature'];
    if (typeof signature !== 'string' || !verifyStatement(credential.identityKey!, statement, signature)) {
      fail('FEDERATED_BAD_SIGNATURE', `Confirmation: the signature of '${id}' does not verify for this attempt's participants and survivors.`);
    }
    this.confirmations.set(id, signature as string);
  }

  confirmationsComplete(): boolean {
    return this.survivors !== null && this.survivors.every((id) => this.confirmations.has(id));
  }

  publishedConfirmations(): { id: string; signature: string }[] | null {
    if (!this.confirmationsComplete()) return null;
    return this.survivors!.map((id) => ({ id, signature: this.confirmations.get(id)! }));
  }

  /**
   * `POST …/reveals/:id` body `{attempt, selfMask, pairKeys}`. Every revealed secret is checked against what the
   * partner committed to and signed before any update was sent, so a made-up seed is refused (and the attempt can only
   * time out), never folded into the sum.
   */
  addReveal(id: string, body: Record<string, unknown>): void {
    if (!this.isSurvivor(id)) fail('FEDERATED_FORBIDDEN', `Reveal: partner '${id}' is not a survivor of this attempt; only survivors reveal.`);
    if (!this.confirmationsComplete()) fail('FEDERATED_WRONG_PHASE', 'Reveal: not every survivor has confirmed yet.');
    if (this.reveals.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Reveal: partner '${id}' already revealed.`);
    const mine = this.keys.get(id)!.announcement;
    const selfMask = body['selfMask'];
    if (!isRawKey(selfMask)) return fail('FEDERATED_BAD_KEY', 'Reveal: selfMask must be the base64 of 32 bytes.');
    const seed = new Uint8Array(Buffer.from(selfMask, 'base64'));
    if (selfMaskCommitment(seed, this.roundId, id) !== mine.selfMaskCommitment) {
      fail('FEDERATED_BAD_KEY', `Reveal: the self-mask of '${id}' does not match the commitment it signed; the reveal is refused.`);
    }
    const pk = body['pairKeys'];
    if (!isObject(pk)) return fail('FEDERATED_BAD_REQUEST', 'Reveal: pairKeys must be an object {droppedId: base64 private key}.');
    const given = Object.keys(pk).sort();
    if (given.join('\n') !== [...this.dropped!].sort().join('\n')) {
      fail('FEDERATED_BAD_REQUEST', `Reveal: pairKeys must name exactly the dropped participants [${this.dropped!.join(', ')}].`);
    }
    const pairKeys = new Map<string, MaskingKeys>();
    for (const d of given) {
      const keys = importMaskingPrivateKey(pk[d] as string);
      if (keys.publicKey !== mine.maskKeys[d]) {
        fail('FEDERATED_BAD_KEY', `Reveal: the key '${id}' revealed for dropped '${d}' does not reproduce the public key it announced and signed; the reveal is refused.`);
      }
      pairKeys.set(d, keys);
    }
    this.reveals.set(id, { selfMask: seed, pairKeys });
  }

  revealsComplete(): boolean {
    return this.survivors !== null && this.survivors.every((id) => this.reveals.has(id));
  }

  /**
   * The survivors' summed (pre-weighted) update: the masked sum minus every survivor's self-mask and every
   * (survivor, dropped) pair mask, decoded from fixed point.
   */
  unmask(masking: MaskOptions): Float32Array {
    const sum = Uint32Array.from(this.maskedSum!);
    for (const [survivor, r] of this.reveals) {
      removeSelfMask(sum, r.selfMask);
      for (const [dropped, keys] of r.pairKeys) {
        const theirs = this.keys.get(dropped)!.announcement.maskKeys[survivor]!;
        removeDroppedMasks(sum, survivor, dropped, pairSeed(keys, survivor, dropped, theirs, this.roundId));
      }
    }
    return unmaskSum(sum, masking);
  }
}
