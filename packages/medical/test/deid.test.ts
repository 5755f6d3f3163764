// De-identification by the PS3.15 Annex E Basic Profile, checked on a synthetic study full of identifying values
// (fixtures/deid, made by make_deid_fixtures.sh; every planted value is listed in deid/phi.json): no planted value or
// original UID may survive anywhere in an output file's bytes, every output must read back with dcmtk's dcmdump,
// pixel data must be bit-identical, UIDs must be remapped consistently across the study, private tags must go.
// Every output is also checked against the independent scan of its input (support/deid-scan.ts): whatever dcmtk
// finds identifying in the input (UIDs anywhere, PHI attributes, names, private values) must not be in the output.
// Hostile inputs (UN-encoded sequences, burned-in annotation, deep nesting) are in deid-hostile.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  BASIC_PROFILE,
  DicomDeidentifier,
  deidentifyDicomFolder,
  isLeptonError,
  readDicom,
  type DeidentifyFolderResult,
  type DicomLoadFailure,
} from '@lepton/medical';
import { dcmdumpVerdict, dcmdumpVerdictsOfFiles, HAS_DCMDUMP, leaks, originalValues, originalValuesOfFiles } from './support/deid-scan.js';
import { dicomPath, FIXTURES } from './support/fixtures.js';

const DEID = join(FIXTURES, 'deid');
const STUDY = join(DEID, 'study');
interface Phi {
  strings: string[];
  uids: string[];
  sop: Record<string, string>;
  study: string;
  seriesA: string;
  seriesB: string;
  frameOfReference: string;
}
const PHI = JSON.parse(readFileSync(join(DEID, 'phi.json'), 'utf8')) as Phi;
const SECRET = 'lepton-test-secret';

/** dicom-parser, with the inflater deflated files need: an independent look at what was written. */
function parse(bytes: Uint8Array, transferSyntaxUid?: string): DataSet {
  return dicomParser.parseDicom(bytes, {
    ...(transferSyntaxUid === undefined ? {} : { TransferSyntaxUID: transferSyntaxUid }),
    // dicom-parser uses the inflater's return value (its typings say void)
    inflater: ((b: Uint8Array, position: number): Uint8Array => {
      const inflated = inflateRawSync(b.subarray(position));
      const full = new Uint8Array(position + inflated.length);
      full.set(b.subarray(0, position), 0);
      full.set(inflated, position);
      return full;
    }) as unknown as (b: Uint8Array, position: number) => void,
  });
}

/** The Pixel Data element's value bytes exactly as stored (encapsulated: the items and the delimiter too). */
function pixelValue(bytes: Uint8Array, transferSyntaxUid?: string): Uint8Array {
  const ds = parse(bytes, transferSyntaxUid);
  const el = ds.elements['x7fe00010']!;
  return ds.byteArray.slice(el.dataOffset, el.dataOffset + el.length);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle));
}

/** Every encoding a planted value could be written in: Latin-1 (as in the input), UTF-8 (as dcmjs writes). */
const encodings = (s: string): Uint8Array[] => [Buffer.from(s, 'latin1'), Buffer.from(s, 'utf8')];

/** All elements of a data set, at any depth. */
function* walk(ds: DataSet): Generator<[string, DataSet]> {
  for (const [tag, el] of Object.entries(ds.elements)) {
    yield [tag, ds];
    for (const item of el.items ?? []) if (item.dataSet !== undefined) yield* walk(item.dataSet);
  }
}

const item = (ds: DataSet, tag: string): DataSet => ds.elements[tag]!.items![0]!.dataSet!;

let outDir: string;
let result: DeidentifyFolderResult;
const reported: DicomLoadFailure[] = [];
const input = new Map<string, Uint8Array>(); // by source file name
const output = new Map<string, Uint8Array>(); // by source file name

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'lepton-deid-'));
  result = await deidentifyDicomFolder(STUDY, outDir, { secret: SECRET }, { onFailure: (f) => reported.push(f) });
  for (const f of result.files) {
    input.set(basename(f.source), new Uint8Array(readFileSync(f.source)));
    output.set(basename(f.source), new Uint8Array(readFileSync(f.output)));
  }
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const SOURCES = ['IM0002.dcm', 'IM0003.dcm', 'IM0004.dcm', 'IM0005.dcm', 'MUELLER_JORG_1.dcm', 'MF0001.dcm'];

