/**
 * The data side of `DiagnosisModel` training: labelled images from a DICOM folder and a labels CSV, the
 * patient-level split, augmentation and normalisation of inputs, and the operating point. Internal helpers; the types
 * are public (re-exported by `model.ts`).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { LeptonError, parseCsv, seededRandom } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { readDicomFolder, type DicomLoadFailure } from '../dicom/files.js';

/** One labelled training or evaluation image. */
export interface LabelledImage {
  /** The DICOM image. */
  image: DicomImage;
  /** Its label (one of the model's labels). */
  label: string;
  /** Patient it belongs to: the split never puts one patient on both sides. Default: the image's Patient ID. */
  patientId?: string;
}

/** Patients on each side of a patient-level split (disjoint). */
export interface PatientSplit {
  /** Training patients. */
  train: string[];
  /** Validation patients. */
  validation: string[];
}

/** A file a folder load could not use, and why. */
export interface SkippedFile {
  /** The file's path (relative to the folder where possible). */
  path: string;
  /** Why it was skipped. */
  reason: string;
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** Left–right mirror of a square image of `channels` interleaved channels (each pixel's channels stay together). */
export function mirror(im: Float32Array, size: number, channels = 1): Float32Array {
  const out = new Float32Array(im.length);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const to = (r * size + c) * channels;
      const from = (r * size + size - 1 - c) * channels;
      for (let k = 0; k < channels; k++) out[to + k] = im[from + k]!;
    }
  }
  return out;
}

/** Patient-level split, stratified by whether a patient has any non-first-class image. */
export function splitPatients(patients: string[], classes: number[], fraction: number, seed: number): PatientSplit {
  const positive = new Map<string, boolean>();
  patients.forEach((p, i) => positive.set(p, (positive.get(p) ?? false) || classes[i]! > 0));
  const unique = [...positive.keys()].sort();
  if (unique.length < 2) throw new LeptonError('INVALID_INPUT', `A patient-level split needs at least two patients, got ${unique.length}.`);
  const rand = seededRandom(seed);
  const shuffle = (xs: string[]): string[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  const validation: string[] = [];
  for (const group of [unique.filter((p) => positive.get(p)), unique.filter((p) => !positive.get(p))]) {
    const g = shuffle(group);
    validation.push(...g.slice(0, Math.round(g.length * fraction)));
  }
  if (validation.length === 0 && fraction > 0) validation.push(unique[0]!);
  const v = new Set(validation);
  return { train: unique.filter((p) => !v.has(p)), validation: validation.sort() };
}

/** The highest threshold whose sensitivity on (truth, probability) reaches the target. */
export function thresholdForSensitivity(truth: number[], probs: number[], target: number): number {
  const pos = probs.filter((_, i) => truth[i] === 1).sort((a, b) => b - a);
  if (pos.length === 0) return 0.5;
  const need = Math.ceil(target * pos.length);
  return pos[Math.max(0, need - 1)]!;
}

export async function loadLabelled(dir: string, labelsCsv: string): Promise<{ data: LabelledImage[]; skipped: SkippedFile[] }> {
  let text: string;
  try {
    text = await readFile(labelsCsv, 'utf8');
  } catch (err) {
    const reason = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'unknown error';
    throw new LeptonError('LABELS_READ_FAILED', `Could not read the labels CSV (${reason}); check that the file exists and is readable.`, { cause: err, details: { reason } });
  }
  let cols: string[] = [];
  const rows: Array<Record<string, string>> = [];
  const badLines: SkippedFile[] = [];
  for (const item of parseCsv(text)) {
    if ('header' in item) cols = item.header;
    else if ('fields' in item) rows.push(Object.fromEntries(cols.map((c, i) => [c, item.fields[i]!])));
    else badLines.push({ path: `${labelsCsv}:${item.line}`, reason: `labels CSV line ${item.line}: ${item.message}` });
  }
  if (!cols.includes('label') || !(cols.includes('file') || cols.includes('sop_instance_uid'))) {
    throw new LeptonError('INVALID_INPUT', `${labelsCsv}: needs a header with "label" and "file" or "sop_instance_uid", got ${cols.join(', ') || 'no columns'}.`);
  }
  const byFile = new Map<string, Record<string, string>>();
  const byUid = new Map<string, Record<string, string>>();
  for (const r of rows) {
    if (r['file']) byFile.set(resolve(dir, r['file']), r);
    if (r['sop_instance_uid']) byUid.set(r['sop_instance_uid'], r);
  }
  const csvPath = resolve(labelsCsv);
  const { images, failures } = await readDicomFolder(dir, { recursive: true, filter: (p) => resolve(p) !== csvPath });
  const skipped = [...badLines, ...failures.map((f: DicomLoadFailure) => ({ path: f.path, reason: f.error.message }))];
  const data: LabelledImage[] = [];
  for (const image of images) {
    const path = image.source ? resolve(image.source) : undefined;
    const row = (path && byFile.get(path)) || (image.meta.sopInstanceUid && byUid.get(image.meta.sopInstanceUid));
    if (!row) {
      skipped.push({ path: image.source ? relative(dir, image.source) : '(unknown)', reason: 'no label in the CSV' });
      continue;
    }
    const patientId = row['patient_id'] || image.meta.patientId;
    data.push({ image, label: row['label']!, ...(patientId ? { patientId } : {}) });
  }
  return { data, skipped };
}

