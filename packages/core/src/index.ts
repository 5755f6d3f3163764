/**
 * The shared GPU model core that every Lepton package builds on, and that knows no industry: a TensorFlow.js
 * runtime that picks the fastest backend present ({@link initRuntime}, {@link runtimeInfo}), model builders
 * ({@link buildMlp}, {@link buildResidualCnn}, {@link buildUnet}), training ({@link train}), verified and signed model
 * bundles ({@link saveBundle}, {@link loadBundle}, {@link signBundle}), batched serving ({@link createPredictor},
 * {@link createWorkerPool}), metrics, explanations ({@link gradCam}, {@link integratedGradients}) and bounded input
 * readers ({@link readCsv}, {@link readLines}). Every failure is a {@link LeptonError} whose code is one of
 * {@link LeptonErrorCode}.
 *
 * Quick start, backends and guides: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */

// TensorFlow.js, initialised by initRuntime(): use this `tf` rather than importing a second copy.
export * as tf from './tf.js';

// seeded randomness for reproducible synthetic data; timestamps as every vertical accepts them
export { mulberry32 as seededRandom } from './internal/random.js';
export { parseTimestamp, TIMESTAMP_MAX_MS } from './internal/time.js';
export type { TimestampOptions } from './internal/time.js';

// text input every vertical reads: lines and CSV that never crash the process and never lose a line uncounted
export { readLines } from './io/lines.js';
export type { TextSource, TextReadOptions, LineItem } from './io/lines.js';
export { readCsv, parseCsv } from './io/csv.js';
export type { CsvReadOptions, CsvItem, CsvLineProblem } from './io/csv.js';

// numerics shared by the verticals: special functions, small dense linear algebra, logistic regression
export { erfc, normalCdf, normalQuantile, lnGamma } from './numeric/special.js';
export { solveLinear, invertMatrix } from './numeric/linear.js';
export { fitLogisticRegression, sigmoid } from './numeric/logistic.js';
export type { LogisticRegressionOptions, LogisticRegressionFit } from './numeric/logistic.js';

// errors
export { LeptonError, isLeptonError, ensure } from './errors/lepton-error.js';
export { describeValue } from './errors/describe-value.js';
export type { LeptonErrorOptions } from './errors/lepton-error.js';
export { CORE_ERROR_CODES } from './errors/codes.js';
export type { CoreErrorCode, LeptonErrorCode, LeptonErrorCodes } from './errors/codes.js';

// runtime
export { initRuntime, runtimeInfo, ensureRuntime, resolveRuntimeOptions } from './runtime/init.js';
export type { RuntimeOptions, ResolvedRuntimeOptions, RuntimeInfo, BackendAttempt, BackendPreference } from './runtime/init.js';
export { BACKEND_NAMES, cudaDeviceVisible, isBackendName, registerBackendLoader, registeredBackendLoaders } from './runtime/backends.js';
export type { BackendName, BackendLoader, BackendProbe, BackendLoadOptions } from './runtime/backends.js';
export { isSoftwareAdapter } from './runtime/webgpu.js';
export { gpuErrorScope } from './runtime/gpu-scope.js';
export type { AdapterSummary } from './runtime/webgpu.js';
export { requiredKernels, missingKernels, planBackend } from './runtime/kernels.js';
export type { KernelCheckOptions, BackendPlan } from './runtime/kernels.js';

// models
export { modelTask, MAX_WEIGHT_VALUES, MAX_BLOCKS_PER_STAGE, MAX_LAYER_LIST } from './models/task.js';
export type { Task } from './models/task.js';
export { buildMlp } from './models/mlp.js';
export type { MlpOptions } from './models/mlp.js';
export { buildResidualCnn, LAST_CONV_LAYER } from './models/residual-cnn.js';
export type { ResidualCnnOptions } from './models/residual-cnn.js';
export { buildUnet } from './models/unet.js';
export type { UnetOptions } from './models/unet.js';
export { buildSequenceModel } from './models/sequence.js';
export type { SequenceModelOptions, SequenceKind, SequenceTask } from './models/sequence.js';
export { buildDenseAutoencoder, buildLstmAutoencoder } from './models/autoencoder.js';
export type { DenseAutoencoderOptions, LstmAutoencoderOptions } from './models/autoencoder.js';

// training
export { train } from './train/train.js';
export type { TrainData, TrainResult, EpochRecord } from './train/train.js';
export { resolveTrainOptions, higherIsBetter } from './train/options.js';
export type { TrainOptions, ResolvedTrainOptions, EarlyStoppingOptions, MonitorMetric } from './train/options.js';
export type { TrainEvent } from './train/events.js';
export { learningRateAt } from './train/schedule.js';
export type { LearningRateSchedule } from './train/schedule.js';
export { progressBar, shouldDrawBar, formatDuration } from './train/progress-bar.js';
export type { BarStream, ProgressBarOptions } from './train/progress-bar.js';
export { checkProgressOptions, progressReporter, stageListeners } from './train/progress.js';
export type { ProgressBarSetting, ProgressOptions, ProgressReporter } from './train/progress.js';
export { predictBatched, taskMetrics } from './train/evaluate.js';

