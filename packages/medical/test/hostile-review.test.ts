// Findings of a hostile review, each reproduced on a file built here from parameters (support/dicom-writer.ts; every
// value invented) and expected to end in a typed, documented outcome:
// 1. de-identification removed only what Table E.1-1 lists: person names and patient attributes it does not list
//    (Evaluator Name, an unknown patient-group tag, a tag with one bit flipped) survived under Patient Identity
//    Removed YES;
// 2. a DICOMweb bearer token with a newline came back in a DICOMWEB_UNREACHABLE message (fetch's TypeError quotes it);
// 3. Rescale Slope/Intercept of 1e308 gave Infinity "HU" from modalityFrame, applyModalityLut and buildVolume;
// 4. modalityFrame(i, out) wrote HU into a Uint8Array, and blamed the file for a plain array;
// 5. resampleVolume threw a raw RangeError (1e-6 mm spacing, slices 1e300 mm apart) or allocated 640 MB (1e7 mm);
// 6. a readDicomFolder/deidentifyDicomFolder callback that threw ended the whole folder with the raw error;
// 7. an undefined or inconsistent Photometric Interpretation, and Rescale Slope 0, were accepted without an issue;
// 8. (found by running the corruption property of deid-hostile.test.ts ten times longer) a wrong length field made a
//    kept attribute swallow the elements after it, and de-identification wrote the swallowed patient name inside it;
//    where the writer refused the value instead, it threw a raw Error quoting it (names and all); a UID attribute
//    stored with another VR, and a real file's over-long CS, failed with such raw errors; a patient ID whose tag lost
//    or gained a bit (an unknown overlay tag, a command-group tag, a CS attribute's tag) was kept;
// 9. readDicomFile('/dev/zero') read until memory ran out (8.7 GB after a minute), and a FIFO blocked forever.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyModalityLut,
  buildVolume,
  DicomDeidentifier,
  DicomWebClient,
  deidentifyDicomFolder,
  isLeptonError,
  MAX_RESAMPLE_VOXELS,
  MAX_DICOM_FILE_BYTES,
  readDicom,
  readDicomFile,
  readDicomFolder,
  resampleVolume,
  Volume,
} from '@lepton/medical';
import { dcmdumpVerdict, HAS_DCMDUMP } from './support/deid-scan.js';
import { ctSlice, type TestElement } from './support/dicom-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'lepton-hostile-review-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Everything an error exposes when logged: message, details, cause chain, stack. */
const everything = (err: unknown): string => `${inspect(err, { depth: 8 })} ${JSON.stringify((err as { details?: unknown }).details ?? {})}`;

async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

describe('1. de-identification: attributes Table E.1-1 does not list', () => {
  const PLANTED = ['EVALUATOR^PLANTED', 'REVIEWER^PLANTED', 'UNKNOWNPN^PLANTED', 'UNLISTEDID42', 'NESTEDEVAL^PLANTED', 'FLIPPED DESCRIPTION PLANTED'];
  const extra: TestElement[] = [
    { tag: '00142006', vr: 'PN', value: 'EVALUATOR^PLANTED' }, // EvaluatorName
    { tag: '00140104', vr: 'PN', value: 'REVIEWER^PLANTED' }, // SecondaryReviewerName
    { tag: '001000EF', vr: 'PN', value: 'UNKNOWNPN^PLANTED' }, // no such attribute: patient group, unknown
    { tag: '00101111', vr: 'LO', value: 'UNLISTEDID42' }, // patient group, not in the table
    { tag: '0008EF30', vr: 'LO', value: 'FLIPPED DESCRIPTION PLANTED' }, // Study Description (0008,1030) with a bit flipped
    // a sequence the profile keeps (Code Sequence-like, unknown to the table) holding an unlisted name
    { tag: '00540016', vr: 'SQ', value: [[{ tag: '00142006', vr: 'PN', value: 'NESTEDEVAL^PLANTED' }]] },
  ];

  it.each([
    ['Explicit VR', false],
    ['Implicit VR (unknown tags read as UN)', true],
  ])('%s: no unlisted name or patient attribute survives, and the file stays valid', (_, implicit) => {
    const input = ctSlice(extra, { implicit });
    for (const s of PLANTED) expect(latin1(input), s).toContain(s);
    const out = new DicomDeidentifier({ secret: 'hostile-review' }).deidentify(input);
    const text = latin1(out.bytes);
    for (const s of PLANTED) expect(text, s).not.toContain(s);
    const image = readDicom(out.bytes);
    expect(image.getString('00120062')).toBe('YES');
    // names an IOD may require are replaced by the dummy, not removed; unknown and patient-group tags are removed
    expect(image.getString('00142006')).toBe('ANONYMIZED');
    expect(image.getString('00140104')).toBe('ANONYMIZED');
    expect(image.getString('001000EF')).toBeUndefined();
    expect(image.getString('00101111')).toBeUndefined();
    expect(image.getString('0008EF30')).toBeUndefined();
    if (HAS_DCMDUMP) {
      const verdict = dcmdumpVerdict(out.bytes);
      expect(verdict.stderr).toBe('');
      expect(verdict.ok).toBe(true);
    }
  });

  it('an override still wins over the safe default', () => {
    const out = new DicomDeidentifier({ secret: 'hostile-review', overrides: { '00142006': 'K', '00101111': 'K' } }).deidentify(ctSlice(extra));
    const image = readDicom(out.bytes);
    expect(image.getString('00142006')).toBe('EVALUATOR^PLANTED');
    expect(image.getString('00101111')).toBe('UNLISTEDID42');
    expect(image.getString('00140104')).toBe('ANONYMIZED');
  });
});

