// Helpers for the scorer-group tests: a redis-server that can be killed and restarted on its port with its AOF,
// a stand-in model, and scorer processes run from stream-scorer-worker.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { FraudScore, TransactionScorer } from '@lepton/finance';
import { freePort } from './redis.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A redis-server on loopback; with `dir`, append-only persistence (fsync on every write) so a restart keeps the streams. */
export interface ManagedRedis {
  url: string;
  port: number;
  /** kill -9 the server. */
  kill(): Promise<void>;
  /** Start it again on the same port and directory (the AOF is replayed). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPing(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    for (let i = 0; ; i++) {
      try {
        if (probe.status !== 'ready') await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (i > 200) throw new Error(`redis-server did not answer on ${url}`);
        await sleep(50);
      }
    }
  } finally {
    probe.disconnect();
  }
}

export async function startManagedRedis(dir?: string): Promise<ManagedRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  args.push(...(dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : ['--appendonly', 'no']));
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(url);
  };
  const exit = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await done;
  };
  await launch();
  return { url, port, kill: () => exit('SIGKILL'), restart: launch, stop: () => exit('SIGTERM') };
}

/**
 * A deterministic stand-in for a trained model (no TF.js start-up in every child process): a logistic function of
 * the log amount and the card's 10-minute count. Optionally slow, to keep entries in flight.
 */
export function standInScorer(names: readonly string[], delayMs = 0): TransactionScorer {
  const amount = names.indexOf('amount_log');
  const count = names.indexOf('card_count_10m');
  return {
    featureNames: names,
    async score(rows) {
      if (delayMs > 0) await sleep(delayMs);
      return rows.map((r): FraudScore => {
        const p = 1 / (1 + Math.exp(-(r[amount]! - 5 + r[count]!)));
        return { probability: p, riskScore: Math.min(999, Math.round(p * 999)), supervised: p, anomaly: 0 };
      });
    },
  };
}

/** Options of one scorer child process (see stream-scorer-worker.ts). */
export interface WorkerConfig {
  url: string;
  stream: string;
  partitions: number;
  consumer: string;
  minIdleMs: number;
  batchSize: number;
  delayMs?: number;
  /** Put feature vectors in the scores. */
  includeFeatures?: boolean;
}

/** A scorer child process; `stats` resolves with its counters once it exits after SIGTERM (undefined if killed). */
export interface WorkerProcess {
  child: ChildProcess;
  stats: Promise<Record<string, unknown> | undefined>;
  stderr: () => string;
}

export function spawnWorker(config: WorkerConfig): WorkerProcess {
  const cwd = join(here, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'stream-scorer-worker.ts'), JSON.stringify(config)], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const stats = new Promise<Record<string, unknown> | undefined>((resolve) => {
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('STATS '));
      resolve(line ? (JSON.parse(line.slice(6)) as Record<string, unknown>) : undefined);
    });
  });
  return { child, stats, stderr: () => err };
}

/** Polls `check` until it returns true, or throws after `ms`. */
export async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
