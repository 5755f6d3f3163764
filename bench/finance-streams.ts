// Finance scorer-group benchmark (issue 19 §1): `pnpm bench` runs it with the other suites (BENCH_SUITES=finance-streams
// alone); directly: `node --import tsx bench/finance-streams.ts` (writes bench/results/finance-streams.json).
//
// One redis-server on loopback (no persistence) and 1, 2 and 4 scorer processes (FraudScorerService, a FraudModel
// trained here and loaded by every process from its bundle, wasm backend), 8 partitions, batches of 64:
// - throughput: BENCH_STREAM_TX (default 6,000) synthetic transactions published at once to idle, warmed-up scorers;
//   transactions ÷ (time of the last score entry − time of the first input entry), both by the Redis clock (entry ids);
// - latency: input entry → score entry (ms, from the entry ids) at a paced load, the same offered rate for every
//   process count (half of what one process sustained), for BENCH_STREAM_PACED_SECONDS (default 5).
// The machine's cores are shared by the scorers, redis-server and this driver: CPU seconds of each are reported.
// BENCH_STREAM_ROUNDS (default 3) rounds of 1, 2, 4 processes: rows are each configuration's median round, ratios
// the median over rounds of the ratio within a round.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FeatureEngine, FraudModel, FraudScorerService, generateTransactions, initRuntime, replayHistory, ScorerStreamClient, type ScoreRecord, type Transaction } from '@lepton/finance';

const PARTITIONS = 8;
const BATCH = 64;
const COUNTS = [1, 2, 4] as const;

