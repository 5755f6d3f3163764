// Federated hospitals example. Three simulated hospitals, each with its own seeded synthetic chest-CT studies written
// as real DICOM files (fictitious patients, no real patient data) and its own case mix, train one lung-nodule model
// together. The coordinator is a separate Node process (coordinator.ts, forked here) listening on 127.0.0.1; the three
// hospitals are FederatedPartners in this process, each with its own bearer token, talking to it over real HTTP.
// Secure aggregation is on: the coordinator only ever sees the sum of the hospitals' updates.
//
// Steps: write each hospital's DICOM folder → each hospital reads and preprocesses its own studies (lung window,
// 48 × 48, normalised with statistics agreed from per-site pixel moments) and holds out some of its own patients →
// fork the coordinator → federated rounds, printing per round the participants, each hospital's held-out AUC / loss
// of the global model (sent as metrics only) and the global model's AUC on a shared test set of new patients → each
// hospital trained alone for the same number of epochs, for comparison → the final global model saved as a core bundle,
// loaded as a DiagnosisModel and used on a new study with a Grad-CAM heatmap → check that the coordinator's folder
// holds only global models and state → out/results.json.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBundleSigningKeys, initRuntime, loadBundle, saveBundle, signBundle, tf, type BackendName, type TrainData } from '@lepton/core';
import {
  createIdentityKeys,
  decodeWeights,
  evaluateWeights,
  FederatedPartner,
  readWeights,
  trainLocal,
  writeWeights,
  type CoordinatorStatus,
  type PartnerLocalOptions,
  type PartnerRoundReport,
  type WeightSet,
} from '@lepton/federated';
import { DiagnosisModel, readDicomFile, resolveWindow } from '@lepton/medical';
import { holdOutPatients, pixelMoments, readSlices, toTensors, writeSite, type SitePatient, type SiteSpec } from './data.js';
import { buildNetwork, type CoordinatorMessage, type NetworkSpec, type StartMessage, type StopMessage } from './shared.js';

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const runtime = await initRuntime();
console.log(`runtime: ${runtime.backend} (${runtime.device})`);

// ---- the consortium's choices ---------------------------------------------------------------------------------------
/** Three hospitals with different case mixes (non-IID): nodule prevalence, size, scanner noise. */
const SITES: SiteSpec[] = [
  { id: 'hospital-a', prefix: 'HA', patients: 12, prevalence: 0.2, noiseHu: 10, seed: 11 },
  { id: 'hospital-b', prefix: 'HB', patients: 16, prevalence: 0.5, noiseHu: 15, seed: 22 },
  { id: 'hospital-c', prefix: 'HC', patients: 12, prevalence: 0.7, noiseHu: 25, seed: 33 },
];
/** New patients none of the hospitals has: the consortium's shared test set, scored by its evaluator. */
const TEST_SET: SiteSpec = { id: 'shared-test-set', prefix: 'TS', patients: 16, prevalence: 0.5, noiseHu: 15, seed: 44 };
const SLICES = 8;
const PHANTOM_SIZE = 64;
const NETWORK: NetworkSpec = { size: 48, filters: [8, 16, 32], seed: 1 };
const ROUNDS = 10;
/** One local epoch per round; Adam starts fresh every round, so a moderate learning rate keeps rounds from overshooting. */
const LOCAL: PartnerLocalOptions = { epochs: 1, batchSize: 16, learningRate: 2e-3, optimizer: 'adam', classWeight: 'balanced' };

const out = fileURLToPath(new URL('../out/', import.meta.url));
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

