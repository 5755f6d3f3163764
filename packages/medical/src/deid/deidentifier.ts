import { randomBytes } from 'node:crypto';
import dcmjs, { type DcmjsDataset } from 'dcmjs';
import { describeValue, LeptonError } from '@lepton/core';
import { dicomError } from '../dicom/errors.js';
import { readDicom } from '../dicom/read.js';
import { assessBurnedInAnnotation, BURNED_IN_METHOD_TEXT, type BurnedInAnnotationPolicy, type BurnedInAnnotationReport } from './burned-in.js';
import { outputLimit, writtenSizeBound } from './bounds.js';
import { deidError } from './errors.js';
import { withFileMeta } from './file-meta.js';
import { normalizeInput, type NormalizedInput } from './normalize.js';
import { NormalizeFailure } from './normalize-failure.js';
import { hmacPseudonym, hmacUid } from './pseudonyms.js';
import { applyProfile, type DeidAction, type DeidSummary, type ProfileContext } from './profile.js';

/** Options for {@link DicomDeidentifier}. */
export interface DeidentifyOptions {
  /**
   * Key for the UID and Patient ID mappings. The same secret maps the same UID to the same new UID in every file and
   * every run — keep it to add files to a de-identified study later, and keep it secret: with it, anyone holding an
   * original UID can find its replacement. Default: 32 random bytes, so mappings hold for this de-identifier only.
   */
  readonly secret?: string | Uint8Array;
  /**
   * Replacement Patient ID (the profile requires a non-empty one where the IOD does): a fixed value, or a function of
   * the original. Default: `ANON-` + 16 hex digits keyed by `secret`, the same for every file of one patient.
   */
  readonly patientId?: string | ((original: string) => string);
  /**
   * Replacement Patient's Name, e.g. a study subject code. Default: empty, as the Basic Profile says (Z).
   */
  readonly patientName?: string | ((original: string) => string);
  /**
   * Per-attribute actions that replace the profile's, keyed by tag `GGGGEEEE` (hex, any case), e.g.
   * `{ '00100040': 'K' }` to keep Patient's Sex. Overriding weakens the de-identification: you own the result.
   */
  readonly overrides?: Readonly<Record<string, DeidAction>>;
  /** De-identification Method (0012,0063) text; at most 64 characters. */
  readonly methodDescription?: string;
  /**
   * What to do with images whose pixels may show identifying text, which this de-identifier never alters (see
   * {@link BurnedInAnnotationPolicy}): `'refuse'` (default) refuses images marked Burned In Annotation `YES` and
   * unmarked images of modalities that commonly burn text in (US, XA, RF, ES, SC, XC, OP, DOC, and Secondary
   * Capture SOP Classes); `'refuse-marked'` refuses only those marked `YES`; `'allow'` lets all through, recording
   * the decision in the result and in the output's De-identification Method.
   */
  readonly burnedInAnnotation?: BurnedInAnnotationPolicy;
}

/** Options for one {@link DicomDeidentifier.deidentify} call. */
export interface DeidentifyCallOptions {
  /** A label for error details, typically the file path (never patient data). */
  readonly source?: string;
}

/** One de-identified instance. */
export interface DeidentifiedDicom {
  /** The new DICOM Part 10 file. */
  readonly bytes: Uint8Array;
  /** Its (new) SOP Instance UID. */
  readonly sopInstanceUid: string;
  /** Its (new) Study Instance UID, when it has one. */
  readonly studyInstanceUid: string | undefined;
  /** Its (new) Series Instance UID, when it has one. */
  readonly seriesInstanceUid: string | undefined;
  /** The output's transfer syntax: the input's, except Deflated, which is written as Explicit VR Little Endian. */
  readonly transferSyntaxUid: string;
  /** What was removed, emptied and replaced. */
  readonly summary: DeidSummary;
  /** What was found and decided about identifying text burned into the pixels. */
  readonly burnedInAnnotation: BurnedInAnnotationReport;
}

