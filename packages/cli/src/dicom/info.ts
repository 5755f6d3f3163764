import { stat } from 'node:fs/promises';
import type { CommandSpec } from '../internal/command.js';
import { formatBytes } from '../internal/format.js';
import { resolvePath } from '../internal/paths.js';
import { loadMedical } from './medical.js';

/** The attributes that identify a patient or a study; printed only with `--phi`. */
const PHI_NOTE = 'hidden: pass --phi to show patient name and ID, UIDs, dates, accession number and descriptions';

/** `lepton dicom info <file>`. */
export const dicomInfoCommand: CommandSpec = {
  name: 'dicom info',
  description: 'Describe a DICOM file: transfer syntax, modality, image size, frames, pixel format, spacing, rescale and windows. Patient-identifying attributes are left out unless --phi.',
  args: [{ name: 'file', required: true, help: 'a DICOM Part 10 file (or a bare data set)' }],
  flags: {
    phi: { type: 'boolean', help: 'also print patient name and ID, study/series/instance UIDs, dates, accession number and descriptions' },
  },
  details: 'Exit codes: 0 read; 1 not DICOM, truncated, unreadable (the error code says which, e.g. DICOM_NOT_DICOM) or @lepton/medical missing; 2 usage error.',
  async run({ positionals, flags, io }) {
    const medical = await loadMedical();
    const path = positionals[0]!;
    const image = await medical.readDicomFile(resolvePath(io, path)); // typed DICOM_* errors for anything unreadable
    const m = image.meta;
    const bytes = (await stat(resolvePath(io, path))).size;
    const ts = medical.TRANSFER_SYNTAXES[m.transferSyntaxUid];
    const info: Record<string, unknown> = {
      ok: true,
      file: path,
      bytes,
      transferSyntax: { uid: m.transferSyntaxUid, name: ts?.name ?? 'not decoded by @lepton/medical', decodable: ts !== undefined, lossy: ts?.lossy ?? null },
      sopClassUid: m.sopClassUid ?? null,
      modality: m.modality ?? null,
      rows: m.rows,
      columns: m.columns,
      frames: m.numberOfFrames,
      samplesPerPixel: m.samplesPerPixel,
      photometricInterpretation: m.photometricInterpretation,
      bitsAllocated: m.bitsAllocated,
      bitsStored: m.bitsStored,
      signed: m.signed,
      hasPixelData: m.hasPixelData,
      lossyCompressed: m.lossyCompressed,
      pixelSpacing: m.pixelSpacing ?? null,
      sliceThickness: m.sliceThickness ?? null,
      rescale: m.rescale ?? null,
      windows: m.windows.map((w) => ({ center: w.center, width: w.width, function: w.function })),
      voiLuts: m.voiLuts.length,
      modalityLut: m.modalityLut !== undefined,
    };
    if (flags['phi'] === true) {
      info['phi'] = {
        patientName: m.patientName ?? null,
        patientId: m.patientId ?? null,
        studyInstanceUid: m.studyInstanceUid ?? null,
        seriesInstanceUid: m.seriesInstanceUid ?? null,
        sopInstanceUid: m.sopInstanceUid ?? null,
        studyDate: m.studyDate ?? null,
        accessionNumber: m.accessionNumber ?? null,
        studyDescription: m.studyDescription ?? null,
        seriesDescription: m.seriesDescription ?? null,
      };
    }
    const lines = [
      `file        ${path} (${formatBytes(bytes)})`,
      `modality    ${m.modality ?? '(none)'}${m.sopClassUid ? `, SOP class ${m.sopClassUid}` : ''}`,
      `transfer    ${ts?.name ?? 'not decoded by @lepton/medical'} (${m.transferSyntaxUid})${ts?.lossy ? ', lossy' : ''}`,
      m.hasPixelData
        ? `image       ${m.columns} x ${m.rows}, ${m.numberOfFrames} frame${m.numberOfFrames === 1 ? '' : 's'}, ${m.photometricInterpretation}, ` +
          `${m.bitsStored}/${m.bitsAllocated} bits ${m.signed ? 'signed' : 'unsigned'}${m.samplesPerPixel === 3 ? ', colour' : ''}${m.lossyCompressed ? ', lossy-compressed before' : ''}`
        : 'image       no pixel data',
    ];
    if (m.pixelSpacing) lines.push(`spacing     ${m.pixelSpacing[0]} x ${m.pixelSpacing[1]} mm${m.sliceThickness !== undefined ? `, slice thickness ${m.sliceThickness} mm` : ''}`);
    if (m.modalityLut) lines.push('modality    Modality LUT Sequence');
    else if (m.rescale) lines.push(`rescale     slope ${m.rescale.slope}, intercept ${m.rescale.intercept}${m.rescale.type ? ` (${m.rescale.type})` : ''}`);
    if (m.windows.length > 0) lines.push(`windows     ${m.windows.map((w) => `${w.center}/${w.width} ${w.function}`).join(', ')}`);
    if (m.voiLuts.length > 0) lines.push(`VOI LUTs    ${m.voiLuts.length}`);
    const phi = info['phi'] as Record<string, unknown> | undefined;
    if (phi === undefined) {
      lines.push(`patient     ${PHI_NOTE}`);
    } else {
      for (const [k, v] of Object.entries(phi)) lines.push(`${k.padEnd(18)} ${v ?? '(none)'}`);
    }
    return { exitCode: 0, json: info as { ok: boolean }, human: lines.join('\n') };
  },
};
