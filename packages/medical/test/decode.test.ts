// Pixel decoding, checked against the toolkits that wrote the fixtures (dcmtk 3.6.7, GDCM 3.0.21; see
// fixtures/TOOLS.txt): lossless syntaxes must decode pixel-identical to the toolkit's own decode, lossy ones within
// a codec tolerance, and uncompressed ones to the generator's source values.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { readDicom, renderFrame, seededRandom, TRANSFER_SYNTAXES, type DecodedFrame } from '@lepton/medical';
import { compare, FIXTURES, frameBytes, readFixture, readPnm, refBytes, samples } from './support/fixtures.js';

type Sample = Parameters<typeof samples>[1];

async function decodeAll(name: string): Promise<DecodedFrame[]> {
  return readDicom(readFixture(name), { source: name }).decodeFrames();
}

function sampleTypeOf(frame: DecodedFrame): Sample {
  const p = frame.pixels;
  return p instanceof Int8Array ? 'i8' : p instanceof Int16Array ? 'i16' : p instanceof Uint16Array ? 'u16' : p instanceof Int32Array ? 'i32' : p instanceof Uint32Array ? 'u32' : 'u8';
}

// name → [transfer syntax UID, sample type, frames]
const LOSSLESS: Record<string, [string, Sample, number]> = {
  ct_s16_rle: ['1.2.840.10008.1.2.5', 'i16', 1],
  ct_u12_rle: ['1.2.840.10008.1.2.5', 'u16', 1],
  ct_u12_rle_gdcm: ['1.2.840.10008.1.2.5', 'u16', 1],
  mr8_rle: ['1.2.840.10008.1.2.5', 'u8', 1],
  rgb_rle: ['1.2.840.10008.1.2.5', 'u8', 1],
  u32_rle: ['1.2.840.10008.1.2.5', 'u32', 1],
  ct_s16_jpeg_sv1: ['1.2.840.10008.1.2.4.70', 'i16', 1],
  ct_u12_jpeg_sv1: ['1.2.840.10008.1.2.4.70', 'u16', 1],
  mr8_jpeg_sv1: ['1.2.840.10008.1.2.4.70', 'u8', 1],
  rgb_jpeg_sv1: ['1.2.840.10008.1.2.4.70', 'u8', 1],
  ct_u12_jpeg_p14: ['1.2.840.10008.1.2.4.57', 'u16', 1], // selection value 6
  ct_s16_jpeg_p14: ['1.2.840.10008.1.2.4.57', 'i16', 1], // selection value 7 on signed data
  ct_s16_jpls: ['1.2.840.10008.1.2.4.80', 'i16', 1],
  ct_u12_jpls: ['1.2.840.10008.1.2.4.80', 'u16', 1],
  ct_u12_jpls_gdcm: ['1.2.840.10008.1.2.4.80', 'u16', 1],
  mr8_jpls: ['1.2.840.10008.1.2.4.80', 'u8', 1],
  rgb_jpls: ['1.2.840.10008.1.2.4.80', 'u8', 1], // line interleaved
  rgb_jpls_sample: ['1.2.840.10008.1.2.4.80', 'u8', 1], // sample interleaved
  rgb_jpls_planar: ['1.2.840.10008.1.2.4.80', 'u8', 1], // not interleaved: one scan per component
  ct_s16_j2k: ['1.2.840.10008.1.2.4.90', 'i16', 1],
  ct_u12_j2k: ['1.2.840.10008.1.2.4.90', 'u16', 1],
  mr8_j2k: ['1.2.840.10008.1.2.4.90', 'u8', 1],
  rgb_j2k: ['1.2.840.10008.1.2.4.90', 'u8', 1],
  mf16_rle: ['1.2.840.10008.1.2.5', 'u16', 3], // with Basic Offset Table
  mf16_rle_nobot: ['1.2.840.10008.1.2.5', 'u16', 3],
  mf16_jpeg_sv1: ['1.2.840.10008.1.2.4.70', 'u16', 3],
  mf16_jpeg_sv1_frag_nobot: ['1.2.840.10008.1.2.4.70', 'u16', 3], // 1 KiB fragments, no offset table
  mf16_jpls_frag: ['1.2.840.10008.1.2.4.80', 'u16', 3], // 1 KiB fragments located through the offset table
  mf16_jpls_frag_nobot: ['1.2.840.10008.1.2.4.80', 'u16', 3],
  mf16_j2k: ['1.2.840.10008.1.2.4.90', 'u16', 3],
  mf_rgb_rle: ['1.2.840.10008.1.2.5', 'u8', 2],
  mf_rgb_jpls_nobot: ['1.2.840.10008.1.2.4.80', 'u8', 2],
  // HTJ2K written by OpenJPH; references are OpenJPEG's opj_decompress, checked equal to the source (gen_htj2k.py)
  ct_s16_htj2k: ['1.2.840.10008.1.2.4.201', 'i16', 1],
  ct_u12_htj2k: ['1.2.840.10008.1.2.4.201', 'u16', 1],
  mr8_htj2k_rpcl: ['1.2.840.10008.1.2.4.202', 'u8', 1],
  rgb_htj2k: ['1.2.840.10008.1.2.4.201', 'u8', 1], // YBR_RCT: the reversible colour transform undone by the codec
  mf16_htj2k: ['1.2.840.10008.1.2.4.201', 'u16', 3],
  // signed 8-bit JPEG 2000 by GDCM: this OpenJPEG build clamped every negative value to 0 (decoded as unsigned now)
  s8_j2k: ['1.2.840.10008.1.2.4.90', 'i8', 1],
  s8_jp2: ['1.2.840.10008.1.2.4.90', 'i8', 1], // the same as a JP2 file (opj_compress), its codestream found inside the boxes
};

