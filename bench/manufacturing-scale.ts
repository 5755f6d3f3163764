// Manufacturing scale-out benchmark (issue 19 §2): `pnpm bench` runs it with the other suites (BENCH_SUITES=
// manufacturing-scale alone); directly: `node --import tsx bench/manufacturing-scale.ts` (writes
// bench/results/manufacturing-scale.json).
//
// One Mosquitto 2 broker on loopback and 1, then 3 ScaledLineMonitor processes (real child processes, the scale-out
// test's worker) splitting a simulated line of BENCH_SCALE_ASSETS (default 48) assets × 8 signals over 24 partitions.
// For each process count and each pipeline — SPC only (validation → data quality → SPC rules → alarms), and SPC plus
// the dense autoencoder (trained here, saved, loaded by every process; wasm backend; window 20, scored every sample) —
// the warmed-up monitors are frozen (SIGSTOP), BENCH_SCALE_TICKS (default 200) ticks of the line are published (QoS 1)
// and queued by the broker, then the monitors are woken: samples/s = samples ÷ (wake-up → the moment the monitors'
// reports add up to every sample; reports every 100 ms); BENCH_SCALE_REPEATS (default 3) such drains, median reported. So the publisher does not compete for the cores while the
// monitors work; its own rate is reported apart. Leases and keep-alives are long enough that the freeze hands nothing
// over. The cores are shared by the monitors and the broker (and, on a shared development machine, whatever else runs):
// CPU seconds of each over the drain are reported, and samples per monitor CPU second — what one core monitors when
// nothing else competes for it — next to the wall-clock rate.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AnomalyDetector, initRuntime, LINE_SIGNALS, LineMonitor, lineRecords, simulateLine, telemetryTopic, type ScaledLineMonitorOptions } from '@lepton/manufacturing';
import { freePort } from '../packages/manufacturing/test/support/mosquitto.js';
import { connectClient, MonitorProcess, stable, until } from '../packages/manufacturing/test/support/scale-cluster.js';

const PARTITIONS = 24;
const COUNTS = [1, 3] as const;
const PIPELINES = ['spc', 'spc+autoencoder'] as const;
const RUN = (process.env['BENCH_SCALE_PIPELINES'] ?? PIPELINES.join(',')).split(',');

export interface ManufacturingScaleRow {
  pipeline: (typeof PIPELINES)[number];
  processes: number;
  /** Samples published in each timed drain (assets × signals × ticks). */
  samples: number;
  /** Samples the monitors monitored over every drain (every one, or the run would have failed). */
  monitored: number;
  /** Monitors woken → every sample monitored, s (median of the drains). */
  seconds: number;
  /** Median over the drains. */
  samplesPerSecond: number;
  /** samples/s of each drain. */
  runs: number[];
  /** samplesPerSecond ÷ processes. */
  perProcess: number;
  /** Samples each process monitored (the warm-up tick included). */
  byProcess: number[];
  /** Seconds the publisher needed to hand every sample to the broker (monitors frozen). */
  publishSeconds: number;
  /** CPU seconds over every drain: monitor processes together, and mosquitto. */
  cpuSeconds: { monitors: number; broker: number };
  /** Samples per CPU second of the monitor processes: what one core monitors when nothing else competes for it. */
  samplesPerMonitorCpuSecond: number;
  /** The machine's 1-minute load average after the drains (others' work included). */
  loadAverage: number;
}

export interface ManufacturingScaleBench {
  assets: number;
  signals: number;
  ticks: number;
  /** Timed drains per configuration. */
  repeats: number;
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
  const repeats = Number(process.env['BENCH_SCALE_REPEATS'] ?? 3);
  const base = { assets: nAssets, signals: LINE_SIGNALS.length, ticks, repeats, partitions: PARTITIONS, cores: cpus().length };
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