// ---- 1. every hospital writes, reads and preprocesses its own studies -------------------------------------------------
interface Site {
  spec: SiteSpec;
  patients: SitePatient[];
  train: Awaited<ReturnType<typeof readSlices>>;
  heldOut: Awaited<ReturnType<typeof readSlices>>;
}
const sites: Site[] = [];
for (const spec of SITES) {
  const patients = await writeSite(join(out, 'hospitals', spec.id, 'studies'), spec, SLICES, PHANTOM_SIZE);
  const split = holdOutPatients(patients, spec.seed);
  sites.push({ spec, patients, train: await readSlices(split.train, 'lung', NETWORK.size), heldOut: await readSlices(split.heldOut, 'lung', NETWORK.size) });
}
const testPatients = await writeSite(join(out, 'shared-test-set'), TEST_SET, SLICES, PHANTOM_SIZE);
const testSlices = await readSlices(testPatients, 'lung', NETWORK.size);
for (const s of sites) {
  const pos = s.patients.filter((p) => p.hasLesion).length;
  console.log(
    `${s.spec.id}: ${s.patients.length} synthetic patients as DICOM (${pos} with a nodule, noise ${s.spec.noiseHu} HU); ` +
      `trains on ${s.train.labels.length} slices of ${new Set(s.train.patients).size} patients (${s.train.labels.filter((l) => l === 1).length} nodule slices), ` +
      `holds out ${new Set(s.heldOut.patients).size} patients`,
  );
}
console.log(`shared test set: ${testPatients.length} new patients, ${testSlices.labels.length} slices (${testSlices.labels.filter((l) => l === 1).length} nodule slices)`);

// Normalisation: each hospital shares three numbers (pixel sum, sum of squares, count of its training slices), never
// an image; the consortium turns them into one mean and standard deviation everybody uses.
const moments = sites.map((s) => pixelMoments(s.train));
const count = moments.reduce((a, m) => a + m.count, 0);
const mean = moments.reduce((a, m) => a + m.sum, 0) / count;
const std = Math.sqrt(Math.max(1e-12, moments.reduce((a, m) => a + m.sumSq, 0) / count - mean ** 2));
const window = resolveWindow('lung');
const tensors = sites.map((s) => ({ train: toTensors(s.train, NETWORK.size, mean, std), heldOut: toTensors(s.heldOut, NETWORK.size, mean, std) }));
const testData = toTensors(testSlices, NETWORK.size, mean, std);
console.log(`[${elapsed()}] preprocessing agreed: lung window (C ${window.center}, W ${window.width}), ${NETWORK.size}×${NETWORK.size}, mean ${mean.toFixed(4)}, std ${std.toFixed(4)}`);

// ---- 2. the coordinator process ------------------------------------------------------------------------------------------
const stateDir = join(out, 'coordinator');
const tokens = Object.fromEntries(SITES.map((s) => [s.id, randomBytes(24).toString('hex')]));
// Each hospital's long-term Ed25519 identity. The public keys are exchanged out of band (here: in this process); every
// hospital checks what the coordinator relays against them, so the coordinator cannot substitute a key or invent a site.
const identities = Object.fromEntries(SITES.map((s) => [s.id, createIdentityKeys()]));
const peersOf = (id: string): Record<string, string> =>
  Object.fromEntries(SITES.filter((s) => s.id !== id).map((s) => [s.id, identities[s.id]!.publicKey]));
const adminToken = randomBytes(24).toString('hex');
const coordinator = await startCoordinator({
  type: 'start',
  backend: runtime.backend as BackendName,
  stateDir,
  rounds: ROUNDS,
  network: NETWORK,
  partners: SITES.map((s) => ({ id: s.id, token: tokens[s.id]!, identityKey: identities[s.id]!.publicKey })),
  adminToken,
});
console.log(`[${elapsed()}] coordinator process ${coordinator.pid} listening on ${coordinator.url} (secure aggregation on, ${ROUNDS} rounds, all 3 hospitals per round)`);

// ---- 3. federated rounds ------------------------------------------------------------------------------------------------
// The hospitals run in this process, all three at once: their HTTP traffic overlaps, and core runs their local training
// one at a time (seeded training swaps Math.random globally while it runs, so two in one process must not interleave).
const partnerModels = SITES.map(() => buildNetwork(NETWORK));
const partners = SITES.map(
  (s, i) =>
    new FederatedPartner({
      url: coordinator.url,
      id: s.id,
      token: tokens[s.id]!,
      model: partnerModels[i]!,
      trainData: tensors[i]!.train,
      heldOutData: tensors[i]!.heldOut,
      local: { ...LOCAL, seed: 100 * (i + 1) },
      secureAggregation: true, // refuse to send an unmasked update, whatever the coordinator says
      identity: identities[s.id]!,
      peers: peersOf(s.id),
      // what it announced and revealed, kept across restarts (each site keeps this file with its identity key)
      stateFile: join(out, `partner-${s.id}.json`),
      pollWaitMs: 5000,
    }),
);
// The consortium's evaluator: holds the admin token and the shared test set; scores each global model.
const evaluator = buildNetwork(NETWORK);
const specs = (await readWeights(evaluator)).specs;
const testAuc = async (w: WeightSet, data: TrainData = testData): Promise<number> => (await evaluateWeights(evaluator, w, data))['auc']!;

