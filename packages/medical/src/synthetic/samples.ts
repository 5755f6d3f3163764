import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LeptonError } from '@lepton/core';

/**
 * The sample data shipped in the package's `samples/` folder (about 140 KB, **synthetic**: no patient data), so that
 * the README quick starts run as pasted right after `npm install @lepton/medical`:
 *
 * - `ct-jpeg-ls.dcm` — one 48×64 CT slice of a numeric phantom, 12-bit, JPEG-LS Lossless (encoded by dcmtk).
 * - `folder` — a folder load: three good instances (one in `sub/`), an empty file, a text file, a truncated file and
 *   a file with a broken header.
 * - `ct-oblique` — a 64×64×24 oblique CT series (RLE Lossless) with shuffled file names and Instance Numbers and a
 *   60 HU lesion at patient position (8, −4, 12) mm.
 * - `ct-gap` — an axial series with one slice missing.
 * - `deid-study` — a study full of invented identifying values (Latin-1 names, IDs, dates, private tags, nested
 *   sequences) to de-identify, with a truncated file and a text file among them.
 * - `dicomdir` — a medium as a CD or USB stick holds it: a DICOMDIR (made by dcmtk's `dcmmkdir`) over a 3-slice
 *   synthetic CT series of patient `MEDIA01`.
 *
 * `scripts/make-samples.sh` in the Lepton repository regenerates them from the package's test fixtures, which
 * committed scripts make from seeded synthetic images.
 */
export const MEDICAL_SAMPLES = ['ct-jpeg-ls.dcm', 'folder', 'ct-oblique', 'ct-gap', 'deid-study', 'dicomdir'] as const;

/** The name of one of the {@link MEDICAL_SAMPLES}. */
export type MedicalSample = (typeof MEDICAL_SAMPLES)[number];

/**
 * The absolute path of a sample shipped with the package (a file or a folder; see {@link MEDICAL_SAMPLES}).
 *
 * @param name - which sample
 * @returns the path inside the installed package, ready for `readDicomFile`, `readDicomFolder`, `readDicomDir` …
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a name that is not a sample (`details.available`
 *   lists them); `READ_FAILED` when the package was installed without its `samples/` folder
 *
 * @example
 * ```ts
 * import { readDicomFile, samplePath } from '@lepton/medical';
 *
 * const image = await readDicomFile(samplePath('ct-jpeg-ls.dcm'));
 * console.log(image.meta.modality, image.transferSyntax?.name); // CT JPEG-LS Lossless Image Compression
 * ```
 */
export function samplePath(name: MedicalSample): string {
  if (typeof name !== 'string' || !(MEDICAL_SAMPLES as readonly string[]).includes(name)) {
    throw new LeptonError('INVALID_ARGUMENT', `Not a sample of @lepton/medical; pass one of ${MEDICAL_SAMPLES.join(', ')}.`, {
      details: { option: 'name', available: [...MEDICAL_SAMPLES] },
    });
  }
  // dist/synthetic/samples.js (and src/synthetic/samples.ts) sit two levels below the package root.
  const path = fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));
  if (!existsSync(path)) {
    throw new LeptonError('READ_FAILED', `The sample ${name} is missing from this installation of @lepton/medical (its samples/ folder); reinstall the package.`, {
      details: { sample: name },
    });
  }
  return path;
}
