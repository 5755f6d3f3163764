import type { CommandSpec } from './internal/command.js';
import { CliError, firstLine } from './internal/errors.js';

/** One command: its group and name, a one-line summary for lists, and its module, loaded only when it runs. */
export interface CommandEntry {
  /** `doctor`, `dicom`, `bundle`. */
  group: string;
  /** Full name after `lepton`, e.g. `dicom info`. */
  name: string;
  /** One line for `lepton --help` and `lepton <group> --help`. */
  summary: string;
  /** Imports the command's module. */
  load: () => Promise<CommandSpec>;
}

// Modules are imported lazily, and command modules import their implementations only in `run`: `lepton --help` and
// usage errors need no TensorFlow.js (a second or more to load), and a missing or broken @lepton/core becomes a
// message saying what to install instead of a stack trace.
export const COMMANDS: readonly CommandEntry[] = [
  {
    group: 'doctor',
    name: 'doctor',
    summary: 'backends (why each unused one was skipped, and the fix), GPU adapter, threads, ffmpeg, Redis/MQTT/DICOMweb',
    load: async () => (await import('./doctor/command.js')).doctorCommand,
  },
  { group: 'dicom', name: 'dicom info', summary: 'transfer syntax, modality, size, frames, pixel format (no patient data unless --phi)', load: async () => (await import('./dicom/info.js')).dicomInfoCommand },
  { group: 'dicom', name: 'dicom deid', summary: 'de-identify a file or folder (PS3.15 Annex E Basic Profile)', load: async () => (await import('./dicom/deid.js')).dicomDeidCommand },
  { group: 'dicom', name: 'dicom to-png', summary: 'render a frame to PNG with a window or preset', load: async () => (await import('./dicom/to-png.js')).dicomToPngCommand },
  { group: 'bundle', name: 'bundle inspect', summary: 'summarise a model bundle: task, inputs/outputs, labels, metrics, files, signatures', load: async () => (await import('./bundle/commands.js')).bundleInspectCommand },
  { group: 'bundle', name: 'bundle verify', summary: 'check file digests, the model and (with --key) the signature', load: async () => (await import('./bundle/commands.js')).bundleVerifyCommand },
  { group: 'bundle', name: 'bundle keygen', summary: 'make an Ed25519 key pair for signing bundles', load: async () => (await import('./bundle/commands.js')).bundleKeygenCommand },
  { group: 'bundle', name: 'bundle sign', summary: 'sign a bundle with a private key', load: async () => (await import('./bundle/commands.js')).bundleSignCommand },
];

/**
 * Turns the failure to import a module into a {@link CliError} that says what to do: a missing `@lepton/core` (a
 * required peer dependency) is `CLI_CORE_MISSING`; any other module that fails to load is `CLI_CORE_BROKEN`.
 * Anything that is not an import failure is returned as it is.
 */
export function explainImportError(err: unknown, command: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = firstLine(err);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]@lepton\/core['"]/.test(message)) {
    return new CliError('CLI_CORE_MISSING', '@lepton/core is not installed next to @lepton/cli (a required peer dependency): npm install @lepton/core', { cause: err });
  }
  // A module that fails to link (an export missing from a half-updated install) throws a SyntaxError that says so.
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || (err instanceof SyntaxError && /requested module|export named/.test(message))) {
    return new CliError('CLI_CORE_BROKEN', `The '${command}' command could not load a module: ${message}. Reinstall @lepton/core and @lepton/cli.`, { cause: err });
  }
  return err;
}

/** Loads a command's module (its name, arguments and flags; the implementation loads when it runs). */
export async function loadCommand(entry: CommandEntry): Promise<CommandSpec> {
  try {
    return await entry.load();
  } catch (err) {
    throw explainImportError(err, entry.name);
  }
}
