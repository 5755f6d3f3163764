import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { stringFlag, type CliIo, type CommandSpec, type FlagValues } from '../internal/command.js';
import { usageError } from '../internal/errors.js';
import { isSameFile, readSmallFile, resolvePath } from '../internal/paths.js';
import { loadMedical, type Medical } from './medical.js';

/** Largest --salt-file read (a key is a line of text). */
const MAX_SALT_FILE_BYTES = 64 << 10;

type Totals = { removed: number; privateRemoved: number; emptied: number; replaced: number; uidsReplaced: number };

/** Which key the command line asks for (checked before anything loads): --salt, --salt-file, or neither. */
function saltFlags(flags: FlagValues): { inline?: string; file?: string } {
  const inline = stringFlag(flags, 'salt');
  const file = stringFlag(flags, 'salt-file');
  if (inline !== undefined && file !== undefined) throw usageError('Give --salt or --salt-file, not both.', 'dicom deid');
  if (inline === '') throw usageError('--salt is empty.', 'dicom deid');
  return { ...(inline !== undefined ? { inline } : {}), ...(file !== undefined ? { file } : {}) };
}

/** The de-identification key: --salt, --salt-file, LEPTON_DEID_SALT, or none (a random one for this run). */
async function salt(
  given: { inline?: string; file?: string },
  io: CliIo,
  medical: Medical,
): Promise<{ secret?: string; source: 'flag' | 'file' | 'env' | 'random' }> {
  if (given.inline !== undefined) return { secret: given.inline, source: 'flag' };
  if (given.file !== undefined) {
    const text = (await readSmallFile(resolvePath(io, given.file), MAX_SALT_FILE_BYTES, '--salt-file')).trim();
    if (text === '') throw new medical.LeptonError('INVALID_INPUT', 'The --salt-file is empty.');
    return { secret: text, source: 'file' };
  }
  const env = io.env['LEPTON_DEID_SALT'];
  if (env !== undefined && env !== '') return { secret: env, source: 'env' };
  return { source: 'random' };
}

/**
 * The bytes of <in> through medical's bounded reader (a regular file of at most MAX_DICOM_FILE_BYTES; a device such as
 * /dev/zero or a pipe is refused before reading), its DICOM_READ_FAILED naming <in> as given, not the resolved path.
 */
async function readDicomInput(medical: Medical, path: string, shown: string): Promise<Uint8Array> {
  try {
    return await medical.readDicomBytes(path);
  } catch (err) {
    if (!medical.isLeptonError(err)) throw err;
    throw new medical.LeptonError(err.code, err.message, { cause: err, details: { ...err.details, source: shown } });
  }
}

function add(t: Totals, s: Totals): void {
  for (const k of Object.keys(t) as Array<keyof Totals>) t[k] += s[k];
}

