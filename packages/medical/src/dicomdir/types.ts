/** An instance record of a DICOMDIR (IMAGE, SR DOCUMENT, PRESENTATION, … : any record that references a file). */
export interface DicomDirInstance {
  /** Directory Record Type, e.g. `IMAGE`, `SR DOCUMENT`, `SEGMENTATION`. */
  readonly recordType: string;
  /** Referenced File ID: the file's path components on the medium, as recorded (e.g. `['DICOM', 'PAT1', 'IM0001']`). */
  readonly fileId: readonly string[];
  /**
   * The file's path on disk, matched component by component without regard to case (media mounted on Linux or macOS
   * often show `dicom/pat1/im0001`); undefined from {@link parseDicomDir}, and from {@link readDicomDir} when the file
   * is not there (see `missing`).
   */
  readonly path: string | undefined;
  /** Referenced SOP Class UID in File (0004,1510). */
  readonly sopClassUid: string | undefined;
  /** Referenced SOP Instance UID in File (0004,1511). */
  readonly sopInstanceUid: string | undefined;
  /** Referenced Transfer Syntax UID in File (0004,1512). */
  readonly transferSyntaxUid: string | undefined;
  /** Instance Number, when recorded. */
  readonly instanceNumber: number | undefined;
}

/** A SERIES record and its instances. */
export interface DicomDirSeries {
  /** Series Instance UID. */
  readonly seriesInstanceUid: string | undefined;
  /** Modality. */
  readonly modality: string | undefined;
  /** Series Number. */
  readonly seriesNumber: number | undefined;
  /** Series Description, when recorded. */
  readonly seriesDescription: string | undefined;
  /** The instance records, in directory order. */
  readonly instances: DicomDirInstance[];
}

/** A STUDY record and its series. */
export interface DicomDirStudy {
  /** Study Instance UID. */
  readonly studyInstanceUid: string | undefined;
  /** Study Date, `YYYYMMDD`. */
  readonly studyDate: string | undefined;
  /** Study Time. */
  readonly studyTime: string | undefined;
  /** Study Description. */
  readonly studyDescription: string | undefined;
  /** Study ID. */
  readonly studyId: string | undefined;
  /** Accession Number. */
  readonly accessionNumber: string | undefined;
  /** The series, in directory order. */
  readonly series: DicomDirSeries[];
}

/** A PATIENT record and its studies. */
export interface DicomDirPatient {
  /** Patient ID. */
  readonly patientId: string | undefined;
  /** Patient's Name, as stored (`Family^Given`). */
  readonly patientName: string | undefined;
  /** The studies, in directory order. */
  readonly studies: DicomDirStudy[];
}

/** A parsed DICOMDIR: the PATIENT → STUDY → SERIES → instance tree and every instance in tree order. */
export interface DicomDirTree {
  /** File-set ID (0004,1130), when recorded. */
  readonly fileSetId: string | undefined;
  /** The patients, in directory order. */
  readonly patients: DicomDirPatient[];
  /** Every instance record, in tree order (patient by patient, study by study, series by series). */
  readonly instances: DicomDirInstance[];
  /** Active records of other types skipped (e.g. HANGING PROTOCOL, PRIVATE, or records without a file). */
  readonly skippedRecords: number;
  /**
   * Instance records refused and left out, the rest of the directory kept: `offset` is the record's byte offset in
   * the DICOMDIR, `reason` `'unsafe-file-id'` for a Referenced File ID that is empty or could leave the file-set's
   * folder (`..`, `.`, a path separator, NUL or `:` in a component). Never patient data.
   */
  readonly rejectedRecords: readonly DicomDirRejectedRecord[];
}

/** What {@link readDicomDir} returns: the tree with each instance's file resolved on disk. */
export interface DicomDir extends DicomDirTree {
  /** The DICOMDIR file read. */
  readonly dicomDirPath: string;
  /** The folder Referenced File IDs are resolved against: the real path (links resolved) of the DICOMDIR's folder. */
  readonly root: string;
  /**
   * Real paths (links resolved, always under `root`) of every instance file found, in tree order (for
   * {@link readDicomFile} or {@link readDicomFolder}).
   */
  readonly files: string[];
  /** Instance records whose file is not on the medium (absent, not a regular file, or refused: see `rejectedFiles`). */
  readonly missing: DicomDirInstance[];
  /**
   * Instance records whose file ID led, through a symbolic link on the medium, to a file outside `root`: refused (never
   * read) with reason `'outside-root'`; each is in `missing` too.
   */
  readonly rejectedFiles: readonly DicomDirRejectedFile[];
}

/** An instance record of a DICOMDIR refused and left out (see {@link DicomDirTree.rejectedRecords}). */
export interface DicomDirRejectedRecord {
  /** The record's byte offset in the DICOMDIR. */
  readonly offset: number;
  /** Why: a Referenced File ID that is empty or could leave the file-set's folder. */
  readonly reason: 'unsafe-file-id';
}

/** An instance whose file was refused (see {@link DicomDir.rejectedFiles}). */
export interface DicomDirRejectedFile {
  /** The instance record. */
  readonly instance: DicomDirInstance;
  /** Why: its file resolved, through a symbolic link on the medium, outside the DICOMDIR's folder. */
  readonly reason: 'outside-root';
}