const BURNED_IN_POLICIES: readonly BurnedInAnnotationPolicy[] = ['refuse', 'refuse-marked', 'allow'];

const DEFAULT_METHOD = 'PS3.15 Annex E Basic Profile (2025b), @lepton/medical';
/** Implementation Class UID written into the file meta information of every de-identified file. */
const IMPLEMENTATION_CLASS_UID = '2.25.154823940217365590432914458263707184337';
const IMPLEMENTATION_VERSION = 'LEPTON_DEID_1';

const hasDicm = (b: Uint8Array): boolean => b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
const VR_CHARS = /^[A-Z]{2}$/;

function metaElement(vr: string, value: unknown): { vr: string; Value: unknown[] } {
  return { vr, Value: [value] };
}

/** The input as a Part 10 file: given a preamble when it starts with file meta information, and meta when bare. */
function toPart10(bytes: Uint8Array, where: { source?: string }): Uint8Array {
  if (hasDicm(bytes)) return bytes;
  if (bytes.length > 8 && bytes[0] === 0x02 && bytes[1] === 0x00 && VR_CHARS.test(String.fromCharCode(bytes[4]!, bytes[5]!))) {
    const out = new Uint8Array(132 + bytes.length);
    out.set([0x44, 0x49, 0x43, 0x4d], 128);
    out.set(bytes, 132);
    return out;
  }
  // a bare data set: the reader detects its transfer syntax (and throws the typed error when it is no DICOM)
  return withFileMeta(bytes, readDicom(bytes, where).meta.transferSyntaxUid);
}

/**
 * Re-encodes the input so that dcmjs can be trusted with it (see {@link normalizeInput}). A failure is reported with
 * the reader's code when the reader also rejects the input — so a cut-off file is `DICOM_TRUNCATED` however it is
 * found — and otherwise with the code its kind maps to.
 */
function normalized(bytes: Uint8Array, part10: Uint8Array, where: { source?: string }): NormalizedInput {
  try {
    return normalizeInput(part10);
  } catch (err) {
    const failure = err instanceof NormalizeFailure ? err : new NormalizeFailure('malformed', 'The data set could not be walked.', err);
    if (failure.kind === 'too-large') {
      throw deidError('DEID_OUTPUT_TOO_LARGE', `${failure.message} The input is mis-encoded; check it with \`dcmdump\`.`, where, failure);
    }
    readDicom(bytes, where); // the reader's typed error, when it has one
    throw dicomError(
      failure.kind === 'truncated' ? 'DICOM_TRUNCATED' : 'DICOM_MALFORMED',
      `${failure.message} Check the file with \`dcmdump\`, or re-export it.`,
      where,
      failure,
    );
  }
}

/** dcmjs messages that quote no value from the data set; any other is never shown (it may quote a patient's name). */
const SAFE_WRITER_REASONS = [
  'Using multiple character sets is not supported',
  'Finding view is past end of input',
  'Invalid DICOM file',
  'Item tag not found after undefined binary length',
];

/** ` (reason)` for a dcmjs error whose message is one of {@link SAFE_WRITER_REASONS}, else nothing. */
function writerReason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : '';
  const known = SAFE_WRITER_REASONS.find((reason) => message.startsWith(reason));
  return known === undefined ? '' : ` (${known})`;
}

/**
 * dcmjs logs through loglevel (a root logger and named ones, e.g. its validation log); silence all of them while it
 * works on patient data, so that no value can reach a log line, and restore their levels after.
 */
function quietly<T>(fn: () => T): T {
  const loggers = [dcmjs.log, ...Object.values(dcmjs.log.getLoggers?.() ?? {})];
  const levels = loggers.map((l) => l.getLevel());
  for (const l of loggers) l.setLevel('silent');
  try {
    return fn();
  } finally {
    loggers.forEach((l, i) => l.setLevel(levels[i] as Parameters<typeof l.setLevel>[0]));
  }
}

