// Modality LUT and VOI LUT, checked against the PS3.3 formulas and against dcmtk's dcm2pnm renders of the same files.
import { describe, expect, it } from 'vitest';
import {
  applyModalityLut,
  applyVoi,
  readDicom,
  renderFrame,
  resolveVoi,
  voiWindowValue,
  windowPreset,
  WINDOW_PRESETS,
  type VoiChoice,
} from '@lepton/medical';
import { compare, readFixture, readPnm, refBytes, samples } from './support/fixtures.js';

async function render(name: string, voi?: VoiChoice): Promise<Uint8Array> {
  const image = readDicom(readFixture(name));
  return renderFrame(await image.decodeFrame(0), image.meta, voi === undefined ? {} : { voi });
}

describe('modality LUT', () => {
  it('rescale slope/intercept gives Hounsfield units (unsigned 12-bit CT with intercept -1024)', async () => {
    const image = readDicom(readFixture('ct_u12'));
    const frame = await image.decodeFrame(0);
    const hu = applyModalityLut(frame, image.meta);
    const stored = samples(refBytes('ct_u12.expected.raw'), 'u16');
    expect(Array.from(hu)).toEqual(stored.map((v) => v - 1024));
    // the same phantom stored as signed HU gives the same HU, clipped at -1024 by the unsigned encoding
    const signed = readDicom(readFixture('ct_s16'));
    const hu2 = applyModalityLut(await signed.decodeFrame(0), signed.meta);
    expect(compare(hu, Array.from(hu2, (v) => Math.max(v, -1024))).differing).toBe(0);
  });

  it('applies a non-unit slope to signed stored values', async () => {
    const image = readDicom(readFixture('ct_s12'));
    expect(image.meta.rescale).toEqual({ slope: 2, intercept: -10 });
    const values = applyModalityLut(await image.decodeFrame(0), image.meta);
    const stored = samples(refBytes('ct_s12.expected.raw'), 'i16');
    expect(Array.from(values)).toEqual(stored.map((v) => v * 2 - 10));
  });

  it('uses the Modality LUT Sequence, clamping below the first mapped value', async () => {
    const image = readDicom(readFixture('mlut'));
    expect(image.meta.modalityLut).toMatchObject({ firstMapped: 100, bits: 16, explanation: 'SQRT TEST', type: 'US' });
    expect(image.meta.modalityLut?.data.length).toBe(3996);
    const values = applyModalityLut(await image.decodeFrame(0), image.meta);
    expect(Array.from(values)).toEqual(Array.from(new Float32Array(refBytes('mlut.modality.raw').slice().buffer)));
    // dcm2pnm applies the same table before its window: identical render
    expect(compare(await render('mlut', { center: 2000, width: 3000 }), readPnm('mlut_w2000_3000.pgm').data).differing).toBe(0);
  });

  it('refuses colour frames', async () => {
    const image = readDicom(readFixture('rgb'));
    const frame = await image.decodeFrame(0);
    expect(() => applyModalityLut(frame, image.meta)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('VOI LUT functions (PS3.3 C.11.2.1.2)', () => {
  it('LINEAR uses centre - 0.5 and width - 1', () => {
    const w = { center: 40, width: 400, function: 'LINEAR' as const };
    expect(voiWindowValue(-160.5, w)).toBe(0); // c - 0.5 - (w - 1)/2 = -160
    expect(voiWindowValue(-160, w)).toBe(0);
    expect(voiWindowValue(239.5, w)).toBe(1); // > c - 0.5 + (w - 1)/2 = 239
    expect(voiWindowValue(39.5, w)).toBeCloseTo(0.5, 12);
    expect(voiWindowValue(100, w)).toBeCloseTo((100 - 39.5) / 399 + 0.5, 12);
  });

  it('LINEAR_EXACT uses centre and width as given', () => {
    const w = { center: 40, width: 400, function: 'LINEAR_EXACT' as const };
    expect(voiWindowValue(-160, w)).toBe(0);
    expect(voiWindowValue(40, w)).toBe(0.5);
    expect(voiWindowValue(140, w)).toBe(0.75);
    expect(voiWindowValue(240.01, w)).toBe(1);
  });

  it('SIGMOID is 1 / (1 + exp(-4 (x - c) / w))', () => {
    const w = { center: 40, width: 400, function: 'SIGMOID' as const };
    expect(voiWindowValue(40, w)).toBe(0.5);
    expect(voiWindowValue(240, w)).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
  });

  it('rejects widths the function does not allow', () => {
    expect(() => voiWindowValue(0, { center: 0, width: 0.5, function: 'LINEAR' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => voiWindowValue(0, { center: 0, width: 0, function: 'SIGMOID' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('rendering matches dcm2pnm value for value', () => {
  it('an explicit LINEAR window on signed CT', async () => {
    expect(compare(await render('ct_s16', { center: 40, width: 400 }), readPnm('ct_s16_w40_400.pgm').data).differing).toBe(0);
  });

  it("the file's own window after rescale (unsigned CT, intercept -1024)", async () => {
    expect(compare(await render('ct_u12'), readPnm('ct_u12_file_window.pgm').data).differing).toBe(0);
  });

  it('the SIGMOID function named in the file', async () => {
    expect(compare(await render('ct_s16_sigmoid'), readPnm('ct_s16_sigmoid.pgm').data).differing).toBe(0);
  });

  it('LINEAR_EXACT named in the file (dcmtk 3.6.7 renders it as LINEAR: at most 1 level apart)', async () => {
    const ours = await render('ct_s16_linear_exact');
    const dcmtk = readPnm('ct_s16_linear_exact.pgm').data;
    expect(compare(ours, dcmtk).maxAbs).toBeLessThanOrEqual(1);
    expect(compare(await render('ct_s16_linear_exact', { center: 40, width: 400, function: 'LINEAR' }), dcmtk).differing).toBe(0);
  });

  it('MONOCHROME1 is inverted', async () => {
    const mono1 = await render('mr8_mono1');
    expect(compare(mono1, readPnm('mr8_mono1_file_window.pgm').data).differing).toBe(0);
    const mono2 = readDicom(readFixture('mr8'));
    const direct = renderFrame(await mono2.decodeFrame(0), mono2.meta);
    // same stored pixels and window: the MONOCHROME1 render is the complement (up to the truncation step)
    expect(compare(mono1, Array.from(direct, (v) => 255 - v)).maxAbs).toBeLessThanOrEqual(1);
  });

  it('the VOI LUT Sequence', async () => {
    const image = readDicom(readFixture('voilut'));
    expect(image.meta.voiLuts).toHaveLength(1);
    expect(image.meta.voiLuts[0]).toMatchObject({ firstMapped: 0, bits: 8, explanation: 'GAMMA 0.5' });
    expect(compare(await render('voilut'), readPnm('voilut.pgm').data).differing).toBe(0);
    expect(compare(await render('voilut', { fileVoiLut: 0 }), readPnm('voilut.pgm').data).differing).toBe(0);
  });

  it.each(Object.keys(WINDOW_PRESETS))('the %s preset', async (preset) => {
    expect(compare(await render('ct_s16', preset as VoiChoice), readPnm(`ct_s16_preset_${preset}.pgm`).data).differing).toBe(0);
  });
});

describe('presets and VOI choice', () => {
  it('has the five named CT presets', () => {
    expect(WINDOW_PRESETS).toMatchObject({
      lung: { center: -600, width: 1500 },
      mediastinum: { center: 50, width: 350 },
      bone: { center: 400, width: 1800 },
      brain: { center: 40, width: 80 },
      abdomen: { center: 40, width: 400 },
    });
    expect(() => windowPreset('liver')).toThrow(/known: lung, mediastinum, bone, brain, abdomen/);
  });

  it('picks file windows by index, and the first one by default', async () => {
    const image = readDicom(readFixture('ct_s16'));
    expect(image.meta.windows).toEqual([
      { center: 40, width: 400, function: 'LINEAR', explanation: 'SOFT' },
      { center: -600, width: 1500, function: 'LINEAR', explanation: 'LUNG' },
    ]);
    const hu = applyModalityLut(await image.decodeFrame(0), image.meta);
    expect(resolveVoi(image.meta, hu)).toEqual({ kind: 'window', window: image.meta.windows[0] });
    expect(resolveVoi(image.meta, hu, { fileWindow: 1 })).toEqual({ kind: 'window', window: image.meta.windows[1] });
    expect(() => resolveVoi(image.meta, hu, { fileWindow: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // lung preset and the file's LUNG window are the same numbers, so they render the same
    expect(await render('ct_s16', { fileWindow: 1 })).toEqual(await render('ct_s16', 'lung'));
  });

  it('falls back to a min-max window when the file has none', async () => {
    const image = readDicom(readFixture('rgb_planar'));
    expect(image.meta.windows).toEqual([]);
    const u32 = readDicom(readFixture('u32'));
    const values = applyModalityLut(await u32.decodeFrame(0), u32.meta);
    const voi = resolveVoi(u32.meta, values);
    const y = applyVoi(values, voi);
    expect(Math.min(...y)).toBe(0);
    expect(Math.max(...y)).toBe(1);
  });
});
