import type { DataSet } from 'dicom-parser';
import type { LookupTable } from '../lut/lookup-table.js';
import type { DicomAttributeIssue, DicomMetadata, VoiLutFunction, VoiWindow } from './types.js';
import { rescaleOverflows } from '../lut/modality.js';
import { AttributeReader, textAt, usAt } from './values.js';

/**
 * Reads a LUT descriptor + data from a sequence item. The descriptor's first value 0 means 65536 entries, and its
 * second value is signed when the pixel data is (PS3.3 C.11.1.1.1); 8-bit entries may come one per 16-bit word (the
 * usual encoding) or packed two per word (some older writers), and both are accepted. A table whose bit depth is
 * outside 1–16 is no usable table (undefined), as one whose data is shorter than its descriptor says.
 * @internal
 */
export function readLookupTable(item: DataSet, signedInput: boolean): LookupTable | undefined {
  const descriptor = item.elements['x00283002'];
  const dataEl = item.elements['x00283006'];
  if (descriptor === undefined || dataEl === undefined) return undefined;
  // a descriptor shorter than its three values, or values claiming more bytes than the file has, is no table
  if (descriptor.length < 6 || dataEl.dataOffset + dataEl.length > item.byteArray.length) return undefined;
  const entriesRaw = usAt(item, 'x00283002', 0) ?? 0;
  const entries = entriesRaw === 0 ? 65536 : entriesRaw;
  const firstRaw = usAt(item, 'x00283002', 1) ?? 0;
  const firstMapped = signedInput && firstRaw > 0x7fff ? firstRaw - 0x10000 : firstRaw;
  const bits = usAt(item, 'x00283002', 2) ?? 16;
  // PS3.3 C.11.1.1.1 / C.11.2.1.1: entries are 8 to 16 bits; a depth outside 1–16 cannot be applied (the renderer refuses it)
  if (!(bits >= 1 && bits <= 16)) return undefined;
  const data = new Uint16Array(entries);
  if (dataEl.length >= entries * 2) {
    for (let i = 0; i < entries; i++) data[i] = usAt(item, 'x00283006', i) ?? 0;
  } else if (bits <= 8 && dataEl.length >= entries) {
    const bytes = item.byteArray;
    for (let i = 0; i < entries; i++) data[i] = bytes[dataEl.dataOffset + i] ?? 0;
  } else {
    return undefined;
  }
  const explanation = textAt(item, 'x00283003');
  const type = textAt(item, 'x00283004');
  return {
    firstMapped,
    bits,
    data,
    ...(explanation === undefined ? {} : { explanation }),
    ...(type === undefined ? {} : { type }),
  };
}