/**
 * A caller's replacement function, checked on each call: a number or a Symbol it returns would be written as is (or
 * throw inside the writer). The message names neither the original nor the returned value: both may be patient data.
 */
function replacement(fn: (original: string) => string, name: string): (original: string) => string {
  return (original) => {
    let value: unknown;
    try {
      value = fn(original);
    } catch {
      // The caller's own function failed. Its error may quote the original value (a patient's name), so it is not
      // attached: no patient data in errors.
      throw new LeptonError('INVALID_ARGUMENT', `The ${name} function threw; the file was not de-identified. Make it return a string for every value.`);
    }
    if (typeof value !== 'string') throw new LeptonError('INVALID_ARGUMENT', `The ${name} function must return a string, got a value of type ${value === null ? 'null' : typeof value}.`);
    return value;
  };
}

const codeItem = (value: string, meaning: string): DcmjsDataset => ({
  '00080100': { vr: 'SH', Value: [value] },
  '00080102': { vr: 'SH', Value: ['DCM'] },
  '00080104': { vr: 'LO', Value: [meaning] },
});

/**
 * De-identifies DICOM instances by the DICOM PS3.15 Annex E **Basic Application Level Confidentiality Profile**:
 * every attribute the profile lists is removed, emptied or replaced as its table says (see {@link BASIC_PROFILE} and
 * {@link ACTION_RESOLUTION}) at every depth of nested sequences; attributes the table does not list are removed when
 * they are in the patient group 0010 (whatever their VR, unknown VR included) or unknown to the DICOM dictionary, and
 * given the dummy name `ANONYMIZED` when their VR is PN (e.g. Evaluator Name), so a person's name never survives in an
 * attribute the table does not list;
 * private attributes are removed; every UID the profile
 * lists is replaced by a `2.25.` UID derived from the original under a secret key, so the same input UID becomes the
 * same output UID in every file (references between instances keep working); the pixel data is copied bit for bit;
 * Patient Identity Removed (0012,0062) is set to `YES`, De-identification Method (0012,0063) and
 * De-identification Method Code Sequence (0012,0064, code 113100) record the method; the preamble and file meta
 * information are replaced. The output is a valid Part 10 file (written with dcmjs).
 *
 * Hostile or mis-encoded input cannot make it leak or blow up: every length field is checked against the bytes that
 * are there before anything is allocated; sequences encoded with VR UN (PS3.5 6.2.2, as toolkits write sequences
 * they do not know) are parsed and de-identified like any other sequence, or removed when their items do not parse;
 * the output is at most a quarter larger than the input plus 64 KiB, or the file is refused
 * (`DEID_OUTPUT_TOO_LARGE`) before the output is allocated.
 *
 * Identifying text burned into the pixels is not removed (the profile leaves it to the Clean Pixel Data Option):
 * images that may have it are refused by default — see {@link DeidentifyOptions.burnedInAnnotation}. Identifying
 * values in other attributes the profile keeps (free-text descriptions, IDs outside its list and outside group 0010)
 * are not covered either; use `overrides` for them.
 *
 * Create one de-identifier per batch (or keep its `secret`) so UIDs stay consistent across the files of a study.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { DicomDeidentifier, readDicom } from '@lepton/medical';
 * const deid = new DicomDeidentifier({ secret: 'keep-me-in-a-vault' });
 * const out = deid.deidentify(readFileSync('packages/medical/test/fixtures/dicom/ct_s16.dcm'));
 * const meta = readDicom(out.bytes).meta;
 * console.log(meta.patientName, meta.patientId, meta.studyInstanceUid); // undefined 'ANON-…' '2.25.…'
 * ```
 */
export class DicomDeidentifier {
  readonly #secret: Uint8Array;
  readonly #options: DeidentifyOptions;
  readonly #overrides: ReadonlyMap<string, DeidAction>;
  readonly #burnedIn: BurnedInAnnotationPolicy;
  readonly #uids = new Map<string, string>();

