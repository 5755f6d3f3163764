import { createHash } from 'node:crypto';
import type { DicomImage } from '../dicom/image.js';
import type { Diagnosis, SeriesDiagnosis } from '../diagnosis/model.js';
import { CODES, DEFAULT_FINDINGS, privateCode, type CodedConcept } from './codes.js';
import { codeValue, container, image, num, text, uidRef, type ContentItem } from './content.js';
import { resultError } from './errors.js';
import { checkInt, checkLo, checkUid, dicomDateTime, newUid, patientStudy, sourceRefs, writePart10, type SourceRef } from './part10.js';
import type { DicomSegObject } from './seg.js';
import type { AlgorithmIdentity, DicomResultObject } from './types.js';

/** Comprehensive SR Storage. */
const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

/** A lesion volume measured on a segment of a SEG made by {@link segmentationToDicomSeg}. */
export interface SrSegmentMeasurement {
  /** The SEG whose segment the volume was measured on. */
  readonly seg: DicomSegObject;
  /** The segment (Segment Number). Default 1. */
  readonly segmentNumber?: number;
  /** The volume in mm³, e.g. {@link SeriesSegmentation.volumeMm3}. Finite and ≥ 0. */
  readonly volumeMm3: number;
  /** The finding the segment shows. Default the segment's Segmented Property Type. */
  readonly finding?: CodedConcept;
}

/** Options for {@link diagnosisToDicomSr}. */
export interface DicomSrOptions {
  /**
   * Codes for the model's labels. Built in: `nodule` (SCT 27925004), `lesion` (SCT 52988006), `normal` (SCT 17621005);
   * any other label without a code here is written with a private `99LEPTON` code.
   */
  readonly findingCodes?: Readonly<Record<string, CodedConcept>>;
  /**
   * Concept name of the probability measurement. Default `(111012, DCM, "Certainty of Finding")`; its value is the
   * model's probability of the reported finding, unit `{probability}` (UCUM), in [0, 1].
   */
  readonly probabilityConcept?: CodedConcept;
  /** Procedure reported (TID 1500 row 4). Default `(363679005, SCT, "Imaging procedure")`. */
  readonly procedure?: CodedConcept;
  /** Lesion volumes on SEG segments, each reported as a TID 1411 volumetric measurement group. */
  readonly segmentations?: readonly SrSegmentMeasurement[];
  /** Device Observer UID of the model. Default a UID derived from the model's name and version (stable across runs). */
  readonly deviceObserverUid?: string;
  /** Manufacturer (equipment and device observer). Default `Lepton`. */
  readonly manufacturer?: string;
  /** Series Instance UID of the new series. Default a new UID. */
  readonly seriesInstanceUid?: string;
  /** SOP Instance UID. Default a new UID. */
  readonly sopInstanceUid?: string;
  /** Series Number. Default 2000. */
  readonly seriesNumber?: number;
  /** Instance Number. Default 1. */
  readonly instanceNumber?: number;
  /** Series Description. Default `AI report (<model name>)`, cut to 64 characters. */
  readonly seriesDescription?: string;
  /** Creation time (Content Date/Time, written in UTC). Default now. */
  readonly now?: Date;
}

const isSeries = (r: Diagnosis | SeriesDiagnosis): r is SeriesDiagnosis => Array.isArray((r as SeriesDiagnosis).images) && typeof (r as SeriesDiagnosis).keyImage === 'number';

function modelIdentity(d: Diagnosis): AlgorithmIdentity {
  const m = d.model as Partial<AlgorithmIdentity> | undefined;
  return { name: checkLo(m?.name as string, 'result.model.name'), version: checkLo(m?.version as string, 'result.model.version') };
}

/** TID 4019 Algorithm Identification, as concept modifiers of a measurement. */
const algorithmItems = (a: AlgorithmIdentity): ContentItem[] => [text('HAS CONCEPT MOD', CODES.algorithmName, a.name), text('HAS CONCEPT MOD', CODES.algorithmVersion, a.version)];

/** Current Requested Procedure Evidence: every instance the content tree references, by series. */
function evidence(study: string, refs: ReadonlyArray<Pick<SourceRef, 'seriesInstanceUid' | 'sopClassUid' | 'sopInstanceUid'>>): Record<string, unknown>[] {
  const bySeries = new Map<string, Record<string, unknown>[]>();
  for (const r of refs) {
    const list = bySeries.get(r.seriesInstanceUid) ?? [];
    if (!list.some((x) => x['ReferencedSOPInstanceUID'] === r.sopInstanceUid)) list.push({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid });
    bySeries.set(r.seriesInstanceUid, list);
  }
  return [{ StudyInstanceUID: study, ReferencedSeriesSequence: [...bySeries].map(([uid, list]) => ({ SeriesInstanceUID: uid, ReferencedSOPSequence: list })) }];
}

