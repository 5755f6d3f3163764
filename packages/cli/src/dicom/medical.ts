import { CliError } from '../internal/errors.js';

/** The `@lepton/medical` module, typed; only ever loaded by `lepton dicom …`. */
export type Medical = typeof import('@lepton/medical');

/**
 * Loads `@lepton/medical` with a dynamic import. It is an optional peer dependency of the CLI: DICOM codecs are
 * several megabytes of WebAssembly that someone running `lepton doctor` for a finance service should not need. A
 * static import anywhere outside `src/dicom/` would make every command require it; keep it here.
 *
 * @throws CliError `CLI_MEDICAL_MISSING` when the package is not installed, saying how to install it
 */
export async function loadMedical(): Promise<Medical> {
  try {
    return await import('@lepton/medical');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const message = err instanceof Error ? err.message : '';
    // Only the package itself being absent is this error; a dependency of it failing to load is reported as it is.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]@lepton\/medical['"]/.test(message)) {
      throw new CliError(
        'CLI_MEDICAL_MISSING',
        "'lepton dicom' needs @lepton/medical, an optional peer dependency of @lepton/cli (left out so that other commands need no DICOM codecs). Install it next to the CLI: npm install @lepton/medical",
        { cause: err },
      );
    }
    throw err;
  }
}
