// Parsing: typed metadata from every encoding, typed errors for bad input, and folder loads that survive bad files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isLeptonError,
  readDicom,
  readDicomFile,
  readDicomFolder,
  LeptonError,
  type DicomLoadFailure,
} from '@lepton/medical';
import { dicomPath, FIXTURES, readFixture } from './support/fixtures.js';

describe('readDicom: typed metadata', () => {
  it('reads identifiers, geometry, pixel module, rescale and windows', () => {
    const { meta } = readDicom(readFixture('ct_s16'));
    expect(meta).toMatchObject({
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      patientId: 'LEPTON-0001',
      patientName: 'PHANTOM^LEPTON',
      studyInstanceUid: '2.25.100099990001',
      seriesInstanceUid: '2.25.100099990002',
      frameOfReferenceUid: '2.25.100099990003',
      studyDate: '20240611',
      accessionNumber: 'ACC0001',
      seriesNumber: 7,
      instanceNumber: 1,
      modality: 'CT',
      rows: 48,
      columns: 64,
      numberOfFrames: 1,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      highBit: 15,
      signed: true,
      photometricInterpretation: 'MONOCHROME2',
      pixelSpacing: [0.7, 0.8], // [row spacing, column spacing], as stored
      sliceThickness: 2.5,
      imagePositionPatient: [-120, -100, 35.5],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      rescale: { slope: 1, intercept: 0, type: 'HU' },
      lossyCompressed: false,
      hasPixelData: true,
    });
    expect(meta.sopInstanceUid).toMatch(/^2\.25\./);
    expect(meta.windows.map((w) => w.explanation)).toEqual(['SOFT', 'LUNG']);
  });

  it.each([
    'ct_s16_implicit',
    'ct_s16_bigendian',
    'ct_s16_deflated',
    'ct_s16_bare_implicit',
    'ct_s16_bare_explicit',
    'ct_s16_bare_bigendian',
  ])('%s gives the same metadata as Explicit VR Little Endian', (name) => {
    const reference = readDicom(readFixture('ct_s16')).meta;
    const { meta } = readDicom(readFixture(name));
    expect({ ...meta, transferSyntaxUid: '' }).toEqual({ ...reference, transferSyntaxUid: '' });
  });

  it('detects the encoding of bare data sets (no preamble, no file meta information)', () => {
    expect(readDicom(readFixture('ct_s16_bare_implicit')).meta.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(readDicom(readFixture('ct_s16_bare_explicit')).meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(readDicom(readFixture('ct_s16_bare_bigendian')).meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.2');
    // and honours an explicit transfer syntax
    const image = readDicom(readFixture('ct_s16_bare_explicit'), { transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(image.meta.rows).toBe(48);
  });

  it('accepts file meta information without the 128-byte preamble', () => {
    const bytes = readFixture('ct_u12');
    const image = readDicom(bytes.subarray(132));
    expect(image.meta).toEqual(readDicom(bytes).meta);
  });

  it('reports multi-frame, colour and lossy attributes', () => {
    expect(readDicom(readFixture('mf16_jpls_frag')).meta).toMatchObject({ numberOfFrames: 3, bitsStored: 12, signed: false });
    expect(readDicom(readFixture('rgb_planar')).meta).toMatchObject({ samplesPerPixel: 3, planarConfiguration: 1, photometricInterpretation: 'RGB' });
    expect(readDicom(readFixture('rgb_jpeg_baseline')).meta).toMatchObject({ photometricInterpretation: 'YBR_FULL_422', lossyCompressed: true });
    expect(readDicom(readFixture('palette')).meta.photometricInterpretation).toBe('PALETTE COLOR');
  });

  it('names the transfer syntax and gives any attribute by tag', () => {
    const image = readDicom(readFixture('ct_u12_j2k'));
    expect(image.transferSyntax).toMatchObject({ name: 'JPEG 2000 Image Compression (Lossless Only)', codec: '@cornerstonejs/codec-openjpeg', lossy: false });
    expect(image.getString('(0008,0060)')).toBe('CT');
    expect(image.getString('00281050')).toBe('40');
    expect(readDicom(readFixture('ct_s16')).getString('0028,1055')).toBe('SOFT\\LUNG');
    expect(image.getString('00091010')).toBeUndefined();
  });
});

describe('readDicom: bad input is a LeptonError naming the problem', () => {
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      if (isLeptonError(err)) return err.code;
      throw err;
    }
    throw new Error('did not throw');
  };

  it('empty and non-DICOM bytes are DICOM_NOT_DICOM', () => {
    expect(codeOf(() => readDicom(new Uint8Array(0)))).toBe('DICOM_NOT_DICOM');
    expect(codeOf(() => readDicom(new TextEncoder().encode('%PDF-1.7 this is a report, not an image')))).toBe('DICOM_NOT_DICOM');
    expect(codeOf(() => readDicom(new Uint8Array(4096).fill(0xff)))).toBe('DICOM_NOT_DICOM');
  });

  it('files cut short anywhere are DICOM_TRUNCATED, never a crash', () => {
    for (const name of ['ct_u12', 'ct_s16_implicit', 'ct_s16_bigendian', 'rgb_rle', 'mf16_jpls_frag', 'ct_s16_deflated']) {
      const bytes = readFixture(name);
      // cut inside the file meta information, inside an attribute, just before the pixel data and inside it
      const pixelDataTag = Buffer.from(bytes).lastIndexOf(Buffer.from(name.includes('bigendian') ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00]));
      for (const at of [140, 401, pixelDataTag, Math.floor(bytes.length * 0.6), bytes.length - 3]) {
        expect([name, at, codeOf(() => readDicom(bytes.subarray(0, at)))]).toEqual([name, at, 'DICOM_TRUNCATED']);
      }
    }
  });

  it('a broken file meta header is DICOM_MALFORMED', () => {
    expect(codeOf(() => readDicom(readFixture('../folder/sub/bad-header')))).toBe('DICOM_MALFORMED');
  });

  it('errors say what to do and carry no patient data', () => {
    const bytes = readFixture('ct_u12');
    let error: LeptonError | undefined;
    try {
      readDicom(bytes.subarray(0, bytes.length - 100), { source: 'ct_u12.dcm' });
    } catch (err) {
      error = err as LeptonError;
    }
    expect(error).toBeInstanceOf(LeptonError);
    expect(error!.message).toMatch(/cut short.*Fetch it again/);
    expect(error!.details).toMatchObject({ source: 'ct_u12.dcm' });
    const text = `${error!.message} ${JSON.stringify(error!.details)}`;
    for (const phi of ['PHANTOM', 'LEPTON-0001', 'ACC0001', '20240611']) expect(text).not.toContain(phi);
  });

  it('rejects non-bytes input as INVALID_ARGUMENT', () => {
    expect(codeOf(() => readDicom('not bytes' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
  });
});

describe('decodeFrame: typed errors', () => {
  const patched = (name: string, find: number[], replace: number[]): Uint8Array => {
    const bytes = readFixture(name).slice();
    const at = Buffer.from(bytes).indexOf(Buffer.from(find));
    expect(at).toBeGreaterThan(0);
    bytes.set(replace, at);
    return bytes;
  };

  it('no pixel data', async () => {
    const image = readDicom(readFixture('nopixels'));
    expect(image.meta).toMatchObject({ hasPixelData: false, modality: 'SR', rows: 0 });
    await expect(image.decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_NO_PIXEL_DATA' });
  });

  it('a transfer syntax without a decoder lists the supported ones', async () => {
    const image = readDicom(readFixture('ct_s16_bare_explicit'), { transferSyntaxUid: '1.2.840.10008.1.2.4.110' }); // JPEG XL Lossless
    await expect(image.decodeFrame(0)).rejects.toMatchObject({
      code: 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
      message: expect.stringContaining('RLE Lossless'),
    });
  });

  it('corrupt JPEG-LS, JPEG 2000 and RLE frames are DICOM_DECODE_FAILED', async () => {
    // JPEG-LS: destroy the SOF-55 marker after SOI
    const jpls = readDicom(patched('mr8_jpls', [0xff, 0xd8, 0xff, 0xf7], [0xff, 0xd8, 0x00, 0x00]));
    await expect(jpls.decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_DECODE_FAILED' });
    // JPEG 2000: destroy SOC/SIZ
    const j2k = readDicom(patched('mr8_j2k', [0xff, 0x4f, 0xff, 0x51], [0x00, 0x00, 0x00, 0x00]));
    await expect(j2k.decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_DECODE_FAILED' });
    // RLE: claim 5 segments where one 8-bit sample has 1
    const rle = readDicom(patched('mr8_rle', [1, 0, 0, 0, 64, 0, 0, 0], [5, 0, 0, 0, 64, 0, 0, 0]));
    await expect(rle.decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_DECODE_FAILED', message: expect.stringContaining('5 segments') });
    // JPEG Lossless: not a JPEG stream at all
    const jpeg = readDicom(patched('mr8_jpeg_sv1', [0xff, 0xd8, 0xff, 0xe0], [0x00, 0x00, 0x00, 0x00]));
    await expect(jpeg.decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_DECODE_FAILED' });
    // the codecs still work afterwards
    expect((await readDicom(readFixture('mr8_jpls')).decodeFrame(0)).rows).toBe(48);
  });
});

describe('readDicomFile / readDicomFolder', () => {
  it('reads a file and remembers its path', async () => {
    const image = await readDicomFile(dicomPath('mr8_jpeg_baseline'));
    expect(image.source).toBe(dicomPath('mr8_jpeg_baseline'));
    await expect(readDicomFile(join(FIXTURES, 'missing.dcm'))).rejects.toMatchObject({ code: 'DICOM_READ_FAILED' });
  });

  it('loads the good files of a folder and reports every bad one, in path order', async () => {
    const seen: DicomLoadFailure[] = [];
    const folder = join(FIXTURES, 'folder');
    const { images, failures } = await readDicomFolder(folder, { onFailure: (f) => seen.push(f) });
    expect(images.map((i) => i.source)).toEqual(['a.dcm', 'b.dcm', 'sub/c.dcm'].map((p) => join(folder, p)));
    expect(failures.map((f) => [f.path.slice(folder.length + 1), f.error.code])).toEqual([
      ['empty.dcm', 'DICOM_NOT_DICOM'],
      ['notes.txt', 'DICOM_NOT_DICOM'],
      ['sub/bad-header.dcm', 'DICOM_MALFORMED'],
      ['truncated.dcm', 'DICOM_TRUNCATED'],
    ]);
    expect(seen).toEqual(failures);
    for (const f of failures) expect(f.error).toBeInstanceOf(LeptonError);
    // the loaded ones decode
    for (const image of images) expect((await image.decodeFrame(0)).rows).toBe(48);
  });

  it('can stay in the top folder and filter file names', async () => {
    const folder = join(FIXTURES, 'folder');
    const flat = await readDicomFolder(folder, { recursive: false, filter: (p) => p.endsWith('.dcm') });
    expect(flat.images).toHaveLength(2);
    expect(flat.failures.map((f) => f.error.code)).toEqual(['DICOM_NOT_DICOM', 'DICOM_TRUNCATED']);
    await expect(readDicomFolder(join(FIXTURES, 'no-such-folder'))).rejects.toMatchObject({ code: 'DICOM_READ_FAILED' });
  });
});