describe('lossless transfer syntaxes decode pixel-identical to the toolkit', () => {
  it('covers every lossless compressed syntax we support', () => {
    const covered = new Set(Object.values(LOSSLESS).map(([uid]) => uid));
    const lossless = Object.values(TRANSFER_SYNTAXES).filter((t) => !t.lossy && t.encoding !== 'native');
    expect(lossless.map((t) => t.uid).filter((uid) => !covered.has(uid))).toEqual([]);
  });

  it.each(Object.entries(LOSSLESS))('%s', async (name, [uid, type, frameCount]) => {
    const image = readDicom(readFixture(name));
    expect(image.meta.transferSyntaxUid).toBe(uid);
    const frames = await image.decodeFrames();
    expect(frames).toHaveLength(frameCount);
    expect(sampleTypeOf(frames[0]!)).toBe(type);
    const got = frameBytes(frames);
    const ref = refBytes(`${name}.raw`);
    // byte equality is the claim; the sample comparison first makes a failure readable (how many, how far off)
    expect(compare(samples(got, type), samples(ref, type))).toMatchObject({ differing: 0, maxAbs: 0 });
    expect(got.length).toBe(ref.length);
    expect(Buffer.from(got).equals(Buffer.from(ref))).toBe(true);
  });

  it('decodes multi-frame files frame by frame, each frame distinct and in order', async () => {
    const all = await decodeAll('mf16_jpeg_sv1_frag_nobot');
    const ref = samples(refBytes('mf16_jpeg_sv1_frag_nobot.raw'), 'u16');
    const perFrame = 48 * 64;
    const image = readDicom(readFixture('mf16_jpeg_sv1_frag_nobot'));
    const second = await image.decodeFrame(1);
    expect(Array.from(second.pixels)).toEqual(ref.slice(perFrame, 2 * perFrame));
    expect(Array.from(all[0]!.pixels)).not.toEqual(Array.from(all[2]!.pixels));
    await expect(image.decodeFrame(3)).rejects.toMatchObject({ code: 'DICOM_FRAME_OUT_OF_RANGE' });
    await expect(image.decodeFrame(-1)).rejects.toMatchObject({ code: 'DICOM_FRAME_OUT_OF_RANGE' });
  });
});

