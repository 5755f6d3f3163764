/**
 * Fraud and risk for payments and lending teams, on `@lepton/core`: validated transactions
 * ({@link validateTransactions}, {@link readTransactionsCsv}), point-in-time features in memory or Redis
 * ({@link FeatureEngine}, {@link RedisStateStore}), fraud scores with reason codes ({@link FraudModel}) served from Redis
 * Streams ({@link FraudScorerService}), drift monitoring ({@link DriftMonitor}), credit scorecards ({@link Scorecard}),
 * and market risk and forecasts ({@link historicalVaR}, {@link walkForward}). Error codes: {@link FinanceErrorCode}.
 *
 * Quick starts and guides: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */
// The core essentials an application needs, so it installs @lepton/finance alone (one TF.js engine, one runtime).
export { initRuntime, runtimeInfo, LeptonError, isLeptonError, seededRandom, tf } from '@lepton/core';
export type { RuntimeInfo, RuntimeOptions, LeptonErrorCode } from '@lepton/core';
export { FINANCE_ERROR_CODES } from './errors.js';
export type { FinanceErrorCode } from './errors.js';

export { TransactionSchema, CHANNELS, AMOUNT_MAX, AMOUNT_MIN, TIMESTAMP_MAX } from './transactions/schema.js';
export type { Transaction, TransactionInput } from './transactions/schema.js';
export { validateTransaction, validateTransactions, IngestCollector } from './transactions/validate.js';
export type { FieldIssue, RejectedRecord, IngestStats, IngestResult } from './transactions/validate.js';
export { readTransactionsCsv, streamTransactionsNdjson } from './transactions/readers.js';
export type { StreamItem, NdjsonStreamOptions } from './transactions/readers.js';

export { FeatureEngine } from './features/engine.js';
export { replayHistory } from './features/replay.js';
export type { LabelledTransaction } from './features/replay.js';
export type { FeatureEngineOptions } from './features/engine.js';
export { MemoryStateStore, RedisStateStore } from './features/store.js';
export type { StateStore, RedisStateStoreOptions } from './features/store.js';
export { DEFAULT_WINDOWS, ENTITIES } from './features/windows.js';
export type { Window, Entity } from './features/windows.js';
export type { EntityState, CategoryState } from './features/state.js';

export { FraudScorerService } from './service/service.js';
export type { ScorerStats } from './service/service.js';
export type { FraudScorerServiceOptions, TransactionScorer, ScorerLogEvent } from './service/options.js';
export type { ScorerCounters } from './service/partition.js';
export { ScorerStreamClient } from './service/client.js';
export type { ScorerStreamClientOptions, ScorerStreamClientStats, ScorerGroupStatus } from './service/client.js';
export { partitionOf } from './service/streams.js';
export type { ScoreRecord, DeadLetterRecord } from './service/records.js';

export { generateTransactions } from './synthetic/generator.js';
export type { SyntheticOptions, SyntheticTransaction, Pattern } from './synthetic/generator.js';

export { FraudModel } from './fraud/model.js';
export type { FraudModelOptions, FraudScore, FraudTrainingReport, LabelledRows } from './fraud/model.js';
export { describeFeature } from './fraud/reasons.js';
export type { ReasonCode } from './fraud/reasons.js';
export { fitScaler, scaleRows } from './fraud/scaler.js';
export type { ScalerJSON } from './fraud/scaler.js';
export { choosePolicy, decide, thresholdForAlertRate } from './fraud/decisions.js';
export type { Decision, DecisionPolicy, DecisionTargets, ReviewTarget } from './fraud/decisions.js';
export { timeSplit, evaluateFraud, DriftMonitor } from './fraud/evaluate.js';
export type { TimeSplit, FraudEvaluation, DriftItem } from './fraud/evaluate.js';

export { binNumeric, binCategorical, binIndex } from './credit/binning.js';
export type { Bin, Binning } from './credit/binning.js';
export { Scorecard } from './credit/scorecard.js';
export type {
  Applicant,
  Characteristic,
  ScorecardOptions,
  Attribute,
  ScoredApplicant,
  ScorecardEvaluation,
  AdverseActionReason,
  DroppedCharacteristic,
  ScorecardRow,
} from './credit/scorecard.js';

export { BarSchema, validateBars, readOhlcvCsv } from './market/ohlcv.js';
export type { Bar, OhlcvResult } from './market/ohlcv.js';
export { indicatorFeatures } from './market/indicators.js';
export type { IndicatorFeatures } from './market/indicators.js';
export { historicalVaR, parametricVaR, kupiecTest, backtestVaR } from './market/var.js';
// the normal quantile and erfc live in @lepton/core (one implementation, checked against SciPy); re-exported here
export { normalQuantile, erfc } from '@lepton/core';
export type { RiskEstimate, KupiecResult } from './market/var.js';
export { generatePrices } from './market/prices.js';
export { walkForward } from './market/forecast.js';
export type { WalkForwardOptions, FoldResult } from './market/forecast.js';