describe('deidentifyDicomFolder', () => {
  it('de-identifies every DICOM file and reports the bad ones without stopping', () => {
    expect(result.files.map((f) => basename(f.source)).sort()).toEqual([...SOURCES].sort());
    expect(result.failures.map((f) => [basename(f.path), f.error.code])).toEqual([
      ['broken.dcm', 'DICOM_TRUNCATED'],
      ['notes.txt', 'DICOM_NOT_DICOM'],
    ]);
    expect(reported).toEqual(result.failures);
    for (const f of result.failures) expect(f.error.message).not.toMatch(/MRN|MÜLLER|MUELLER/);
  });

  it('names outputs by their new SOP Instance UID, never after the input file', () => {
    expect(readdirSync(outDir).sort()).toEqual(result.files.map((f) => `${f.sopInstanceUid}.dcm`).sort());
    for (const name of readdirSync(outDir)) expect(name).not.toMatch(/MUELLER|JORG|IM000|MF0001/);
  });

  it('rejects writing into the input folder itself', async () => {
    await expect(deidentifyDicomFolder(STUDY, STUDY)).rejects.toSatisfy((e) => isLeptonError(e, 'INVALID_ARGUMENT'));
  });
});

describe('no identifying value survives', () => {
  it('the fixtures do contain every planted value (so the search below can find them)', () => {
    const all = Buffer.concat([...input.values()].map((b) => Buffer.from(b)));
    for (const s of PHI.strings) expect(encodings(s).some((e) => indexOfBytes(all, e) >= 0), s).toBe(true);
    for (const uid of PHI.uids) expect(indexOfBytes(all, Buffer.from(uid)), uid).toBeGreaterThanOrEqual(0);
  });

  it.each(SOURCES)('%s: no planted value or original UID anywhere in the output bytes', (source) => {
    const bytes = output.get(source)!;
    for (const s of PHI.strings) for (const e of encodings(s)) expect(indexOfBytes(bytes, e), `${s} in ${source}`).toBe(-1);
    const original = readDicom(input.get(source)!).meta;
    const uids = [...PHI.uids, original.sopInstanceUid!, original.studyInstanceUid!, original.seriesInstanceUid!, original.frameOfReferenceUid!];
    for (const uid of uids) expect(indexOfBytes(bytes, Buffer.from(uid)), `${uid} in ${source}`).toBe(-1);
    expect([...bytes.subarray(0, 128)].every((b) => b === 0)).toBe(true); // preamble replaced
  });

  it.each(SOURCES)('%s: private attributes are gone at every depth', (source) => {
    const inTags = [...walk(parse(input.get(source)!))].map(([t]) => t);
    expect(inTags.some((t) => parseInt(t.slice(1, 5), 16) % 2 === 1)).toBe(true);
    const outTags = [...walk(parse(output.get(source)!))].map(([t]) => t);
    expect(outTags.filter((t) => parseInt(t.slice(1, 5), 16) % 2 === 1)).toEqual([]);
  });
});