// name → [expected values file written by the generator, sample type]
const NATIVE: Record<string, [string, Sample]> = {
  ct_s16: ['ct_s16.expected.raw', 'i16'],
  ct_s16_implicit: ['ct_s16.expected.raw', 'i16'],
  ct_s16_bigendian: ['ct_s16.expected.raw', 'i16'],
  ct_s16_deflated: ['ct_s16.expected.raw', 'i16'],
  ct_u12_deflated_gdcm: ['ct_u12.expected.raw', 'u16'],
  ct_s16_bare_implicit: ['ct_s16.expected.raw', 'i16'],
  ct_s16_bare_explicit: ['ct_s16.expected.raw', 'i16'],
  ct_s16_bare_bigendian: ['ct_s16.expected.raw', 'i16'],
  ct_u12: ['ct_u12.expected.raw', 'u16'],
  ct_u12_dirty: ['ct_u12_dirty.expected.raw', 'u16'], // junk in bits 12-15 is masked off
  ct_s12: ['ct_s12.expected.raw', 'i16'], // 12-bit two's complement, sign-extended
  mr8: ['mr8.expected.raw', 'u8'],
  mr8_bigendian: ['mr8.expected.raw', 'u8'],
  mr8_mono1: ['mr8_mono1.expected.raw', 'u8'],
  u32: ['u32.expected.raw', 'u32'],
  u32_bigendian: ['u32.expected.raw', 'u32'],
  i32: ['i32.expected.raw', 'i32'],
  rgb: ['rgb.expected.raw', 'u8'],
  rgb_bigendian: ['rgb.expected.raw', 'u8'],
  rgb_planar: ['rgb.expected.raw', 'u8'], // planar configuration 1 comes back interleaved
  palette: ['palette.expected.raw', 'u16'], // 16-bit tables give 16-bit RGB
  mf16: ['mf16.expected.raw', 'u16'],
  mf_rgb: ['mf_rgb.expected.raw', 'u8'],
  s8: ['s8.expected.raw', 'i8'], // signed 8-bit (gen_htj2k.py)
};

describe('native transfer syntaxes decode to the source values', () => {
  it.each(Object.entries(NATIVE))('%s', async (name, [file, type]) => {
    const frames = await decodeAll(name);
    expect(sampleTypeOf(frames[0]!)).toBe(type);
    expect(compare(samples(frameBytes(frames), type), samples(refBytes(file), type))).toMatchObject({ differing: 0 });
    expect(frameBytes(frames).length).toBe(refBytes(file).length);
  });

  it('reports signedness, bits and range of the decoded frame', async () => {
    const [s12] = await decodeAll('ct_s12');
    expect(s12).toMatchObject({ signed: true, bitsStored: 12, photometricInterpretation: 'MONOCHROME2', samplesPerPixel: 1 });
    expect(s12!.min).toBeLessThan(-800); // air/lung in HU stays negative after sign extension
    expect(s12!.min).toBeGreaterThanOrEqual(-2048);
    expect(s12!.max).toBeLessThanOrEqual(2047);
    const [mono1] = await decodeAll('mr8_mono1');
    expect(mono1!.photometricInterpretation).toBe('MONOCHROME1'); // stored values are not inverted; rendering is
  });
});

