import { describeValue, fitLateFusion, lateFusionFromJSON, LeptonError, rocAuc, type LateFusion, type LateFusionJSON, type LateFusionMethod } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { encodeClinical, fitClinicalEncoding, type ClinicalEncoding, type ClinicalRecord } from './clinical.js';
import { DiagnosisModel } from './model.js';
import { arrayInput, checkOptionsObject } from './option-checks.js';

/** One patient for fitting or evaluating a {@link ClinicalFusionModel}. */
export interface ClinicalFusionSample {
  /** Clinical fields. */
  record: ClinicalRecord;
  /**
   * Image-model probability for the patient (e.g. `DiagnosisModel.predictSeries(images).probability`): a finite number
   * in [0, 1]; `undefined` when the patient has no usable image (`null`, as JSON writes it, is read the same way). See
   * {@link ClinicalFusionModel.predict} for how a missing one is handled. `NaN` is an error, never "missing".
   */
  imageProbability: number | undefined;
  /** The outcome to predict. */
  outcome: boolean;
}

/** Options for {@link ClinicalFusionModel.fit}. */
export interface ClinicalFusionOptions {
  /** History flags to use. Default: every flag seen in the training records. */
  history?: string[];
  /** L2 penalty of the clinical logistic model (scikit-learn's 1 / C). Default 1. */
  clinicalL2?: number;
  /** How the image and clinical probabilities are combined (core late fusion). Default `logistic`. */
  method?: LateFusionMethod;
  /** Operating point on the fused probability. Default 0.5. */
  threshold?: number;
}

/** A fused answer for one patient. */
export interface ClinicalFusionResult {
  /** Patient ID of the record. */
  patientId: string;
  /** Fused probability of the outcome. */
  probability: number;
  /** Whether `probability` reaches the operating point. */
  positive: boolean;
  /** The operating point applied. */
  threshold: number;
  /** The image model's probability used (`undefined` when there was none). */
  imageProbability: number | undefined;
  /** The clinical model's probability. */
  clinicalProbability: number;
}

/** ROC AUC of the fused, image-only and clinical-only probabilities on the same patients. */
export interface ClinicalFusionEvaluation {
  /** Patients evaluated (those with an image probability). */
  n: number;
  /** AUC of the fused probability. */
  rocAuc: number;
  /** AUC of the image probability alone. */
  imageRocAuc: number;
  /** AUC of the clinical probability alone. */
  clinicalRocAuc: number;
}

/** Late-fusion weights of a {@link ClinicalFusionModel}: fused log-odds = bias + image·logit(pᵢ) + clinical·logit(p꜀). */
export interface ClinicalFusionWeights {
  /** Weight of the image probability's log-odds. */
  image: number;
  /** Weight of the clinical probability's log-odds. */
  clinical: number;
  /** Bias. */
  bias: number;
}

/** Serialised {@link ClinicalFusionModel}. */
export interface ClinicalFusionJSON {
  /** Format marker. */
  kind: 'clinical-fusion';
  /** Format version (1). */
  formatVersion: 1;
  /** Clinical feature encoding. */
  encoding: ClinicalEncoding;
  /** The clinical logistic model (a core late fusion over the encoded features, input `raw`). */
  clinical: LateFusionJSON;
  /** The image + clinical fusion (modalities `image`, `clinical`). */
  fusion: LateFusionJSON;
  /** Operating point. */
  threshold: number;
}

const binary = (s: readonly ClinicalFusionSample[]): number[] => s.map((x) => (x.outcome ? 1 : 0));

/**
 * Combines a DICOM image model with clinical fields (age, sex, history) by late fusion: a logistic model of the outcome
 * on the encoded clinical fields, fitted on training patients, and core's {@link @lepton/core!fitLateFusion} of the
 * image and clinical probabilities (their log-odds), fitted on *validation* patients — neither model has seen them, so
 * the weights reflect how much each source really knows. A patient without an image probability gets the image term at
 * its validation mean (the fusion's `mean` policy), so the answer rests on the record.
 */
export class ClinicalFusionModel {
  private constructor(
    private readonly encoding: ClinicalEncoding,
    private readonly clinical: LateFusion,
    private readonly fusion: LateFusion,
    private operatingPoint: number,
  ) {}

