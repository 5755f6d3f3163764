// An independent check of de-identified output: collect what dcmtk (not this package's parser) finds identifying in
// an input, then assert that none of it appears anywhere in the output's bytes. Used by every de-identification test.
//
// What counts as an original value (each split at `\` into values, person names also at `^` and `=` into
// components; text shorter than 4 characters is skipped, since it would match by chance):
// - every UID value anywhere in the data set, at any depth, UN-encoded sequences included (dcmdump reads them as
//   sequences, PS3.5 6.2.2), except the standard's own well-known UIDs (1.2.840.10008.*: SOP classes, transfer
//   syntaxes, coding schemes), which identify nobody;
// - plus every UID-shaped string in the raw input bytes, so UIDs inside opaque values (private blobs, UN values that
//   are no sequences, elements dcmtk could not parse) count too;
// - the value of every attribute that Table E.1-1 does not keep (any action but K), at any depth;
// - every person name (VR PN), whatever the attribute;
// - every private element (odd group): text values, and printable runs of 6+ characters in binary ones;
// - every file meta information value (the meta is replaced, so nothing of it may survive).
// Values are searched as the input stored them (Latin-1 bytes) and as UTF-8 (dcmjs writes UTF-8).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BASIC_PROFILE } from '@lepton/medical';

export const HAS_DCMDUMP = spawnSync('dcmdump', ['--version'], { encoding: 'utf8' }).status === 0;

/** What the independent scan found identifying in an input. */
export interface OriginalValues {
  /** Text values (names, IDs, dates, descriptions …). */
  readonly strings: readonly string[];
  /** UIDs, from dcmdump and from the raw bytes. */
  readonly uids: readonly string[];
  /** Whether dcmdump parsed the input without complaint (hostile inputs may not; their raw-byte UIDs still count). */
  readonly parsedCleanly: boolean;
}

const WELL_KNOWN_UID = /^1\.2\.840\.10008\./;
const UID_IN_BYTES = /(?<![0-9.])[012](?:\.(?:0|[1-9][0-9]*)){3,}(?![0-9.])/g;
const LINE = /^\s*\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*)$/;

/** Runs dcmdump on bytes (stdin): long values in full, UIDs as numbers, UN with undefined length as sequences. */
export function dcmdump(bytes: Uint8Array, extra: readonly string[] = []): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('dcmdump', ['+L', '-Un', ...extra, '-'], { input: bytes, maxBuffer: 256 * 1024 * 1024 });
  return { status: run.status, stdout: run.stdout.toString('latin1'), stderr: run.stderr.toString('latin1') };
}

function printableRuns(bytes: Buffer): string[] {
  return bytes.toString('latin1').match(/[\x20-\x7e\xa0-\xff]{6,}/g) ?? [];
}

/** The value part of a dcmdump line: `[text]`, hex bytes, numbers, or a comment. */
function parseValue(rest: string): { text?: string; hex?: Buffer } {
  const comment = rest.lastIndexOf('#');
  const body = (comment >= 0 ? rest.slice(0, comment) : rest).trimEnd();
  if (body.startsWith('[') && body.endsWith(']')) return { text: body.slice(1, -1) };
  if (/^[0-9a-f]{2}(\\[0-9a-f]{2})*$/.test(body)) return { hex: Buffer.from(body.replace(/\\/g, ''), 'hex') };
  return {};
}

