/**
 * The `lepton` command: `lepton doctor` (which backend was chosen and why each other one was skipped, with the
 * fix), `lepton dicom info|deid|to-png` and `lepton bundle inspect|verify|keygen|sign`, each with `--json`. The same
 * in-process: {@link runCli} runs a command line and {@link doctor} returns the doctor's report; {@link EXIT_CODES}
 * lists the exit codes and {@link CliErrorCode} the error codes the commands add.
 *
 * Commands, flags and exit codes: the package's [README](../README.md).
 *
 * @document ../README.md
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