  /**
   * Fits the clinical model on `train` and the fusion on `validation`.
   *
   * @param train - patients for the clinical model (image probabilities not needed)
   * @param validation - other patients, with image probabilities from a model that did not train on them
   * @param options - history flags, penalty, fusion method and operating point
   * @returns the fitted model
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for sets that are not arrays of samples, an `outcome` that
   *   is not a boolean, an empty set, one outcome only, or an image probability that is neither a number in [0, 1] nor
   *   missing (`undefined`/`null`; a `NaN` is refused, not left out as missing) in `validation`; `INVALID_ARGUMENT` for
   *   options that are not an object or a threshold outside [0, 1]
   */
  static fit(train: readonly ClinicalFusionSample[], validation: readonly ClinicalFusionSample[], options: ClinicalFusionOptions = {}): ClinicalFusionModel {
    checkOptionsObject(options, 'ClinicalFusionModel.fit');
    const threshold = checkThreshold(options.threshold ?? 0.5);
    checkSamples(train, 'train', false); // its image probabilities are not used
    checkSamples(validation, 'validation', true);
    if (train.length === 0 || validation.length === 0) throw new LeptonError('INVALID_INPUT', 'ClinicalFusionModel.fit needs training and validation patients.');
    const encoding = fitClinicalEncoding(train.map((s) => s.record), options.history);
    const columns = (s: readonly ClinicalFusionSample[]): number[][] => {
      const rows = s.map((x) => encodeClinical(x.record, encoding));
      return encoding.features.map((_, j) => rows.map((r) => r[j]!));
    };
    const clinical = fitLateFusion(columns(train), binary(train), { input: 'raw', names: encoding.features, l2: options.clinicalL2 ?? 1 });
    const clinicalVal = clinical.predict(columns(validation));
    const fusion = fitLateFusion(
      { image: validation.map((s) => s.imageProbability ?? undefined), clinical: clinicalVal },
      binary(validation),
      { method: options.method ?? 'logistic', input: 'logit', missing: 'mean' },
    );
    return new ClinicalFusionModel(encoding, clinical, fusion, threshold);
  }

  /** Operating point on the fused probability. */
  get threshold(): number {
    return this.operatingPoint;
  }

  /**
   * Changes the operating point without refitting.
   *
   * @param threshold - probability in [0, 1]
   */
  setThreshold(threshold: number): void {
    this.operatingPoint = checkThreshold(threshold);
  }

  /** Fusion weights on the log-odds of the image and clinical probabilities, and the bias. */
  get weights(): ClinicalFusionWeights {
    return { image: this.fusion.weights[0]!, clinical: this.fusion.weights[1]!, bias: this.fusion.bias };
  }

  /**
   * The clinical model's probability of the outcome from the record alone.
   *
   * @param record - clinical fields
   * @returns probability
   */
  clinicalProbability(record: ClinicalRecord): number {
    return this.clinical.predictOne(encodeClinical(record, this.encoding));
  }

  /**
   * Fuses an image probability with a record.
   *
   * @param record - clinical fields
   * @param imageProbability - the image model's probability for this patient, in [0, 1]; `undefined` (or `null`) when
   *   there is none
   * @returns fused probability and decision, with both inputs (`imageProbability` is `undefined` when there was none)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an image probability that is not a number in [0, 1]
   *   (`NaN`, ±Infinity, a string …) — a `NaN` is refused, not taken for a missing image; for a record that is not
   *   one (see `encodeClinical`), or whose `patientId` is not a non-empty string
   */
  predict(record: ClinicalRecord, imageProbability: number | null | undefined): ClinicalFusionResult {
    const image = checkImageProbability(imageProbability, 'ClinicalFusionModel.predict: imageProbability');
    const clinicalProbability = this.clinicalProbability(record);
    // The result names the patient: a record without a string ID would hand back a number, an object or undefined.
    const patientId: unknown = record.patientId;
    if (typeof patientId !== 'string' || patientId === '') {
      throw new LeptonError('INVALID_INPUT', `ClinicalFusionModel.predict: the record's patientId must be a non-empty string, got ${typeof patientId === 'string' ? 'an empty string' : patientId === null ? 'null' : typeof patientId}.`);
    }
    const probability = this.fusion.predictOne({ image, clinical: clinicalProbability });
    return { patientId, probability, positive: probability >= this.operatingPoint, threshold: this.operatingPoint, imageProbability: image, clinicalProbability };
  }

  /**
   * Scores a patient's DICOM series with a binary diagnosis model (its most suspicious image) and fuses the result
   * with the record.
   *
   * @param record - clinical fields
   * @param images - the patient's images (one series, any order)
   * @param model - a binary {@link DiagnosisModel}
   * @returns the fused answer
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a `model` that is not a `DiagnosisModel` or a
   *   multiclass one; `INVALID_INPUT` for `images` that is not an array, or an empty one
   */
  async predictImages(record: ClinicalRecord, images: readonly DicomImage[], model: DiagnosisModel): Promise<ClinicalFusionResult> {
    arrayInput(images, 'ClinicalFusionModel.predictImages: images');
    if (!(model instanceof DiagnosisModel)) throw new LeptonError('INVALID_ARGUMENT', `ClinicalFusionModel.predictImages needs a DiagnosisModel, got ${describeValue(model)}.`);
    if (model.labels.length !== 2) throw new LeptonError('INVALID_ARGUMENT', 'Clinical fusion needs a binary diagnosis model (two labels).');
    const series = await model.predictSeries(images);
    return this.predict(record, series.probability);
  }

