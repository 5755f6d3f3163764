import type { LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';

/** Identifies a study. */
export interface StudyRef {
  /** Study Instance UID. */
  readonly studyInstanceUid: string;
}

/** Identifies a series; a `SeriesSummary` is one. */
export interface SeriesRef extends StudyRef {
  /** Series Instance UID. */
  readonly seriesInstanceUid: string;
}

/** Identifies an instance; an `InstanceSummary` is one. */
export interface InstanceRef extends SeriesRef {
  /** SOP Instance UID. */
  readonly sopInstanceUid: string;
}

/** Per-call options. */
export interface DicomWebRequestOptions {
  /** Cancels the call (it then fails with `DICOMWEB_ABORTED`). */
  readonly signal?: AbortSignal;
}

/** Options for retrieving many instances (`DicomWebClient.retrieveSeries` and friends). */
export interface DicomWebRetrieveOptions extends DicomWebRequestOptions {
  /**
   * Called for each instance that fails, as it happens (the error carries no patient data). An error it throws, or a
   * rejected promise it returns, is ignored: the failure is in `failures` already, and the retrieval goes on.
   */
  readonly onFailure?: (failure: DicomWebFailure) => void;
}

/** An instance that could not be retrieved or parsed, and why. */
export interface DicomWebFailure {
  /**
   * The instance, as the caller or the search named it (a plain copy). For a QIDO-RS result rejected by
   * `retrieveSeries`/`retrieveStudy` (no valid UIDs), only the series' or study's UIDs are known; `sopInstanceUid` is
   * then undefined.
   */
  readonly instance: InstanceRef;
  /**
   * What went wrong: `DICOMWEB_HTTP_ERROR` (e.g. `details.status` 404 when it was deleted after the search),
   * `DICOMWEB_TIMEOUT`, `DICOMWEB_UNREACHABLE`, `DICOMWEB_BAD_RESPONSE` (also a QIDO-RS result without valid UIDs:
   * `details.index`), `DICOMWEB_INVALID_OPTIONS` (a reference that cannot be read: `details.index`), or a `DICOM_*`
   * code when the bytes are not valid DICOM.
   */
  readonly error: LeptonError;
}

/** The outcome of retrieving many instances: each one is either an image or a failure. */
export interface DicomWebRetrieval {
  /** Parsed instances, in the order asked for (for a series or study: the server's QIDO-RS order). */
  readonly images: DicomImage[];
  /** Instances that failed, in the same order. */
  readonly failures: DicomWebFailure[];
}

/**
 * What a QIDO-RS search adds to its array of rows: how many rows of the server's answer were left out because they
 * could not be read (a required UID absent or malformed). Non-enumerable, so it never shows in JSON.
 */
export interface SearchRejections {
  /** Rows of the answer left out. */
  readonly rejected: number;
}
