import { readFile } from 'node:fs/promises';
import { describeValue, LeptonError, parseCsv, type LeptonErrorCode } from '@lepton/core';

/** Patient sex as DICOM codes it (Patient's Sex, 0010,0040): female, male, other. */
export type ClinicalSex = 'F' | 'M' | 'O';

/** Clinical fields of one patient, keyed by the DICOM Patient ID. */
export interface ClinicalRecord {
  /** Patient ID, matching the images' Patient ID (0010,0020). */
  patientId: string;
  /** Age in years. */
  age: number;
  /** Sex. */
  sex: ClinicalSex;
  /** History flags by name, e.g. `{ smoker: true, priorCancer: false }`. */
  history: Record<string, boolean>;
}

/** A CSV row that could not be used, and why; the other rows are unaffected. */
export interface ClinicalRowFailure {
  /** 1-based line of the row in the file (the header is line 1). */
  line: number;
  /** The row's Patient ID, when it could be read. */
  patientId?: string;
  /**
   * What was wrong: a `LeptonError` whose `code` is `CLINICAL_MALFORMED_ROW` (unparseable or wrong field count),
   * `CLINICAL_MISSING_ID`, `CLINICAL_BAD_AGE`, `CLINICAL_BAD_SEX`, `CLINICAL_BAD_FLAG` or `CLINICAL_DUPLICATE_PATIENT`.
   * Messages name the column, never the value (values are patient data).
   */
  error: LeptonError;
}

/** What {@link parseClinicalCsv} read: every data row is either a record or a failure. */
export interface ClinicalCsvResult {
  /** Good rows, in file order. */
  records: ClinicalRecord[];
  /** The same records by Patient ID. */
  byPatient: Map<string, ClinicalRecord>;
  /** Rows that could not be used. */
  failures: ClinicalRowFailure[];
  /** Data rows seen (records + failures). */
  rows: number;
  /** History flag columns, in file order. */
  history: string[];
}

/** Options for {@link parseClinicalCsv}. */
export interface ClinicalCsvOptions {
  /** History columns to read. Default: every column other than the Patient ID, age and sex. */
  history?: string[];
}

/** Youngest age in years a clinical record may have (a newborn). @internal */
export const MIN_AGE = 0;
/** Oldest age in years a clinical record may have: above any recorded human age, below typos like 650 for 65. @internal */
export const MAX_AGE = 130;

/**
 * A plain decimal age: digits with an optional fraction (`64`, `1.5`, `.5`), optionally signed `+`. `Number()` alone
 * also read `0x40` as 64, `0b1` as 1 and `6.4e1` as 64: a hex or exponent age from another system was used as if it were
 * years.
 */
const DECIMAL_AGE = /^\+?(?:\d+\.?\d*|\.\d+)$/;

/** The header's column names for a message, at most 300 characters (a 10 MB header line was put in the message whole). */
function shownColumns(names: readonly string[]): string {
  const text = names.join(', ');
  return text === '' ? 'none' : text.length <= 300 ? text : `${text.slice(0, 300)}… (${names.length} columns)`;
}

const norm = (h: string): string => h.toLowerCase().replace(/[^a-z0-9]/g, '');
const ID_COLUMNS = new Set(['patientid', 'id']);
const TRUE = new Set(['1', 'true', 'yes', 'y', 't']);
const FALSE = new Set(['0', 'false', 'no', 'n', 'f']);
const SEX: Record<string, ClinicalSex> = { f: 'F', female: 'F', m: 'M', male: 'M', o: 'O', other: 'O' };
const AGE_UNITS: Record<string, number> = { D: 1 / 365.25, W: 7 / 365.25, M: 1 / 12, Y: 1 };

/**
 * Age in years from a plain decimal number (fractions allowed: an infant's 1.5) or a DICOM Age String (`065Y`, `018M`,
 * `003W`, `010D`); undefined outside 0–130.
 */