describe('lossy transfer syntaxes decode within the codec tolerance', () => {
  // Different builds of the same codec may round the inverse DCT / wavelet differently; 2 grey levels is the bound.
  const TOLERANCE = 2;
  it.each([
    ['mr8_jpeg_baseline', 'u8', 1],
    ['rgb_jpeg_baseline', 'u8', 1], // YBR_FULL_422, converted to RGB (dcmtk's decode converts too)
    ['rgb_jpeg_444', 'u8', 1], // YBR_FULL
    ['mf_rgb_jpeg_baseline', 'u8', 2],
    ['ct_u12_j2k_lossy', 'u16', 1],
    ['ct_u12_jpls_near', 'u16', 1],
    ['ct_u12_htj2k_lossy', 'u16', 1], // HTJ2K, irreversible wavelet (OpenJPH, quantisation step 0.002)
  ] as const)('%s', async (name, type, frameCount) => {
    const frames = await decodeAll(name);
    expect(frames).toHaveLength(frameCount);
    expect(frames[0]!.photometricInterpretation).toBe(name.startsWith('rgb') || name.startsWith('mf_rgb') ? 'RGB' : 'MONOCHROME2');
    const result = compare(samples(frameBytes(frames), type), samples(refBytes(`${name}.raw`), type));
    expect(result.length[0]).toBe(result.length[1]);
    expect(result.maxAbs).toBeLessThanOrEqual(TOLERANCE);
  });

  it('JPEG-LS near-lossless stays within NEAR=2 of the source', async () => {
    const [frame] = await decodeAll('ct_u12_jpls_near');
    const result = compare(Array.from(frame!.pixels), samples(refBytes('ct_u12.expected.raw'), 'u16'));
    expect(result.maxAbs).toBeLessThanOrEqual(2);
    expect(result.differing).toBeGreaterThan(0); // it really is lossy
  });

  it('lossy JPEG 2000 stays close to the source', async () => {
    const [frame] = await decodeAll('ct_u12_j2k_lossy');
    const src = samples(refBytes('ct_u12.expected.raw'), 'u16');
    let sq = 0;
    for (let i = 0; i < src.length; i++) sq += (frame!.pixels[i]! - src[i]!) ** 2;
    const psnr = 10 * Math.log10(4095 ** 2 / (sq / src.length));
    expect(psnr).toBeGreaterThan(30); // gdcmconv -q 55 compresses ~30:1
  });

  it('lossy HTJ2K stays close to the source, and is really lossy', async () => {
    const [frame] = await decodeAll('ct_u12_htj2k_lossy');
    const src = samples(refBytes('ct_u12.expected.raw'), 'u16');
    let sq = 0;
    let differing = 0;
    for (let i = 0; i < src.length; i++) {
      sq += (frame!.pixels[i]! - src[i]!) ** 2;
      if (frame!.pixels[i] !== src[i]) differing++;
    }
    expect(10 * Math.log10(4095 ** 2 / (sq / src.length))).toBeGreaterThan(40); // largest error 12 of 4095 (gen_htj2k.py)
    expect(differing).toBeGreaterThan(0);
  });
});

describe('colour models match dcmtk (dcm2pnm) rendering', () => {
  // dcm2pnm's YCbCr → RGB uses its own fixed-point arithmetic, which lands up to 2 levels from the rounded PS3.3
  // C.7.6.3.1.2 equations we apply; the next test pins the equations themselves down more tightly.
  it.each([
    ['rgb_planar', 0],
    ['rgb_ybr_full', 2],
    ['ybr422', 2], // native YBR_FULL_422 → RGB
  ] as const)('%s', async (name, tolerance) => {
    const image = readDicom(readFixture(name));
    const frame = await image.decodeFrame(0);
    expect(frame.photometricInterpretation).toBe('RGB');
    const ref = readPnm(`${name}.ppm`);
    expect([ref.width, ref.height, ref.channels]).toEqual([frame.columns, frame.rows, 3]);
    expect(compare(renderFrame(frame, image.meta), ref.data).maxAbs).toBeLessThanOrEqual(tolerance);
  });

  it('YBR_FULL → RGB agrees with libjpeg-turbo converting the same YCbCr samples', async () => {
    // rgb_ybr_full holds the YCbCr samples of rgb_jpeg_444 decoded without colour conversion (dcmdjpeg +cn); decoding
    // rgb_jpeg_444 itself lets libjpeg-turbo do the (JFIF = PS3.3 YBR_FULL) conversion.
    const ours = await readDicom(readFixture('rgb_ybr_full')).decodeFrame(0);
    const libjpeg = await readDicom(readFixture('rgb_jpeg_444')).decodeFrame(0);
    const result = compare(ours.pixels, libjpeg.pixels);
    expect(result.maxAbs).toBeLessThanOrEqual(1);
    expect(result.differing).toBeLessThan(ours.pixels.length / 100);
  });

  it('PALETTE COLOR maps indices through the 16-bit tables, and renders like dcm2pnm', async () => {
    const image = readDicom(readFixture('palette'));
    const frame = await image.decodeFrame(0);
    expect(frame).toMatchObject({ photometricInterpretation: 'RGB', samplesPerPixel: 3, bitsStored: 16 });
    expect(compare(renderFrame(frame, image.meta), readPnm('palette.ppm').data).maxAbs).toBeLessThanOrEqual(1);
  });
});