const VOI_FUNCTIONS: ReadonlySet<string> = new Set(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']);

function readWindows(r: AttributeReader): VoiWindow[] {
  const fnRaw = r.text('x00281056')?.toUpperCase();
  const fn: VoiLutFunction = fnRaw !== undefined && VOI_FUNCTIONS.has(fnRaw) ? (fnRaw as VoiLutFunction) : 'LINEAR';
  if (!r.has('x00281050')) return [];
  const centers = r.numbers('x00281050', 'WindowCenter');
  const widths = r.has('x00281051') ? r.numbers('x00281051', 'WindowWidth') : [];
  const explanations = r.texts('x00281055');
  if (widths.length < centers.length) {
    r.issue(
      'x00281051',
      'WindowWidth',
      `It has ${widths.length} value(s) where Window Center has ${centers.length}: window(s) ${widths.length + 1}–${centers.length} have no width and were ignored.`,
    );
  }
  if (r.has('x00281055') && explanations.length < centers.length) {
    r.issue(
      'x00281055',
      'WindowCenterWidthExplanation',
      `It has ${explanations.length} value(s) where Window Center has ${centers.length}: window(s) ${explanations.length + 1}–${centers.length} have no explanation.`,
    );
  }
  const windows: VoiWindow[] = [];
  for (let i = 0; i < centers.length; i++) {
    const center = centers[i];
    const width = widths[i];
    if (center === undefined || width === undefined) continue; // not a number (recorded) or missing (recorded above)
    if (!(width > 0)) {
      r.issue('x00281051', 'WindowWidth', `Value ${i + 1} is not positive, so window ${i + 1} was ignored.`);
      continue;
    }
    if (fn === 'LINEAR' && !(width >= 1)) {
      // PS3.3 C.11.2.1.2.1: a LINEAR window's width is ≥ 1 (the renderer refuses less)
      r.issue('x00281051', 'WindowWidth', `Value ${i + 1} is below 1, which the LINEAR VOI function does not allow, so window ${i + 1} was ignored.`);
      continue;
    }
    const explanation = explanations[i];
    windows.push({ center, width, function: fn, ...(explanation ? { explanation } : {}) });
  }
  return windows;
}

function sequenceItems(ds: DataSet, tag: string): DataSet[] {
  const items = ds.elements[tag]?.items ?? [];
  return items.map((item) => item.dataSet).filter((d): d is DataSet => d !== undefined);
}

/** Photometric Interpretations of PS3.3 C.7.6.3.1.2 (retired ones included), by their number of samples per pixel. */
const PHOTOMETRIC_SAMPLES: Readonly<Record<string, number>> = {
  MONOCHROME1: 1,
  MONOCHROME2: 1,
  'PALETTE COLOR': 1,
  RGB: 3,
  HSV: 3,
  YBR_FULL: 3,
  YBR_FULL_422: 3,
  YBR_PARTIAL_422: 3,
  YBR_PARTIAL_420: 3,
  YBR_ICT: 3,
  YBR_RCT: 3,
  ARGB: 4,
  CMYK: 4,
};

/**
 * Records a Photometric Interpretation that DICOM does not define, or that does not fit Samples per Pixel: such an
 * image is decoded as greyscale (one sample) or refused (three samples, not colour), and the caller must be able to
 * see that the file said something else. An unknown value is not quoted (it is free text in a hostile file).
 */
function checkPhotometric(r: AttributeReader): void {
  const pi = r.text('x00280004')?.toUpperCase();
  if (pi === undefined) return;
  const samples = r.us('x00280002');
  const expected = PHOTOMETRIC_SAMPLES[pi];
  if (expected === undefined) {
    r.issue('x00280004', 'PhotometricInterpretation', 'Its value is not one DICOM defines (PS3.3 C.7.6.3.1.2); a one-sample image is decoded as greyscale (MONOCHROME2), a three-sample one is refused.');
  } else if (samples !== undefined && samples !== expected) {
    r.issue(
      'x00280004',
      'PhotometricInterpretation',
      `${pi} needs ${expected} sample(s) per pixel but Samples per Pixel (0028,0002) is ${samples}: ${samples === 1 ? 'the image is decoded as greyscale' : 'decoding refuses the image'}; the file is inconsistent, re-export it.`,
    );
  }
}

/**
 * Builds the typed metadata of a parsed data set, and lists the attributes it had to leave out (fewer values than
 * the attribute needs, values that are no numbers …) instead of failing on them.
 * @internal
 */
export function extractMetadata(ds: DataSet, transferSyntaxUid: string): { meta: DicomMetadata; issues: DicomAttributeIssue[] } {
  const r = new AttributeReader(ds);
  const signed = (r.us('x00280103') ?? 0) === 1;
  const bitsAllocated = r.us('x00280100') ?? 0;
  const bitsStored = r.us('x00280101') ?? bitsAllocated;
  const positive = (v: number): boolean => v > 0;
  const spacing =
    r.vector('x00280030', 'PixelSpacing', 2, positive, 'positive') ??
    r.vector('x00181164', 'ImagerPixelSpacing', 2, positive, 'positive');
  const ipp = r.vector('x00200032', 'ImagePositionPatient', 3);
  const iop = r.vector('x00200037', 'ImageOrientationPatient', 6);
  const slope = r.number('x00281053', 'RescaleSlope');
  const intercept = r.number('x00281052', 'RescaleIntercept');
  const rescaleType = r.text('x00281054');
  if (slope === 0) {
    r.issue('x00281053', 'RescaleSlope', 'Its value is 0: every pixel maps to Rescale Intercept, so the modality values carry no image; check the file with `dcmdump`.');
  }
  if ((slope !== undefined || intercept !== undefined) && rescaleOverflows(slope ?? 1, intercept ?? 0, bitsStored, signed)) {
    r.issue(
      'x00281053',
      'RescaleSlope',
      'Rescale Slope and Intercept map the stored values beyond the float32 range (±3.4e38): modality values cannot be represented, so modalityFrame, applyModalityLut and buildVolume refuse this image.',
    );
  }
  const modalityLut = sequenceItems(ds, 'x00283000')
    .map((item) => readLookupTable(item, signed))
    .find((t) => t !== undefined);
  if (r.has('x00283000') && modalityLut === undefined) {
    r.issue('x00283000', 'ModalityLUTSequence', 'It holds no usable table (descriptor or data missing or too short); it was ignored.');
  }
  const voiItems = sequenceItems(ds, 'x00283010');
  const voiLuts: LookupTable[] = [];
  voiItems.forEach((item, i) => {
    const t = readLookupTable(item, signed);
    if (t !== undefined) voiLuts.push(t);
    else r.issue('x00283010', 'VOILUTSequence', `Item ${i + 1} holds no usable table (descriptor or data missing or too short, or entries not 1–16 bits); it was ignored.`);
  });
  checkPhotometric(r);
  const framesRaw = r.integer('x00280008', 'NumberOfFrames');
  if (framesRaw !== undefined && framesRaw < 1) r.issue('x00280008', 'NumberOfFrames', 'Its value is below 1; 1 frame was assumed.');
  // Optional fields are set only when present (no `undefined` values, exactOptionalPropertyTypes), without deleting
  // keys afterwards (a delete turns the object into a slow dictionary).
  const optional: Record<string, unknown> = {};
  const put = (key: keyof DicomMetadata, value: unknown): void => {
    if (value !== undefined) optional[key] = value;
  };
  put('sopClassUid', r.text('x00080016'));
  put('sopInstanceUid', r.text('x00080018'));
  put('patientId', r.text('x00100020'));
  put('patientName', r.text('x00100010'));
  put('studyInstanceUid', r.text('x0020000d'));
  put('seriesInstanceUid', r.text('x0020000e'));
  put('frameOfReferenceUid', r.text('x00200052'));
  put('studyDate', r.text('x00080020'));
  put('accessionNumber', r.text('x00080050'));
  put('studyDescription', r.text('x00081030'));
  put('seriesDescription', r.text('x0008103e'));
  put('seriesNumber', r.integer('x00200011', 'SeriesNumber'));
  put('instanceNumber', r.integer('x00200013', 'InstanceNumber'));
  put('modality', r.text('x00080060'));
  put('pixelSpacing', spacing);
  put('sliceThickness', r.number('x00180050', 'SliceThickness'));
  put('spacingBetweenSlices', r.number('x00180088', 'SpacingBetweenSlices'));
  put('imagePositionPatient', ipp);
  put('imageOrientationPatient', iop);
  put(
    'rescale',
    slope === undefined && intercept === undefined
      ? undefined
      : { slope: slope ?? 1, intercept: intercept ?? 0, ...(rescaleType === undefined ? {} : { type: rescaleType }) },
  );
  put('modalityLut', modalityLut);
  const meta = {
    transferSyntaxUid,
    rows: r.us('x00280010') ?? 0,
    columns: r.us('x00280011') ?? 0,
    numberOfFrames: Math.max(1, framesRaw ?? 1),
    samplesPerPixel: r.us('x00280002') ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: r.us('x00280102') ?? bitsStored - 1,
    signed,
    photometricInterpretation: (r.text('x00280004') ?? 'MONOCHROME2').toUpperCase(),
    planarConfiguration: (r.us('x00280006') ?? 0) === 1 ? 1 : 0,
    windows: readWindows(r),
    voiLuts,
    lossyCompressed: r.text('x00282110') === '01',
    hasPixelData: ds.elements['x7fe00010'] !== undefined,
    ...(optional as Partial<DicomMetadata>),
  } as DicomMetadata;
  return { meta, issues: r.issues };
}
