import { dicomJsonNumber, dicomJsonString, dicomJsonStrings, type DicomJsonDataset } from './dicom-json.js';

/** One study found by {@link DicomWebClient.searchStudies} (QIDO-RS). Absent attributes are undefined. */
export interface StudySummary {
  /** Study Instance UID (0020,000D). */
  readonly studyInstanceUid: string;
  /** Study Date (0008,0020), `YYYYMMDD`. */
  readonly studyDate: string | undefined;
  /** Study Time (0008,0030). */
  readonly studyTime: string | undefined;
  /** Study Description (0008,1030). */
  readonly studyDescription: string | undefined;
  /** Accession Number (0008,0050). */
  readonly accessionNumber: string | undefined;
  /** Patient ID (0010,0020). */
  readonly patientId: string | undefined;
  /** Patient's Name (0010,0010), alphabetic form. */
  readonly patientName: string | undefined;
  /** Modalities in Study (0008,0061). */
  readonly modalitiesInStudy: string[];
  /** Number of Study Related Series (0020,1206). */
  readonly numberOfSeries: number | undefined;
  /** Number of Study Related Instances (0020,1208). */
  readonly numberOfInstances: number | undefined;
  /** Every attribute the server returned (more with the `includefield` query parameter). */
  readonly attributes: DicomJsonDataset;
}

/** One series found by {@link DicomWebClient.searchSeries} (QIDO-RS). */
export interface SeriesSummary {
  /** Study Instance UID (0020,000D). */
  readonly studyInstanceUid: string;
  /** Series Instance UID (0020,000E). */
  readonly seriesInstanceUid: string;
  /** Modality (0008,0060). */
  readonly modality: string | undefined;
  /** Series Number (0020,0011). */
  readonly seriesNumber: number | undefined;
  /** Series Description (0008,103E). */
  readonly seriesDescription: string | undefined;
  /** Number of Series Related Instances (0020,1209). */
  readonly numberOfInstances: number | undefined;
  /** Every attribute the server returned. */
  readonly attributes: DicomJsonDataset;
}

/** One instance found by {@link DicomWebClient.searchInstances} (QIDO-RS); also what `retrieveInstance` takes. */
export interface InstanceSummary {
  /** Study Instance UID (0020,000D). */
  readonly studyInstanceUid: string;
  /** Series Instance UID (0020,000E). */
  readonly seriesInstanceUid: string;
  /** SOP Instance UID (0008,0018). */
  readonly sopInstanceUid: string;
  /** SOP Class UID (0008,0016). */
  readonly sopClassUid: string | undefined;
  /** Instance Number (0020,0013). */
  readonly instanceNumber: number | undefined;
  /** Rows (0028,0010). */
  readonly rows: number | undefined;
  /** Columns (0028,0011). */
  readonly columns: number | undefined;
  /** Number of Frames (0028,0008). */
  readonly numberOfFrames: number | undefined;
  /** Every attribute the server returned. */
  readonly attributes: DicomJsonDataset;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** A QIDO-RS row without a usable UID: thrown by the row mappers, caught per row by {@link mapRows}. */
class RowRejected extends Error {
  constructor(
    readonly attribute: string,
    readonly tag: string,
  ) {
    super(attribute);
  }
}

const requireUid = (ds: DicomJsonDataset, tag: string, fallback: string | undefined, name: string): string => {
  const v = dicomJsonString(ds, tag) ?? fallback;
  // a UID goes into WADO-RS paths: anything but digits and dots (at most 64) could reshape the request
  if (v === undefined || v.length > 64 || !UID.test(v)) throw new RowRejected(name, tag);
  return v;
};

/** A QIDO-RS result left out: its position in the answer and the attribute it lacked. @internal */
export interface RejectedRow {
  readonly index: number;
  readonly attribute: string;
  readonly tag: string | undefined;
}

/**
 * Maps each row of a QIDO-RS answer on its own: a row that is not an object or lacks a valid UID is left out and
 * reported (index and attribute, never a value), so one bad row never hides the others.
 * @internal
 */
export function mapRows<T>(rows: readonly unknown[], map: (ds: DicomJsonDataset) => T): { rows: T[]; rejected: RejectedRow[] } {
  const out: T[] = [];
  const rejected: RejectedRow[] = [];
  for (let index = 0; index < rows.length; index++) {
    const ds = rows[index];
    if (typeof ds !== 'object' || ds === null || Array.isArray(ds)) {
      rejected.push({ index, attribute: 'data set (the entry is not an object)', tag: undefined });
      continue;
    }
    try {
      out.push(map(ds as DicomJsonDataset));
    } catch (err) {
      if (!(err instanceof RowRejected)) throw err;
      rejected.push({ index, attribute: err.attribute, tag: err.tag });
    }
  }
  return { rows: out, rejected };
}

/** @internal */
export function toStudy(ds: DicomJsonDataset): StudySummary {
  return {
    studyInstanceUid: requireUid(ds, '0020000D', undefined, 'Study Instance UID'),
    studyDate: dicomJsonString(ds, '00080020'),
    studyTime: dicomJsonString(ds, '00080030'),
    studyDescription: dicomJsonString(ds, '00081030'),
    accessionNumber: dicomJsonString(ds, '00080050'),
    patientId: dicomJsonString(ds, '00100020'),
    patientName: dicomJsonString(ds, '00100010'),
    modalitiesInStudy: dicomJsonStrings(ds, '00080061'),
    numberOfSeries: dicomJsonNumber(ds, '00201206'),
    numberOfInstances: dicomJsonNumber(ds, '00201208'),
    attributes: ds,
  };
}

/** @internal */
export function toSeries(ds: DicomJsonDataset, studyInstanceUid: string | undefined): SeriesSummary {
  return {
    studyInstanceUid: requireUid(ds, '0020000D', studyInstanceUid, 'Study Instance UID'),
    seriesInstanceUid: requireUid(ds, '0020000E', undefined, 'Series Instance UID'),
    modality: dicomJsonString(ds, '00080060'),
    seriesNumber: dicomJsonNumber(ds, '00200011'),
    seriesDescription: dicomJsonString(ds, '0008103E'),
    numberOfInstances: dicomJsonNumber(ds, '00201209'),
    attributes: ds,
  };
}

/** @internal */
export function toInstance(ds: DicomJsonDataset, studyInstanceUid: string | undefined, seriesInstanceUid: string | undefined): InstanceSummary {
  return {
    studyInstanceUid: requireUid(ds, '0020000D', studyInstanceUid, 'Study Instance UID'),
    seriesInstanceUid: requireUid(ds, '0020000E', seriesInstanceUid, 'Series Instance UID'),
    sopInstanceUid: requireUid(ds, '00080018', undefined, 'SOP Instance UID'),
    sopClassUid: dicomJsonString(ds, '00080016'),
    instanceNumber: dicomJsonNumber(ds, '00200013'),
    rows: dicomJsonNumber(ds, '00280010'),
    columns: dicomJsonNumber(ds, '00280011'),
    numberOfFrames: dicomJsonNumber(ds, '00280008'),
    attributes: ds,
  };
}