/** TID 1411 Volumetric ROI Measurements for one SEG segment. */
function volumeGroup(m: SrSegmentMeasurement, i: number, study: string): { group: ContentItem; ref: Pick<SourceRef, 'seriesInstanceUid' | 'sopClassUid' | 'sopInstanceUid'> } {
  const opt = `segmentations[${i}]`;
  const seg = m?.seg;
  if (typeof seg !== 'object' || seg === null || !Array.isArray(seg.segments)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt}.seg must be the object segmentationToDicomSeg returned.`, { option: `${opt}.seg` });
  if (seg.studyInstanceUid !== study) throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt}.seg belongs to another study than the source images.`, { option: `${opt}.seg` });
  const number = checkInt(m.segmentNumber ?? 1, `${opt}.segmentNumber`, 1, 65535);
  const segment = seg.segments.find((s) => s.number === number);
  if (segment === undefined) throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt}.segmentNumber ${number} is not a segment of that SEG (it has ${seg.segments.length}).`, { option: `${opt}.segmentNumber` });
  if (!(Number.isFinite(m.volumeMm3) && m.volumeMm3 >= 0)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${opt}.volumeMm3 must be a finite number ≥ 0.`, { option: `${opt}.volumeMm3` });
  const group = container(
    'CONTAINS',
    CODES.measurementGroup,
    [
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, `${segment.label} (segment ${number})`.slice(0, 64)),
      uidRef('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, newUid()),
      codeValue('CONTAINS', CODES.finding, m.finding ?? segment.propertyType, `${opt}.finding`),
      image('CONTAINS', CODES.referencedSegment, seg.sopClassUid, seg.sopInstanceUid, number),
      uidRef('CONTAINS', CODES.sourceSeriesForSegmentation, seg.sourceSeriesInstanceUid),
      num('CONTAINS', CODES.volume, m.volumeMm3, CODES.cubicMillimetre, `${opt}.volumeMm3`, algorithmItems(seg.algorithm)),
    ],
    '1411',
  );
  return { group, ref: seg };
}

/**
 * Encodes a {@link DiagnosisModel} answer as a DICOM Comprehensive SR (1.2.840.10008.5.1.4.1.1.88.33) following
 * PS3.16 TID 1500 "Measurement Report": the model as device observer (TID 1004), the source images in the image
 * library (TID 1600), and one measurement group (TID 1501) with the coded finding (the predicted label), the model's
 * probability of it (NUM, UCUM `{probability}`) identified by the model's name and version (TID 4019) and inferred
 * from the key slice (IMAGE reference). Each entry of `options.segmentations` adds a volumetric group (TID 1411): the
 * lesion volume in mm³ (UCUM `mm3`) referencing the SEG segment and its source series. Patient and study attributes
 * are copied from the source images; the report joins their study in a new series.
 *
 * @param result - {@link DiagnosisModel.predictSeries}' answer (its key image is the key slice) or one
 *   {@link DiagnosisModel.predict} answer (the first source image is the key slice)
 * @param sourceImages - the images the model saw, in the same order as `result.images` (all from one study)
 * @param options - finding codes, SEG volumes, identifiers
 * @returns the Part 10 bytes with the report's UIDs
 * @throws {@link @lepton/core!LeptonError} `DICOM_RESULT_INVALID_INPUT` for mismatched images, a probability outside
 *   [0, 1] or an invalid option; `DICOM_RESULT_UNSUPPORTED` for patient data in a character set it cannot re-encode;
 *   `DICOM_RESULT_WRITE_FAILED` if encoding fails
 * @example
 * ```ts
 * import { diagnosisToDicomSr, type DiagnosisModel, type DicomImage } from '@lepton/medical';
 * declare const model: DiagnosisModel;
 * declare const series: DicomImage[];
 * const sr = diagnosisToDicomSr(await model.predictSeries(series), series);
 * console.log(sr.sopInstanceUid, sr.bytes.length);
 * ```
 */