/** The original values in one dcmdump listing of `input` (see the file comment). */
function collect(input: Uint8Array, dumpText: string, parsedCleanly: boolean): OriginalValues {
  const strings = new Set<string>();
  const uids = new Set<string>();
  const addText = (s: string, vr: string): void => {
    for (const value of s.split('\\')) {
      const v = value.replace(/\0/g, '').trim();
      if (vr === 'UI') {
        if (v !== '' && !WELL_KNOWN_UID.test(v)) uids.add(v);
        continue;
      }
      const parts = vr === 'PN' ? [v, ...v.split(/[\^=]/)] : [v];
      for (const p of parts) if (p.trim().length >= 4) strings.add(p.trim());
    }
  };
  for (const m of Buffer.from(input).toString('latin1').matchAll(UID_IN_BYTES)) if (!WELL_KNOWN_UID.test(m[0])) uids.add(m[0]);
  for (const line of dumpText.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, g, e, vr, rest] = m as unknown as [string, string, string, string, string];
    const group = parseInt(g, 16);
    const tag = `${g}${e}`.toUpperCase();
    if (group === 0x7fe0 || group === 0xfffe) continue;
    const { text, hex } = parseValue(rest);
    const isPrivate = group % 2 === 1;
    const action = BASIC_PROFILE.get(tag)?.action;
    const identifying = group === 0x0002 || isPrivate || vr === 'PN' || vr === 'UI' || (action !== undefined && action !== 'K');
    if (!identifying) continue;
    if (text !== undefined) addText(text, vr);
    if (hex !== undefined && (isPrivate || vr === 'UN' || vr === '??')) {
      for (const run of printableRuns(hex)) addText(run, 'LO');
    }
  }
  return { strings: [...strings].sort(), uids: [...uids].sort(), parsedCleanly };
}

/** Collects the original values of an input (see the file comment). */
export function originalValues(input: Uint8Array): OriginalValues {
  const dump = dcmdump(input, ['+uc']);
  if (dump.status === 0 && dump.stderr === '') return collect(input, dump.stdout, true);
  return collect(input, dcmdump(input, ['+uc', '+E', '+Ep', '-q']).stdout, false); // as much as dcmtk can recover
}

/** dcmdump over many files in one run (+F puts a header before each), split per file. */
function dumpFiles(paths: readonly string[], extra: readonly string[]): { clean: boolean; dumps: string[] } {
  const run = spawnSync('dcmdump', ['+F', '+L', '-Un', ...extra, ...paths], { maxBuffer: 1024 * 1024 * 1024 });
  const parts = run.stdout.toString('latin1').split(/^# dcmdump \(\d+\/\d+\): .*$/m).slice(1);
  return { clean: run.status === 0 && run.stderr.length === 0 && parts.length === paths.length, dumps: parts };
}

/** {@link originalValues} for many files, with one dcmdump run when they all parse cleanly (spawning is the cost). */
export function originalValuesOfFiles(paths: readonly string[]): OriginalValues[] {
  const { clean, dumps } = dumpFiles(paths, ['+uc']);
  return paths.map((p, i) => {
    const bytes = new Uint8Array(readFileSync(p));
    return clean ? collect(bytes, dumps[i]!, true) : originalValues(bytes);
  });
}

/**
 * Text the de-identifier itself writes into every output (its Implementation Version Name), masked before searching
 * so that an input value such as `LEPTON` is not reported as a leak when it only matches our own boilerplate.
 */
const BOILERPLATE = ['LEPTON_DEID_1'];

/** Every original value found in `output` (as Latin-1 or UTF-8 bytes). An empty list means nothing leaked. */
export function leaks(output: Uint8Array, originals: OriginalValues): string[] {
  const hay = Buffer.from(output); // a copy: the boilerplate is masked in it
  for (const text of BOILERPLATE) {
    const needle = Buffer.from(text, 'latin1');
    for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) hay.fill(0, at, at + needle.length);
  }
  const found: string[] = [];
  for (const s of [...originals.strings, ...originals.uids]) {
    if (hay.indexOf(Buffer.from(s, 'latin1')) >= 0 || hay.indexOf(Buffer.from(s, 'utf8')) >= 0) found.push(s);
  }
  return found;
}

/** dcmdump's verdict on an output: it must parse with no error and no warning (not even quiet ones). */
export function dcmdumpVerdict(output: Uint8Array): { ok: boolean; stderr: string; dump: string } {
  const run = dcmdump(output);
  return { ok: run.status === 0 && run.stderr === '', stderr: run.stderr, dump: run.stdout };
}

/** {@link dcmdumpVerdict} for many files: one dcmdump run, and one per file only when that run complains. */
export function dcmdumpVerdictsOfFiles(paths: readonly string[]): { path: string; ok: boolean; stderr: string }[] {
  if (dumpFiles(paths, []).clean) return paths.map((path) => ({ path, ok: true, stderr: '' }));
  return paths.map((path) => ({ path, ...dcmdumpVerdict(new Uint8Array(readFileSync(path))) }));
}