  // The broker: no limit on queued QoS 1 messages per client (a burst waits at the broker instead of being dropped),
  // nor on unacknowledged ones in flight to a client (Mosquitto's default of 20 makes a member wait a round trip per
  // 20 samples: on a loaded machine, latency rather than CPU would set the rate).
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
  const broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  const out: ManufacturingScaleRow[] = [];
  const workers: MonitorProcess[] = [];
  try {
    for (let i = 0; !(await listening(port)); i++) {
      if (i > 100) throw new Error('mosquitto did not start');
      await sleep(50);
    }
    for (const pipeline of PIPELINES.filter((p) => RUN.includes(p))) {
      for (const n of COUNTS) {
        const prefix = `bench-${pipeline === 'spc' ? 'spc' : 'ae'}-${n}`;
        // Timestamps end a minute before now: in the past, as live data is (the monitors check clock skew).
        const line = simulateLine({ assets, samples: 1 + repeats * ticks, seed: 52, start: Date.now() - (repeats * ticks + 60) * 1000 });
        const messages: Array<[string, string]> = [...lineRecords(line)].map((r) => [telemetryTopic(prefix, PARTITIONS, r.asset, r.signal), JSON.stringify({ timestamp: r.timestamp, value: r.value })]);
        const perTick = nAssets * LINE_SIGNALS.length;
        const options: Omit<ScaledLineMonitorOptions, 'memberId'> = {
          url,
          prefix,
          partitions: PARTITIONS,
          heartbeatMs: 500,
          leaseMs: 600_000, // frozen for the publication without being replaced or fencing itself
          keepaliveSeconds: 600,
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
        const pub = await connectClient(url);
        // A sliding window of 1,000 unacknowledged messages (QoS 1 packet ids are 16-bit: never hand the client 65,536).
        const publish = async (from: number, to: number): Promise<void> => {
          let next = from;
          const lane = async (): Promise<void> => {
            while (next < to) {
              const [t, p] = messages[next++]!;
              await pub.publishAsync(t, p, { qos: 1 });
            }
          };
          await Promise.all(Array.from({ length: 1000 }, lane));
        };
        const monitorCpu = (): number => group.reduce((a, w) => a + (w.report?.cpuSeconds ?? 0), 0);
        // Warm-up: one tick, so every asset exists, has its first snapshot, and (with the model) the backend is warm.
        await publish(0, perTick);
        await until(() => monitored() >= perTick, 120_000, 'the warm-up tick').catch((err: Error) => {
          throw new Error(`${err.message} (monitored ${monitored()} of ${perTick}; ${group.map((w) => `${w.id}: ${w.report?.samples} samples, ${w.report?.assets.length} assets, partitions ${w.report?.partitions.join(',')}${w.exited ? ', exited' : ''}, errors ${JSON.stringify(w.of('error').map((e) => e.event))}`).join('; ')})`);
        });
        // Timed drains, each of `ticks` ticks: the median is reported (the machine may be shared), CPU over all of them.
        const rates: number[] = [];
        const drains: number[] = [];
        const publishes: number[] = [];
        let monitorsCpu = 0;
        let brokerCpu = 0;
        for (let run = 0; run < repeats; run++) {
          const from = perTick * (1 + run * ticks);
          const to = from + perTick * ticks;
          await sleep(300); // a fresh report from every process: the CPU counters at the start
          const monitorCpu0 = monitorCpu();
          for (const w of group) w.child.kill('SIGSTOP');
          const p0 = performance.now();
          await publish(from, to); // acknowledged: the broker holds every sample
          publishes.push((performance.now() - p0) / 1000);
          const brokerCpu0 = cpuOf(broker.pid);
          const t0 = performance.now();
          for (const w of group) w.child.kill('SIGCONT');
          await until(() => monitored() >= to, 600_000, `${to} samples to be monitored`).catch((err: Error) => {
            throw new Error(`${err.message} (monitored ${monitored()}; processes: ${group.map((w) => `${w.id} ${w.report?.samples ?? 0} samples, partitions ${w.report?.partitions.join(',')}`).join('; ')})`);
          });
          const seconds = (performance.now() - t0) / 1000;
          drains.push(seconds);
          rates.push((to - from) / seconds);
          brokerCpu += cpuOf(broker.pid) - brokerCpu0;
          const reported = group.map((w) => w.report!.at);
          await until(() => group.every((w, i) => w.report!.at > reported[i]!), 10_000, 'a report after the run');
          monitorsCpu += monitorCpu() - monitorCpu0;
        }
        await pub.endAsync();
        const byProcess = group.map((w) => w.report!.samples);
        await Promise.all(group.map((w) => w.close(60_000)));
        const samples = perTick * ticks;
        const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
        const rate = median(rates);
        const row: ManufacturingScaleRow = {
          pipeline,
          processes: n,
          samples,
          monitored: monitored() - perTick,
          seconds: median(drains),
          samplesPerSecond: rate,
          runs: rates,
          perProcess: rate / n,
          byProcess,
          publishSeconds: median(publishes),
          cpuSeconds: { monitors: monitorsCpu, broker: brokerCpu },
          samplesPerMonitorCpuSecond: (samples * repeats) / monitorsCpu,
          loadAverage: loadavg()[0]!,
        };
        out.push(row);
        log(`  ${pipeline}, ${n} process(es): ${row.samplesPerSecond.toFixed(0)} samples/s (median of ${rates.map((x) => x.toFixed(0)).join(', ')}; ${byProcess.join(' + ')}), ${row.samplesPerMonitorCpuSecond.toFixed(0)} per monitor CPU second`);
      }
    }
  } finally {
    for (const w of workers) if (!w.exited) w.kill();
    broker.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
  const ran = PIPELINES.filter((p) => RUN.includes(p));
  const ratios = ran.map((p) => {
    const [one, three] = [1, 3].map((n) => out.find((r) => r.pipeline === p && r.processes === n)!);
    return { name: `${p}: 3 processes ÷ 1`, value: three!.samplesPerSecond / one!.samplesPerSecond };
  });
  // What splitting costs per sample: fewer windows per forward pass, three sets of heartbeats and timers.
  const cpuRatios = ran.map((p) => {
    const [one, three] = [1, 3].map((n) => out.find((r) => r.pipeline === p && r.processes === n)!);
    return { name: `${p}: samples per monitor CPU second, 3 processes ÷ 1`, value: three!.samplesPerMonitorCpuSecond / one!.samplesPerMonitorCpuSecond };
  });
  log(`\nmanufacturing scale-out (Mosquitto 2, ${nAssets} assets × ${LINE_SIGNALS.length} signals, ${ticks} ticks, ${PARTITIONS} partitions; samples queued at the broker, then drained by the monitors; ${cpus().length} cores shared with the broker):`);
  log('| pipeline | processes | samples/s (median) | drains | per process | samples by process | CPU s monitors / broker | samples per monitor CPU s | load avg |');
  log('| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |');
  for (const r of out) {
    log(`| ${r.pipeline} | ${r.processes} | ${r.samplesPerSecond.toFixed(0)} | ${r.runs.map((x) => x.toFixed(0)).join(', ')} | ${r.perProcess.toFixed(0)} | ${r.byProcess.join(' / ')} | ${r.cpuSeconds.monitors.toFixed(1)} / ${r.cpuSeconds.broker.toFixed(1)} | ${r.samplesPerMonitorCpuSecond.toFixed(0)} | ${r.loadAverage.toFixed(1)} |`);
  }
  for (const r of ratios) log(`${r.name}: ${r.value.toFixed(2)}×`);
  for (const r of cpuRatios) log(`${r.name}: ${r.value.toFixed(2)}×`);
  return { ...base, rows: out, ratios: [...ratios, ...cpuRatios] };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runManufacturingScaleBench(console.log);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/manufacturing-scale.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log('wrote bench/results/manufacturing-scale.json');
  process.exit(0);
}
