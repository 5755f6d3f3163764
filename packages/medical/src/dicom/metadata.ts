import type { DataSet } from 'dicom-parser';
import type { LookupTable } from '../lut/lookup-table.js';
import type { DicomMetadata, VoiLutFunction, VoiWindow } from './types.js';

/**
 * Reads a LUT descriptor + data from a sequence item. The descriptor's first value 0 means 65536 entries, and its
 * second value is signed when the pixel data is (PS3.3 C.11.1.1.1); 8-bit entries may come one per 16-bit word (the
 * usual encoding) or packed two per word (some older writers), and both are accepted.
 * @internal
 */
export function readLookupTable(item: DataSet, signedInput: boolean): LookupTable | undefined {
  const descriptor = item.elements['x00283002'];
  const dataEl = item.elements['x00283006'];
  if (descriptor === undefined || dataEl === undefined) return undefined;
  const entriesRaw = item.uint16('x00283002', 0) ?? 0;
  const entries = entriesRaw === 0 ? 65536 : entriesRaw;
  const firstRaw = item.uint16('x00283002', 1) ?? 0;
  const firstMapped = signedInput && firstRaw > 0x7fff ? firstRaw - 0x10000 : firstRaw;
  const bits = item.uint16('x00283002', 2) ?? 16;
  const data = new Uint16Array(entries);
  if (dataEl.length >= entries * 2) {
    for (let i = 0; i < entries; i++) data[i] = item.uint16('x00283006', i) ?? 0;
  } else if (bits <= 8 && dataEl.length >= entries) {
    const bytes = item.byteArray;
    for (let i = 0; i < entries; i++) data[i] = bytes[dataEl.dataOffset + i] ?? 0;
  } else {
    return undefined;
  }
  const explanation = item.string('x00283003');
  const type = item.string('x00283004');
  return {
    firstMapped,
    bits,
    data,
    ...(explanation === undefined ? {} : { explanation }),
    ...(type === undefined ? {} : { type }),
  };
}

const num = (ds: DataSet, tag: string, index = 0): number | undefined => {
  const v = ds.floatString(tag, index);
  return v === undefined || Number.isNaN(v) ? undefined : v;
};

const str = (ds: DataSet, tag: string): string | undefined => {
  const v = ds.string(tag);
  return v === undefined || v === '' ? undefined : v;
};

const numbers = (ds: DataSet, tag: string, count: number): number[] | undefined => {
  if (ds.elements[tag] === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = num(ds, tag, i);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
};

const VOI_FUNCTIONS: ReadonlySet<string> = new Set(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']);

function readWindows(ds: DataSet): VoiWindow[] {
  const fnRaw = str(ds, 'x00281056')?.toUpperCase();
  const fn: VoiLutFunction = fnRaw !== undefined && VOI_FUNCTIONS.has(fnRaw) ? (fnRaw as VoiLutFunction) : 'LINEAR';
  const n = ds.elements['x00281050'] === undefined ? 0 : (ds.numStringValues('x00281050') ?? 0);
  const windows: VoiWindow[] = [];
  for (let i = 0; i < n; i++) {
    const center = num(ds, 'x00281050', i);
    const width = num(ds, 'x00281051', i);
    if (center === undefined || width === undefined || !(width > 0)) continue;
    const explanation = ds.string('x00281055', i);
    windows.push({ center, width, function: fn, ...(explanation ? { explanation } : {}) });
  }
  return windows;
}

function sequenceItems(ds: DataSet, tag: string): DataSet[] {
  const items = ds.elements[tag]?.items ?? [];
  return items.map((item) => item.dataSet).filter((d): d is DataSet => d !== undefined);
}

/**
 * Builds the typed metadata of a parsed data set.
 * @internal
 */
export function extractMetadata(ds: DataSet, transferSyntaxUid: string): DicomMetadata {
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 0;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const spacing = numbers(ds, 'x00280030', 2) ?? numbers(ds, 'x00181164', 2);
  const ipp = numbers(ds, 'x00200032', 3);
  const iop = numbers(ds, 'x00200037', 6);
  const slope = num(ds, 'x00281053');
  const intercept = num(ds, 'x00281052');
  const rescaleType = str(ds, 'x00281054');
  const modalityLut = sequenceItems(ds, 'x00283000')
    .map((item) => readLookupTable(item, signed))
    .find((t) => t !== undefined);
  const voiLuts = sequenceItems(ds, 'x00283010')
    .map((item) => readLookupTable(item, signed))
    .filter((t): t is LookupTable => t !== undefined);
  const optional: Record<string, unknown> = {
    sopClassUid: str(ds, 'x00080016'),
    sopInstanceUid: str(ds, 'x00080018'),
    patientId: str(ds, 'x00100020'),
    patientName: str(ds, 'x00100010'),
    studyInstanceUid: str(ds, 'x0020000d'),
    seriesInstanceUid: str(ds, 'x0020000e'),
    frameOfReferenceUid: str(ds, 'x00200052'),
    studyDate: str(ds, 'x00080020'),
    accessionNumber: str(ds, 'x00080050'),
    studyDescription: str(ds, 'x00081030'),
    seriesDescription: str(ds, 'x0008103e'),
    seriesNumber: ds.intString('x00200011'),
    instanceNumber: ds.intString('x00200013'),
    modality: str(ds, 'x00080060'),
    pixelSpacing: spacing,
    sliceThickness: num(ds, 'x00180050'),
    spacingBetweenSlices: num(ds, 'x00180088'),
    imagePositionPatient: ipp,
    imageOrientationPatient: iop,
    rescale:
      slope === undefined && intercept === undefined
        ? undefined
        : { slope: slope ?? 1, intercept: intercept ?? 0, ...(rescaleType === undefined ? {} : { type: rescaleType }) },
    modalityLut,
  };
  for (const k of Object.keys(optional)) {
    const v = optional[k];
    if (v === undefined || (typeof v === 'number' && Number.isNaN(v))) delete optional[k];
  }
  return {
    transferSyntaxUid,
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    numberOfFrames: Math.max(1, ds.intString('x00280008') ?? 1),
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: ds.uint16('x00280102') ?? bitsStored - 1,
    signed,
    photometricInterpretation: (str(ds, 'x00280004') ?? 'MONOCHROME2').toUpperCase(),
    planarConfiguration: (ds.uint16('x00280006') ?? 0) === 1 ? 1 : 0,
    windows: readWindows(ds),
    voiLuts,
    lossyCompressed: str(ds, 'x00282110') === '01',
    hasPixelData: ds.elements['x7fe00010'] !== undefined,
    ...(optional as Partial<DicomMetadata>),
  } as DicomMetadata;
}