function parseAge(raw: string): number | undefined {
  const text = raw.trim();
  const dicom = /^(\d{3})([DWMY])$/.exec(text);
  const years = dicom ? Number(dicom[1]) * AGE_UNITS[dicom[2]!]! : DECIMAL_AGE.test(text) ? Number(text) : Number.NaN;
  return Number.isFinite(years) && years >= MIN_AGE && years <= MAX_AGE ? years : undefined;
}

/**
 * Reads clinical fields from CSV text: a header with a Patient ID column (`patient_id`, `PatientID`, `id`), `age`
 * (years from 0 to 130 as a plain decimal — `1.5` for an infant of 18 months; not hex or exponent notation — or a DICOM
 * Age String such as `065Y`) and `sex` (`F`/`M`/`O`, or `female`/`male`/`other`), plus history flag
 * columns (`1`/`0`, `true`/`false`, `yes`/`no`, `y`/`n`, `t`/`f`; an empty flag is an error, not "no"). A bad row never
 * stops the others: it is listed in `failures` with a typed error and its line; a repeated Patient ID keeps the
 * first row.
 *
 * @param text - CSV content
 * @param options - which history columns to read
 * @returns records, failures and counts
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `options` is not an object or its `history` is not
 *   an array of strings; `CLINICAL_CSV_INVALID` when the header lacks a Patient ID, age or sex column
 *   or a requested history column
 * @example
 * ```ts
 * import { parseClinicalCsv } from '@lepton/medical';
 * const { records, failures } = parseClinicalCsv('patient_id,age,sex,smoker\nP1,64,F,1\nP2,abc,M,0\n');
 * console.log(records.length, failures[0]?.error.code); // 1 'CLINICAL_BAD_AGE'
 * ```
 */
export function parseClinicalCsv(text: string, options: ClinicalCsvOptions = {}): ClinicalCsvResult {
  const failures: ClinicalRowFailure[] = [];
  const fail = (line: number, code: LeptonErrorCode, message: string, patientId?: string): void => {
    failures.push({ line, ...(patientId !== undefined ? { patientId } : {}), error: new LeptonError(code, `Clinical CSV line ${line}: ${message}`, { details: { line } }) });
  };
  if (typeof text !== 'string') throw new LeptonError('CLINICAL_CSV_INVALID', 'parseClinicalCsv expects the CSV content as a string.');
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `parseClinicalCsv: options must be an object, got ${describeValue(options)}.`);
  // A history that is not an array of strings was a TypeError (historyNames.map is not a function, or a Symbol in a
  // message); null is taken as absent, as before.
  const history: unknown = options.history;
  if (history !== undefined && history !== null && !(Array.isArray(history) && history.every((h) => typeof h === 'string'))) {
    throw new LeptonError('INVALID_ARGUMENT', `parseClinicalCsv: history must be an array of column names, got ${describeValue(history)}.`, { details: { option: 'history' } });
  }
  let header: { record: string[]; line: number } | undefined;
  const rows: Array<{ record: string[]; info: { lines: number } }> = [];
  for (const item of parseCsv(text)) {
    if ('header' in item) header = { record: item.header, line: item.line };
    else if ('fields' in item) rows.push({ record: item.fields, info: { lines: item.line } });
    else fail(item.line, 'CLINICAL_MALFORMED_ROW', `not valid CSV (${item.message}); fix this row.`);
  }
  if (header === undefined) throw new LeptonError('CLINICAL_CSV_INVALID', 'Clinical CSV is empty: expected a header with patient_id, age and sex.');
  const cols = header.record.map(norm);
  const idCol = cols.findIndex((c) => ID_COLUMNS.has(c));
  const ageCol = cols.indexOf('age');
  const sexCol = cols.indexOf('sex');
  if (idCol < 0 || ageCol < 0 || sexCol < 0) {
    throw new LeptonError('CLINICAL_CSV_INVALID', `Clinical CSV header needs patient_id, age and sex columns; found ${shownColumns(header.record)}.`);
  }
  const historyNames = options.history ?? header.record.filter((_, i) => i !== idCol && i !== ageCol && i !== sexCol);
  const historyCols = historyNames.map((h) => {
    const i = header.record.indexOf(h);
    if (i < 0) throw new LeptonError('CLINICAL_CSV_INVALID', `Clinical CSV has no history column ${describeValue(h)}; found ${shownColumns(header.record)}.`);
    return i;
  });
  const records: ClinicalRecord[] = [];
  const byPatient = new Map<string, ClinicalRecord>();
  for (const { record: r, info } of rows) {
    const line = info.lines;
    const patientId = r[idCol]!;
    if (patientId === '') {
      fail(line, 'CLINICAL_MISSING_ID', 'the Patient ID is empty.');
      continue;
    }
    const age = parseAge(r[ageCol]!);
    if (age === undefined) {
      fail(line, 'CLINICAL_BAD_AGE', `age must be years from ${MIN_AGE} to ${MAX_AGE} (a plain decimal) or a DICOM age string such as 065Y.`, patientId);
      continue;
    }
    const sex = SEX[r[sexCol]!.toLowerCase()];
    if (sex === undefined) {
      fail(line, 'CLINICAL_BAD_SEX', 'sex must be F, M or O.', patientId);
      continue;
    }
    const history: Record<string, boolean> = {};
    const badFlag = historyCols.findIndex((c, k) => {
      const v = r[c]!.toLowerCase();
      if (TRUE.has(v)) history[historyNames[k]!] = true;
      else if (FALSE.has(v)) history[historyNames[k]!] = false;
      else return true;
      return false;
    });
    if (badFlag >= 0) {
      fail(line, 'CLINICAL_BAD_FLAG', `history column '${historyNames[badFlag]}' must be 1/0, true/false or yes/no.`, patientId);
      continue;
    }
    if (byPatient.has(patientId)) {
      fail(line, 'CLINICAL_DUPLICATE_PATIENT', 'this Patient ID already has a row; the first one is kept.', patientId);
      continue;
    }
    const rec = { patientId, age, sex, history };
    records.push(rec);
    byPatient.set(patientId, rec);
  }
  failures.sort((a, b) => a.line - b.line);
  return { records, byPatient, failures, rows: records.length + failures.length, history: historyNames };
}

