// CT triage example. Everything runs on a seeded synthetic chest-CT dataset generated here and written as real DICOM
// files (fictitious patients, phantoms in Hounsfield units, no real patient data), at the clinical 512×512 matrix:
// generate studies → train a nodule model (128×128 input, 3 adjacent slices as channels) from the DICOM folder +
// labels CSV with a patient-level split → evaluate on the validation patients → save and reload the model bundle →
// triage a held-out study on worker threads (key image, Grad-CAM heatmap on the full 512×512 slice) → segment the
// nodule and measure its volume → write the results as DICOM SEG and SR → de-identify the study → write heatmap PNGs,
// the DICOM results and results.json.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  deidentifyDicomFolder,
  DiagnosisModel,
  diagnosisToDicomSr,
  generateCtDataset,
  initRuntime,
  LesionSegmenter,
  readDicomFile,
  readDicomFolder,
  segmentationToDicomSeg,
} from '@lepton/medical';

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const runtime = await initRuntime();
console.log(`runtime: ${runtime.backend} (${runtime.device})`);

const out = fileURLToPath(new URL('../out/', import.meta.url));
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

// 1. The hospital's labelled studies: 40 patients, 8 axial 512×512 slices each, half with a lung nodule; labels per slice.
const dataDir = join(out, 'studies');
const patients = await generateCtDataset(dataDir, { patients: 40, slices: 8, size: 512, seed: 2026 });
console.log(`[${elapsed()}] wrote ${patients.length} synthetic CT studies (${patients.filter((p) => p.hasLesion).length} with a nodule) of 8 × 512×512 slices as DICOM, with ${dataDir}/labels.csv`);

// 2. Train from the folder and the CSV; no patient is on both sides of the split. Each slice is reduced to 128×128 by
// area averaging and stacked with the slices above and below it (placed by Image Position (Patient), 5 mm apart).
const { model, split, validation, skipped } = await DiagnosisModel.trainFromFolder(dataDir, join(dataDir, 'labels.csv'), {
  labels: ['normal', 'nodule'],
  size: 128,
  slices: 3,
  filters: [4, 8, 16], // three stages: Grad-CAM's last convolution at 32×32, one cell per 16 pixels of the slice
  epochs: 6,
  batchSize: 8,
  flipAugment: false,
  targetSensitivity: 0.9,
  name: 'ct-nodule-triage',
  version: '1.0.0',
  seed: 1,
});
const { size, slices, sliceSpacingMm } = model.preprocessing;
console.log(
  `[${elapsed()}] trained at ${size[0]}×${size[1]}, ${slices} slices ${sliceSpacingMm} mm apart, on ${split.train.length} patients, validated on ${split.validation.length} ` +
    `(${split.validation.join(', ')}); ${skipped.length} files skipped`,
);
console.log(
  `validation: ROC AUC ${validation.rocAuc.toFixed(3)}, sensitivity ${validation.sensitivity!.toFixed(2)}, specificity ${validation.specificity!.toFixed(2)} ` +
    `at threshold ${validation.threshold!.toFixed(3)}; confusion [normal, nodule] ${JSON.stringify(validation.confusion.matrix)}`,
);
await model.save(join(out, 'model'));
model.dispose();
const triage = await DiagnosisModel.load(join(out, 'model'), { workers: 'auto' }); // scores a series' slices on every core

// 3. A new study arrives: two patients the model has never seen, one with a nodule.
const incoming = join(out, 'incoming');
const fresh = await generateCtDataset(incoming, { patients: 2, slices: 8, size: 512, seed: 77, lesionFraction: 0.5, prefix: 'NEW' });
const results: Array<Record<string, unknown>> = [];
const studies = new Map<string, { images: Awaited<ReturnType<typeof readDicomFile>>[]; series: Awaited<ReturnType<typeof triage.predictSeries>> }>();
for (const p of fresh) {
  const images = await Promise.all(p.files.map((f) => readDicomFile(f)));
  const series = await triage.predictSeries(images, { heatmap: true }); // heatmap on the key slice's 512×512 pixels
  studies.set(p.patientId, { images, series });
  const truth = p.hasLesion ? `nodule on slices ${p.labels.flatMap((l, i) => (l === 'nodule' ? [i + 1] : [])).join(', ')}` : 'no nodule';
  console.log(
    `TRIAGE ${p.patientId}: ${series.positive ? 'POSITIVE — read first' : 'negative'} (p = ${series.probability.toFixed(3)}, key slice ${series.keyImage + 1}/${images.length}, ` +
      `model ${series.model.name}@${series.model.version}); truth: ${truth}`,
  );
  const png = `heatmap-${p.patientId}.png`;
  await writeFile(join(out, png), series.overlayPng!);
  results.push({ patientId: p.patientId, positive: series.positive, probability: series.probability, keySlice: series.keyImage + 1, heatmap: png, heatmapSize: [series.heatmap!.width, series.heatmap!.height], truth: p.hasLesion });
}