// Files from fixtures/robustness/make_robustness.sh (issue 14); references are dcmtk's decodes, checked there to equal
// GDCM's where GDCM decodes the file.
const robustFile = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'robustness', `${name}.dcm`)));
const robustRef = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'robustness', name)));

describe('JPEG Extended (Process 2 & 4, 1.2.840.10008.1.2.4.51) decodes pixel-identical to dcmtk and GDCM', () => {
  it.each([
    ['ext12', 'u16', 2, 'dcmcjpeg +ee, 12-bit, 61×45 (partial blocks), 2 frames'],
    ['ext12_q60', 'u16', 2, 'dcmcjpeg +ee +q 60'],
    ['ext12_pvrg_restart', 'u16', 1, 'PVRG-JPEG, restart interval 3 MCUs'],
    ['ext12_rgb_pvrg', 'u16', 1, 'PVRG-JPEG, 3 components in non-interleaved scans'],
    ['ext8', 'u8', 1, 'dcmcjpeg +ee on 8-bit data (Process 2: libjpeg-turbo)'],
  ] as const)('%s (%s, %i frame(s): %s)', async (name, type, frameCount, _how) => {
    const image = readDicom(robustFile(name));
    expect(image.transferSyntax).toMatchObject({ uid: '1.2.840.10008.1.2.4.51', encoding: 'jpeg-extended', lossy: true });
    const frames = await image.decodeFrames();
    expect(frames).toHaveLength(frameCount);
    const got = frameBytes(frames);
    const ref = robustRef(`${name}.raw`);
    expect(compare(samples(got, type), samples(ref, type))).toMatchObject({ differing: 0, maxAbs: 0 });
    // dcmdjpeg keeps a padding byte after an odd-length 8-bit value; the samples are what must match
    expect(ref.length - got.length).toBeLessThanOrEqual(1);
  });

  it('a cut or corrupt 12-bit stream is DICOM_DECODE_FAILED, and the decoder still works afterwards', async () => {
    const bytes = robustFile('ext12_pvrg_restart');
    const sos = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xda]));
    const cut = bytes.slice();
    cut.fill(0, sos + 40, sos + 400); // scan data replaced by zeros: codes run out of sense, restart markers vanish
    await expect(readDicom(cut).decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_DECODE_FAILED' });
    const noSof = bytes.slice();
    noSof.set([0xff, 0xc2], Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xc1]))); // progressive: not Process 2/4
    await expect(readDicom(noSof).decodeFrame(0)).rejects.toMatchObject({ code: 'DICOM_UNSUPPORTED_PIXEL_FORMAT' });
    expect(compare(samples(frameBytes([await readDicom(bytes).decodeFrame(0)]), 'u16'), samples(robustRef('ext12_pvrg_restart.raw'), 'u16')).maxAbs).toBe(0);
  });
});