  /**
   * AUC of the fused, image-only and clinical-only probabilities on patients the model did not fit on.
   *
   * @param samples - patients with image probabilities and outcomes (those without one, `undefined` or `null`, are
   *   left out)
   * @returns the three AUCs
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for samples that are not an array of samples with boolean
   *   outcomes and image probabilities in [0, 1] (or missing), or patients that do not have both outcomes
   */
  evaluate(samples: readonly ClinicalFusionSample[]): ClinicalFusionEvaluation {
    checkSamples(samples, 'samples', true);
    // null is missing too: it was counted as usable and entered the image AUC as a score of 0.
    const usable = samples.filter((s) => s.imageProbability !== undefined && s.imageProbability !== null);
    const y = binary(usable);
    if (!y.includes(0) || !y.includes(1)) throw new LeptonError('INVALID_INPUT', 'ClinicalFusionModel.evaluate needs patients with both outcomes.');
    const results = usable.map((s) => this.predict(s.record, s.imageProbability));
    return {
      n: usable.length,
      rocAuc: rocAuc(y, results.map((r) => r.probability)),
      imageRocAuc: rocAuc(y, usable.map((s) => s.imageProbability!)),
      clinicalRocAuc: rocAuc(y, results.map((r) => r.clinicalProbability)),
    };
  }

  /** Parameters, e.g. for a bundle's preprocessing or a JSON file. */
  toJSON(): ClinicalFusionJSON {
    return { kind: 'clinical-fusion', formatVersion: 1, encoding: structuredClone(this.encoding), clinical: this.clinical.toJSON(), fusion: this.fusion.toJSON(), threshold: this.operatingPoint };
  }

  /**
   * Restores a model from {@link toJSON}.
   *
   * @param json - stored parameters
   * @returns the model
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `json` is not a stored clinical fusion
   */
  static fromJSON(json: ClinicalFusionJSON): ClinicalFusionModel {
    const e = json?.encoding;
    // typeof first: `>` on a Symbol ageStd was a TypeError, and an infinite one divided every age to 0.
    const encodingOk = typeof e === 'object' && e !== null && Number.isFinite(e.ageMean) && typeof e.ageStd === 'number' && Number.isFinite(e.ageStd) && e.ageStd > 0 && Array.isArray(e.history) && Array.isArray(e.features) && e.features.length === 4 + e.history.length;
    if (json?.kind !== 'clinical-fusion' || json.formatVersion !== 1 || !encodingOk) {
      throw new LeptonError('INVALID_INPUT', 'Not a stored clinical fusion: expected { kind: "clinical-fusion", formatVersion: 1, encoding, clinical, fusion, threshold }.');
    }
    const clinical = lateFusionFromJSON(json.clinical);
    const fusion = lateFusionFromJSON(json.fusion);
    if (clinical.modalities.length !== e.features.length || fusion.modalities.join() !== 'image,clinical') {
      throw new LeptonError('INVALID_INPUT', 'Stored clinical fusion is inconsistent: its models do not match its encoding.');
    }
    return new ClinicalFusionModel(structuredClone(e), clinical, fusion, checkThreshold(json.threshold));
  }
}

/**
 * An image probability as a caller or a JSON file hands it: a number in [0, 1], or missing (`undefined`, or `null` as
 * JSON writes it) → `undefined`. Core's late fusion reads NaN as "missing", so a NaN from a broken image model was
 * fused as if the patient had no image (the answer rested on the record alone, silently). The message names the kind
 * of value, never the value (a probability about a patient).
 */
function checkImageProbability(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  const kind = typeof v !== 'number' ? `a value of type ${typeof v}` : Number.isNaN(v) ? 'NaN' : 'a number outside [0, 1]';
  throw new LeptonError('INVALID_INPUT', `${what} must be a probability in [0, 1], or undefined/null when there is no image; got ${kind}.`);
}

/**
 * Samples as a caller or a JSON file hands them: an array of objects whose `outcome` is a boolean and whose
 * `imageProbability` is a number in [0, 1] or missing (where it is used: not in the training set). A truthy Symbol, '0' string or 1 used to count as a positive
 * outcome, so the fusion fitted on what a wrong type happened to coerce to.
 */
function checkSamples(samples: readonly ClinicalFusionSample[], what: string, withImage: boolean): void {
  arrayInput(samples, `ClinicalFusionModel: ${what}`);
  samples.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) throw new LeptonError('INVALID_INPUT', `${what}[${i}] must be an object with record, outcome and imageProbability, got ${describeValue(s)}.`);
    if (typeof s.outcome !== 'boolean') throw new LeptonError('INVALID_INPUT', `${what}[${i}].outcome must be true or false, got a value of type ${typeof s.outcome}.`);
    if (withImage) checkImageProbability(s.imageProbability, `${what}[${i}].imageProbability`);
  });
}

function checkThreshold(t: number): number {
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new LeptonError('INVALID_ARGUMENT', `Threshold must be a number in [0, 1], got ${describeValue(t)}.`);
  return t;
}
