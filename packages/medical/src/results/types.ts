import type { CodedConcept } from './codes.js';

/** The software that produced a result (PS3.3 Algorithm Identification Macro; PS3.16 TID 4019 in reports). */
export interface AlgorithmIdentity {
  /** Algorithm Name, e.g. the model bundle's name (`lesion-segmenter`). At most 64 characters. */
  readonly name: string;
  /** Algorithm Version, e.g. the bundle's semantic version (`1.0.0`). At most 64 characters. */
  readonly version: string;
  /** Algorithm Family (SEG only). Default `(123109, DCM, "Artificial Intelligence")`. */
  readonly family?: CodedConcept;
}

/** A DICOM object made by a result writer: its Part 10 bytes and the identifiers needed to reference or store it. */
export interface DicomResultObject {
  /** The DICOM Part 10 file (Explicit VR Little Endian), ready for {@link DicomWebClient.store} or a file. */
  readonly bytes: Uint8Array;
  /** SOP Class UID. */
  readonly sopClassUid: string;
  /** SOP Instance UID. */
  readonly sopInstanceUid: string;
  /** Series Instance UID (a new series, unless one was given). */
  readonly seriesInstanceUid: string;
  /** Study Instance UID: the source images' study. */
  readonly studyInstanceUid: string;
}