// bundles
export { saveBundle, MODEL_FILE, WEIGHTS_FILE } from './bundle/save.js';
export type { SaveBundleOptions } from './bundle/save.js';
export { loadBundle } from './bundle/load.js';
export type { Bundle, LoadBundleOptions } from './bundle/load.js';
export { validateManifest, isSemver, MANIFEST_FILE } from './bundle/manifest.js';
export type { BundleManifest, TensorSpec, Provenance, FileDigest } from './bundle/manifest.js';
export { signBundle, verifyBundleSignature, bundleDigest, bundleKeyId, createBundleSigningKeys, SIGNATURE_FILE } from './bundle/sign.js';
export type { BundleSignature, BundleSignatures, BundleSigningKeys, SigningKeyInput } from './bundle/sign.js';

// serving
export { createPredictor } from './serve/predictor.js';
export type { Predictor, PredictorEngine, PredictorOptions, PredictorStats } from './serve/predictor.js';
export { createWorkerPool } from './serve/pool.js';
export type { WorkerPool, WorkerPoolStats, RunOptions } from './serve/pool.js';
export { resolveWorkerCount, resolveWorkerPoolOptions, DEFAULT_MEMORY_PER_WORKER_BYTES } from './serve/pool-options.js';
export type { WorkerPoolOptions, ResolvedWorkerPoolOptions } from './serve/pool-options.js';
export type { WorkerSetup, WorkerHandler, WorkerReply, WorkerContext } from './serve/worker-module.js';
export { ModelWorkers, resolveWorkersOption } from './serve/model-workers.js';
export { foldBatchNorm } from './serve/fold.js';
export type { FoldBatchNormOptions } from './serve/fold.js';

// metrics
export { accuracy, confusionMatrix, precisionRecallF1, MAX_CLASS_LABELS } from './metrics/classification.js';
export type { Averaging, PrecisionRecallF1 } from './metrics/classification.js';
export { rocAuc, rocCurve, averagePrecision, precisionRecallCurve, ksStatistic, thresholdCurve } from './metrics/ranking.js';
export type { ThresholdCurve } from './metrics/ranking.js';
export { logLoss, brierScore, expectedCalibrationError } from './metrics/calibration.js';
export { meanAbsoluteError, rootMeanSquaredError, r2Score } from './metrics/regression.js';
export { diceCoefficient, diceLoss } from './metrics/segmentation.js';
export { thresholdForMaxF1, thresholdForFpr, thresholdForCost } from './metrics/threshold.js';
export type { ThresholdChoice, CostMatrix } from './metrics/threshold.js';
export type { Numeric } from './metrics/validate.js';

// calibration and drift
export { fitPlatt } from './calibrate/platt.js';
export { fitIsotonic } from './calibrate/isotonic.js';
export { calibratorFromJSON } from './calibrate/restore.js';
export type { Calibrator, CalibratorJSON } from './calibrate/calibrator.js';
export { populationStabilityIndex } from './metrics/drift.js';
export type { StabilityReport } from './metrics/drift.js';

// explanations
export { saliencyMap } from './explain/saliency.js';
export type { Heatmap, HeatmapOptions } from './explain/saliency.js';
export { gradCam } from './explain/grad-cam.js';
export type { GradCamOptions } from './explain/grad-cam.js';
export { integratedGradients } from './explain/integrated-gradients.js';
export type { IntegratedGradientsOptions, IntegratedGradientsResult, FeatureAttribution } from './explain/integrated-gradients.js';
export { MAX_IG_STEPS, IG_BATCH_SIZE } from './explain/integrated-gradients.js';
export { heatmapToPng, MAX_PNG_SIDE } from './explain/overlay.js';
export type { OverlayOptions } from './explain/overlay.js';

// multi-modal fusion: late (weights over per-modality scores, fitted on validation data) and early (one multi-input model)
export { fitLateFusion, lateFusionFromJSON, MAX_LATE_FUSION_SCORES, MAX_LATE_FUSION_MODALITIES } from './fusion/late.js';
export type {
  LateFusion,
  LateFusionJSON,
  LateFusionOptions,
  LateFusionFitReport,
  LateFusionPredictOptions,
  LateFusionMethod,
  LateFusionInput,
  MissingScorePolicy,
  ModalityScores,
  ModalityScoreColumn,
  SampleScores,
} from './fusion/late.js';
export { buildFusionModel } from './fusion/early.js';
export type { FusionModelOptions, FusionImageOptions, FusionEmbeddingOptions, FusionTabularOptions, FusionSequenceOptions } from './fusion/early.js';

// TF.js graph models → ONNX, to run them on ONNX Runtime's native CPU kernels (onnxruntime-node, optional peer)
export { graphModelToOnnx } from './onnx/graph.js';
export type { GraphModelArtifactsLike, GraphToOnnxOptions, GraphWeightSpec, OnnxGraphInput, OnnxGraphModel } from './onnx/graph.js';

// TF.js Layers models → ONNX, and ONNX Runtime sessions (onnxruntime-node, optional peer): createPredictor's engine 'onnx'
export { layersModelToOnnx, ONNX_CONVERTIBLE_LAYERS } from './onnx/layers.js';
export type { LayersToOnnxOptions } from './onnx/layers.js';
export { createOnnxSession, onnxRuntimeAvailable, requireOnnxRuntime } from './onnx/runtime.js';
export type { OnnxRunOptions, OnnxSession, OnnxSessionOptions, OnnxTensorValue } from './onnx/runtime.js';