describe.skipIf(!HAS_DCMDUMP)('dcmtk reads every output (dcmdump; skipped when dcmtk is not installed: apt-get install dcmtk)', () => {
  it.each(SOURCES)('%s: no error or warning, and nothing dcmtk finds identifying in the input is in the output', (source) => {
    const f = result.files.find((x) => basename(x.source) === source)!;
    const original = originalValues(input.get(source)!);
    expect(original.parsedCleanly).toBe(true);
    expect(original.uids.length).toBeGreaterThanOrEqual(8); // the scan does see the study's UIDs
    expect(original.strings).toEqual(expect.arrayContaining(['MRN-4471-XY', 'MÜLLER', 'ACME_PRIVATE', 'PatientID=MRN-4471-XY;Name=MÜLLER;']));
    expect(leaks(output.get(source)!, original)).toEqual([]);
    const verdict = dcmdumpVerdict(output.get(source)!);
    expect(verdict.stderr).toBe('');
    expect(verdict.ok).toBe(true);
    const run = spawnSync('dcmdump', ['-q', '+L', '-M', f.output], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(run.status, run.stderr).toBe(0);
    const dump = run.stdout;
    for (const s of PHI.strings) expect(dump.includes(s), s).toBe(false);
    for (const uid of PHI.uids) expect(dump.includes(uid), uid).toBe(false);
    expect(dump).toMatch(/\(0012,0062\) CS \[YES\]/);
    expect(dump).toMatch(/\(0012,0063\) LO \[PS3\.15 Annex E Basic Profile/);
    expect(dump).toMatch(/\(0008,0100\) SH \[113100\][\s\S]*\(0008,0102\) SH \[DCM\]/);
    expect(dump).toMatch(/\(0010,0010\) PN \(no value available\)/);
    expect(dump).not.toMatch(/^\s*\([0-9a-f]{3}[13579bdf],[0-9a-f]{4}\)/im); // no private group at any depth
    expect(dump).toMatch(new RegExp(`\\(0002,0003\\) UI \\[${f.sopInstanceUid.replace(/\./g, '\\.')}\\]`));
  });
});

describe('pixel data is bit-identical', () => {
  it.each(SOURCES)('%s: the Pixel Data element value is copied byte for byte, and decodes to the same frames', async (source) => {
    const before = input.get(source)!;
    const after = output.get(source)!;
    expect(pixelValue(after)).toEqual(pixelValue(before));
    const a = await readDicom(before).decodeFrames();
    const b = await readDicom(after).decodeFrames();
    expect(b.map((f) => f.pixels)).toEqual(a.map((f) => f.pixels));
  });

  it('keeps the transfer syntax, except Deflated (written as Explicit VR Little Endian)', () => {
    const ts = (s: string): string => readDicom(output.get(s)!).meta.transferSyntaxUid;
    expect(ts('IM0002.dcm')).toBe('1.2.840.10008.1.2');
    expect(ts('IM0003.dcm')).toBe('1.2.840.10008.1.2.2');
    expect(ts('IM0004.dcm')).toBe('1.2.840.10008.1.2.1');
    expect(ts('IM0005.dcm')).toBe('1.2.840.10008.1.2.5');
    expect(ts('MF0001.dcm')).toBe('1.2.840.10008.1.2.4.80');
  });

  it('every reader fixture (all transfer syntaxes, bare data sets) keeps its pixels byte for byte', async () => {
    // 'allow': several are unmarked secondary captures, which the default burned-in policy refuses; pixels are the point here
    const deid = new DicomDeidentifier({ secret: SECRET, burnedInAnnotation: 'allow' });
    const names = readdirSync(join(FIXTURES, 'dicom')).map((n) => n.replace(/\.dcm$/, ''));
    expect(names.length).toBeGreaterThan(60);
    const written: { name: string; input: string; output: string; bytes: Uint8Array }[] = [];
    const readerOut = mkdtempSync(join(tmpdir(), 'lepton-deid-readers-'));
    onTestFinished(() => rmSync(readerOut, { recursive: true, force: true }));
    for (const name of names) {
      const bytes = new Uint8Array(readFileSync(dicomPath(name)));
      const inMeta = readDicom(bytes).meta;
      if (!inMeta.hasPixelData) continue;
      const out = deid.deidentify(bytes, { source: name });
      const bare = name.includes('_bare_');
      expect(pixelValue(out.bytes), name).toEqual(pixelValue(bytes, bare ? inMeta.transferSyntaxUid : undefined));
      expect(readDicom(out.bytes).meta.rows, name).toBe(inMeta.rows);
      if (!bare) {
        const output = join(readerOut, `${name}.dcm`);
        writeFileSync(output, out.bytes);
        written.push({ name, input: dicomPath(name), output, bytes: out.bytes });
      }
    }
    if (!HAS_DCMDUMP) return;
    // the independent scan and dcmtk's verdict on every output (batched: one dcmdump run each when all is well)
    const originals = originalValuesOfFiles(written.map((w) => w.input));
    written.forEach((w, i) => expect(leaks(w.bytes, originals[i]!), w.name).toEqual([]));
    for (const v of dcmdumpVerdictsOfFiles(written.map((w) => w.output))) expect(v.stderr, v.path).toBe('');
  });
});

describe('UIDs are remapped consistently across the study', () => {
  const meta = (s: string) => readDicom(output.get(s)!).meta;
  const uidForm = /^2\.25\.(0|[1-9]\d*)$/;

  it('one new Study, Series and Frame of Reference UID per original, all in 2.25 form', () => {
    const studies = new Set(SOURCES.map((s) => meta(s).studyInstanceUid));
    expect(studies.size).toBe(1);
    const seriesA = new Set(SOURCES.filter((s) => s !== 'MF0001.dcm').map((s) => meta(s).seriesInstanceUid));
    expect(seriesA.size).toBe(1);
    expect(meta('MF0001.dcm').seriesInstanceUid).not.toBe([...seriesA][0]);
    expect(new Set(SOURCES.map((s) => meta(s).frameOfReferenceUid)).size).toBe(1);
    expect(new Set(SOURCES.map((s) => meta(s).sopInstanceUid)).size).toBe(SOURCES.length);
    for (const s of SOURCES) {
      const m = meta(s);
      for (const uid of [m.studyInstanceUid!, m.seriesInstanceUid!, m.sopInstanceUid!, m.frameOfReferenceUid!]) {
        expect(uid).toMatch(uidForm);
        expect(uid.length).toBeLessThanOrEqual(64);
        expect(BigInt(uid.slice(5)) < 2n ** 128n).toBe(true);
      }
      expect(parse(output.get(s)!).string('x00020003')).toBe(m.sopInstanceUid); // meta agrees with the data set
    }
    expect([...studies][0]).toBe(new DicomDeidentifier({ secret: SECRET }).mapUid(PHI.study));
  });

  it('references between instances still resolve (nested sequences included)', () => {
    const sopA = meta('MUELLER_JORG_1.dcm').sopInstanceUid;
    const b = parse(output.get('IM0002.dcm')!);
    expect(item(b, 'x00081140').string('x00081155')).toBe(sopA); // Referenced Image Sequence
    expect(item(b, 'x00081140').string('x00081150')).toBe('1.2.840.10008.5.1.4.1.1.2'); // SOP Class UIDs are kept
    const mf = parse(output.get('MF0001.dcm')!);
    expect(item(mf, 'x00082112').string('x00081155')).toBe(sopA); // Source Image Sequence
    const request = item(parse(output.get('IM0003.dcm')!), 'x0040a370'); // Referenced Request Sequence (not listed)
    expect(request.string('x0020000d')).toBe(meta('IM0003.dcm').studyInstanceUid);
    expect(request.string('x00080050') ?? '').toBe(''); // Accession Number inside it: emptied
  });

  it('is deterministic for a secret and different for another', () => {
    const bytes = input.get('MUELLER_JORG_1.dcm')!;
    const one = new DicomDeidentifier({ secret: SECRET }).deidentify(bytes);
    expect(one.bytes).toEqual(output.get('MUELLER_JORG_1.dcm'));
    const other = new DicomDeidentifier({ secret: 'another secret' }).deidentify(bytes);
    expect(other.sopInstanceUid).not.toBe(one.sopInstanceUid);
    const randomA = new DicomDeidentifier().deidentify(bytes);
    const randomB = new DicomDeidentifier().deidentify(bytes);
    expect(randomA.studyInstanceUid).not.toBe(randomB.studyInstanceUid);
  });
});

describe('the Basic Profile actions', () => {
  const ds = () => parse(output.get('MUELLER_JORG_1.dcm')!);
  const present = (tag: string): boolean => ds().elements[tag] !== undefined;
  const value = (tag: string): string | undefined => ds().string(tag);

  it('encodes Table E.1-1 for the attributes images commonly carry', () => {
    const action = (tag: string) => BASIC_PROFILE.get(tag)?.action;
    expect(BASIC_PROFILE.size).toBeGreaterThan(600);
    expect({
      PatientName: action('00100010'),
      PatientID: action('00100020'),
      PatientBirthDate: action('00100030'),
      PatientSex: action('00100040'),
      OtherPatientIDs: action('00101000'),
      OtherPatientIDsSequence: action('00101002'),
      AccessionNumber: action('00080050'),
      InstitutionName: action('00080080'),
      InstitutionAddress: action('00080081'),
      ReferringPhysicianName: action('00080090'),
      PerformingPhysicianName: action('00081050'),
      OperatorsName: action('00081070'),
      StudyID: action('00200010'),
      StudyDate: action('00080020'),
      StudyTime: action('00080030'),
      ContentDate: action('00080023'),
      DeviceSerialNumber: action('00181000'),
      StationName: action('00081010'),
      SOPInstanceUID: action('00080018'),
      StudyInstanceUID: action('0020000D'),
      SeriesInstanceUID: action('0020000E'),
      FrameOfReferenceUID: action('00200052'),
      ReferencedImageSequence: action('00081140'),
    }).toEqual({
      PatientName: 'Z',
      PatientID: 'Z/D',
      PatientBirthDate: 'Z',
      PatientSex: 'Z',
      OtherPatientIDs: 'X',
      OtherPatientIDsSequence: 'X',
      AccessionNumber: 'Z',
      InstitutionName: 'X/Z/D',
      InstitutionAddress: 'X',
      ReferringPhysicianName: 'Z',
      PerformingPhysicianName: 'X',
      OperatorsName: 'X/Z/D',
      StudyID: 'Z',
      StudyDate: 'Z',
      StudyTime: 'Z',
      ContentDate: 'Z/D',
      DeviceSerialNumber: 'X/Z/D',
      StationName: 'X/Z/D',
      SOPInstanceUID: 'U',
      StudyInstanceUID: 'U',
      SeriesInstanceUID: 'U',
      FrameOfReferenceUID: 'U',
      ReferencedImageSequence: 'X/Z/U*',
    });
  });

  it('X: removed', () => {
    for (const tag of ['x00101010', 'x00080081', 'x00081050', 'x00101000', 'x00101002', 'x00400275', 'x00204000', 'x00081030', 'x0008103e', 'x00101040', 'x00100021', 'x00321032', 'x00101030']) {
      expect(present(tag), tag).toBe(false);
    }
  });

  it('Z: present and empty', () => {
    for (const tag of ['x00100010', 'x00100030', 'x00100040', 'x00080050', 'x00200010', 'x00080020', 'x00080030', 'x00080090']) {
      expect(present(tag), tag).toBe(true);
      expect(value(tag) ?? '', tag).toBe('');
    }
    expect(ds().elements['x00081110']!.items ?? []).toEqual([]); // Referenced Study Sequence (X/Z): empty sequence
  });

  it('D: a dummy value (or a keyed pseudonym for Patient ID)', () => {
    expect(value('x00080080')).toBe('ANONYMIZED'); // Institution Name
    expect(value('x00081010')).toBe('ANONYMIZED'); // Station Name
    expect(value('x00181000')).toBe('ANONYMIZED'); // Device Serial Number
    expect(value('x00081070')).toBe('ANONYMIZED'); // Operators' Name
    expect(value('x00080021')).toBe('19000101'); // Series Date (X/D)
    expect(value('x00080023')).toBe('19000101'); // Content Date (Z/D)
    expect(value('x00100020')).toMatch(/^ANON-[0-9A-F]{16}$/);
    expect(new Set(SOURCES.map((s) => parse(output.get(s)!).string('x00100020'))).size).toBe(1); // one patient, one ID
  });

  it('keeps what the profile does not list, and records the method', () => {
    const before = readDicom(input.get('MUELLER_JORG_1.dcm')!).meta;
    const after = readDicom(output.get('MUELLER_JORG_1.dcm')!).meta;
    expect(after).toMatchObject({
      modality: 'CT',
      rows: before.rows,
      columns: before.columns,
      pixelSpacing: before.pixelSpacing,
      imagePositionPatient: before.imagePositionPatient,
      imageOrientationPatient: before.imageOrientationPatient,
      sliceThickness: 2.5,
      rescale: before.rescale,
      windows: before.windows,
    });
    expect(value('x00080070')).toBe('ACME MEDICAL SYSTEMS'); // Manufacturer: not listed
    expect(value('x00120062')).toBe('YES');
    expect(value('x00280303')).toBe('REMOVED');
    expect(item(ds(), 'x00120064').string('x00080100')).toBe('113100');
  });
});

describe('DicomDeidentifier options and errors', () => {
  const bytes = () => new Uint8Array(readFileSync(join(STUDY, 'IM0002.dcm')));

  it('replacement Patient ID/Name and per-tag overrides', () => {
    const out = new DicomDeidentifier({
      secret: SECRET,
      patientId: (original) => (original === 'MRN-4471-XY' ? 'SUBJ-001' : 'SUBJ-?'),
      patientName: 'SUBJECT^001',
      overrides: { '(0010,0040)': 'K', '00081090': 'X' },
    }).deidentify(bytes());
    const ds = parse(out.bytes);
    expect(ds.string('x00100020')).toBe('SUBJ-001');
    expect(ds.string('x00100010')).toBe('SUBJECT^001');
    expect(ds.string('x00100040')).toBe('M'); // kept by override
    expect(ds.elements['x00081090']).toBeUndefined(); // removed by override
    if (HAS_DCMDUMP) {
      expect(leaks(out.bytes, originalValues(bytes()))).toEqual([]);
      expect(dcmdumpVerdict(out.bytes).stderr).toBe('');
    }
  });

  it('bare data sets come out as Part 10 files', () => {
    const bare = new Uint8Array(readFileSync(dicomPath('ct_s16_bare_implicit')));
    const out = new DicomDeidentifier({ secret: SECRET }).deidentify(bare);
    const meta = readDicom(out.bytes).meta;
    expect(String.fromCharCode(...out.bytes.subarray(128, 132))).toBe('DICM');
    expect(meta.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(meta.patientName).toBeUndefined();
    if (HAS_DCMDUMP) {
      const original = originalValues(bare); // dcmdump reads a bare data set too
      expect(original.parsedCleanly).toBe(true);
      expect(original.uids.length).toBeGreaterThan(0);
      expect(leaks(out.bytes, original)).toEqual([]);
      expect(dcmdumpVerdict(out.bytes).stderr).toBe('');
    }
  });

  it('typed errors', () => {
    const deid = new DicomDeidentifier();
    expect(() => deid.deidentify(new TextEncoder().encode('not dicom at all'))).toThrow(expect.objectContaining({ code: 'DICOM_NOT_DICOM' }));
    expect(() => new DicomDeidentifier({ secret: '' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new DicomDeidentifier({ overrides: { '0010': 'X' } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new DicomDeidentifier({ overrides: { '00100010': 'Q' as 'X' } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new DicomDeidentifier({ methodDescription: 'x'.repeat(65) })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('mapUid: same input, same output; 2.25 form; at most 44 characters', () => {
    const deid = new DicomDeidentifier({ secret: SECRET });
    const a = deid.mapUid('1.2.3.4');
    expect(deid.mapUid('1.2.3.4')).toBe(a);
    expect(new DicomDeidentifier({ secret: SECRET }).mapUid('1.2.3.4')).toBe(a);
    expect(deid.mapUid('1.2.3.5')).not.toBe(a);
    expect(a).toMatch(/^2\.25\.[1-9]\d*$/);
    expect(a.length).toBeLessThanOrEqual(44);
    // the 128-bit value is an RFC 9562 version-8 UUID (PS3.5 B.2 derives 2.25 UIDs from UUIDs)
    const hex = BigInt(a.slice(5)).toString(16).padStart(32, '0');
    expect(hex[12]).toBe('8');
    expect(['8', '9', 'a', 'b']).toContain(hex[16]);
  });
});