describe('1b. a patientId/patientName function that throws', () => {
  it('is INVALID_ARGUMENT without the original value, and nothing is written', () => {
    const deid = new DicomDeidentifier({
      secret: 'hostile-review',
      patientName: (original) => {
        throw new Error(`cannot map ${original}`);
      },
    });
    let err: unknown;
    try {
      deid.deidentify(ctSlice([]));
    } catch (e) {
      err = e;
    }
    expect(isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect(everything(err)).not.toMatch(/cannot map/);
  });
});

describe('2. DICOMweb credentials never appear in an error', () => {
  const TOKEN = 'TOKEN-SECRET-4711';
  const okFetch = (seen: string[] = []) =>
    async (_url: string, init: RequestInit): Promise<Response> => {
      seen.push(new Headers(init.headers).get('authorization') ?? '');
      return new Response('[]', { status: 200, headers: { 'content-type': 'application/dicom+json' } });
    };

  it.each([
    ['a newline', `${TOKEN}\nline2`],
    ['a space', `${TOKEN} x`],
    ['a NUL', `${TOKEN}\0`],
    ['a non-ASCII character', `${TOKEN}€`],
    ['nothing', ''],
  ])('a bearer token with %s is DICOMWEB_INVALID_OPTIONS at construction, without the token', (_, token) => {
    const err = (() => {
      try {
        new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', auth: { type: 'bearer', token }, fetch: okFetch() });
      } catch (e) {
        return e;
      }
      throw new Error('expected a failure');
    })();
    expect(isLeptonError(err, 'DICOMWEB_INVALID_OPTIONS')).toBe(true);
    if (token !== '') expect(everything(err)).not.toContain('SECRET');
  });

  it('bad Basic credentials and header values are refused at construction without quoting them', () => {
    const bad = [
      { auth: { type: 'basic' as const, username: 'user:SECRET', password: 'x' } },
      { auth: { type: 'basic' as const, username: 'u', password: 'PW-SECRET\n' } },
      { auth: { type: 'basic' as const, username: 'u', password: 7 as unknown as string } },
      { auth: { type: 'oauth' } as never },
      { headers: { 'X-Api-Key': 'KEY-SECRET\r\n' } },
      { headers: { 'Bad Name': 'x' } },
      { url: 'http://user:PW%ZZ-SECRET@127.0.0.1:9/dicom-web' },
    ];
    for (const options of bad) {
      let err: unknown;
      try {
        new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', fetch: okFetch(), ...options });
      } catch (e) {
        err = e;
      }
      expect(isLeptonError(err, 'DICOMWEB_INVALID_OPTIONS'), JSON.stringify(Object.keys(options))).toBe(true);
      expect(everything(err)).not.toContain('SECRET');
    }
  });

  it('a token function returning a bad token fails the call with DICOMWEB_INVALID_OPTIONS before any request', async () => {
    const seen: string[] = [];
    const client = new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', auth: { type: 'bearer', token: async () => `${TOKEN}\n` }, fetch: okFetch(seen) });
    const err = await caught(() => client.searchStudies());
    expect(isLeptonError(err, 'DICOMWEB_INVALID_OPTIONS')).toBe(true);
    expect(everything(err)).not.toContain('SECRET');
    expect(seen).toEqual([]);
  });

  it('a transport error whose message quotes a header is reported without it (reason and cause scrubbed)', async () => {
    const client = new DicomWebClient({
      url: 'http://127.0.0.1:9/dicom-web',
      auth: { type: 'bearer', token: TOKEN },
      fetch: async (_url, init) => {
        // what undici's Headers says about an invalid value: the whole header, credential included
        throw new TypeError(`Headers.append: "Bearer ${new Headers(init.headers).get('authorization')}" is an invalid header value.`);
      },
    });
    const err = await caught(() => client.searchStudies());
    expect(isLeptonError(err, 'DICOMWEB_UNREACHABLE')).toBe(true);
    expect(everything(err)).not.toContain('SECRET');
    expect((err as { cause?: unknown }).cause).toBeUndefined();
  });

  it('a system error still gives its code as the reason, and a valid token is sent', async () => {
    const refused = new DicomWebClient({
      url: 'http://127.0.0.1:9/dicom-web',
      auth: { type: 'bearer', token: TOKEN },
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
      },
    });
    const err = await caught(() => refused.searchStudies());
    expect(isLeptonError(err, 'DICOMWEB_UNREACHABLE')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details['reason']).toBe('ECONNREFUSED');
    const seen: string[] = [];
    await new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', auth: { type: 'bearer', token: TOKEN }, fetch: okFetch(seen) }).searchStudies();
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
  });
});

