import { describeValue, LeptonError, seededRandom } from '@lepton/core';
import { MAX_AGE, MIN_AGE, type ClinicalRecord } from '../diagnosis/clinical.js';

/** A patient for {@link syntheticClinicalRecords}: its ID and whether its synthetic CT shows a nodule. */
export interface SyntheticClinicalInput {
  /** Patient ID (as in the synthetic CT dataset). */
  patientId: string;
  /** Whether the patient's CT has a nodule (from `generateCtDataset`). */
  hasLesion: boolean;
}

/** One synthetic patient's clinical fields and outcome. */
export interface SyntheticClinicalPatient {
  /** Clinical fields (history flags `smoker`, `priorCancer`, `copd`). */
  record: ClinicalRecord;
  /** Whether the (synthetic) follow-up confirmed malignancy: the target that needs both the image and the record. */
  outcome: boolean;
  /** The outcome's true probability under the generating model. */
  risk: number;
}

/** Options for {@link syntheticClinicalRecords}. */
export interface SyntheticClinicalOptions {
  /** Seed. Default 1. */
  seed?: number;
}

/**
 * **Synthetic data** — fictitious clinical fields for the patients of a synthetic CT dataset, and an outcome that needs
 * both: "malignancy confirmed at follow-up". Generating model (all numbers made up, chosen so that both sources carry
 * signal):
 * - nodule patients are a little older (age ~ N(61, 10) vs N(57, 10), clipped to 25–90) and smoke more often (45 % vs
 *   30 %), with more prior cancers (12 % vs 8 %), so the record correlates with what the CT shows;
 * - `copd` (30 % of smokers, 8 % of others) and sex (48 % F, 48 % M, 4 % O) carry no risk of their own;
 * - outcome ~ Bernoulli(σ(−2.8 + 3.0·nodule + 0.09·(age − 60) + 1.6·smoker + 1.2·priorCancer)).
 * An image model sees only the nodule; the record sees only age and history; the outcome depends on both.
 *
 * @param patients - patient IDs and whether each CT has a nodule
 * @param options - seed
 * @returns records with outcome and true risk, in the given order
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `patients` is not an array of
 *   `{ patientId: string, hasLesion: boolean }`; `INVALID_ARGUMENT` for options that are not an object or a seed that
 *   is not a finite number
 * @example
 * ```ts
 * import { syntheticClinicalRecords } from '@lepton/medical';
 * const [p] = syntheticClinicalRecords([{ patientId: 'PAT001', hasLesion: true }], { seed: 3 });
 * console.log(p!.record.age, p!.record.history.smoker, p!.outcome);
 * ```
 */
export function syntheticClinicalRecords(patients: readonly SyntheticClinicalInput[], options: SyntheticClinicalOptions = {}): SyntheticClinicalPatient[] {
  if (!Array.isArray(patients)) throw new LeptonError('INVALID_INPUT', `syntheticClinicalRecords needs an array of { patientId, hasLesion }, got ${describeValue(patients)}.`);
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `syntheticClinicalRecords: options must be an object, got ${describeValue(options)}.`);
  const seed: unknown = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new LeptonError('INVALID_ARGUMENT', `syntheticClinicalRecords: seed must be a finite number, got ${describeValue(seed)}.`, { details: { option: 'seed' } });
  // A Symbol or number as patientId made records parseClinicalCsv and encodeClinical refuse later; a '0' string as
  // hasLesion counted as a nodule.
  patients.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof p.patientId !== 'string' || typeof p.hasLesion !== 'boolean') {
      throw new LeptonError('INVALID_INPUT', `patients[${i}] must be { patientId: string, hasLesion: boolean }.`, { details: { index: i } });
    }
  });
  const rand = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return patients.map(({ patientId, hasLesion }) => {
    const u = rand();
    const sex = u < 0.48 ? 'F' : u < 0.96 ? 'M' : 'O';
    const age = Math.round(Math.min(90, Math.max(25, (hasLesion ? 61 : 57) + 10 * normal())));
    const smoker = rand() < (hasLesion ? 0.45 : 0.3);
    const priorCancer = rand() < (hasLesion ? 0.12 : 0.08);
    const copd = rand() < (smoker ? 0.3 : 0.08);
    const z = -2.8 + 3.0 * (hasLesion ? 1 : 0) + 0.09 * (age - 60) + 1.6 * (smoker ? 1 : 0) + 1.2 * (priorCancer ? 1 : 0);
    const risk = 1 / (1 + Math.exp(-z));
    const outcome = rand() < risk;
    return { record: { patientId, age, sex, history: { smoker, priorCancer, copd } }, outcome, risk };
  });
}

