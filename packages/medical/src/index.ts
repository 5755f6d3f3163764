/**
 * `@lepton/medical` — DICOM in, imaging diagnosis out, on `@lepton/core`.
 *
 * Available now: reading DICOM Part 10 files and bare data sets into typed metadata; pixel decoding for native
 * (implicit/explicit little endian, explicit big endian, deflated), RLE, JPEG Baseline, JPEG Lossless, JPEG-LS and
 * JPEG 2000 with maintained codecs; Bits Stored masking, signed pixels, MONOCHROME1/2, RGB, YBR and palette colour,
 * multi-frame; modality LUT (rescale and sequence) and VOI (windows with LINEAR / LINEAR_EXACT / SIGMOID, VOI LUT
 * sequence, CT presets); folder loading that reports bad files and goes on. Series → volume, de-identification,
 * diagnosis and segmentation models and DICOMweb are in progress (issue 3).
 *
 * @packageDocumentation
 */
export { LeptonError, isLeptonError } from '@lepton/core';
export { readDicom } from './dicom/read.js';
export type { ReadDicomOptions } from './dicom/read.js';
export { readDicomFile, readDicomFolder } from './dicom/files.js';
export type { DicomFolderLoad, DicomLoadFailure, ReadDicomFolderOptions } from './dicom/files.js';
export { DicomImage } from './dicom/image.js';
export type { DicomMetadata, Rescale, VoiWindow, VoiLutFunction } from './dicom/types.js';
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