describe('3. rescales that overflow float32 are refused, never Infinity', () => {
  const huge: TestElement[] = [
    { tag: '00281053', vr: 'DS', value: '1e308' },
    { tag: '00281052', vr: 'DS', value: '1e308' },
  ];

  it('readDicom lists the issue; modalityFrame refuses with DICOM_MALFORMED', async () => {
    const image = readDicom(ctSlice(huge));
    expect(image.issues.map((i) => i.keyword)).toContain('RescaleSlope');
    const err = await caught(() => image.modalityFrame(0));
    expect(isLeptonError(err, 'DICOM_MALFORMED')).toBe(true);
  });

  it('applyModalityLut refuses a rescale that overflows for the frame (INVALID_ARGUMENT); a large finite one works', async () => {
    const image = readDicom(ctSlice());
    const frame = await image.decodeFrame(0);
    expect(() => applyModalityLut(frame, { ...image.meta, rescale: { slope: 1e308, intercept: 1e308 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // 12-bit stored values up to 4095: 1e35 · 4095 > 3.4e38, 1e34 · 4095 < 3.4e38
    expect(() => applyModalityLut(frame, { ...image.meta, rescale: { slope: 1e35, intercept: 0 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const ok = applyModalityLut(frame, { ...image.meta, rescale: { slope: 1e34, intercept: 0 } });
    expect(ok.every(Number.isFinite)).toBe(true);
  });

  it('buildVolume leaves the slice out as unreadable, and its data stays finite', async () => {
    const images = [1, 2, 3].map((n) => readDicom(ctSlice(n === 2 ? huge : [], { instance: n, z: n })));
    const { volume, issues } = await buildVolume(images);
    expect(issues.some((i) => i.kind === 'unreadable')).toBe(true);
    expect(volume.data.every(Number.isFinite)).toBe(true);
  });
});

describe('4. modalityFrame checks its output buffer', () => {
  it.each([
    ['a Uint8Array', () => new Uint8Array(16)],
    ['a plain array', () => new Array<number>(16).fill(0)],
    ['a Float32Array of the wrong size', () => new Float32Array(3)],
    ['a Float64Array', () => new Float64Array(16)],
  ])('%s is INVALID_ARGUMENT (not a truncation, not DICOM_DECODE_FAILED)', async (_, out) => {
    const image = readDicom(ctSlice());
    const err = await caught(() => image.modalityFrame(0, out() as unknown as Float32Array));
    expect(isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('a Float32Array of rows × columns is filled', async () => {
    const out = new Float32Array(16);
    expect(await readDicom(ctSlice()).modalityFrame(0, out)).toBe(out);
    expect(out[15]).toBe(15 - 1024);
  });
});

describe('5. resampleVolume bounds its output before allocating', () => {
  const volume = (spacing: readonly [number, number, number]): Volume =>
    new Volume({ data: new Float32Array(32), dimensions: [4, 4, 2], spacing, origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] });

  it.each([
    ['a spacing of 1e-6 mm', volume([1, 1, 1]), 1e-6],
    ['slices 1e300 mm apart', volume([1, 1, 1e300]), 1],
    ['slices 1e7 mm apart (a 640 MB grid)', volume([1, 1, 1e7]), 1],
  ])('%s is VOLUME_TOO_LARGE', (_, v, spacing) => {
    expect(() => resampleVolume(v, spacing)).toThrow(expect.objectContaining({ code: 'VOLUME_TOO_LARGE' }));
  });

  it('maxVoxels lowers (or raises) the bound, and is validated', () => {
    expect(MAX_RESAMPLE_VOXELS).toBe(2 ** 27);
    expect(resampleVolume(volume([1, 1, 1]), 1).dimensions).toEqual([4, 4, 2]);
    expect(() => resampleVolume(volume([1, 1, 1]), 1, { maxVoxels: 31 })).toThrow(expect.objectContaining({ code: 'VOLUME_TOO_LARGE' }));
    expect(resampleVolume(volume([1, 1, 1]), 1, { maxVoxels: 32 }).dimensions).toEqual([4, 4, 2]);
    for (const maxVoxels of [0, 1.5, Number.NaN, 2 ** 40, '10']) {
      expect(() => resampleVolume(volume([1, 1, 1]), 1, { maxVoxels: maxVoxels as number })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    for (const spacing of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => resampleVolume(volume([1, 1, 1]), spacing)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('6. a throwing folder callback never stops the rest', () => {
  const dir = join(tmp, 'folder');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.dcm'), ctSlice([], { instance: 1 }));
  writeFileSync(join(dir, 'b.dcm'), ctSlice([], { instance: 2 }));
  writeFileSync(join(dir, 'c.txt'), 'not dicom');

  it('readDicomFolder: a throwing filter makes that file a DICOM_CALLBACK_FAILED failure; a throwing onFailure is ignored', async () => {
    let calls = 0;
    const { images, failures } = await readDicomFolder(dir, {
      filter: (p) => {
        if (p.endsWith('a.dcm')) throw new Error('filter bug');
        return true;
      },
      onFailure: () => {
        calls++;
        throw new Error('logger down');
      },
    });
    expect(images).toHaveLength(1);
    expect(failures.map((f) => [f.path.slice(-5), f.error.code])).toEqual([
      ['a.dcm', 'DICOM_CALLBACK_FAILED'],
      ['c.txt', 'DICOM_NOT_DICOM'],
    ]);
    expect(calls).toBe(2);
    expect(failures[0]!.error.message).not.toContain('filter bug');
  });

  it('deidentifyDicomFolder: the same', async () => {
    const { files, failures } = await deidentifyDicomFolder(dir, join(tmp, 'out'), { secret: 's' }, {
      filter: (p) => {
        if (p.endsWith('b.dcm')) throw new Error('filter bug');
        return true;
      },
      onFailure: () => {
        throw new Error('logger down');
      },
    });
    expect(files).toHaveLength(1);
    expect(failures.map((f) => f.error.code)).toEqual(['DICOM_CALLBACK_FAILED', 'DICOM_NOT_DICOM']);
  });
});

describe('7. inconsistent pixel metadata is listed in issues', () => {
  const issuesOf = (extra: TestElement[]): string[] => readDicom(ctSlice(extra)).issues.map((i) => `${i.tag} ${i.keyword}`);

  it('a Photometric Interpretation DICOM does not define (never quoted)', () => {
    const image = readDicom(ctSlice([{ tag: '00280004', vr: 'CS', value: 'FOO' }]));
    expect(image.issues.map((i) => i.keyword)).toEqual(['PhotometricInterpretation']);
    expect(image.issues[0]!.message).not.toContain('FOO');
  });

  it('RGB with one sample per pixel', () => {
    expect(issuesOf([{ tag: '00280004', vr: 'CS', value: 'RGB' }])).toEqual(['(0028,0004) PhotometricInterpretation']);
  });

  it('Rescale Slope 0', () => {
    expect(issuesOf([{ tag: '00281053', vr: 'DS', value: '0' }])).toEqual(['(0028,1053) RescaleSlope']);
  });

  it('a consistent file has none', () => {
    expect(issuesOf([])).toEqual([]);
  });
});

describe('8. damaged files: what a wrong length or a flipped tag bit carries is never kept', () => {
  const deid = new DicomDeidentifier({ secret: 'hostile-review' });
  /** Bytes of a PN element (Referring Physician's Name, Explicit VR LE) as a wrong length would swallow them. */
  const swallowing = (prefix: string): Uint8Array =>
    Uint8Array.from([...Buffer.from(prefix, 'latin1'), 0x08, 0x00, 0x90, 0x00, 0x50, 0x4e, 18, 0, ...Buffer.from('SWALLOWED^PLANTED ', 'latin1')]);

  it.each([
    ['Manufacturer (LO, kept by the profile)', '00080070', 'LO', 'ACME'],
    ['Modality (CS, kept)', '00080060', 'CS', 'CT'],
  ])('a %s that swallowed the next element is removed and counted, its swallowed name nowhere', (_, tag, vr, prefix) => {
    const input = ctSlice([{ tag, vr, value: swallowing(prefix) }]);
    expect(latin1(input)).toContain('SWALLOWED^PLANTED');
    const out = deid.deidentify(input);
    expect(latin1(out.bytes)).not.toContain('SWALLOWED');
    expect(out.summary.unparseableRemoved).toBe(1);
    expect(readDicom(out.bytes).getString(tag)).toBeUndefined();
  });

  it.each([
    ['a patient ID whose tag became an unknown overlay tag (6010,0020)', { tag: '60100020', vr: 'LO', value: 'PLANTEDMRN-77' }, false],
    ['a patient ID under Scanning Sequence, CS (explicit VR: LO does not fit)', { tag: '00180020', vr: 'LO', value: 'PLANTEDMRN-77' }, false],
    ['a patient ID under Scanning Sequence, CS (implicit VR: "-" is not a CS character)', { tag: '00180020', vr: 'CS', value: 'PLANTEDMRN-77' }, true],
    ['a patient name under a command-group tag (0000,0001), UL to the dictionary', { tag: '00000001', vr: 'UL', value: 'PLANTEDMRN-77^X' }, true],
  ])('%s is removed', (_, element, implicit) => {
    const input = ctSlice([element], { implicit });
    expect(latin1(input)).toContain('PLANTEDMRN-77');
    const out = deid.deidentify(input);
    expect(latin1(out.bytes)).not.toContain('PLANTEDMRN');
    expect(readDicom(out.bytes).getString('00120062')).toBe('YES');
  });

  it('out of tag order (a bit flipped in a tag): the element and the one before it are removed, the rest kept', () => {
    // Station Name (X/Z/D) whose tag lost a bit became (0008,0010), Recognition Code, which the profile keeps
    const input = ctSlice([{ tag: '00081010', vr: 'SH', value: 'CTSCAN-PLANTED' }], { implicit: true });
    const at = Buffer.from(input).indexOf(Buffer.from([0x08, 0x00, 0x10, 0x10]), 132);
    input[at + 3] = 0x00;
    expect(latin1(input)).toContain('CTSCAN-PLANTED');
    const out = deid.deidentify(input);
    expect(latin1(out.bytes)).not.toContain('CTSCAN-PLANTED');
    expect(out.summary.unparseableRemoved).toBe(2); // it, and Modality before it (which of the two is damaged is unknowable)
    const image = readDicom(out.bytes);
    expect(image.getString('00080010')).toBeUndefined();
    expect(image.getString('00080060')).toBeUndefined();
    expect(image.getString('0020000D')).toMatch(/^2\.25\./); // what follows is in order again and de-identified as usual
    expect(image.getString('00120062')).toBe('YES');
  });

  it('binary numbers that are too many for their tag (text under a numeric tag that lost a bit) are removed', () => {
    // Protocol Name (X/D) under Position of Isocenter Projection (0018,9430): FL, VM 2 — 8 bytes, not 16
    const out = deid.deidentify(ctSlice([{ tag: '00189430', vr: 'FL', value: 'PROTO-PLANTED   ' }], { implicit: true }));
    expect(latin1(out.bytes)).not.toContain('PROTO-PLANTED');
    expect(out.summary.unparseableRemoved).toBe(1);
    // a value that fits its multiplicity is kept
    const fits = deid.deidentify(ctSlice([{ tag: '00189430', vr: 'FL', value: new Uint8Array(new Float32Array([1.5, -2]).buffer) }], { implicit: true }));
    expect(fits.summary.unparseableRemoved).toBe(0);
    const ds = dicomParser.parseDicom(fits.bytes);
    expect([ds.float('x00189430', 0), ds.float('x00189430', 1)]).toEqual([1.5, -2]);
  });

  it('a UID attribute stored with another VR gets a new UID and is written as UI (it was a raw "Value exceeds max length" error quoting it)', () => {
    const out = deid.deidentify(ctSlice([{ tag: '00080017', vr: 'UN', value: '2.25.777.1' }]));
    const uid = readDicom(out.bytes).getString('00080017');
    expect(uid).toMatch(/^2\.25\.\d+$/);
    expect(uid).toBe(deid.mapUid('2.25.777.1'));
    // a TM value under the UID's tag (one bit flipped in Study Time's) does not fit it: removed, never an untyped error
    const flipped = deid.deidentify(ctSlice([{ tag: '00080017', vr: 'TM', value: '134501' }]));
    expect(readDicom(flipped.bytes).getString('00080017')).toBeUndefined();
    expect(flipped.summary.unparseableRemoved).toBe(1);
  });

  it('values longer than their VR allows, as real files have them, are kept as they came (they were a raw error quoting the value)', () => {
    const out = deid.deidentify(
      ctSlice([
        { tag: '00280030', vr: 'DS', value: '0.48828125000000000\\0.48828125000000000' },
        { tag: '00180015', vr: 'CS', value: 'ABDOMENPELVISANDCHEST' },
      ]),
    );
    const image = readDicom(out.bytes);
    expect(image.getString('00280030')).toBe('0.48828125000000000\\0.48828125000000000');
    expect(image.getString('00180015')).toBe('ABDOMENPELVISANDCHEST');
    expect(out.summary.unparseableRemoved).toBe(0);
  });

  it('a data set the writer cannot read is DEID_UNSUPPORTED with a known fixed text only, never the writer\'s error as cause', async () => {
    // two character sets in (0008,0005): dcmjs refuses, quoting the values of the element
    const err = await caught(() => deid.deidentify(ctSlice([{ tag: '00080005', vr: 'CS', value: 'ISO_IR 100\\ISO_IR 144' }, { tag: '00080090', vr: 'PN', value: 'NOTINERROR^PLANTED' }])));
    expect(isLeptonError(err) && err.code).toBe('DEID_UNSUPPORTED');
    expect((err as Error).message).toBe('The DICOM writer cannot read this data set (Using multiple character sets is not supported). Check it with `dcmdump`.');
    expect((err as Error).cause).toBeUndefined(); // the writer's error was attached: its message may quote any value
    expect(everything(err)).not.toContain('NOTINERROR');
  });
});

describe('9. readDicomFile reads regular files only, bounded', () => {
  it.each([
    ['a device', '/dev/zero'],
    ['a folder', tmpdir()],
  ])('%s is DICOM_READ_FAILED before anything is read', async (_, path) => {
    const err = await caught(() => readDicomFile(path));
    expect(isLeptonError(err) && err.code).toBe('DICOM_READ_FAILED');
    expect((err as { details: { reason: string } }).details.reason).toBe('not-a-file');
  });

  it('a FIFO is refused without opening it (opening blocks until a writer comes)', async () => {
    const fifo = join(tmp, 'pipe.dcm');
    execFileSync('mkfifo', [fifo]);
    const err = await caught(() => readDicomFile(fifo));
    expect((err as { details: { reason: string } }).details.reason).toBe('not-a-file');
  });

  it('a file larger than MAX_DICOM_FILE_BYTES is refused before reading (a sparse file: no disk used)', async () => {
    const big = join(tmp, 'big.dcm');
    writeFileSync(big, '');
    truncateSync(big, MAX_DICOM_FILE_BYTES + 1);
    const err = await caught(() => readDicomFile(big));
    expect(isLeptonError(err) && err.code).toBe('DICOM_READ_FAILED');
    expect((err as { details: { reason: string } }).details.reason).toBe('too-large');
    rmSync(big);
  });
});