// 4. Lesion segmentation (U-Net, Dice loss) on the training patients' nodule slices, then the new nodule's volume.
const lesionTrain = patients.filter((p) => p.hasLesion && split.train.includes(p.patientId));
const samples = (await Promise.all(lesionTrain.map(async (p) => Promise.all(p.files.map(async (f, k) => ({ image: await readDicomFile(f), mask: p.phantom.masks[k]! })))))).flat();
const segmenter = await LesionSegmenter.fit(samples, { seed: 1, epochs: 10 });
const positive = fresh.find((p) => p.hasLesion)!;
const seg = await segmenter.predictSeries(studies.get(positive.patientId)!.images);
const [sy, sx] = positive.phantom.pixelSpacing;
const trueVolume = positive.phantom.masks.reduce((a, m) => a + m.reduce((x, v) => x + v, 0), 0) * sy * sx * positive.phantom.sliceThickness;
console.log(`[${elapsed()}] nodule volume ${positive.patientId}: ${(seg.volumeMm3 / 1000).toFixed(2)} cm³ segmented vs ${(trueVolume / 1000).toFixed(2)} cm³ in the phantom (${seg.slices.filter((s) => s.pixels > 0).length} slices)`);
segmenter.dispose();

// 5. The results as DICOM for the PACS, next to the PNGs: the nodule mask as a Segmentation (SEG) on the source slices,
// and per study a Structured Report (TID 1500) with the finding, the model's probability and, with a nodule, its
// volume referencing the SEG. DicomWebClient.store([seg, sr]) would send them by STOW-RS.
const dicomResults: string[] = [];
const segObject = segmentationToDicomSeg(seg, studies.get(positive.patientId)!.images, { algorithm: { name: 'lesion-segmenter', version: '1.0.0' } });
await writeFile(join(out, `seg-${positive.patientId}.dcm`), segObject.bytes);
dicomResults.push(`seg-${positive.patientId}.dcm`);
for (const p of fresh) {
  const { images, series } = studies.get(p.patientId)!;
  const segmentations = p === positive ? [{ seg: segObject, volumeMm3: seg.volumeMm3 }] : [];
  const sr = diagnosisToDicomSr(series, images, { segmentations });
  await writeFile(join(out, `sr-${p.patientId}.dcm`), sr.bytes);
  dicomResults.push(`sr-${p.patientId}.dcm`);
}
console.log(`[${elapsed()}] wrote ${dicomResults.join(', ')} (SEG: ${segObject.numberOfFrames} frames)`);

// 6. De-identify the incoming studies before they leave the hospital (PS3.15 Annex E Basic Profile).
const deid = await deidentifyDicomFolder(incoming, join(out, 'deidentified'), { secret: 'example-secret-keep-in-a-vault' }, { filter: (f) => f.endsWith('.dcm') });
const leaked: string[] = [];
for (const f of deid.files) {
  const bytes = (await readFile(f.output)).toString('latin1');
  for (const p of fresh) if (bytes.includes(p.patientId) || bytes.includes(`Phantom^${p.patientId}`)) leaked.push(f.output);
}
const { images: deidImages } = await readDicomFolder(join(out, 'deidentified'));
console.log(
  `[${elapsed()}] de-identified ${deid.files.length} files (${deid.failures.length} failed); patient IDs now ${[...new Set(deidImages.map((i) => i.meta.patientId))].join(', ')}; ` +
    `original identifiers found in outputs: ${leaked.length}`,
);

await writeFile(
  join(out, 'results.json'),
  `${JSON.stringify({ model: { name: 'ct-nodule-triage', version: '1.0.0', threshold: triage.threshold, preprocessing: triage.preprocessing }, split, validation, triage: results, segmentation: { patientId: positive.patientId, volumeMm3: seg.volumeMm3, trueVolumeMm3: trueVolume }, dicom: dicomResults, deidentified: deid.files.length }, null, 2)}\n`,
);
console.log(`wrote out/results.json, ${results.length} heatmap PNGs and ${dicomResults.length} DICOM results; done in ${elapsed()}`);
await triage.close();