interface RoundRow {
  round: number;
  participants: string[];
  hospitals: Record<string, { auc: number; loss: number }>;
  globalAuc: number;
}
const rows: RoundRow[] = [];
const globals: WeightSet[] = [await fetchGlobal()];
const colW = 22;
console.log(`\n${'round'.padEnd(6)}${'participants'.padEnd(14)}${SITES.map((s) => `${s.id} AUC / loss`.padEnd(colW)).join('')}global test AUC`);
let lastReports: PartnerRoundReport[] = [];
for (let call = 1; call <= ROUNDS + 1; call++) {
  const reports = await Promise.all(partners.map((p) => p.runRound()));
  if (call <= ROUNDS) {
    if (!reports.every((r) => r.aggregated)) throw new Error(`round ${call}: not every hospital's update was aggregated`);
    lastReports = reports;
    globals.push(await fetchGlobal());
  } else if (!reports.every((r) => r.done)) throw new Error('the federation did not end after the last round');
  // This call scored the global model of the previous round on each hospital's held-out patients; print that round.
  const status = await fetchStatus();
  const v = call - 1;
  const evals = v === 0 ? status.baseline : status.history[v - 1]!.evaluations;
  const row: RoundRow = {
    round: v,
    participants: v === 0 ? [] : status.history[v - 1]!.participants,
    hospitals: Object.fromEntries(SITES.map((s) => [s.id, { auc: evals[s.id]?.['auc'] ?? Number.NaN, loss: evals[s.id]?.['loss'] ?? Number.NaN }])),
    globalAuc: await testAuc(globals[v]!),
  };
  rows.push(row);
  const cells = SITES.map((s) => `${row.hospitals[s.id]!.auc.toFixed(3)} / ${row.hospitals[s.id]!.loss.toFixed(3)}`.padEnd(colW)).join('');
  console.log(`${String(v).padEnd(6)}${(v === 0 ? 'initial' : String(row.participants.length)).padEnd(14)}${cells}${row.globalAuc.toFixed(3)}`);
}
const completed = await coordinator.stop();
console.log(`[${elapsed()}] federation done: ${completed} rounds; coordinator process exited`);

// ---- 4. each hospital alone, same number of epochs, same settings --------------------------------------------------------
const lone = [];
for (let i = 0; i < sites.length; i++) {
  const net = buildNetwork(NETWORK);
  await trainLocal(net, globals[0]!, tensors[i]!.train, { ...LOCAL, epochs: ROUNDS * (LOCAL.epochs ?? 1), seed: 100 * (i + 1) });
  const w = await readWeights(net);
  net.dispose();
  lone.push({ id: SITES[i]!.id, globalAuc: await testAuc(w), heldOutAuc: await testAuc(w, tensors[i]!.heldOut) });
}
const final = rows.at(-1)!;
const loneMean = lone.reduce((a, l) => a + l.globalAuc, 0) / lone.length;
console.log(
  `\nshared test set AUC: federated ${final.globalAuc.toFixed(3)} vs each hospital alone (${ROUNDS} epochs) ` +
    `${lone.map((l) => `${l.id} ${l.globalAuc.toFixed(3)}`).join(', ')} (mean ${loneMean.toFixed(3)})`,
);
for (const l of lone) {
  console.log(`  ${l.id} own held-out patients: alone ${l.heldOutAuc.toFixed(3)}, federated ${final.hospitals[l.id]!.auc.toFixed(3)}`);
}

