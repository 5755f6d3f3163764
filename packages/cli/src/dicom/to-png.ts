import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { integerFlag, stringFlag, type CommandSpec } from '../internal/command.js';
import { usageError } from '../internal/errors.js';
import { isSameFile, resolvePath } from '../internal/paths.js';
import { loadMedical, type Medical } from './medical.js';

type VoiChoice = NonNullable<Parameters<Medical['renderFrame']>[2]>['voi'];

/** A decimal number as people write one (`-600`, `1500`, `40.5`, `1e3`); `Number()` also reads '0x10', '0b1' and ''. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `--window C,W`: two finite decimal numbers, width ≥ 1 (LINEAR windows narrower than one unit are undefined). */
function parseWindow(text: string): { center: number; width: number } {
  const parts = text.split(/[,/]/).map((s) => s.trim());
  const [center, width] = parts.map(Number);
  if (parts.length !== 2 || !parts.every((p) => DECIMAL.test(p)) || !Number.isFinite(center) || !Number.isFinite(width) || width! < 1) {
    throw usageError(`--window must be CENTER,WIDTH with WIDTH ≥ 1, e.g. --window=-600,1500 (use '=' when the centre is negative).`, 'dicom to-png');
  }
  return { center: center!, width: width! };
}

/** Encodes 8-bit greyscale or RGB samples as a PNG (no alpha). */
function encodePng(samples: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const png = new PNG({ width, height, colorType: channels === 1 ? 0 : 2, inputColorType: channels === 1 ? 0 : 2, inputHasAlpha: false });
  png.data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2, inputColorType: channels === 1 ? 0 : 2, inputHasAlpha: false });
}

/** `lepton dicom to-png <file> <out.png>`. */
export const dicomToPngCommand: CommandSpec = {
  name: 'dicom to-png',
  description: "Render one frame of a DICOM image to an 8-bit PNG: modality LUT (HU for CT), then a window (the file's first by default), then MONOCHROME1 inversion — the same values as dcmtk's dcm2pnm.",
  args: [
    { name: 'file', required: true, help: 'a DICOM file with pixel data' },
    { name: 'out.png', required: true, help: 'the PNG to write (greyscale; RGB for colour images)' },
  ],
  flags: {
    window: { type: 'string', value: 'C,W', help: "window centre and width in modality units, e.g. --window=-600,1500 ('=' for a negative centre)" },
    preset: { type: 'string', value: 'NAME', help: "CT preset: lung, mediastinum, bone, brain, abdomen; or 'minmax' (the frame's full range)" },
    frame: { type: 'string', value: 'N', help: 'frame index, 0-based (default 0)' },
  },
  details: `Default window: the file's first Window Center/Width, else its first VOI LUT, else the frame's min–max.
Exit codes: 0 written; 1 the file cannot be read or decoded (e.g. DICOM_UNSUPPORTED_TRANSFER_SYNTAX,
DICOM_FRAME_OUT_OF_RANGE), or @lepton/medical missing; 2 usage error.`,
  async run({ positionals, flags, io }) {
    if (await isSameFile(resolvePath(io, positionals[0]!), resolvePath(io, positionals[1]!))) {
      throw usageError('<out.png> is <file> (or a link to it): writing the PNG would destroy the DICOM file. Write it somewhere else.', 'dicom to-png');
    }
    const windowText = stringFlag(flags, 'window');
    const preset = stringFlag(flags, 'preset');
    if (windowText !== undefined && preset !== undefined) throw usageError('Give --window or --preset, not both.', 'dicom to-png');
    const frameIndex = integerFlag(flags, 'frame', 0, 0, 'dicom to-png');
    const medical = await loadMedical();
    let voi: VoiChoice;
    let source: 'flag' | 'preset' | 'file' | 'minmax';
    if (windowText !== undefined) {
      voi = parseWindow(windowText);
      source = 'flag';
    } else if (preset === 'minmax') {
      voi = 'minmax';
      source = 'minmax';
    } else if (preset !== undefined) {
      // Own names only: `in` also finds 'constructor' and 'toString' (a usage error, not a failed render).
      if (!Object.hasOwn(medical.WINDOW_PRESETS, preset)) throw usageError(`Unknown --preset; use one of ${[...Object.keys(medical.WINDOW_PRESETS), 'minmax'].join(', ')}.`, 'dicom to-png');
      voi = preset as keyof typeof medical.WINDOW_PRESETS;
      source = 'preset';
    } else {
      voi = undefined;
      source = 'file';
    }
    const { LeptonError } = medical;
    const image = await medical.readDicomFile(resolvePath(io, positionals[0]!));
    const meta = image.meta;
    if (!meta.hasPixelData) throw new LeptonError('DICOM_NO_PIXEL_DATA', 'The file has no Pixel Data (7FE0,0010): nothing to render.');
    const frame = await image.decodeFrame(frameIndex);
    const pixels = medical.renderFrame(frame, meta, voi === undefined ? {} : { voi });
    const channels = frame.samplesPerPixel;
    let window: Record<string, unknown>;
    if (channels === 3) {
      window = { kind: 'none', reason: 'colour image: samples scaled to 8 bits' };
    } else {
      const transform = medical.resolveVoi(meta, medical.applyModalityLut(frame, meta), voi);
      window =
        transform.kind === 'window'
          ? { kind: 'window', center: transform.window.center, width: transform.window.width, function: transform.window.function, source: source === 'file' && meta.windows.length === 0 ? 'minmax' : source }
          : { kind: 'lut', source: 'file' };
    }
    const png = encodePng(pixels, frame.columns, frame.rows, channels);
    const out = resolvePath(io, positionals[1]!);
    try {
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, png);
    } catch (err) {
      throw new LeptonError('WRITE_FAILED', `Could not write <out.png> (${(err as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { cause: err });
    }
    const w = window as { kind: string; center?: number; width?: number; function?: string; source?: string };
    const how = w.kind === 'window' ? `window ${w.center}/${w.width} ${w.function} (${w.source})` : w.kind === 'lut' ? "the file's VOI LUT" : 'colour';
    return {
      exitCode: 0,
      json: { ok: true, output: positionals[1]!, bytes: png.length, width: frame.columns, height: frame.rows, channels, frame: frameIndex, frames: meta.numberOfFrames, window },
      human: `wrote ${positionals[1]} (${frame.columns} x ${frame.rows}, ${channels === 1 ? 'greyscale' : 'RGB'}, frame ${frameIndex + 1} of ${meta.numberOfFrames}, ${how})`,
    };
  },
};
