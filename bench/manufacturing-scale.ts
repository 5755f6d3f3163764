// Manufacturing scale-out benchmark (issue 19 §2): `pnpm bench` runs it with the other suites (BENCH_SUITES=
// manufacturing-scale alone); directly: `node --import tsx bench/manufacturing-scale.ts` (writes
// bench/results/manufacturing-scale.json).
//
// One Mosquitto 2 broker on loopback and 1, then 3 ScaledLineMonitor processes (real child processes, the scale-out
// test's worker) splitting a simulated line of BENCH_SCALE_ASSETS (default 48) assets × 8 signals over 24 partitions.
// For each process count and each pipeline — SPC only (validation → data quality → SPC rules → alarms), and SPC plus
// the dense autoencoder (trained here, saved, loaded by every process; wasm backend; window 20, scored every sample) —
// BENCH_SCALE_TICKS (default 200) ticks of the line are published at once (QoS 1) to idle, warmed-up monitors:
// samples/s = samples ÷ (first publish → the moment the monitors' reports add up to every sample; reports every
// 100 ms). The machine's cores are shared by the monitors, the broker and this publisher: CPU seconds of each are
// reported.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AnomalyDetector, initRuntime, LINE_SIGNALS, LineMonitor, lineRecords, simulateLine, telemetryTopic, type ScaledLineMonitorOptions } from '@lepton/manufacturing';
import { freePort } from '../packages/manufacturing/test/support/mosquitto.js';
import { connectClient, MonitorProcess, stable, until } from '../packages/manufacturing/test/support/scale-cluster.js';

const PARTITIONS = 24;
const COUNTS = [1, 3] as const;
const PIPELINES = ['spc', 'spc+autoencoder'] as const;

export interface ManufacturingScaleRow {
  pipeline: (typeof PIPELINES)[number];
  processes: number;
  /** Samples published in the timed run (assets × signals × ticks). */
  samples: number;
  /** Samples the monitors monitored (every one, or the run would have failed). */
  monitored: number;
  /** First publish → every sample monitored, s. */
  seconds: number;
  samplesPerSecond: number;
  /** samplesPerSecond ÷ processes. */
  perProcess: number;
  /** Samples each process monitored. */
  byProcess: number[];
  /** Seconds the publisher needed to hand every sample to the broker. */
  publishSeconds: number;
  /** CPU seconds over the run and the warm-up: monitor processes together, mosquitto, the publisher. */
  cpuSeconds: { monitors: number; broker: number; publisher: number };
}

export interface ManufacturingScaleBench {
  assets: number;
  signals: number;
  ticks: number;
  partitions: number;
  cores: number;
  rows: ManufacturingScaleRow[];
  ratios: Array<{ name: string; value: number }>;
  /** Why the suite did not run (no mosquitto). */
  skipped?: string;
}

/** CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Runs the scale-out benchmark and prints its table. */
export async function runManufacturingScaleBench(log: (s: string) => void = console.log): Promise<ManufacturingScaleBench> {
  const nAssets = Number(process.env['BENCH_SCALE_ASSETS'] ?? 48);
  const ticks = Number(process.env['BENCH_SCALE_TICKS'] ?? 200);
  const base = { assets: nAssets, signals: LINE_SIGNALS.length, ticks, partitions: PARTITIONS, cores: cpus().length };
  if (spawnSync('mosquitto', ['-h']).error !== undefined) {
    const skipped = 'mosquitto not found (apt-get install -y mosquitto)';
    log(`\nmanufacturing-scale suite skipped: ${skipped}`);
    return { ...base, rows: [], ratios: [], skipped };
  }
  await initRuntime({ backend: 'wasm' }, {});
  const dir = await mkdtemp(join(tmpdir(), 'lepton-mfg-scale-'));
  const assets = Array.from({ length: nAssets }, (_, i) => `asset-${String(i + 1).padStart(3, '0')}`);
  // Phase I limits per asset and the autoencoder, from normal operation (synthetic, other seeds than the streamed data).
  const normal = simulateLine({ assets, samples: 900, seed: 51 });
  const baseline = LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS);
  const detector = await AnomalyDetector.fitSeries(assets.slice(0, 4).map((a) => normal.rows[a]!), { signals: [...LINE_SIGNALS], window: 20, epochs: 4, quantile: 0.999, seed: 1 });
  const detectorDir = join(dir, 'detector');
  await detector.save(detectorDir, { name: 'bench-line-ae', version: '1.0.0' });
  detector.dispose();

  // The broker: no limit on queued QoS 1 messages per client, so a burst waits at the broker instead of being dropped.
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 100\npersistence false\n`);
  const broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  const out: ManufacturingScaleRow[] = [];
  const workers: MonitorProcess[] = [];
  try {
    for (let i = 0; !(await listening(port)); i++) {
      if (i > 100) throw new Error('mosquitto did not start');
      await sleep(50);
    }
    for (const pipeline of PIPELINES) {
      for (const n of COUNTS) {
        const prefix = `bench-${pipeline === 'spc' ? 'spc' : 'ae'}-${n}`;
        // Timestamps end a minute before now: in the past, as live data is (the monitors check clock skew).
        const line = simulateLine({ assets, samples: ticks + 1, seed: 52, start: Date.now() - (ticks + 60) * 1000 });
        const messages: Array<[string, string]> = [...lineRecords(line)].map((r) => [telemetryTopic(prefix, PARTITIONS, r.asset, r.signal), JSON.stringify({ timestamp: r.timestamp, value: r.value })]);
        const perTick = nAssets * LINE_SIGNALS.length;
        const options: Omit<ScaledLineMonitorOptions, 'memberId'> = {
          url,
          prefix,
          partitions: PARTITIONS,
          heartbeatMs: 500,
          leaseMs: 5000,
          settleMs: 1000,
          snapshotEveryMs: 5000,
          monitor: { signals: LINE_SIGNALS, baseline, ruleSet: { rules: [1, 5], runLength: 9 }, alarms: { spc: { raiseAfter: 2 } } },
        };
        const env: Record<string, string> = { SCALE_KEYS: '0', ...(pipeline === 'spc' ? {} : { SCALE_DETECTOR: detectorDir }) };
        const group = Array.from({ length: n }, (_, i) => new MonitorProcess(`m${i}`, options, env));
        workers.push(...group);
        const monitored = (): number => group.reduce((a, w) => a + (w.report?.samples ?? 0), 0);
        await until(() => group.every((w) => w.ready), 180_000, `${n} monitor processes to start`);
        await until(() => stable(group, PARTITIONS), 60_000, 'the members to split the partitions');
        const brokerCpu0 = cpuOf(broker.pid);
        const pubCpu0 = process.cpuUsage();
        const pub = await connectClient(url);
        const publish = async (from: number, to: number): Promise<void> => {
          for (let i = from; i < to; i += 2000) await Promise.all(messages.slice(i, Math.min(to, i + 2000)).map(([t, p]) => pub.publishAsync(t, p, { qos: 1 })));
        };
        // Warm-up: one tick, so every asset exists, has its first snapshot, and (with the model) the backend is warm.
        await publish(0, perTick);
        await until(() => monitored() >= perTick, 120_000, 'the warm-up tick');
        const t0 = performance.now();
        await publish(perTick, messages.length);
        const publishSeconds = (performance.now() - t0) / 1000;
        await until(() => monitored() >= messages.length, 600_000, `${messages.length} samples to be monitored`);
        const seconds = (performance.now() - t0) / 1000;
        const pubCpu = process.cpuUsage(pubCpu0);
        await pub.endAsync();
        const brokerCpu = cpuOf(broker.pid) - brokerCpu0;
        const byProcess = group.map((w) => w.report!.samples);
        await Promise.all(group.map((w) => w.close(60_000)));
        const samples = messages.length - perTick;
        const row: ManufacturingScaleRow = {
          pipeline,
          processes: n,
          samples,
          monitored: monitored() - perTick,
          seconds,
          samplesPerSecond: samples / seconds,
          perProcess: samples / seconds / n,
          byProcess,
          publishSeconds,
          cpuSeconds: { monitors: group.reduce((a, w) => a + (w.closed?.cpuSeconds ?? 0), 0), broker: brokerCpu, publisher: (pubCpu.user + pubCpu.system) / 1e6 },
        };
        out.push(row);
        log(`  ${pipeline}, ${n} process(es): ${row.samplesPerSecond.toFixed(0)} samples/s (${byProcess.join(' + ')})`);
      }
    }
  } finally {
    for (const w of workers) if (!w.exited) w.kill();
    broker.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
  const ratios = PIPELINES.map((p) => {
    const [one, three] = [1, 3].map((n) => out.find((r) => r.pipeline === p && r.processes === n)!);
    return { name: `${p}: 3 processes ÷ 1`, value: three!.samplesPerSecond / one!.samplesPerSecond };
  });
  log(`\nmanufacturing scale-out (Mosquitto 2, ${nAssets} assets × ${LINE_SIGNALS.length} signals, ${ticks} ticks, ${PARTITIONS} partitions, ${cpus().length} cores shared with the broker and the publisher):`);
  log('| pipeline | processes | samples/s | per process | samples by process | publish s | CPU s monitors / broker / publisher |');
  log('| --- | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const r of out) {
    log(`| ${r.pipeline} | ${r.processes} | ${r.samplesPerSecond.toFixed(0)} | ${r.perProcess.toFixed(0)} | ${r.byProcess.join(' / ')} | ${r.publishSeconds.toFixed(1)} | ${r.cpuSeconds.monitors.toFixed(1)} / ${r.cpuSeconds.broker.toFixed(1)} / ${r.cpuSeconds.publisher.toFixed(1)} |`);
  }
  for (const r of ratios) log(`${r.name}: ${r.value.toFixed(2)}×`);
  return { ...base, rows: out, ratios };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runManufacturingScaleBench(console.log);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/manufacturing-scale.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log('wrote bench/results/manufacturing-scale.json');
  process.exit(0);
}
