/**
 * `@lepton/cli` — the `lepton` command: `lepton doctor` (backends and why each unused one was skipped, the WebGPU
 * adapter, threads, ffmpeg, and Redis/MQTT/DICOMweb reachability), `lepton dicom info|deid|to-png` (with the optional
 * peer `@lepton/medical`) and `lepton bundle inspect|verify|keygen|sign`. The same is available in-process:
 * {@link runCli} runs a command line, {@link doctor} returns the doctor's report.
 *
 * @packageDocumentation
 */
export { runCli } from './cli.js';
export { CLI_ERROR_CODES } from './errors.js';
export type { CliErrorCode } from './errors.js';
export type { CliIo } from './internal/command.js';
export { EXIT_CODES } from './internal/exit-codes.js';
export type { ExitCode } from './internal/exit-codes.js';
export { redactUrl } from './internal/redact.js';
export { doctor } from './doctor/report.js';
export type { DoctorOptions, DoctorReport, RuntimeSection, BackendStatus, GpuSection, ThreadsSection, ServiceCheck } from './doctor/types.js';
