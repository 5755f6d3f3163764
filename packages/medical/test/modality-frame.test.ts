import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
