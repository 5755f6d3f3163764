// The "Scaling out" sections of the finance and manufacturing READMEs, run as a user runs them: the scorer and monitor
// files exactly as the README shows them, started by the README's own shell commands (only the server addresses
// are pointed at the servers this test starts on free loopback ports), against a real redis-server and Mosquitto.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureEngine, FraudModel, generateTransactions, initRuntime, ScorerStreamClient, type ScoreRecord } from '@lepton/finance';
import { LINE_SIGNALS, LineMonitor, simulateLine } from '@lepton/manufacturing';
import { startManagedRedis, type ManagedRedis } from '../packages/finance/test/support/stream-scorer.js';
import { redisAvailable } from '../packages/finance/test/support/redis.js';
import { Broker, freePort, mosquittoAvailable } from '../packages/manufacturing/test/support/mosquitto.js';
import { ROOT } from './support/process.js';

/** The fenced code block of `lang` that follows `marker` in a README (the n-th one after it, from 0). */
async function block(readme: string, marker: string, lang: string, n = 0): Promise<string> {
  const text = await readFile(join(ROOT, readme), 'utf8');
  const at = text.indexOf(marker);
  expect(at, `${readme}: "${marker}"`).toBeGreaterThanOrEqual(0);
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  re.lastIndex = at;
  let m: RegExpExecArray | null = null;
  for (let i = 0; i <= n; i++) m = re.exec(text);
  expect(m, `${readme}: block ${n} after "${marker}"`).not.toBeNull();
  return m![1]!;
}

/**
 * A README's shell lines run by bash, which then waits for every background process they started and exits with the
 * first non-zero status among them (so `exited` is 0 only when every process exited 0).
 */