describe('Bits Allocated 1 (Segmentation) decodes like dcmtk renders it', () => {
  it.each(['seg_1bit', 'seg_1bit_be', 'seg_1bit_aligned', 'seg_1bit_aligned_be'])('%s', async (name) => {
    const image = readDicom(robustFile(name));
    expect(image.meta.bitsAllocated).toBe(1);
    const frames = await image.decodeFrames();
    // 5 × 7 = 35 bits per frame: frames 2 and 3 start inside a byte
    expect(frames.map((f) => [f.rows * f.columns, f.bitsStored, f.signed])).toEqual(frames.map(() => [image.meta.rows * image.meta.columns, 1, false]));
    const ref = robustRef(`${name.replace(/_be$/, '')}.dcm2pnm.raw`);
    expect(Array.from(frameBytes(frames))).toEqual(Array.from(ref));
    expect(frames.every((f) => f.min === 0 && f.max === 1)).toBe(true);
  });
});

describe('encapsulated frames when the Basic Offset Table is wrong', () => {
  it('bot_offbyone: every entry after the first off by one byte, frames found from the fragments as dcmtk does', async () => {
    const frames = await readDicom(robustFile('bot_offbyone')).decodeFrames();
    expect(frames).toHaveLength(2);
    expect(Buffer.from(frameBytes(frames)).equals(Buffer.from(robustRef('bot_offbyone.raw')))).toBe(true);
  });
});

describe('the stored-value SIMD kernel', () => {
  // internal module, imported from source as modality-frame.test.ts does for the modality kernel
  const kernel = (): Promise<typeof import('../src/pixels/stored-kernel.js')> => import('../src/pixels/stored-kernel.js');

  it('is the committed stored-kernel.wat, compiled', async () => {
    const { STORED_KERNEL_WASM } = await kernel();
    const wabt = await wabtInit();
    const wat = await readFile(new URL('../src/pixels/stored-kernel.wat', import.meta.url), 'utf8');
    const { buffer } = wabt.parseWat('stored-kernel.wat', wat).toBinary({});
    expect(Buffer.from(buffer).toString('base64')).toBe(STORED_KERNEL_WASM);
  });

  it('masks, sign-extends and finds the range exactly as the JavaScript definition, for every Bits Stored / High Bit', async () => {
    // random words through every (bits stored, high bit, sign) of a 16-bit container, lengths around the 8-word steps
    const { storedWords } = await kernel();
    const rand = seededRandom(14);
    for (const n of [1, 7, 8, 9, 17, 1000]) {
      for (let bs = 1; bs <= 16; bs++) {
        for (const hb of [bs - 1, 15]) {
          for (const signed of [false, true]) {
            const words = new Uint16Array(n).map(() => Math.floor(rand() * 65536));
            const shift = hb + 1 - bs;
            const want = Array.from(words, (w) => {
              const v = (w >>> shift) & (2 ** bs - 1);
              return signed && v >= 2 ** (bs - 1) ? v - 2 ** bs : v;
            });
            const got = storedWords(new Uint8Array(words.buffer), false, n, bs, hb, signed)!;
            expect([n, bs, hb, signed, Array.from(got.values), got.min, got.max]).toEqual([n, bs, hb, signed, want, Math.min(...want), Math.max(...want)]);
            // the same words big endian, at an odd offset: swapped in the kernel's pass
            const be = new Uint8Array(2 * n + 1);
            for (let i = 0; i < n; i++) [be[1 + 2 * i], be[2 + 2 * i]] = [words[i]! >> 8, words[i]! & 0xff];
            const swapped = storedWords(be.subarray(1), true, n, bs, hb, signed)!;
            expect([n, bs, hb, signed, 'BE', Array.from(swapped.values), swapped.min, swapped.max]).toEqual([n, bs, hb, signed, 'BE', want, Math.min(...want), Math.max(...want)]);
          }
        }
      }
    }
  });
});
