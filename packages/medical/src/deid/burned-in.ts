import { deidError } from './errors.js';

/**
 * What {@link DicomDeidentifier} does with images whose pixels may show identifying text (names, IDs, dates burned
 * into the image by the modality), which it never alters — the pixel data is copied bit for bit:
 *
 * - `'refuse'` (default): refuse images with Burned In Annotation (0028,0301) `YES`, and images that do not say `NO`
 *   and are of a kind that commonly has text burned in (see {@link BURNED_IN_SUSPECT_MODALITIES}; any Secondary
 *   Capture SOP Class). PS3.15 E.1.1 keeps burned-in text out of the Basic Profile: a file the profile has been
 *   applied to is only de-identified if its pixels hold no identifying text.
 * - `'refuse-marked'`: refuse only images marked `YES`; unmarked ones of those kinds are let through.
 * - `'allow'`: let every image through. Choose this only when the pixels are cleaned elsewhere, or have been checked.
 *
 * Refusals throw `DEID_BURNED_IN_ANNOTATION`. Images let through while suspected are recorded: in
 * {@link DeidentifiedDicom.burnedInAnnotation}, and in the output's De-identification Method (0012,0063), which gets
 * a second value saying the pixels were not cleaned; Burned In Annotation is kept as it was (`YES` stays `YES`), and
 * no Clean Pixel Data code (113101) is added to the De-identification Method Code Sequence.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { DicomDeidentifier, isLeptonError } from '@lepton/medical';
 * const bytes = readFileSync('packages/medical/test/fixtures/deid/hostile/burned_in_yes.dcm'); // synthetic US image
 * try {
 *   new DicomDeidentifier().deidentify(bytes);
 * } catch (err) {
 *   if (isLeptonError(err, 'DEID_BURNED_IN_ANNOTATION')) console.log(err.details); // { burnedInAnnotation: 'YES', modality: 'US' }
 * }
 * // the pixels are cleaned by another tool downstream, so let it through, recorded:
 * const out = new DicomDeidentifier({ burnedInAnnotation: 'allow' }).deidentify(bytes);
 * console.log(out.burnedInAnnotation); // { value: 'YES', suspected: true, decision: 'allowed' }
 * ```
 */
export type BurnedInAnnotationPolicy = 'refuse' | 'refuse-marked' | 'allow';

/** What was found and decided about text burned into an image's pixels. */
export interface BurnedInAnnotationReport {
  /** Burned In Annotation (0028,0301) of the input: `YES`, `NO`, or `UNKNOWN` (absent, empty or another value). */
  readonly value: 'YES' | 'NO' | 'UNKNOWN';
  /**
   * Whether the pixels may show identifying text: `value` is `YES`, or `UNKNOWN` for an image of a modality in
   * {@link BURNED_IN_SUSPECT_MODALITIES} or of a Secondary Capture SOP Class. Never true without pixel data.
   */
  readonly suspected: boolean;
  /**
   * `'not-suspected'`: nothing suggests burned-in text. `'allowed'`: suspected, and let through by the
   * `burnedInAnnotation` policy with its pixels as they were. (Refused images throw, so never appear here.)
   */
  readonly decision: 'not-suspected' | 'allowed';
}

/**
 * Modalities whose images commonly carry burned-in patient text, judged suspect when Burned In Annotation is not
 * `NO`: ultrasound (`US`), X-ray angiography and fluoroscopy (`XA`, `RF`), endoscopy (`ES`), secondary capture
 * (`SC`, as some devices label it; the Secondary Capture SOP Classes count whatever the modality), external-camera
 * and ophthalmic photography (`XC`, `OP`), and documents (`DOC`).
 */
export const BURNED_IN_SUSPECT_MODALITIES: ReadonlySet<string> = new Set(['US', 'XA', 'RF', 'ES', 'SC', 'XC', 'OP', 'DOC']);

/** Secondary Capture Image Storage and its multi-frame variants (1.2.840.10008.5.1.4.1.1.7, .7.1 – .7.4). */
const SECONDARY_CAPTURE = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.7(\.[1-4])?$/;

/** The texts written as an extra De-identification Method (0012,0063) value when a suspect image is let through. @internal */
export const BURNED_IN_METHOD_TEXT = {
  YES: 'Burned In Annotation YES: pixel data not cleaned',
  UNKNOWN: 'Burned In Annotation not stated: pixel data not cleaned',
} as const;

/** The facts {@link assessBurnedInAnnotation} judges by. @internal */
export interface BurnedInFacts {
  readonly burnedInAnnotation: string | undefined;
  readonly modality: string | undefined;
  readonly sopClassUid: string | undefined;
  readonly hasPixelData: boolean;
  readonly source: string | undefined;
}

/**
 * Applies the policy: returns the report, or throws `DEID_BURNED_IN_ANNOTATION` (details: `burnedInAnnotation`,
 * `modality`, and `source` when given — never patient data).
 * @internal
 */
export function assessBurnedInAnnotation(facts: BurnedInFacts, policy: BurnedInAnnotationPolicy): BurnedInAnnotationReport {
  const raw = facts.burnedInAnnotation?.trim().toUpperCase();
  const value = raw === 'YES' || raw === 'NO' ? raw : 'UNKNOWN';
  const modality = facts.modality?.trim().toUpperCase();
  const suspectKind = (modality !== undefined && BURNED_IN_SUSPECT_MODALITIES.has(modality)) || SECONDARY_CAPTURE.test(facts.sopClassUid ?? '');
  const suspected = facts.hasPixelData && (value === 'YES' || (value === 'UNKNOWN' && suspectKind));
  if (!suspected) return { value, suspected, decision: 'not-suspected' };
  const refuse = policy === 'refuse' || (policy === 'refuse-marked' && value === 'YES');
  if (refuse) {
    const details = { burnedInAnnotation: value, modality: modality ?? null, ...(facts.source === undefined ? {} : { source: facts.source }) };
    throw deidError(
      'DEID_BURNED_IN_ANNOTATION',
      value === 'YES'
        ? 'The image is marked Burned In Annotation YES: its pixels may show patient data, which de-identification does not remove. ' +
            "Clean the pixels first (then set Burned In Annotation to NO), or pass burnedInAnnotation: 'allow' if they are cleaned or checked elsewhere."
        : `The image (modality ${modality ?? 'not stated'}) does not state Burned In Annotation, and images of its kind commonly have patient text burned in. ` +
            "Check the pixels and set Burned In Annotation (0028,0301), or pass burnedInAnnotation: 'refuse-marked' or 'allow' to let such images through.",
      details,
    );
  }
  return { value, suspected, decision: 'allowed' };
}