  /**
   * @param options - secret, replacement Patient ID/Name, per-tag overrides, method text, burned-in annotation policy
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, a secret that is
   *   empty or not a string or Uint8Array, a `patientId`/`patientName` that is not a string or function, overrides that
   *   are not an object, a bad override tag or action, a method description that is not a string of at most 64
   *   characters, or an unknown `burnedInAnnotation` policy
   */
  constructor(options: DeidentifyOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `DicomDeidentifier options must be an object, got ${describeValue(options)}.`);
    const { secret } = options;
    // Only a string or bytes: Uint8Array.from(12n), of a number or of {} is an empty key, which would make every
    // pseudonym and UID guessable while looking keyed. The secret itself never goes into a message.
    if (secret !== undefined && typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
      throw new LeptonError('INVALID_ARGUMENT', `The de-identification secret must be a string or a Uint8Array, got a value of type ${secret === null ? 'null' : typeof secret}.`);
    }
    if (secret !== undefined && secret.length === 0) {
      throw new LeptonError('INVALID_ARGUMENT', 'The de-identification secret is empty; pass a long random string, or omit it for a random one.');
    }
    for (const name of ['patientId', 'patientName'] as const) {
      const v: unknown = options[name];
      if (v !== undefined && typeof v !== 'string' && typeof v !== 'function') {
        throw new LeptonError('INVALID_ARGUMENT', `${name} must be a string or a function of the original returning one, got ${describeValue(v)}.`);
      }
    }
    const overridesOption: unknown = options.overrides;
    if (overridesOption !== undefined && (typeof overridesOption !== 'object' || overridesOption === null || Array.isArray(overridesOption))) {
      throw new LeptonError('INVALID_ARGUMENT', `overrides must be an object of tag → action, got ${describeValue(overridesOption)}.`);
    }
    this.#secret = secret === undefined ? randomBytes(32) : typeof secret === 'string' ? new TextEncoder().encode(secret) : Uint8Array.from(secret);
    const overrides = new Map<string, DeidAction>();
    for (const [tag, action] of Object.entries(options.overrides ?? {})) {
      const t = tag.replace(/[(),\s]/g, '').toUpperCase();
      if (!/^[0-9A-F]{8}$/.test(t) || !['X', 'Z', 'D', 'U', 'K'].includes(action)) {
        throw new LeptonError('INVALID_ARGUMENT', `Override ${describeValue(tag, 64)}: ${describeValue(action)} is not valid: use a tag 'GGGGEEEE' and one of X, Z, D, U, K.`);
      }
      overrides.set(t, action);
    }
    const method: unknown = options.methodDescription;
    if (method !== undefined && (typeof method !== 'string' || method.length > 64)) {
      throw new LeptonError('INVALID_ARGUMENT', `methodDescription is written as LO and must be a string of at most 64 characters, got ${typeof method === 'string' ? `${method.length} characters` : describeValue(method)}.`);
    }
    const burnedIn = options.burnedInAnnotation ?? 'refuse';
    if (!BURNED_IN_POLICIES.includes(burnedIn)) {
      throw new LeptonError('INVALID_ARGUMENT', `burnedInAnnotation must be one of ${BURNED_IN_POLICIES.join(', ')}.`);
    }
    this.#burnedIn = burnedIn;
    this.#overrides = overrides;
    this.#options = options;
  }

  /**
   * The replacement for a UID: `2.25.` and a 128-bit decimal (at most 44 characters), the same for the same UID and
   * secret.
   *
   * @param uid - an original UID
   * @returns its replacement
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `uid` is not a string
   */
  mapUid(uid: string): string {
    if (typeof uid !== 'string') throw new LeptonError('INVALID_ARGUMENT', `mapUid expects a UID string, got ${describeValue(uid)}.`);
    const key = uid.replace(/\0/g, '').trim();
    let mapped = this.#uids.get(key);
    if (mapped === undefined) this.#uids.set(key, (mapped = hmacUid(this.#secret, key)));
    return mapped;
  }

  /**
   * De-identifies one instance.
   *
   * @param bytes - a DICOM Part 10 file or bare data set
   * @param options - a source label for errors
   * @returns the new file, its new UIDs, a summary and the burned-in annotation decision
   * @throws {@link @lepton/core!LeptonError} `DICOM_NOT_DICOM`, `DICOM_TRUNCATED`, `DICOM_MALFORMED` (bad input),
   *   `DEID_BURNED_IN_ANNOTATION` (refused by the `burnedInAnnotation` policy), `DEID_OUTPUT_TOO_LARGE` (the output
   *   would exceed the size bound), `DEID_UNSUPPORTED` (cannot be rewritten), `DEID_FAILED` (the output did not read
   *   back), `INVALID_ARGUMENT` (bytes that are not a Uint8Array, options that are not an object, a `source` that is
   *   not a string, or a `patientId`/`patientName` function that throws or does not return a string)
   */
  deidentify(bytes: Uint8Array, options: DeidentifyCallOptions = {}): DeidentifiedDicom {
    if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `deidentify options must be an object, got ${describeValue(options)}.`);
    const source: unknown = options.source;
    if (source !== undefined && typeof source !== 'string') throw new LeptonError('INVALID_ARGUMENT', `deidentify: source must be a string label (a file path), got ${describeValue(source)}.`);
    const where = source === undefined ? {} : { source };
    if (!(bytes instanceof Uint8Array)) {
      throw new LeptonError('INVALID_ARGUMENT', 'deidentify expects the file bytes as a Uint8Array (a Buffer is one).');
    }
    const norm = normalized(bytes, toPart10(bytes, where), where);
    const full = new Uint8Array(norm.header.length + (norm.pixels?.length ?? 0));
    full.set(norm.header, 0);
    if (norm.pixels !== undefined) full.set(norm.pixels, norm.header.length);
    const input = readDicom(full, where); // typed errors for bad input, before any rewriting
    const burnedIn = assessBurnedInAnnotation(
      {
        burnedInAnnotation: norm.burnedInAnnotation,
        modality: input.meta.modality,
        sopClassUid: input.meta.sopClassUid,
        hasPixelData: norm.pixels !== undefined || input.meta.hasPixelData,
        source,
      },
      this.#burnedIn,
    );
    const outputTs = norm.transferSyntaxUid;
    const limit = outputLimit(norm.sizeBasis);
    const tooLarge = (): LeptonError =>
      deidError('DEID_OUTPUT_TOO_LARGE', 'The de-identified file would be larger than its input allows: the input is mis-encoded. Check it with `dcmdump`.', { ...where, limit });

    const counts = { removed: 0, privateRemoved: 0, emptied: 0, replaced: 0, uidsReplaced: 0, temporal: 0 };
    const { patientId, patientName } = this.#options;
    const ctx: ProfileContext = {
      overrides: this.#overrides,
      mapUid: (uid) => this.mapUid(uid),
      patientId: typeof patientId === 'function' ? replacement(patientId, 'patientId') : patientId !== undefined ? () => patientId : (original) => hmacPseudonym(this.#secret, 'patient-id', original),
      patientName: typeof patientName === 'function' ? replacement(patientName, 'patientName') : patientName !== undefined ? () => patientName : undefined,
      counts,
    };

    const written = quietly(() => {
      let dict;
      try {
        // the header only (Pixel Data is appended verbatim below); a fresh buffer, as dcmjs may keep views into it
        dict = dcmjs.data.DicomMessage.readFile(norm.header.slice().buffer);
      } catch (cause) {
        // no cause attached: the writer's messages can quote values (a patient's name); only known fixed texts are shown
        throw deidError('DEID_UNSUPPORTED', `The DICOM writer cannot read this data set${writerReason(cause)}. Check it with \`dcmdump\`.`, where);
      }
      const ds = dict.dict;
      // Pixel Data is appended verbatim below; what follows it (Data Set Trailing Padding, Digital Signatures) is X
      for (const tag of Object.keys(ds)) if (tag >= '7FE00010') delete ds[tag];
      applyProfile(ds, ctx);
      ds['00120062'] = { vr: 'CS', Value: ['YES'] };
      const method = [this.#options.methodDescription ?? DEFAULT_METHOD];
      // PS3.15: the pixels were not cleaned, so say so (Burned In Annotation itself is kept as it was; no 113101 code)
      if (burnedIn.decision === 'allowed') method.push(BURNED_IN_METHOD_TEXT[burnedIn.value === 'YES' ? 'YES' : 'UNKNOWN']);
      ds['00120063'] = { vr: 'LO', Value: method };
      const methods = (ds['00120064']?.Value ?? []) as DcmjsDataset[];
      if (!methods.some((item) => item['00080100']?.Value?.[0] === '113100')) {
        methods.push(codeItem('113100', 'Basic Application Confidentiality Profile'));
      }
      ds['00120064'] = { vr: 'SQ', Value: methods };
      if (counts.temporal > 0) ds['00280303'] = { vr: 'CS', Value: ['REMOVED'] };

      const sopClass = (ds['00080016']?.Value?.[0] as string | undefined) ?? input.meta.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.7';
      let sopInstance = ds['00080018']?.Value?.[0] as string | undefined;
      if (sopInstance === undefined) {
        // no SOP Instance UID in the data set: make one from the file's, or from the content, so the meta has one
        sopInstance = this.mapUid(input.meta.sopInstanceUid ?? `lepton-deid:${source ?? ''}:${bytes.length}`);
      }
      // PS3.15 E.1.1 (7): the preamble and file meta information are replaced, not carried over
      dict.meta = {
        '00020001': metaElement('OB', new Uint8Array([0, 1]).buffer),
        '00020002': metaElement('UI', sopClass),
        '00020003': metaElement('UI', sopInstance),
        '00020010': metaElement('UI', outputTs),
        '00020012': metaElement('UI', IMPLEMENTATION_CLASS_UID),
        '00020013': metaElement('SH', IMPLEMENTATION_VERSION),
      };
      // the bound is checked before dcmjs allocates the output, and again on what it wrote
      if (132 + writtenSizeBound(dict.meta) + writtenSizeBound(ds) + (norm.pixels?.length ?? 0) > limit) throw tooLarge();
      let body: Uint8Array;
      try {
        // values longer than their VR allows (a DS of 17 characters, as some vendors write) are kept as they came:
        // they were in the input, and text holding binary never gets here (normalizeInput removes it)
        body = new Uint8Array(dict.write({ allowInvalidVRLength: true }));
      } catch (cause) {
        // as above: e.g. "Value exceeds max length" quotes the value it refused, which may identify the patient
        throw deidError('DEID_UNSUPPORTED', `The DICOM writer cannot write this data set${writerReason(cause)}. Check it with \`dcmdump\`.`, where);
      }
      if (body.length + (norm.pixels?.length ?? 0) > limit) throw tooLarge();
      const out = new Uint8Array(body.length + (norm.pixels?.length ?? 0));
      out.set(body, 0);
      if (norm.pixels !== undefined) out.set(norm.pixels, body.length);
      return {
        bytes: out,
        sopInstanceUid: sopInstance,
        studyInstanceUid: ds['0020000D']?.Value?.[0] as string | undefined,
        seriesInstanceUid: ds['0020000E']?.Value?.[0] as string | undefined,
        transferSyntaxUid: outputTs,
      };
    });

    try {
      readDicom(written.bytes, where); // never hand out a file this package could not read back
    } catch (cause) {
      throw deidError('DEID_FAILED', 'The de-identified file did not read back as DICOM. Please report this with the error details.', where, cause);
    }
    const { temporal: _temporal, ...counted } = counts;
    const summary: DeidSummary = { ...counted, unknownVrSequences: norm.unknownVrSequences, unparseableRemoved: norm.unparseableRemoved };
    return { ...written, summary, burnedInAnnotation: burnedIn };
  }
}