// ---- 5. the final global model as a core bundle, used as a DiagnosisModel on a new study ---------------------------------
const threshold = await thresholdForSensitivity(testData, globals[ROUNDS]!, 0.9);
writeWeights(evaluator, globals[ROUNDS]!);
const bundleDir = join(out, 'global-model');
await saveBundle(evaluator, bundleDir, {
  name: 'federated-ct-nodule',
  version: `1.${ROUNDS}.0`,
  task: 'binary',
  labels: ['normal', 'nodule'],
  // The settings DiagnosisModel stores, so DiagnosisModel.load can use the federated network as its own.
  preprocessing: { window, size: [NETWORK.size, NETWORK.size], mean, std, labels: ['normal', 'nodule'], threshold },
  metrics: { sharedTestAuc: final.globalAuc },
  description: 'Lung-nodule slice model trained by federated averaging with secure aggregation across three synthetic hospitals.',
  provenance: { federatedRounds: ROUNDS, hospitals: SITES.map((s) => s.id), secureAggregation: true, data: 'synthetic' },
});
// Sign what is published: the release key (here a throwaway one; in practice held by the federation's release owner)
// covers the manifest and every file, and a consumer loads it only with the public key it trusts.
const release = createBundleSigningKeys();
await signBundle(bundleDir, release.privateKey);
(await loadBundle(bundleDir, { trustedKeys: [release.publicKey] })).model.dispose();
console.log(`[${elapsed()}] global model signed (key ${release.keyId}) and verified against that key`);
const model = await DiagnosisModel.load(bundleDir);
const incoming = await writeSite(join(out, 'incoming'), { id: 'incoming', prefix: 'NEW', patients: 2, prevalence: 0.5, noiseHu: 15, seed: 55 }, SLICES, PHANTOM_SIZE);
const triage = [];
for (const p of incoming) {
  const series = await model.predictSeries(await Promise.all(p.files.map((f) => readDicomFile(f))), { heatmap: true });
  const png = `heatmap-${p.patientId}.png`;
  await writeFile(join(out, png), series.overlayPng!);
  const truth = p.hasLesion ? `nodule on slices ${p.labels.flatMap((l, k) => (l ? [k + 1] : [])).join(', ')}` : 'no nodule';
  console.log(`TRIAGE ${p.patientId}: ${series.positive ? 'POSITIVE' : 'negative'} (p = ${series.probability.toFixed(3)}, key slice ${series.keyImage + 1}/${p.files.length}); truth: ${truth}; ${png}`);
  triage.push({ patientId: p.patientId, positive: series.positive, probability: series.probability, keySlice: series.keyImage + 1, truth: p.hasLesion, heatmap: png });
}
model.dispose();

// ---- 6. what the coordinator kept ------------------------------------------------------------------------------------------
const coordinatorFiles = (await listFiles(stateDir)).map((f) => relative(stateDir, f)).sort();
const allowed = /^(state\.json|rounds\/round-\d{6}\/(weights\.lpw|round\.json|bundle\/[^/]+))$/;
const unexpected = coordinatorFiles.filter((f) => !allowed.test(f));
const patientIds = sites.flatMap((s) => s.patients.map((p) => p.patientId));
const needles = lastReports.map((r) => Buffer.from(r.delta!.buffer, r.delta!.byteOffset, 64));
let patientIdHits = 0;
let updateHits = 0;
let dicomFiles = 0;
for (const f of coordinatorFiles) {
  const bytes = await readFile(join(stateDir, f));
  const text = bytes.toString('latin1');
  patientIdHits += patientIds.filter((id) => text.includes(id)).length;
  updateHits += needles.filter((n) => bytes.indexOf(n) >= 0).length;
  if (bytes.length > 132 && bytes.subarray(128, 132).toString('latin1') === 'DICM') dicomFiles++;
}
console.log(
  `coordinator folder: ${coordinatorFiles.length} files (state.json, ${ROUNDS + 1} global models with manifests and bundles), ${unexpected.length} unexpected; ` +
    `patient IDs found: ${patientIdHits}; DICOM files: ${dicomFiles}; hospital updates found: ${updateHits}`,
);

