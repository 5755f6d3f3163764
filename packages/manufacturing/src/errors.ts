/**
 * Every error code `@lepton/manufacturing` adds to `@lepton/core`'s, at run time (for JavaScript callers and alarm or
 * log pipelines). {@link ManufacturingErrorCode} documents each one. Manufacturing also raises core's shared codes
 * (`INVALID_ARGUMENT`, `INVALID_INPUT`, `SHAPE_MISMATCH` …, see `CORE_ERROR_CODES`); `tests/error-codes.test.ts` fails
 * when the source uses a code that is in neither list, or when a code listed here is no longer used.
 */
export const MANUFACTURING_ERROR_CODES = [
  'SENSOR_READ_FAILED',
  'MFG_NON_FINITE_RESULT',
  'MFG_MONITOR_FAILED',
  'MFG_MAX_ASSETS',
  'MFG_SNAPSHOT_INVALID',
  'MFG_SNAPSHOT_MISMATCH',
  'MFG_SNAPSHOT_TOO_LARGE',
  'MFG_SCALE_CONFIG_MISMATCH',
  'MFG_MQTT_CONNECT',
  'MFG_MQTT_DISCONNECTED',
  'MFG_MQTT_PUBLISH',
  'MFG_MQTT_SUBSCRIBE',
  'MFG_MQTT_TIMEOUT',
  'MFG_SPARKPLUG_DECODE',
  'MFG_SPARKPLUG_COMMAND',
  'MFG_METRICS_LISTEN',
  'MFG_OPCUA_MISSING',
  'MFG_OPCUA_CONNECT',
  'MFG_OPCUA_NODE',
] as const;

/**
 * An error code `@lepton/manufacturing` adds (one of {@link MANUFACTURING_ERROR_CODES}); with core's codes it makes up
 * `LeptonErrorCode` in a program that imports `@lepton/manufacturing`.
 *
 * - `SENSOR_READ_FAILED` — a sensor CSV/NDJSON file or stream could not be read.
 * - `MFG_NON_FINITE_RESULT` — a statistic came out NaN or infinite for this input (values too large or too close).
 * - `MFG_MONITOR_FAILED` — monitoring or scoring one sample failed with a foreign error (the stream goes on).
 * - `MFG_MAX_ASSETS` — restoring one asset more than the monitor's `maxAssets`, or a sample of a new asset/signal pair
 *   once a `QualityMonitor` tracks `maxSignals` of them.
 * - `MFG_SNAPSHOT_INVALID` — an asset snapshot that is damaged, not JSON, for another asset or from another version.
 * - `MFG_SNAPSHOT_MISMATCH` — a snapshot taken with other signals, window or subgroup size than this monitor's.
 * - `MFG_SNAPSHOT_TOO_LARGE` — an asset's snapshot is over `maxSnapshotBytes` (it is not published).
 * - `MFG_SCALE_CONFIG_MISMATCH` — the plant's topics were set up with another partition count.
 * - `MFG_MQTT_CONNECT` — the MQTT broker could not be reached, or refused the connection.
 * - `MFG_MQTT_DISCONNECTED` — the broker connection was lost (the client reconnects; events are queued).
 * - `MFG_MQTT_PUBLISH` — a publish to the broker failed.
 * - `MFG_MQTT_SUBSCRIBE` — the broker refused a subscription (e.g. no MQTT 5 shared subscriptions).
 * - `MFG_MQTT_TIMEOUT` — the broker did not answer within `connectTimeoutMs`.
 * - `MFG_SPARKPLUG_DECODE` — a message that is not a (bounded) Sparkplug B payload.
 * - `MFG_SPARKPLUG_COMMAND` — a Sparkplug command this edge node does not accept.
 * - `MFG_METRICS_LISTEN` — the Prometheus metrics server could not bind its address (port in use …).
 * - `MFG_OPCUA_MISSING` — OPC UA input needs the optional peer `node-opcua` (the message has the install command).
 * - `MFG_OPCUA_CONNECT` — the OPC UA server could not be reached, or refused the security settings or the user.
 * - `MFG_OPCUA_NODE` — the OPC UA server refused some monitored node ids (unknown node, no access).
 */
export type ManufacturingErrorCode = (typeof MANUFACTURING_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/manufacturing` ({@link MANUFACTURING_ERROR_CODES}). */
    manufacturing: ManufacturingErrorCode;
  }
}
