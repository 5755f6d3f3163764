/**
 * Training one model across partners (hospitals, banks, plants) that never pool their data, on
 * `@lepton/core`: a coordinator and partners over HTTP ({@link FederatedCoordinator}, {@link FederatedPartner}) running
 * FedAvg/FedProx ({@link fedAvg}), secure aggregation with signed key announcements, and differential privacy with an
 * RDP accountant ({@link privatizeUpdate}, {@link RdpAccountant}). Kept out of core so that applications that do not
 * train across sites install no HTTP server. Error codes: {@link FederatedErrorCode}.
 *
 * Quick start and the protocol: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */

// error codes
export { FEDERATED_ERROR_CODES } from './errors.js';
export type { FederatedErrorCode } from './errors.js';
export type { LeptonErrorCode } from '@lepton/core';

// weight sets and their wire format
export {
  readWeights,
  writeWeights,
  weightSpecs,
  specsEqual,
  specsSize,
  encodeWeights,
  encodeMasked,
  decodeWeights,
  WEIGHTS_MAGIC,
  MAX_META_DEPTH,
  MAX_META_BYTES,
} from './weights.js';
export type { WeightSpec, WeightSet, WeightDtype, DecodedPayload } from './weights.js';

// FedAvg, FedProx, local training and evaluation
export { fedAvg, fedProxLoss, trainLocal, evaluateWeights } from './algorithms.js';
export type { LossFn, FedProxLoss, WeightedUpdate, LocalTrainOptions, LocalUpdate } from './algorithms.js';

// differential privacy, privacy accounting and secure aggregation
export { clipUpdate, addGaussianNoise, gaussianNoiseStd, privatizeUpdate } from './privacy.js';
export type { ClippedUpdate, PrivatizeOptions, PrivatizedUpdate } from './privacy.js';
export { RdpAccountant, rdpSampledGaussian, epsilonFromRdp, effectiveNoiseMultiplier, DEFAULT_RDP_ORDERS } from './accountant.js';
export type { PrivacySpent, GaussianEvent, NoiseContribution } from './accountant.js';
export {
  createMaskingKeys,
  pairSeed,
  maskUpdate,
  quantizeUpdate,
  sumMasked,
  removeDroppedMasks,
  removeSelfMask,
  selfMaskCommitment,
  exportMaskingPrivateKey,
  importMaskingPrivateKey,
  unmaskSum,
  maskClipLimit,
} from './masking.js';
export type { MaskingKeys, PeerSeed, MaskOptions } from './masking.js';
export { createIdentityKeys, identityPublicKey, signStatement, verifyStatement } from './identity.js';
export type { IdentityKeys } from './identity.js';
export { createKeyAnnouncement, survivorConfirmation, participantsDigest } from './secagg.js';
export type { KeyAnnouncement, SurvivorConfirmation, PreparedAnnouncement, PublishedParticipant } from './secagg.js';

// federated learning over HTTP: coordinator (rounds, quorum, deadlines, secure aggregation, on-disk state) and partner
export { FederatedCoordinator } from './coordinator.js';
export type { CoordinatorStatus, RoundProgress, RouteInfo } from './coordinator.js';
export { FederatedPartner } from './partner.js';
export type { PartnerOptions, PartnerLocalOptions, PartnerReport, PartnerRoundReport, PartnerAbstention, PartnerEvaluation } from './partner.js';
export { resolveCoordinatorOptions } from './http-options.js';
export type { CoordinatorOptions, ResolvedCoordinatorOptions, PartnerCredential, FederatedLogger, HttpLimits, UpdateBounds } from './http-options.js';
export type { RetryOptions } from './http-client.js';
export type { RejectionRecord } from './http-round.js';
export type { RoundRecord, RoundClose, AttemptFailure, RoundPrivacy, PrivacySummary } from './http-state.js';
export type {
  RoundInfo,
  RoundPhase,
  DpOptions,
  PartnerRoundView,
  FailureInfo,
  KeyPost,
  RevealPost,
  ConfirmPost,
  SignedConfirmation,
  DpClaim,
  MetricsPost,
  UpdateMeta,
  AppliedDp,
  ErrorBody,
} from './http-protocol.js';

