import type { LookupTable } from '../lut/lookup-table.js';

/** The VOI LUT function of a window (PS3.3 C.11.2.1.3). */
export type VoiLutFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** A window (centre/width) and the function that maps it to display values. */
export interface VoiWindow {
  /** Window Center (0028,1050), in modality units (HU for CT). */
  readonly center: number;
  /** Window Width (0028,1051). */
  readonly width: number;
  /** VOI LUT Function (0028,1056); `LINEAR` when absent. */
  readonly function: VoiLutFunction;
  /** Window Center & Width Explanation (0028,1055), or the preset's name. */
  readonly explanation?: string;
}

/** Rescale Slope/Intercept: modality value = stored × slope + intercept. */
export interface Rescale {
  /** Rescale Slope (0028,1053); 1 when absent. */
  readonly slope: number;
  /** Rescale Intercept (0028,1052); 0 when absent. */
  readonly intercept: number;
  /** Rescale Type (0028,1054), e.g. `HU`, when present. */
  readonly type?: string;
}

/**
 * The attributes of one DICOM instance that imaging code needs, typed. Optional fields are absent when the file does
 * not carry them (no guessing); multi-valued ones keep DICOM order (`pixelSpacing` is [row spacing, column spacing]).
 */
export interface DicomMetadata {
  /** Transfer Syntax UID the data set was read with. */
  readonly transferSyntaxUid: string;
  /** SOP Class UID (0008,0016). */
  readonly sopClassUid?: string;
  /** SOP Instance UID (0008,0018). */
  readonly sopInstanceUid?: string;
  /** Patient ID (0010,0020). */
  readonly patientId?: string;
  /** Patient's Name (0010,0010), as stored (`Family^Given`). */
  readonly patientName?: string;
  /** Study Instance UID (0020,000D). */
  readonly studyInstanceUid?: string;
  /** Series Instance UID (0020,000E). */
  readonly seriesInstanceUid?: string;
  /** Frame of Reference UID (0020,0052). */
  readonly frameOfReferenceUid?: string;
  /** Study Date (0008,0020), `YYYYMMDD`. */
  readonly studyDate?: string;
  /** Accession Number (0008,0050). */
  readonly accessionNumber?: string;
  /** Study Description (0008,1030). */
  readonly studyDescription?: string;
  /** Series Description (0008,103E). */
  readonly seriesDescription?: string;
  /** Series Number (0020,0011). */
  readonly seriesNumber?: number;
  /** Instance Number (0020,0013). */
  readonly instanceNumber?: number;
  /** Modality (0008,0060), e.g. `CT`. */
  readonly modality?: string;
  /** Rows (0028,0010); 0 when the data set has no image. */
  readonly rows: number;
  /** Columns (0028,0011); 0 when the data set has no image. */
  readonly columns: number;
  /** Number of Frames (0028,0008); 1 when absent. */
  readonly numberOfFrames: number;
  /** Samples per Pixel (0028,0002): 1 (grey or palette) or 3 (colour). */
  readonly samplesPerPixel: number;
  /** Bits Allocated (0028,0100): the container size, 8, 16 or 32. */
  readonly bitsAllocated: number;
  /** Bits Stored (0028,0101): significant bits of each container. */
  readonly bitsStored: number;
  /** High Bit (0028,0102). */
  readonly highBit: number;
  /** Pixel Representation (0028,0103) is 1: stored values are two's complement. */
  readonly signed: boolean;
  /** Photometric Interpretation (0028,0004), e.g. `MONOCHROME2`, `RGB`, `YBR_FULL_422`, `PALETTE COLOR`. */
  readonly photometricInterpretation: string;
  /** Planar Configuration (0028,0006): 0 = RGBRGB…, 1 = RR…GG…BB…. */
  readonly planarConfiguration: 0 | 1;
  /** Pixel Spacing (0028,0030) in mm as [row spacing, column spacing]; Imager Pixel Spacing when only that exists. */
  readonly pixelSpacing?: readonly [number, number];
  /** Slice Thickness (0018,0050), mm. */
  readonly sliceThickness?: number;
  /** Spacing Between Slices (0018,0088), mm. */
  readonly spacingBetweenSlices?: number;
  /** Image Position (Patient) (0020,0032), mm: the centre of the first transmitted pixel. */
  readonly imagePositionPatient?: readonly [number, number, number];
  /** Image Orientation (Patient) (0020,0037): row then column direction cosines. */
  readonly imageOrientationPatient?: readonly [number, number, number, number, number, number];
  /** Rescale slope/intercept, when the file has them. */
  readonly rescale?: Rescale;
  /** Modality LUT Sequence (0028,3000) table, when present (it replaces rescale). */
  readonly modalityLut?: LookupTable;
  /** Windows stored in the file, in file order. */
  readonly windows: readonly VoiWindow[];
  /** VOI LUT Sequence (0028,3010) tables, in file order. */
  readonly voiLuts: readonly LookupTable[];
  /** Lossy Image Compression (0028,2110) is `01`: the pixels were lossy-compressed at some point. */
  readonly lossyCompressed: boolean;
  /** The data set has Pixel Data (7FE0,0010). */
  readonly hasPixelData: boolean;
}


/**
 * An attribute that {@link readDicom} could not use as it stands — fewer values than it needs (Pixel Spacing with one
 * value, Image Position (Patient) with two, Window Width with fewer values than Window Center), a value that is no
 * finite number, an unusable table — and what it did instead (left it out of {@link DicomMetadata}, used the windows
 * that are complete, …). dcmtk and pydicom read such files; so does Lepton, and it says so here rather than failing.
 * The message never quotes the value (it could be patient data).
 */
export interface DicomAttributeIssue {
  /** The attribute's tag, `(GGGG,EEEE)`. */
  readonly tag: string;
  /** Its keyword in PS3.6, e.g. `PixelSpacing`. */
  readonly keyword: string;
  /** What was wrong with it and what was done instead. */
  readonly message: string;
}
