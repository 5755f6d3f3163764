// Synthetic hospitals: each writes its own seeded chest-CT studies as real DICOM files (fictitious patients, phantoms in
// Hounsfield units, no real patient data), reads them back from its own folder and turns them into model inputs with
// the medical package's preprocessing (modality LUT → lung window → resize → normalisation).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ctPhantom, preprocessImage, readDicomFile, resolveWindow, seededRandom, tf, writeCtSeries, type ImagePreprocessing } from '@lepton/medical';

/** One site's case mix. */
export interface SiteSpec {
  /** Partner id at the coordinator. */
  id: string;
  /** Patient ID prefix (IDs are fictitious). */
  prefix: string;
  /** Patients. */
  patients: number;
  /** Share of patients with a lung nodule. */
  prevalence: number;
  /** Scanner noise (HU, standard deviation). */
  noiseHu: number;
  /** Seed of the site's patients. */
  seed: number;
}

/** One synthetic patient as the site knows it: files and per-slice labels (never leave the site). */
export interface SitePatient {
  /** Fictitious Patient ID. */
  patientId: string;
  /** Whether the study has a nodule. */
  hasLesion: boolean;
  /** DICOM file per slice, top to bottom. */
  files: string[];
  /** 1 where the nodule's cross-section covers ≥ 3 pixels of the slice, else 0 (as generateCtDataset labels). */
  labels: number[];
}

/** Windowed, resized slices of some patients with their labels. */
export interface SliceSet {
  /** Windowed values in [0, 1], `size × size` each. */
  windowed: Float32Array[];
  /** 1 = nodule on the slice, 0 = none. */
  labels: number[];
  /** Patient ID of each slice. */
  patients: string[];
}

/**
 * Writes a site's patients as DICOM series under `dir/<patientId>/` and a labels CSV (`file,patient_id,label`).
 * Lesion patients are drawn with the site's prevalence; each patient's anatomy and noise come from its own seed.
 */
export async function writeSite(dir: string, site: SiteSpec, slices: number, size: number): Promise<SitePatient[]> {
  await mkdir(dir, { recursive: true });
  const rand = seededRandom(site.seed);
  const withLesion = new Set<number>();
  const k = Math.round(site.patients * site.prevalence);
  while (withLesion.size < k) withLesion.add(Math.floor(rand() * site.patients));
  const csv = ['file,patient_id,label'];
  const out: SitePatient[] = [];
  for (let i = 0; i < site.patients; i++) {
    const patientId = `${site.prefix}${String(i + 1).padStart(3, '0')}`;
    const phantom = ctPhantom({ seed: site.seed * 1000 + i, size, slices, lesion: withLesion.has(i), noiseHu: site.noiseHu });
    const files = await writeCtSeries(phantom, { dir: join(dir, patientId), patientId, institution: `${site.id} (synthetic)`, seed: site.seed + i });
    const labels = phantom.masks.map((m) => (m.reduce((a, v) => a + v, 0) >= 3 ? 1 : 0));
    files.forEach((f, s) => csv.push(`${f.slice(dir.length + 1)},${patientId},${labels[s] ? 'nodule' : 'normal'}`));
    out.push({ patientId, hasLesion: withLesion.has(i), files, labels });
  }
  await writeFile(join(dir, 'labels.csv'), `${csv.join('\n')}\n`);
  return out;
}

/**
 * A patient-level hold-out that keeps both kinds of patient on both sides: a quarter of the nodule patients and a
 * quarter of the others (at least one of each) are held out. No patient is on both sides.
 */
export function holdOutPatients(patients: readonly SitePatient[], seed: number): { train: SitePatient[]; heldOut: SitePatient[] } {
  const rand = seededRandom(seed);
  const held = new Set<string>();
  for (const group of [patients.filter((p) => p.hasLesion), patients.filter((p) => !p.hasLesion)]) {
    const ids = group.map((p) => p.patientId);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    ids.slice(0, Math.max(1, Math.round(ids.length / 4))).forEach((id) => held.add(id));
  }
  return { train: patients.filter((p) => !held.has(p.patientId)), heldOut: patients.filter((p) => held.has(p.patientId)) };
}

/** Reads the patients' DICOM files and windows + resizes every slice (normalisation comes later, once agreed). */
export async function readSlices(patients: readonly SitePatient[], window: 'lung', size: number): Promise<SliceSet> {
  const prep: ImagePreprocessing = { window: resolveWindow(window), size: [size, size], mean: 0, std: 1 };
  const set: SliceSet = { windowed: [], labels: [], patients: [] };
  for (const p of patients) {
    for (let s = 0; s < p.files.length; s++) {
      const image = await readDicomFile(p.files[s]!);
      set.windowed.push((await preprocessImage(image, prep)).windowed);
      set.labels.push(p.labels[s]!);
      set.patients.push(p.patientId);
    }
  }
  return set;
}

/** A site's pixel moments: the only thing it shares to agree on the normalisation (three numbers, no image). */
export function pixelMoments(set: SliceSet): { sum: number; sumSq: number; count: number } {
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (const w of set.windowed) for (const v of w) (sum += v), (sumSq += v * v), count++;
  return { sum, sumSq, count };
}

/** Model tensors `[n, size, size, 1]` and `[n, 1]` of a slice set, normalised with the agreed mean and std. */
export function toTensors(set: SliceSet, size: number, mean: number, std: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const x = new Float32Array(set.windowed.length * size * size);
  set.windowed.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) x[i * size * size + j] = (w[j]! - mean) / std;
  });
  return { x: tf.tensor4d(x, [set.windowed.length, size, size, 1]), y: tf.tensor2d(set.labels, [set.labels.length, 1]) };
}
