/**
 * `@lepton/manufacturing` — plant telemetry and monitoring on `@lepton/core`.
 *
 * Available now: validated sensor records, data-quality checks (gaps, out-of-order, missing, stuck, bad flags),
 * resampling to a fixed rate, and an MQTT source that survives broker restarts. SPC, learned anomaly detection,
 * remaining useful life, inspection and OEE are in progress (issue 6).
 *
 * @packageDocumentation
 */
export { initRuntime, runtimeInfo, LeptonError, isLeptonError, tf } from '@lepton/core';
export { SensorRecordSchema, QUALITIES, parseSensorRecord } from './telemetry/record.js';
export type { SensorRecord, RecordRejection, ParsedRecord } from './telemetry/record.js';
export { readSensorCsv, readSensorNdjson } from './telemetry/readers.js';
export { QualityMonitor } from './telemetry/quality.js';
export type { QualityIssue, QualityIssueKind, QualityOptions, QualityVerdict } from './telemetry/quality.js';
export { resample } from './telemetry/resample.js';
export type { FillPolicy, ResampleOptions, Resampled } from './telemetry/resample.js';
export { MqttTelemetry } from './telemetry/mqtt.js';
export type { MqttTelemetryOptions, MqttTelemetryStats, TelemetryItem } from './telemetry/mqtt.js';
