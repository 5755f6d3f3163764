import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { applyModalityLut, readDicom } from '@lepton/medical';
import { FIXTURES, readFixture } from './support/fixtures.js';

// modalityFrame's one-pass path (16-bit native LE and RLE) and its fallback must give exactly what decodeFrame +
// applyModalityLut give, for every greyscale fixture: signed and unsigned, dirty high bits, multi-frame, LUT sequences.
const names = readdirSync(join(FIXTURES, 'dicom'))
  .filter((f) => f.endsWith('.dcm'))
  .map((f) => f.slice(0, -4))
  .filter((n) => !/rgb|ybr|palette|nopixels/.test(n));

describe('DicomImage.modalityFrame', () => {
  it.each(names)('%s: identical to decodeFrame + applyModalityLut, in a reused buffer too', async (name) => {
    const image = readDicom(readFixture(name));
    const buffer = new Float32Array(image.meta.rows * image.meta.columns);
    for (let f = 0; f < image.meta.numberOfFrames; f++) {
      const want = applyModalityLut(await image.decodeFrame(f), image.meta);
      expect(await image.modalityFrame(f)).toEqual(want);
      const got = await image.modalityFrame(f, buffer);
      expect(got).toBe(buffer);
      expect(got).toEqual(want);
    }
  });

  it('refuses a buffer of the wrong size', async () => {
    const image = readDicom(readFixture('ct_u12'));
    await expect(image.modalityFrame(0, new Float32Array(3))).rejects.toThrow(/buffer/);
    await expect(readDicom(readFixture('ct_u12_jpls')).modalityFrame(0, new Float32Array(3))).rejects.toThrow(/buffer/);
  });
});

describe('the modality kernel (WebAssembly)', () => {
  it('is the committed modality-kernel.wat, compiled', async () => {
    const { readFile } = await import('node:fs/promises');
    const { MODALITY_KERNEL_WASM } = await import('../src/pixels/modality-kernel.js');
    const wabt = await wabtInit();
    const wat = await readFile(new URL('../src/pixels/modality-kernel.wat', import.meta.url), 'utf8');
    const { buffer } = wabt.parseWat('modality-kernel.wat', wat).toBinary({});
    expect(Buffer.from(buffer).toString('base64')).toBe(MODALITY_KERNEL_WASM);
  });

  it('keeps each file its own table when files with different rescales alternate', async () => {
    const a = readDicom(readFixture('ct_u12'));
    const b = readDicom(readFixture('ct_s16_rle')); // signed, RLE
    const wantA = applyModalityLut(await a.decodeFrame(0), a.meta);
    const wantB = applyModalityLut(await b.decodeFrame(0), b.meta);
    for (let i = 0; i < 3; i++) {
      expect(await a.modalityFrame(0)).toEqual(wantA);
      expect(await b.modalityFrame(0)).toEqual(wantB);
    }
  });
});