/**
 * A non-negative number as a plain decimal: `String(x)` writes ages below 1e-6 as `1e-7`, which a strict decimal
 * reader refuses. Ages are at most 130, so only a negative exponent occurs.
 */
function plainDecimal(x: number): string {
  const text = String(x);
  const m = /^(\d)(?:\.(\d+))?e-(\d+)$/.exec(text);
  return m ? `0.${'0'.repeat(Number(m[3]) - 1)}${m[1]}${m[2] ?? ''}` : text;
}

/**
 * Writes clinical records as CSV text in the format {@link parseClinicalCsv} reads: `patient_id,age,sex,<flags…>`
 * with flags as 1/0.
 *
 * @param records - clinical records
 * @param history - flag columns. Default: every flag of the first record, in its order.
 * @returns CSV text with a header and one line per record
 * Ages are written as plain decimals (never `1e-7`), so what is written reads back as the same number. Fractional ages
 * are kept: an infant of 18 months is 1.5 years (what the DICOM age string `018M` reads as).
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (naming the record's position, never its values) for
 *   `records` that is not an array of clinical records (a patientId string, an age in years from 0 to 130 — the range
 *   {@link parseClinicalCsv} reads back, fractions allowed —, sex `F`/`M`/`O`, boolean history flags);
 *   `INVALID_ARGUMENT` for a `history` that is not an array of flag names
 */
export function clinicalCsv(records: readonly ClinicalRecord[], history?: string[]): string {
  if (!Array.isArray(records)) throw new LeptonError('INVALID_INPUT', `clinicalCsv needs an array of clinical records, got ${describeValue(records)}.`);
  if (history !== undefined && !(Array.isArray(history) && history.every((h) => typeof h === 'string' && h !== '' && !/[",\n\r]/.test(h)))) {
    throw new LeptonError('INVALID_ARGUMENT', 'clinicalCsv: history must be an array of flag names (non-empty strings without commas, quotes or line breaks).', { details: { option: 'history' } });
  }
  const flags = history ?? Object.keys(records[0]?.history ?? {});
  // Every record checked before a line is written: a NaN age was written as "NaN", a Symbol ID was a TypeError, and a
  // truthy '0' flag was written as 1. Messages name the position only, never the (patient) value.
  records.forEach((r, i) => {
    const bad = (why: string): never => {
      throw new LeptonError('INVALID_INPUT', `records[${i}] ${why}.`, { details: { index: i } });
    };
    if (typeof r !== 'object' || r === null) bad('is not a clinical record');
    if (typeof r.patientId !== 'string' || r.patientId === '') bad('needs a patientId string');
    // -1 or 200 used to be written, and the file then failed as CLINICAL_BAD_AGE on every read (0–130, as parsed).
    if (typeof r.age !== 'number' || !(r.age >= MIN_AGE && r.age <= MAX_AGE)) bad(`needs an age in years from ${MIN_AGE} to ${MAX_AGE}`);
    if (r.sex !== 'F' && r.sex !== 'M' && r.sex !== 'O') bad("needs a sex of 'F', 'M' or 'O'");
    if (typeof r.history !== 'object' || r.history === null || Array.isArray(r.history)) bad('needs a history object');
    for (const f of flags) if (r.history[f] !== undefined && typeof r.history[f] !== 'boolean') bad('has a history flag that is not a boolean');
  });
  const quote = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['patient_id', 'age', 'sex', ...flags].join(',')];
  for (const r of records) lines.push([quote(r.patientId), plainDecimal(r.age), r.sex, ...flags.map((f) => (r.history[f] ? '1' : '0'))].join(','));
  return `${lines.join('\n')}\n`;
}