export interface FinanceStreamsRow {
  /** Round (1 …): every round runs 1, 2 and 4 processes in turn. */
  round: number;
  /** The machine's 1-minute load average when the configuration finished (other work shares the cores). */
  loadAverage: number;
  processes: number;
  /** Transactions in the throughput run. */
  transactions: number;
  /** Seconds from the first input entry to the last score entry. */
  seconds: number;
  txPerSecond: number;
  /** txPerSecond ÷ processes. */
  perProcessTxPerSecond: number;
  /** Scores each process wrote in the throughput run. */
  scoredByProcess: number[];
  /** Paced run: offered rate, transactions, and input → score latency. */
  latency: { offeredPerSecond: number; transactions: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** CPU seconds over the warm-up and both runs: every scorer process together, and redis-server. */
  cpuSeconds: { scorers: number; redis: number };
  /** Scorer CPU milliseconds per transaction over the same span: the cost of the work plus the group's overhead. */
  scorerCpuMsPerTx: number;
}

export interface FinanceStreamsBench {
  backend: string;
  cores: number;
  partitions: number;
  batchSize: number;
  /** Every configuration of every round, in order. */
  rounds: FinanceStreamsRow[];
  /** Each configuration's median round (by throughput). */
  rows: FinanceStreamsRow[];
  ratios: Array<{ name: string; value: number }>;
  /** Why the suite did not run (no redis-server on PATH). */
  skipped?: string;
}

interface WorkerConfig {
  url: string;
  stream: string;
  modelDir: string;
  consumer: string;
}

/** One scorer process (this file run with --worker): prints READY, and STATS with its CPU time after SIGTERM. */
async function worker(config: WorkerConfig): Promise<void> {
  await initRuntime({ backend: 'wasm' }, {});
  const model = await FraudModel.load(config.modelDir);
  const service = await FraudScorerService.start({ connection: config.url, stream: config.stream, partitions: PARTITIONS, batchSize: BATCH, consumer: config.consumer, model, blockMs: 200 });
  const cpu0 = process.cpuUsage();
  process.stdout.write('READY\n');
  process.once('SIGTERM', () => {
    void service.close().then(async () => {
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(`STATS ${JSON.stringify({ ...service.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
      await model.close();
      process.exit(0);
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      s.destroy();
    });
    s.once('error', () => resolve(false));
  });
}

/** CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

function spawnScorer(config: WorkerConfig): { child: ChildProcess; ready: Promise<void>; stats: Promise<Record<string, number>> } {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--worker', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => undefined;
  let onFailed: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFailed = reject;
  });
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('READY\n')) onReady();
  });
  const stats = new Promise<Record<string, number>>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('STATS '));
      const err = new Error(`scorer ${config.consumer} exited (${code}) without its stats`);
      onFailed(err); // a scorer that dies before READY fails the run instead of hanging it
      if (line) resolve(JSON.parse(line.slice(6)) as Record<string, number>);
      else reject(err);
    });
  });
  stats.catch(() => undefined); // awaited after SIGTERM; an early death is reported through `ready`
  return { child, ready, stats };
}

const msOf = (id: string): number => Number(id.split('-')[0]);

async function scoresSoFar(client: ScorerStreamClient, after?: string): Promise<ScoreRecord[]> {
  const out: ScoreRecord[] = [];
  let last = after;
  for (;;) {
    const page = await client.readScores(last === undefined ? { count: 10_000 } : { after: last, count: 10_000 });
    if (page.length === 0) return out;
    out.push(...page);
    last = page.at(-1)!.entryId;
  }
}

async function waitForScores(client: ScorerStreamClient, n: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await client.status()).scores < n) {
    if (Date.now() > until) throw new Error(`only ${(await client.status()).scores} of ${n} scores after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

const quantile = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** Runs the scorer-group benchmark and prints its table. */
export async function runFinanceStreamsBench(log: (s: string) => void = console.log): Promise<FinanceStreamsBench> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    const skipped = 'redis-server not found (apt-get install -y redis-server)';
    log(`\nfinance-streams suite skipped: ${skipped}`);
    return { backend: 'wasm', cores: cpus().length, partitions: PARTITIONS, batchSize: BATCH, rounds: [], rows: [], ratios: [], skipped };
  }
  const throughputTx = Number(process.env['BENCH_STREAM_TX'] ?? 6000);
  const pacedSeconds = Number(process.env['BENCH_STREAM_PACED_SECONDS'] ?? 5);
  const rounds = Number(process.env['BENCH_STREAM_ROUNDS'] ?? 3);
  await initRuntime({ backend: 'wasm' }, {});
  const dir = await mkdtemp(join(tmpdir(), 'lepton-streams-bench-'));
  // The model: trained on its own synthetic history (another seed than the streamed transactions).
  const history = generateTransactions({ cards: 300, days: 14, seed: 41 });
  const engine = new FeatureEngine();
  const historyRows = await replayHistory(engine, history);
  const cut = Math.floor(history.length * 0.75);
  const part = (a: number, b: number) => ({ rows: historyRows.slice(a, b), labels: history.slice(a, b).map((t) => t.label) });
  const { model } = await FraudModel.train(part(0, cut), part(cut, history.length), { featureNames: engine.names, epochs: 5, seed: 1 });
  const modelDir = join(dir, 'model');
  await model.save(modelDir, { name: 'bench-fraud', version: '1.0.0' });
  await model.close();

  // Streamed transactions, in time order: warm-up, throughput run, paced run.
  const all: Transaction[] = generateTransactions({ cards: 3000, days: 4, seed: 42 });
  const warm = 400;
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const out: FinanceStreamsRow[] = [];
  try {
    for (let i = 0; !(await ping(port)); i++) {
      if (i > 100) throw new Error('redis-server did not start');
      await sleep(50);
    }
    let offered = 0;
    for (let round = 1; round <= rounds; round++) for (const n of COUNTS) {
      const stream = `bench${n}-r${round}`;
      const client = new ScorerStreamClient({ connection: url, stream, partitions: PARTITIONS });
      const scorers = Array.from({ length: n }, (_, i) => spawnScorer({ url, stream, modelDir, consumer: `p${i}` }));
      try {
        await Promise.all(scorers.map((s) => s.ready));
        const redisCpu0 = cpuOf(redis.pid);
        await client.publish(all.slice(0, warm));
        await waitForScores(client, warm, 120_000);
        const warmScores = await scoresSoFar(client);
        // Throughput: everything at once.
        const batch = all.slice(warm, warm + throughputTx);
        const ids: string[] = [];
        for (let i = 0; i < batch.length; i += 1000) ids.push(...(await client.publish(batch.slice(i, i + 1000))));
        await waitForScores(client, warm + batch.length, 600_000);
        const timed = await scoresSoFar(client, warmScores.at(-1)!.entryId);
        const seconds = (msOf(timed.at(-1)!.entryId) - msOf(ids[0]!)) / 1000;
        const byProcess = scorers.map((_, i) => timed.filter((s) => s.consumer === `p${i}`).length);
        // Latency at a paced load, the same for every process count.
        if (offered === 0) offered = Math.max(20, Math.round((batch.length / seconds) * 0.5));
        const pacedTx = all.slice(warm + throughputTx, warm + throughputTx + Math.round(offered * pacedSeconds));
        const tick = 20;
        const perTick = Math.max(1, Math.round((offered * tick) / 1000));
        const t0 = performance.now();
        for (let i = 0, k = 0; i < pacedTx.length; i += perTick, k++) {
          await sleep(Math.max(0, t0 + k * tick - performance.now()));
          await client.publish(pacedTx.slice(i, i + perTick));
        }
        await waitForScores(client, warm + batch.length + pacedTx.length, 120_000);
        const paced = await scoresSoFar(client, timed.at(-1)!.entryId);
        const lat = paced.map((s) => msOf(s.entryId) - msOf(s.inputId)).sort((a, b) => a - b);
        const redisCpu = cpuOf(redis.pid) - redisCpu0;
        for (const s of scorers) s.child.kill('SIGTERM');
        const stats = await Promise.all(scorers.map((s) => s.stats));
        const txPerSecond = batch.length / seconds;
        const row: FinanceStreamsRow = {
          round,
          loadAverage: loadavg()[0]!,
          processes: n,
          transactions: batch.length,
          seconds,
          txPerSecond,
          perProcessTxPerSecond: txPerSecond / n,
          scoredByProcess: byProcess,
          latency: { offeredPerSecond: offered, transactions: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: lat.at(-1)! },
          cpuSeconds: { scorers: stats.reduce((a, s) => a + (s['cpuSeconds'] ?? 0), 0), redis: redisCpu },
          scorerCpuMsPerTx: 0,
        };
        row.scorerCpuMsPerTx = (row.cpuSeconds.scorers * 1000) / (warm + batch.length + pacedTx.length);
        out.push(row);
        log(`  round ${round}, ${n} process(es): ${txPerSecond.toFixed(0)} tx/s (${byProcess.join(' + ')}), latency p50 ${row.latency.p50Ms} ms, p99 ${row.latency.p99Ms} ms at ${offered} tx/s`);
      } finally {
        for (const s of scorers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
        await client.close();
      }
    }
  } finally {
    redis.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
  // Each configuration's median round; each ratio the median over rounds of the ratio within a round (neighbours in
  // time, so a burst of other work on the machine weighs on both sides).
  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    return (v[Math.floor((v.length - 1) / 2)]! + v[Math.ceil((v.length - 1) / 2)]!) / 2;
  };
  const rows: FinanceStreamsRow[] = COUNTS.map((n) => {
    const mine = out.filter((r) => r.processes === n).sort((a, b) => a.txPerSecond - b.txPerSecond);
    return mine[Math.floor((mine.length - 1) / 2)]!;
  });
  const ratios = COUNTS.filter((n) => n > 1).map((n) => ({
    name: `${n} processes ÷ 1`,
    value: median(Array.from({ length: rounds }, (_, i) => out.find((r) => r.round === i + 1 && r.processes === n)!.txPerSecond / out.find((r) => r.round === i + 1 && r.processes === 1)!.txPerSecond)),
  }));
  log(`\nfinance scorer group (Redis Streams, ${PARTITIONS} partitions, batches of ${BATCH}, wasm, ${cpus().length} cores shared with redis-server):`);
  log('| processes | tx/s | per process | scores by process | latency p50 | latency p99 (max) | offered load | CPU s scorers / redis | scorer CPU ms / tx |');
  log('| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  log(`(median round of ${rounds}; load average ${out.map((r) => r.loadAverage.toFixed(1)).join(', ')} during the runs)`);
  for (const r of rows) {
    log(`| ${r.processes} | ${r.txPerSecond.toFixed(0)} | ${r.perProcessTxPerSecond.toFixed(0)} | ${r.scoredByProcess.join(' / ')} | ${r.latency.p50Ms} ms | ${r.latency.p99Ms} ms (${r.latency.maxMs}) | ${r.latency.offeredPerSecond} tx/s | ${r.cpuSeconds.scorers.toFixed(1)} / ${r.cpuSeconds.redis.toFixed(1)} | ${r.scorerCpuMsPerTx.toFixed(2)} |`);
  }
  for (const r of ratios) log(`${r.name}: ${r.value.toFixed(2)}×`);
  return { backend: 'wasm', cores: cpus().length, partitions: PARTITIONS, batchSize: BATCH, rounds: out, rows, ratios };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--worker') await worker(JSON.parse(process.argv[3]!) as WorkerConfig);
  else {
    const result = await runFinanceStreamsBench(console.log);
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL('./results/finance-streams.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
    console.log('wrote bench/results/finance-streams.json');
  }
}