/** `lepton dicom deid <in> <out>`. */
export const dicomDeidCommand: CommandSpec = {
  name: 'dicom deid',
  description: 'De-identify a DICOM file or a folder by the PS3.15 Annex E Basic Profile (@lepton/medical): identifying attributes removed or replaced, UIDs remapped consistently under a key, private tags dropped, pixels copied bit for bit.',
  args: [
    { name: 'in', required: true, help: 'a DICOM file, or a folder (read recursively; files that are not DICOM are reported and skipped)' },
    { name: 'out', required: true, help: 'output file (for a file; an existing folder or a path ending in / gets <new SOP Instance UID>.dcm), or output folder' },
  ],
  flags: {
    salt: { type: 'string', value: 'SECRET', help: 'key for the UID and Patient ID mappings: the same key maps the same UID to the same new UID in every run (default: LEPTON_DEID_SALT, else random)' },
    'salt-file': { type: 'string', value: 'FILE', help: 'read the key from a file (keeps it out of the shell history and process list)' },
    'burned-in': {
      type: 'string',
      value: 'POLICY',
      help: "images that may carry burned-in text (PS3.15): 'refuse' (default: marked YES, or unmarked US/XA/RF/ES/SC/XC/OP/DOC and Secondary Capture), 'refuse-marked' (only those marked YES) or 'allow' (recorded in De-identification Method; pixels are not cleaned)",
    },
  },
  details: `Folder outputs are named by their new SOP Instance UID (input names often hold patient names), and the
output never pairs an input name with its new UIDs; only inputs that failed are named, so they can be found.
Without a key, UIDs still change consistently within the run but will not match a later run.
Exit codes: 0 every input written; 1 any input could not be de-identified (the others are still written), or
@lepton/medical missing; 2 usage error.`,
  async run({ positionals, flags, io, json }) {
    const input = resolvePath(io, positionals[0]!);
    const outArg = positionals[1]!;
    const output = resolvePath(io, outArg);
    // compared as files, not as path strings: a link (symbolic or hard) to <in> as <out> overwrote the original
    if (await isSameFile(input, output)) throw usageError('<out> is <in> (or a link to it): write de-identified files somewhere else.', 'dicom deid');
    const given = saltFlags(flags);
    const burnedIn = stringFlag(flags, 'burned-in') ?? 'refuse';
    if (burnedIn !== 'refuse' && burnedIn !== 'refuse-marked' && burnedIn !== 'allow') {
      throw usageError("--burned-in must be 'refuse', 'refuse-marked' or 'allow'.", 'dicom deid');
    }
    const medical = await loadMedical();
    const { LeptonError } = medical;
    const key = await salt(given, io, medical);
    const deid = new medical.DicomDeidentifier({ ...(key.secret === undefined ? {} : { secret: key.secret }), burnedInAnnotation: burnedIn });
    let kind: 'file' | 'folder';
    try {
      kind = (await stat(input)).isDirectory() ? 'folder' : 'file';
    } catch (err) {
      throw new LeptonError('DICOM_READ_FAILED', `Could not read <in> (${(err as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { cause: err, details: { source: positionals[0] } });
    }
    const totals: Totals = { removed: 0, privateRemoved: 0, emptied: 0, replaced: 0, uidsReplaced: 0 };
    // Outputs only: a list pairing input names (which often hold patient names) with new UIDs would undo the work.
    const written: Array<{ output: string; sopInstanceUid: string }> = [];
    const failures: Array<{ source: string; code: string; message: string }> = [];
    if (kind === 'file') {
      const result = deid.deidentify(await readDicomInput(medical, input, positionals[0]!), { source: positionals[0]! });
      let target = output;
      const isDir = await stat(output).then((s) => s.isDirectory(), () => false);
      if (isDir || outArg.endsWith('/') || outArg.endsWith(sep)) target = join(output, `${result.sopInstanceUid}.dcm`);
      if (await isSameFile(input, target)) throw usageError('<out> names <in> (or a link to it): write de-identified files somewhere else.', 'dicom deid');
      try {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, result.bytes);
      } catch (err) {
        throw new LeptonError('DEID_WRITE_FAILED', `Could not write <out> (${(err as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { cause: err });
      }
      add(totals, result.summary);
      written.push({ output: target, sopInstanceUid: result.sopInstanceUid });
    } else {
      const result = await medical.deidentifyDicomFolder(input, output, deid);
      for (const f of result.files) {
        add(totals, f.summary);
        written.push({ output: f.output, sopInstanceUid: f.sopInstanceUid });
      }
      for (const f of result.failures) failures.push({ source: f.path, code: f.error.code, message: f.error.message });
    }
    if (key.source === 'random' && !json) {
      io.stderr('note: no --salt (or LEPTON_DEID_SALT): a random key was used, so new UIDs will not match a later run.\n');
    }
    const lines = [
      `de-identified ${written.length} file${written.length === 1 ? '' : 's'} into ${kind === 'file' ? written[0]!.output : outArg}` +
        ` (key: ${key.source === 'random' ? 'random, this run only' : `from ${key.source === 'flag' ? '--salt' : key.source === 'file' ? '--salt-file' : 'LEPTON_DEID_SALT'}`})`,
      `attributes: ${totals.removed} removed (${totals.privateRemoved} private), ${totals.emptied} emptied, ${totals.replaced} replaced, ${totals.uidsReplaced} UIDs replaced`,
      ...failures.map((f) => `[fail] ${f.source}: ${f.code}: ${f.message}`),
    ];
    if (failures.length > 0) lines.push(`FAILED: ${failures.length} input file${failures.length === 1 ? '' : 's'} not de-identified.`);
    return {
      exitCode: failures.length === 0 ? 0 : 1,
      json: { ok: failures.length === 0, input: kind, key: key.source, written, failures, totals },
      human: lines.join('\n'),
    };
  },
};