/**
 * Reads a clinical CSV file; see {@link parseClinicalCsv} for the format and the per-row error handling.
 *
 * @param path - CSV file
 * @param options - which history columns to read
 * @returns records, failures and counts
 * @throws {@link @lepton/core!LeptonError} `CLINICAL_READ_FAILED` when the file cannot be read; `CLINICAL_CSV_INVALID`
 *   for an unusable header
 */
export async function readClinicalCsv(path: string, options: ClinicalCsvOptions = {}): Promise<ClinicalCsvResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'unknown error';
    throw new LeptonError('CLINICAL_READ_FAILED', `Could not read the clinical CSV (${reason}); check that the file exists and is readable.`, {
      cause: err,
      details: { reason },
    });
  }
  return parseClinicalCsv(text, options);
}

/** How clinical records become model features; fitted on training records, stored with the model. */
export interface ClinicalEncoding {
  /** Mean age of the fitting records, subtracted. */
  ageMean: number;
  /** Age standard deviation of the fitting records, divided by. */
  ageStd: number;
  /** History flags encoded, in feature order. */
  history: string[];
  /** Feature names: `age`, `sex_F`, `sex_M`, `sex_O`, then `history_<flag>`. */
  features: string[];
}

/**
 * Fits the clinical encoding: age standardised with the records' mean and standard deviation, sex one-hot, history
 * flags as 1/0.
 *
 * @param records - training records
 * @param history - flags to encode. Default: every flag seen in the records, sorted.
 * @returns the encoding (JSON-serialisable)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` without records, or for a record that is not one (age not
 *   a finite number of years 0–130, sex not F/M/O, history not an object of booleans: `details.index`, no value
 *   quoted); `INVALID_ARGUMENT` for a `history` that is not an array of strings
 */
