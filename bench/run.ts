// `pnpm bench`: the core benchmark on every backend present here, then the vertical suites (finance). Prints tables,
// writes bench/results/core.json.
// Not part of `pnpm test`. Set BENCH_SECONDS to trade time for stability (default 2 s per measurement).
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';
import { initRuntime, type BackendName } from '@lepton/core';
import { runFederatedBench, type FederatedBench } from './federated.js';
import { runFinanceBench, type FinanceBench } from './finance.js';
import { runFinanceStreamsBench, type FinanceStreamsBench } from './finance-streams.js';
import { runMedicalBench, type MedicalBench } from './medical.js';
import { runSurveillanceBench, type SurveillanceBench } from './surveillance.js';
import { runPoolBench, type PoolBench } from './pool.js';
import { runLineThroughputBench, runManufacturingBench, type DetectorQuality, type LineThroughput } from './manufacturing.js';
import { runManufacturingScaleBench, type ManufacturingScaleBench } from './manufacturing-scale.js';
import { runInspectionThresholdBench, runThresholdBench, type InspectionThresholdFit, type ThresholdFit } from './manufacturing-threshold.js';
import { ratios, runSuite, table, type Row } from './lib.js';
import { runWasmKernelsBench, type WasmKernelCase } from './wasm-kernels.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 2);
const only = process.env['BENCH_BACKENDS']?.split(',') as BackendName[] | undefined;
const candidates: BackendName[] = only ?? ['tensorflow', 'webgpu', 'wasm', 'cpu'];

const present: BackendName[] = [];
const skipped: Record<string, string> = {};
for (const b of candidates) {
  try {
    await initRuntime({ backend: b }, {});
    present.push(b);
  } catch (err) {
    skipped[b] = (err as Error).message;
  }
}
console.log(`backends present: ${present.join(', ')}${Object.keys(skipped).length ? ` (skipped: ${Object.keys(skipped).join(', ')})` : ''}`);

// Suites to run: core (the backend table above all), then the verticals. BENCH_SUITES=federated runs only that one.
const suites = (process.env['BENCH_SUITES'] ?? 'core,wasm-kernels,pool,finance,finance-streams,manufacturing,manufacturing-threshold,manufacturing-scale,medical,federated,surveillance').split(',');
const rows: Row[] = [];
for (const b of suites.includes('core') ? present : []) {
  console.log(`\n${b}:`);
  rows.push(...(await runSuite(b, { seconds, minIterations: 3, log: console.log })));
}
const r = ratios(rows);
console.log(`\n${table(rows)}\n`);
for (const x of r) console.log(`${x.name}: ${x.value.toFixed(1)}×${x.target ? ` (target ≥ ${x.target}×: ${x.met ? 'met' : 'MISSED'})` : ''}`);

// Lepton's wasm kernels against TF.js' own, in child processes (bench/wasm-kernels.ts).
let wasmKernels: WasmKernelCase[] | undefined;
if (suites.includes('wasm-kernels')) wasmKernels = await runWasmKernelsBench(console.log);
else console.log('\nwasm-kernels suite skipped');

// Vertical benchmarks (BENCH_SUITES=core skips them).
let finance: FinanceBench | undefined;
let manufacturing: { detectors: DetectorQuality[]; throughput: LineThroughput[] } | undefined;
let medical: MedicalBench | undefined;
if (suites.includes('finance')) finance = await runFinanceBench(console.log);
else console.log('\nfinance suite skipped');
// Scorer group on Redis Streams: 1, 2 and 4 scorer processes against one redis-server (bench/finance-streams.ts).
let financeStreams: FinanceStreamsBench | undefined;
if (suites.includes('finance-streams')) financeStreams = await runFinanceStreamsBench(console.log);
else console.log('\nfinance-streams suite skipped');
if (suites.includes('manufacturing')) manufacturing = { detectors: await runManufacturingBench(console.log), throughput: await runLineThroughputBench(console.log) };
else console.log('\nmanufacturing suite skipped');
// False alarms on fresh normal operation against the threshold quantile, before and after calibrate() (bench/manufacturing-threshold.ts).
let manufacturingThreshold: ThresholdFit[] | undefined;
let inspectionThreshold: InspectionThresholdFit[] | undefined;
if (suites.includes('manufacturing-threshold')) {
  manufacturingThreshold = await runThresholdBench(console.log);
  inspectionThreshold = await runInspectionThresholdBench(console.log);
}
else console.log('\nmanufacturing-threshold suite skipped');
// Line monitors splitting a plant over MQTT 5: 1 and 3 monitor processes against one mosquitto (bench/manufacturing-scale.ts).
let manufacturingScale: ManufacturingScaleBench | undefined;
if (suites.includes('manufacturing-scale')) manufacturingScale = await runManufacturingScaleBench(console.log);
else console.log('\nmanufacturing-scale suite skipped');
if (suites.includes('medical')) medical = await runMedicalBench(console.log);
else console.log('\nmedical suite skipped');
let federated: FederatedBench | undefined;
if (suites.includes('federated')) federated = await runFederatedBench(console.log);
else console.log('\nfederated suite skipped');
// Worker pool: the reference CNN on 1, 2 … workers against PyTorch CPU on as many threads (bench/pool.ts).
let pool: PoolBench | undefined;
if (suites.includes('pool')) pool = await runPoolBench(console.log);
else console.log('\npool suite skipped');
let surveillance: SurveillanceBench | undefined;
if (suites.includes('surveillance')) surveillance = await runSurveillanceBench(console.log);
else console.log('\nsurveillance suite skipped');

const result = {
  date: new Date().toISOString(),
  machine: { platform: platform(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
  secondsPerMeasurement: seconds,
  skipped,
  rows,
  ratios: r,
  wasmKernels,
  pool,
  finance,
  financeStreams,
  manufacturing,
  manufacturingThreshold,
  inspectionThreshold,
  manufacturingScale,
  medical,
  federated,
  surveillance,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/core.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log('\nwrote bench/results/core.json');