export function diagnosisToDicomSr(result: Diagnosis | SeriesDiagnosis, sourceImages: readonly DicomImage[], options: DicomSrOptions = {}): DicomResultObject {
  if (typeof result !== 'object' || result === null) throw resultError('DICOM_RESULT_INVALID_INPUT', 'result must be a Diagnosis (DiagnosisModel.predict / predictSeries).', { option: 'result' });
  // null was a TypeError on the first option read, a non-array segmentations one on its map, and findingCodes of a
  // Symbol or a number was silently ignored
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw resultError('DICOM_RESULT_INVALID_INPUT', 'options must be an object.', { option: 'options' });
  if (options.segmentations !== undefined && !Array.isArray(options.segmentations)) throw resultError('DICOM_RESULT_INVALID_INPUT', 'segmentations must be an array of { seg, volumeMm3 }.', { option: 'segmentations' });
  if (options.findingCodes !== undefined && (typeof options.findingCodes !== 'object' || options.findingCodes === null || Array.isArray(options.findingCodes))) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', 'findingCodes must be an object of coded concepts by label.', { option: 'findingCodes' });
  }
  const refs = sourceRefs(sourceImages);
  let key = 0;
  if (isSeries(result)) {
    if (result.images.length !== sourceImages.length) {
      throw resultError('DICOM_RESULT_INVALID_INPUT', `The diagnosis covers ${result.images.length} image(s) and sourceImages holds ${sourceImages.length}; pass the images given to predictSeries, in the same order.`, { option: 'sourceImages' });
    }
    key = checkInt(result.keyImage, 'result.keyImage', 0, sourceImages.length - 1);
    result.images.forEach((d, i) => {
      const src = sourceImages[i]!.source;
      if (d?.source !== undefined && src !== undefined && d.source !== src) throw resultError('DICOM_RESULT_INVALID_INPUT', `result.images[${i}] was made from another image than sourceImages[${i}].`, { option: 'sourceImages', index: i });
    });
  } else if (result.source !== undefined && sourceImages[0]!.source !== undefined && result.source !== sourceImages[0]!.source) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', 'The diagnosis was made from another image than sourceImages[0].', { option: 'sourceImages' });
  }
  const label = result.label;
  if (typeof label !== 'string' || label === '') throw resultError('DICOM_RESULT_INVALID_INPUT', 'result.label must be the predicted label.', { option: 'result.label' });
  const probability = result.probabilities?.[label] ?? result.probability;
  if (!(typeof probability === 'number' && probability >= 0 && probability <= 1)) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', 'The probability of the predicted label must be a number in [0, 1].', { option: 'result.probabilities' });
  }
  const model = modelIdentity(result);
  const finding = (Object.hasOwn(options.findingCodes ?? {}, label) ? options.findingCodes![label] : undefined) ?? DEFAULT_FINDINGS[label.toLowerCase()] ?? privateCode(label);
  const manufacturer = checkLo(options.manufacturer ?? 'Lepton', 'manufacturer');
  const study = refs[0]!.studyInstanceUid;
  const keyRef = refs[key]!;
  const deviceUid =
    options.deviceObserverUid === undefined
      ? `2.25.${BigInt(`0x${createHash('sha256').update(`lepton-model/${model.name}/${model.version}`).digest('hex').slice(0, 32)}`)}`
      : checkUid(options.deviceObserverUid, 'deviceObserverUid');
  const volumes = (options.segmentations ?? []).map((m, i) => volumeGroup(m, i, study));

  const findingGroup = container(
    'CONTAINS',
    CODES.measurementGroup,
    [
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, `${label} (${model.name})`.slice(0, 64)),
      uidRef('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, newUid()),
      codeValue('CONTAINS', CODES.finding, finding, `findingCodes.${label}`),
      num('CONTAINS', options.probabilityConcept ?? CODES.certaintyOfFinding, probability, CODES.probability, 'probability', [
        ...algorithmItems(model),
        image('INFERRED FROM', CODES.sourceOfMeasurement, keyRef.sopClassUid, keyRef.sopInstanceUid),
      ]),
    ],
    '1501',
  );
  const root = container(
    undefined,
    CODES.imagingMeasurementReport,
    [
      codeValue('HAS CONCEPT MOD', CODES.language, CODES.englishUs, 'language'),
      codeValue('HAS OBS CONTEXT', CODES.observerType, CODES.device, 'observer type'),
      uidRef('HAS OBS CONTEXT', CODES.deviceObserverUid, deviceUid),
      text('HAS OBS CONTEXT', CODES.deviceObserverName, model.name),
      text('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, manufacturer),
      text('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${model.name} ${model.version}`.slice(0, 64)),
      codeValue('HAS CONCEPT MOD', CODES.procedureReported, options.procedure ?? CODES.imagingProcedure, 'procedure'),
      container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, refs.map((r) => image('CONTAINS', undefined, r.sopClassUid, r.sopInstanceUid)))]),
      container('CONTAINS', CODES.imagingMeasurements, [findingGroup, ...volumes.map((v) => v.group)]),
    ],
    '1500',
  );

  const now = dicomDateTime(options.now ?? new Date());
  const sopInstanceUid = options.sopInstanceUid === undefined ? newUid() : checkUid(options.sopInstanceUid, 'sopInstanceUid');
  const seriesInstanceUid = options.seriesInstanceUid === undefined ? newUid() : checkUid(options.seriesInstanceUid, 'seriesInstanceUid');
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: sopInstanceUid,
    ContentDate: now.date,
    ContentTime: now.time,
    TimezoneOffsetFromUTC: '+0000',
    Modality: 'SR',
    Manufacturer: manufacturer,
    SeriesDescription: checkLo(options.seriesDescription ?? `AI report (${model.name})`.slice(0, 64), 'seriesDescription'),
    ReferencedPerformedProcedureStepSequence: [],
    ...patientStudy(sourceImages[0]!),
    StudyInstanceUID: study,
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: checkInt(options.seriesNumber ?? 2000, 'seriesNumber', 0, 2 ** 31 - 1),
    InstanceNumber: checkInt(options.instanceNumber ?? 1, 'instanceNumber', 1, 2 ** 31 - 1),
    ...root,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    CurrentRequestedProcedureEvidenceSequence: evidence(study, [...refs, ...volumes.map((v) => v.ref)]),
    PerformedProcedureCodeSequence: [],
  };
  return { bytes: writePart10(dataset, 'structured report'), sopClassUid: COMPREHENSIVE_SR, sopInstanceUid, seriesInstanceUid, studyInstanceUid: study };
}