export function fitClinicalEncoding(records: readonly ClinicalRecord[], history?: string[]): ClinicalEncoding {
  if (!Array.isArray(records)) throw new LeptonError('INVALID_INPUT', `fitClinicalEncoding expects an array of records, got ${describeValue(records)}.`);
  if (records.length === 0) throw new LeptonError('INVALID_INPUT', 'fitClinicalEncoding needs at least one record.');
  records.forEach((r: unknown, i) => checkRecord(r, i, 'fitClinicalEncoding'));
  if (history !== undefined && !(Array.isArray(history) && history.every((f) => typeof f === 'string'))) {
    throw new LeptonError('INVALID_ARGUMENT', `fitClinicalEncoding: history must be an array of flag names, got ${describeValue(history)}.`);
  }
  const flags = history ?? [...new Set(records.flatMap((r) => Object.keys(r.history)))].sort();
  const ageMean = records.reduce((s, r) => s + r.age, 0) / records.length;
  const ageStd = Math.sqrt(records.reduce((s, r) => s + (r.age - ageMean) ** 2, 0) / records.length) || 1;
  return { ageMean, ageStd, history: flags, features: ['age', 'sex_F', 'sex_M', 'sex_O', ...flags.map((f) => `history_${f}`)] };
}

/**
 * Features of one record under an encoding. A history flag the record does not mention encodes as 0 (absent).
 *
 * @param record - clinical fields
 * @param encoding - from {@link fitClinicalEncoding}
 * @returns one number per `encoding.features`
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a record that is not one (see
 *   {@link fitClinicalEncoding}); `INVALID_ARGUMENT` for an encoding without a finite `ageMean`, an `ageStd` > 0 and
 *   string `history` flags
 */
export function encodeClinical(record: ClinicalRecord, encoding: ClinicalEncoding): number[] {
  checkRecord(record, 0, 'encodeClinical');
  const e: unknown = encoding;
  const { ageMean, ageStd, history } = (typeof e === 'object' && e !== null ? e : {}) as Partial<ClinicalEncoding>;
  if (typeof ageMean !== 'number' || !Number.isFinite(ageMean) || typeof ageStd !== 'number' || !Number.isFinite(ageStd) || !(ageStd > 0) || !Array.isArray(history) || !history.every((f) => typeof f === 'string')) {
    throw new LeptonError('INVALID_ARGUMENT', `encodeClinical: the encoding needs a finite ageMean, an ageStd > 0 and history flag names (use fitClinicalEncoding), got ${describeValue(encoding)}.`);
  }
  return [
    (record.age - encoding.ageMean) / encoding.ageStd,
    record.sex === 'F' ? 1 : 0,
    record.sex === 'M' ? 1 : 0,
    record.sex === 'O' ? 1 : 0,
    ...encoding.history.map((f) => (record.history[f] ? 1 : 0)),
  ];
}

/**
 * A record from a JavaScript caller or JSON: what `parseClinicalCsv` would have accepted. A NaN or string age would be
 * encoded as a NaN or a coerced number. The message names the record's position and field, never its values (patient
 * data).
 */
function checkRecord(r: unknown, index: number, where: string): asserts r is ClinicalRecord {
  const bad = (what: string): never => {
    throw new LeptonError('INVALID_INPUT', `${where}: record ${index} ${what}.`, { details: { index } });
  };
  if (typeof r !== 'object' || r === null) bad(`is not a record (${r === null ? 'null' : typeof r})`);
  const { age, sex, history } = r as Record<string, unknown>;
  if (typeof age !== 'number' || !(age >= MIN_AGE && age <= MAX_AGE)) bad(`has no age as a number of years from ${MIN_AGE} to ${MAX_AGE}`);
  if (sex !== 'F' && sex !== 'M' && sex !== 'O') bad("has no sex 'F', 'M' or 'O'");
  if (typeof history !== 'object' || history === null || Array.isArray(history) || !Object.values(history).every((v) => typeof v === 'boolean')) {
    bad('has no history object of true/false flags');
  }
}