class Shell {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;
  constructor(script: string, cwd: string, env: NodeJS.ProcessEnv) {
    const waitAll = 'status=0; for p in $(jobs -p); do wait "$p" || { [ "$status" = 0 ] && status=$?; }; done; exit $status';
    this.child = spawn('bash', ['-c', `${script}\n${waitAll}`], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
  /** Sends `sig` to the processes the script started (not to bash, which goes on waiting for them); returns how many. */
  signalChildren(sig: NodeJS.Signals): number {
    const pids = spawnSync('pgrep', ['-P', String(this.child.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) process.kill(pid, sig);
    return pids.length;
  }
  /** Every process of the group, bash included (clean-up after a failure). */
  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const dirs: string[] = [];
/** A folder inside the package, so `import … from '@lepton/<name>'` resolves as in an app that installed it. */
async function appDir(pkg: string): Promise<string> {
  const dir = await mkdtemp(join(ROOT, 'packages', pkg, '.readme-scaling-'));
  dirs.push(dir);
  return dir;
}
const shells: Shell[] = [];
afterAll(async () => {
  for (const s of shells) s.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.skipIf(!redisAvailable() && !process.env['CI'])('finance README, "Scaling out": a scorer group on Redis Streams', () => {
  let redis: ManagedRedis | undefined;
  afterAll(async () => redis?.stop());

  it('the README command starts four scorer processes: every published transaction is scored exactly once, by them, and they stop cleanly', async () => {
    const readme = 'packages/finance/README.md';
    const section = '## Scaling out: a scorer group on Redis Streams';
    const scorer = await block(readme, section, 'js');
    const command = (await block(readme, section, 'sh', 1)).trim();
    expect(command).toMatch(/node scorer\.mjs & done$/);
    const dir = await appDir('finance');
    await writeFile(join(dir, 'scorer.mjs'), scorer);

    // The model the scorer loads ('./fraud-model'), trained as the quick start does, on synthetic data.
    await initRuntime({ backend: 'wasm' }, {});
    const txs = generateTransactions({ cards: 150, days: 12, seed: 21 });
    const engine = new FeatureEngine();
    const rows: Float32Array[] = [];
    for (const t of txs) rows.push(await engine.process(t));
    const cut = txs[0]!.timestamp + 8 * 86_400_000;
    const part = (keep: (time: number) => boolean) => ({ rows: rows.filter((_, i) => keep(txs[i]!.timestamp)), labels: txs.filter((t) => keep(t.timestamp)).map((t) => t.label) });
    const { model } = await FraudModel.train(part((t) => t < cut), part((t) => t >= cut), { featureNames: engine.names, epochs: 2 });
    await model.save(join(dir, 'fraud-model'), { name: 'readme-fraud', version: '1.0.0' });
    model.dispose();

    redis = await startManagedRedis();
    // The README's command, pointed at this test's Redis instead of the example address.
    const script = command.replace(/redis:\/\/[\d.]+:\d+/, redis.url);
    expect(script).not.toBe(command);
    const shell = new Shell(script, dir, { ...process.env });
    shells.push(shell);

    const client = new ScorerStreamClient({ connection: redis.url, stream: 'cards', partitions: 16 });
    try {
      const batch = txs.slice(0, 400);
      await client.publish(batch);
      const scores: ScoreRecord[] = [];
      await until(
        async () => {
          for (;;) {
            const page = await client.readScores(scores.length ? { after: scores.at(-1)!.entryId, count: 1000 } : { count: 1000 });
            if (page.length === 0) break;
            scores.push(...page);
          }
          return scores.length >= batch.length || shell.child.exitCode !== null;
        },
        240_000,
        `400 scores (output so far: ${shell.output.slice(-2000)})`,
      );
      expect(scores.map((s) => s.id).sort()).toEqual(batch.map((t) => t.id).sort());
      for (const s of scores) expect(Number.isFinite(s.probability)).toBe(true);
      // Scored by the README's processes (SCORER="$(hostname)-$i"). How the work spreads over them depends on when each
      // finished starting; the sharing itself is tested in packages/finance/test/stream-scorer*.test.ts.
      const consumers = new Set(scores.map((s) => s.consumer));
      for (const c of consumers) expect(c).toMatch(/^.+-[1-4]$/);
      const status = await client.status();
      expect(status.pending).toBe(0);
      expect(status.undelivered).toBe(0);
    } finally {
      await client.close();
    }
    // SIGTERM to every scorer (what `kill` or systemd sends), all four still running: each closes its service, exits 0.
    expect(shell.signalChildren('SIGTERM')).toBe(4);
    expect(await shell.exited).toBe(0);
    expect(shell.output).not.toMatch(/\bError:|unhandled|uncaught/i); // nothing thrown
  }, 300_000);
});

describe.skipIf(!mosquittoAvailable() && !process.env['CI'])('manufacturing README, "Scaling out": monitors that split a plant', () => {
  let broker: Broker | undefined;
  afterAll(async () => broker?.stop());

  it('three members started by the README commands split the 64 partitions, take a gateway sample, and hand over on SIGTERM', async () => {
    const readme = 'packages/manufacturing/README.md';
    const section = '## Scaling out: monitors that split a plant';
    const monitor = await block(readme, section, 'js');
    const commands = (await block(readme, section, 'sh')).trim().split('\n');
    const gateway = await block(readme, section, 'js', 1);
    expect(monitor).toContain('ScaledLineMonitor.start');
    expect(gateway).toContain('telemetryTopic');
    const dir = await appDir('manufacturing');
    await writeFile(join(dir, 'monitor.mjs'), monitor);
    // baseline.json: `LineMonitor.fitBaseline(normalRows, LINE_SIGNALS)` from the plant's history (here simulated).
    const history = simulateLine({ assets: ['press-1', 'press-2'], samples: 600, seed: 5 });
    const baseline = LineMonitor.fitBaseline(history.rows, LINE_SIGNALS);
    await writeFile(join(dir, 'baseline.json'), JSON.stringify(baseline));

    broker = new Broker(await freePort());
    await broker.start();
    // The README starts its own broker on 1883 (the first line); this test's broker is on a free port, given to the
    // members through MQTT_URL, which monitor.mjs reads.
    expect(commands[0]).toMatch(/^mosquitto -p 1883 &/);
    const members = commands.slice(1).join('\n');
    expect(members.match(/node monitor\.mjs &/g)).toHaveLength(3);
    const shell = new Shell(members, dir, { ...process.env, MQTT_URL: broker.url });
    shells.push(shell);

    const acquired = () => [...shell.output.matchAll(/^acquired ([\d,]+)$/gm)].flatMap((m) => m[1]!.split(',').map(Number));
    const released = () => [...shell.output.matchAll(/^released ([\d,]+)$/gm)].flatMap((m) => m[1]!.split(',').map(Number));
    // Owners per partition over all three members (acquired minus released); settled when each has exactly one.
    const owners = (): Map<number, number> => {
      const count = new Map<number, number>();
      for (const p of acquired()) count.set(p, (count.get(p) ?? 0) + 1);
      for (const p of released()) count.set(p, (count.get(p) ?? 0) - 1);
      return count;
    };
    const settled = () => [...Array(64).keys()].every((p) => owners().get(p) === 1);
    await until(() => settled() || shell.child.exitCode !== null, 120_000, `64 partitions with one owner each (output: ${shell.output.slice(-2000)})`);
    const count = owners();
    expect([...count.keys()].sort((a, b) => a - b)).toEqual([...Array(64).keys()]);
    for (const [p, c] of count) expect([p, c]).toEqual([p, 1]); // no partition (so no asset) held by two members

    // The gateway snippet as pasted, pointed at this broker.
    const gw = join(dir, 'gateway.mjs');
    await writeFile(gw, gateway.replace('mqtt://127.0.0.1:1883', broker.url) + '\nawait client.endAsync();\n');
    const run = spawnSync(process.execPath, [gw], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);

    expect(shell.signalChildren('SIGTERM')).toBe(3);
    expect(await shell.exited).toBe(0);
    expect(shell.output).not.toMatch(/\bError:|unhandled|uncaught/i); // nothing thrown
  }, 300_000);
});
