/**
 * DICOM in, imaging diagnosis out, on `@lepton/core`: reading and decoding DICOM ({@link readDicom},
 * {@link readDicomFolder}, {@link DicomImage}, {@link readDicomDir}), PACS over DICOMweb ({@link DicomWebClient}),
 * volumes ({@link buildVolume}), de-identification ({@link DicomDeidentifier}), diagnosis with Grad-CAM
 * ({@link DiagnosisModel}), lesion segmentation ({@link LesionSegmenter}), image + clinical fusion
 * ({@link ClinicalFusionModel}) and results back to PACS as DICOM SEG and SR ({@link segmentationToDicomSeg},
 * {@link diagnosisToDicomSr}). Error codes: {@link MedicalErrorCode}.
 *
 * Quick starts (on shipped samples, {@link samplePath}) and guides: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */
export { LeptonError, isLeptonError, initRuntime, runtimeInfo, seededRandom, tf } from '@lepton/core';
export type { LeptonErrorCode } from '@lepton/core';
export { MEDICAL_ERROR_CODES } from './errors.js';
export type { MedicalErrorCode } from './errors.js';
export { readDicom } from './dicom/read.js';
export type { ReadDicomOptions } from './dicom/read.js';
export { MAX_DICOM_FILE_BYTES, readDicomBytes, readDicomFile, readDicomFolder } from './dicom/files.js';
export type { DicomFolderLoad, DicomLoadFailure, ReadDicomFolderOptions } from './dicom/files.js';
export { DicomImage } from './dicom/image.js';
export type { DicomMetadata, DicomAttributeIssue, Rescale, VoiWindow, VoiLutFunction } from './dicom/types.js';
export type { DicomErrorCode } from './dicom/errors.js';
export {
  TRANSFER_SYNTAXES,
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
} from './dicom/transfer-syntax.js';
export type { TransferSyntax, PixelEncoding } from './dicom/transfer-syntax.js';
export type { DecodedFrame, PixelArray } from './pixels/frame.js';
export type { LookupTable } from './lut/lookup-table.js';
export { applyModalityLut } from './lut/modality.js';
export { applyVoi, resolveVoi, renderFrame, voiWindowValue } from './lut/voi.js';
export type { VoiChoice, VoiTransform, RenderOptions } from './lut/voi.js';
export { WINDOW_PRESETS, windowPreset } from './lut/presets.js';
export type { WindowPresetName } from './lut/presets.js';
export { DicomWebClient } from './dicomweb/client.js';
export type { DicomWebClientOptions, DicomWebAuth, DicomWebBasicAuth, DicomWebBearerAuth, FetchLike } from './dicomweb/options.js';
export type { DicomWebErrorCode } from './dicomweb/errors.js';
export type {
  StudyRef,
  SeriesRef,
  InstanceRef,
  DicomWebRequestOptions,
  DicomWebRetrieveOptions,
  DicomWebFailure,
  DicomWebRetrieval,
  SearchRejections,
} from './dicomweb/types.js';
export type { StudySummary, SeriesSummary, InstanceSummary } from './dicomweb/results.js';
export type { DicomWebStoreOptions, DicomWebStoreResult, StoredInstance, FailedInstance } from './dicomweb/store.js';
export type { QidoQuery } from './dicomweb/query.js';
export { dicomJsonString, dicomJsonStrings, dicomJsonNumber } from './dicomweb/dicom-json.js';
export type { DicomJsonDataset, DicomJsonAttribute } from './dicomweb/dicom-json.js';
export { groupSeries } from './volume/series.js';
export type { DicomSeries } from './volume/series.js';
export { buildVolume } from './volume/build.js';
export type { BuildVolumeOptions, VolumeBuild } from './volume/build.js';
export { Volume } from './volume/volume.js';
export type { VolumeInit } from './volume/volume.js';
export type { Vec3 } from './volume/vec.js';
export type {
  VolumeIssue,
  VolumeIssueBase,
  GapIssue,
  IrregularSpacingIssue,
  DuplicateIssue,
  MixedOrientationIssue,
  MixedGeometryIssue,
  MissingGeometryIssue,
  UnsupportedImageIssue,
  UnreadableSliceIssue,
  ShearedIssue,
  AssumedSpacingIssue,
  OutlierPositionIssue,
  NonOrthogonalOrientationIssue,
} from './volume/issues.js';
export type { VolumeErrorCode } from './volume/errors.js';
export { resampleVolume } from './volume/resample.js';
export { MAX_RESAMPLE_VOXELS, MAX_RESAMPLE_VOXELS_LIMIT, MAX_BUILD_VOXELS } from './volume/errors.js';
export type { ResampleOptions } from './volume/resample.js';
export { extractPlane } from './volume/planes.js';
export type { PlaneOrientation, VolumePlane } from './volume/planes.js';
export { DicomDeidentifier } from './deid/deidentifier.js';
export type { DeidentifyOptions, DeidentifyCallOptions, DeidentifiedDicom } from './deid/deidentifier.js';
export { BURNED_IN_SUSPECT_MODALITIES } from './deid/burned-in.js';
export type { BurnedInAnnotationPolicy, BurnedInAnnotationReport } from './deid/burned-in.js';
export { deidentifyDicomFolder } from './deid/folder.js';
export type { DeidentifyFolderOptions, DeidentifiedFile, DeidentifyFolderResult } from './deid/folder.js';
export { BASIC_PROFILE } from './deid/basic-profile.js';
export type { AnnexEAction, BasicProfileRule } from './deid/basic-profile.js';
export { ACTION_RESOLUTION, DUMMY_VALUES } from './deid/profile.js';
export type { DeidAction, DeidSummary } from './deid/profile.js';
export type { DeidErrorCode } from './deid/errors.js';
export { DiagnosisModel } from './diagnosis/model.js';
export type { DiagnosisOptions, DiagnosisEvaluation, Diagnosis, SeriesDiagnosis, DiagnosisTrainResult, LabelledImage, ConfusionMatrix, ModelIdentity, HeatmapArray, PatientSplit, PredictOptions, SkippedFile } from './diagnosis/model.js';
export { LesionSegmenter } from './diagnosis/segmentation.js';
export type { SegmenterOptions, MaskedImage, Segmentation, SeriesSegmentation, SegmentationEvaluation } from './diagnosis/segmentation.js';
export { preprocessImage, resizeBilinear, windowedFrame, resolveWindow } from './diagnosis/preprocess.js';
export type { ImagePreprocessing, InputFit, InputResample, WindowSpec, PreprocessedImage } from './diagnosis/preprocess.js';
export { preprocessStack } from './diagnosis/stack.js';
export { ctPhantom } from './synthetic/phantom.js';
export type { CtPhantom, CtPhantomOptions, PhantomLesion } from './synthetic/phantom.js';
export { writeCtSeries, generateCtDataset, uidFor } from './synthetic/write.js';
export type { WriteCtSeriesOptions, SyntheticCtPatient, CtDatasetOptions } from './synthetic/write.js';
// sample data shipped in the package (synthetic), for the README quick starts and first experiments
export { MEDICAL_SAMPLES, samplePath } from './synthetic/samples.js';
export type { MedicalSample } from './synthetic/samples.js';

