/**
 * Plant telemetry and monitoring, on `@lepton/core`: validated sensor records from files and MQTT
 * ({@link readSensorCsv}, {@link MqttTelemetry}, {@link QualityMonitor}), statistical process control ({@link xbarR} and
 * the other charts, run rules), learned anomaly detection ({@link AnomalyDetector}), whole-line monitoring with alarms
 * and evidence ({@link LineMonitor}, scaled out over MQTT by {@link ScaledLineMonitor}), remaining useful life
 * ({@link RulModel}), visual defect inspection ({@link DefectInspector}), OEE ({@link computeOee}) and seeded simulators
 * ({@link simulateLine}). Error codes: {@link ManufacturingErrorCode}.
 *
 * Quick starts and guides: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */
export { initRuntime, runtimeInfo, LeptonError, isLeptonError, seededRandom, tf } from '@lepton/core';
export type { LeptonErrorCode } from '@lepton/core';
export { MANUFACTURING_ERROR_CODES } from './errors.js';
export type { ManufacturingErrorCode } from './errors.js';
export { SensorRecordSchema, QUALITIES, parseSensorRecord, MIN_TIMESTAMP, MAX_TIMESTAMP, MAX_ID_LENGTH } from './telemetry/record.js';
export type { SensorRecord, RecordRejection, ParsedRecord } from './telemetry/record.js';
export { readSensorCsv, readSensorNdjson } from './telemetry/readers.js';
export { QualityMonitor, DEFAULT_MAX_CLOCK_SKEW_MS } from './telemetry/quality.js';
export type { QualityIssue, QualityIssueKind, QualityOptions, QualityVerdict } from './telemetry/quality.js';
export { resample, MAX_RESAMPLE_POINTS } from './telemetry/resample.js';
export type { FillPolicy, ResampleOptions, Resampled } from './telemetry/resample.js';
export { MqttTelemetry } from './telemetry/mqtt.js';
export type { MqttTelemetryOptions, MqttTelemetryStats, TelemetryItem } from './telemetry/mqtt.js';
export { AnomalyDetector } from './monitoring/autoencoder.js';
export { LineMonitor } from './monitoring/line-monitor.js';
export type { LineMonitorOptions, LineEvent, LineItem, LineMonitorStats, LineBaseline, SignalBaseline } from './monitoring/line-monitor.js';
export type { LineAlarm, LineAlarmEvidence, LineRecord, SignalCheck, UnknownSignal } from './monitoring/line-monitor.js';
export type { AnomalyCalibrateOptions, AnomalyCalibration, AnomalyDetectorOptions, AnomalyScore, AnomalyStream } from './monitoring/autoencoder.js';
export { HotellingT2 } from './monitoring/hotelling.js';
export type { T2Score } from './monitoring/hotelling.js';
export { computeOee } from './oee/oee.js';
export type { MachineState, StateEvent, CountEvent, Shift, OeeResult } from './oee/oee.js';
export { AlarmManager } from './alarms/alarms.js';
export type { Alarm, AlarmEvent, AlarmEvidence, AlarmOptions, Severity } from './alarms/alarms.js';
export { RulModel, rulTarget, nasaScore, generateRunToFailure } from './maintenance/rul.js';
export type { UnitHistory, RulOptions, RulPrediction } from './maintenance/rul.js';
export { chartConstants } from './spc/constants.js';
export type { ChartConstants } from './spc/constants.js';
export { xbarR, xbarRLimits, xbarS, individuals, pChart, npChart, cChart, uChart, monitor, capability } from './spc/charts.js';
export type { Chart, Limits, FixedLimits, XbarRLimits, XbarRCharts, XbarSCharts, IMrCharts, Capability, SpecLimits } from './spc/charts.js';
export { evaluateRules, WESTERN_ELECTRIC, NELSON } from './spc/rules.js';
export { RuleStream } from './spc/stream.js';
export type { StreamLimits } from './spc/stream.js';
export type { NelsonRule, RuleSet, Violation } from './spc/rules.js';
export { cusum, ewma } from './spc/cusum.js';
export type { DriftPoint, EwmaPoint } from './spc/cusum.js';
export { controlChartSpec } from './spc/plot.js';
export { simulateMachine, MACHINE_SIGNALS } from './simulation/machine.js';
export type { MachineFault } from './simulation/machine.js';
export { simulateLine, lineRecords, bearingRunToFailure, cycleMeans, LINE_SIGNALS, LINE_CYCLE } from './simulation/line.js';
export type { LineFault, LineOptions, SimulatedLine } from './simulation/line.js';
export { generatePart, generateParts, PART_LABELS } from './inspection/parts.js';
export type { PartImage, PartLabel, GeneratePartsOptions } from './inspection/parts.js';
export type { GrayImage, ImageSize } from './inspection/images.js';
export { DefectInspector } from './inspection/inspector.js';
export type { DefectInspectorOptions, InspectionCalibrateOptions, InspectionCalibration, InspectionResult, InspectionSample, InspectionEvaluation } from './inspection/inspector.js';
export { DefectClassifier } from './inspection/classifier.js';
export type { DefectClassifierOptions, LabelledImage, DefectPrediction, ClassifierEvaluation } from './inspection/classifier.js';
export { parseAssetSnapshot, ASSET_SNAPSHOT_FORMAT } from './monitoring/asset-snapshot.js';
export type { AssetSnapshot } from './monitoring/asset-snapshot.js';
export type { AlarmTrackSnapshot } from './alarms/alarms.js';
export type { SignalQualityState } from './telemetry/quality.js';
export { ScaledLineMonitor } from './scale/scaled-monitor.js';
export type { ScaledLineMonitorStats } from './scale/scaled-monitor.js';
export type { ScaledLineMonitorOptions, ScaleEvent } from './scale/options.js';
export { assetPartition, telemetryTopic, assignPartitions, MAX_PARTITIONS } from './scale/partition.js';
export { LineStatus } from './plant/line-status.js';
export type { LineStatusOptions, LineStatusStats, StatusChange, StatusSource } from './plant/line-status.js';
export { ALARM_SOURCES, alarmSource, severityRank } from './plant/asset-health.js';
export type { ActiveAlarm, AssetHealth, AssetHealthState, AlarmSource } from './plant/asset-health.js';
export { MqttPlantPublisher, PLANT_PAYLOAD_VERSION } from './plant/mqtt-publisher.js';
export type { MqttPlantPublisherOptions, MqttPlantPublisherStats } from './plant/mqtt-publisher.js';
export type { PlantMqttOptions } from './plant/mqtt-link.js';
export { topicLevel } from './plant/topics.js';
export { SparkplugEdgeNode, SPARKPLUG_NAMESPACE } from './plant/sparkplug-node.js';
export type { SparkplugEdgeNodeOptions, SparkplugEdgeNodeStats } from './plant/sparkplug-options.js';
export { encodeSparkplugPayload, decodeSparkplugPayload, SparkplugDataType, SPARKPLUG_MAX_TEMPLATE_DEPTH } from './plant/sparkplug-codec.js';
export type { SparkplugMetric, SparkplugPayload, SparkplugDataTypeName, SparkplugScalar, SparkplugTemplate, SparkplugTemplateParameter, DecodedSparkplugMetric, DecodedSparkplugPayload, DecodedSparkplugTemplate, DecodedSparkplugParameter } from './plant/sparkplug-codec.js';
export type { SparkplugTemplateDefinition, SparkplugTemplateMember, SparkplugTemplateParameterDefinition, SparkplugTemplateInstance, SparkplugTemplateValues } from './plant/sparkplug-templates.js';
export { renderPrometheus, lineStatusMetrics, PROMETHEUS_CONTENT_TYPE } from './plant/prometheus.js';
export type { MetricFamily, MetricSample, MetricsSource } from './plant/prometheus.js';
export { startMetricsServer } from './plant/metrics-server.js';
export type { MetricsServer, MetricsServerOptions, MetricsServerStats } from './plant/metrics-server.js';
export { OpcUaSource, NODE_OPCUA_TESTED_VERSION } from './plant/opcua-source.js';
export type { OpcUaSourceStats, OpcUaNodeMapping, OpcUaSourceOptions, OpcUaSecurityMode, OpcUaSecurityPolicy, OpcUaUser } from './plant/opcua-source.js';