const results = {
  data: 'synthetic (seeded phantoms written as DICOM; fictitious patients)',
  runtime: runtime.backend,
  partners: 'in the main process (three FederatedPartners, local training one at a time); coordinator in a forked process',
  secureAggregation: true,
  network: NETWORK,
  preprocessing: { window, size: [NETWORK.size, NETWORK.size], mean, std },
  local: LOCAL,
  hospitals: sites.map((s) => ({
    id: s.spec.id,
    patients: s.patients.length,
    withNodule: s.patients.filter((p) => p.hasLesion).length,
    noiseHu: s.spec.noiseHu,
    trainSlices: s.train.labels.length,
    trainNoduleSlices: s.train.labels.filter((l) => l === 1).length,
    heldOutPatients: [...new Set(s.heldOut.patients)],
  })),
  sharedTestSet: { patients: testPatients.length, slices: testSlices.labels.length, noduleSlices: testSlices.labels.filter((l) => l === 1).length },
  roundsPlanned: ROUNDS,
  roundsCompleted: completed,
  rounds: rows,
  federated: { sharedTestAuc: final.globalAuc, heldOut: final.hospitals },
  lone,
  loneMeanSharedTestAuc: loneMean,
  bundle: { dir: 'global-model', threshold },
  triage,
  coordinator: { files: coordinatorFiles, unexpectedFiles: unexpected, patientIdHits, dicomFiles, hospitalUpdateHits: updateHits },
  seconds: (performance.now() - started) / 1000,
};
await writeFile(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
for (const t of tensors) tf.dispose([t.train.x, t.train.y, t.heldOut.x, t.heldOut.y]);
tf.dispose([testData.x, testData.y]);
evaluator.dispose();
for (const m of partnerModels) m.dispose();
console.log(`wrote out/results.json; done in ${elapsed()}`);

// ---- helpers ----------------------------------------------------------------------------------------------------------------
/** Forks the coordinator script, sends it its settings over IPC and waits for its URL. */
function startCoordinator(start: StartMessage): Promise<{ url: string; pid: number; stop: () => Promise<number> }> {
  const child = fork(fileURLToPath(new URL('./coordinator.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let resolveDone: (n: number) => void = () => {};
  let rejectDone: (e: Error) => void = () => {};
  const done = new Promise<number>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
  done.catch(() => {}); // observed by the awaiting code; avoid an unhandled rejection before that
  let completed: number | null = null;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the coordinator process did not report its URL within 60 s')), 60_000);
    child.on('message', (m: CoordinatorMessage) => {
      const stop = (): Promise<number> => {
        child.send({ type: 'stop' } satisfies StopMessage);
        return done;
      };
      if (m.type === 'listening') (clearTimeout(timer), resolve({ url: m.url, pid: m.pid, stop }));
      else if (m.type === 'done') completed = m.completedRounds;
      else {
        const err = new Error(`coordinator failed: ${m.code}: ${m.message}`);
        (clearTimeout(timer), reject(err), rejectDone(err));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) console.error(`coordinator process exited with code ${code} (${signal ?? 'no signal'})`);
      if (completed !== null && code === 0) resolveDone(completed);
      else {
        const err = new Error(`the coordinator process exited with code ${code} before finishing`);
        reject(err);
        rejectDone(err);
      }
    });
    child.send(start);
  });
}

async function adminGet(path: string): Promise<Response> {
  const res = await fetch(`${coordinator.url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

/** The current global weights, as any authorised party downloads them (the evaluator uses the admin token). */
async function fetchGlobal(): Promise<WeightSet> {
  const decoded = decodeWeights(new Uint8Array(await (await adminGet('/v1/global')).arrayBuffer()), specs);
  return { specs: decoded.specs, values: decoded.values as Float32Array };
}

async function fetchStatus(): Promise<CoordinatorStatus> {
  return (await (await adminGet('/v1/status')).json()) as CoordinatorStatus;
}

/** The highest threshold that flags at least `target` of the positive slices of `data` (the bundle's operating point). */
async function thresholdForSensitivity(data: TrainData, w: WeightSet, target: number): Promise<number> {
  writeWeights(evaluator, w);
  // data(), never dataSync(): a synchronous read blocks a GPU backend (and throws on WebGPU in Node).
  const out = tf.tidy(() => evaluator.predict(data.x as tf.Tensor) as tf.Tensor);
  let p: Float32Array;
  try {
    p = (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
  const y = await data.y.data();
  const pos = Array.from(p).filter((_, i) => y[i] === 1).sort((a, b) => b - a);
  return pos.length === 0 ? 0.5 : pos[Math.max(0, Math.ceil(target * pos.length) - 1)]!;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))));
  return nested.flat();
}