// clinical fields + image: CSV of age/sex/history keyed by Patient ID, encoding, and late fusion with a DiagnosisModel
export { parseClinicalCsv, readClinicalCsv, fitClinicalEncoding, encodeClinical } from './diagnosis/clinical.js';
export type { ClinicalRecord, ClinicalSex, ClinicalRowFailure, ClinicalCsvResult, ClinicalCsvOptions, ClinicalEncoding } from './diagnosis/clinical.js';
export { ClinicalFusionModel } from './diagnosis/clinical-fusion.js';
export type {
  ClinicalFusionSample,
  ClinicalFusionOptions,
  ClinicalFusionResult,
  ClinicalFusionEvaluation,
  ClinicalFusionWeights,
  ClinicalFusionJSON,
} from './diagnosis/clinical-fusion.js';
export { syntheticClinicalRecords, clinicalCsv } from './synthetic/clinical.js';
export type { SyntheticClinicalInput, SyntheticClinicalPatient, SyntheticClinicalOptions } from './synthetic/clinical.js';

// results back to PACS: DICOM SEG and Comprehensive SR (TID 1500) writers
export { segmentationToDicomSeg } from './results/seg.js';
export type { DicomSegOptions, DicomSegObject, DicomSegSegment, SegmentDescription } from './results/seg.js';
export type { AlgorithmIdentity, DicomResultObject } from './results/types.js';
export type { CodedConcept } from './results/codes.js';
export type { DicomResultErrorCode } from './results/errors.js';
export { diagnosisToDicomSr } from './results/sr.js';
export type { DicomSrOptions, SrSegmentMeasurement } from './results/sr.js';
// DICOMDIR (CD/DVD/USB media)
export { readDicomDir } from './dicomdir/read.js';
export { parseDicomDir } from './dicomdir/parse.js';
export type { DicomDir, DicomDirTree, DicomDirPatient, DicomDirStudy, DicomDirSeries, DicomDirInstance, DicomDirRejectedRecord, DicomDirRejectedFile } from './dicomdir/types.js';
export type { DicomDirErrorCode } from './dicomdir/errors.js';
