// Real monitor processes for the scale-out test and benchmark: each runs scale-worker.ts under tsx and reports over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import type { Alarm, LineEvent, ScaledLineMonitorOptions, ScaledLineMonitorStats, ScaleEvent } from '@lepton/manufacturing';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');

/** An event as it crossed the IPC channel (errors as `{ code, message }`). */
export type WireEvent = Exclude<LineEvent | ScaleEvent, { type: 'error' }> | { type: 'error'; code: string; message: string };

/** The latest report of a worker. */
export interface WorkerReport {
  at: number;
  member: string;
  partitions: number[];
  assets: string[];
  members: string[];
  samples: number;
  /** CPU seconds the process has used since its monitor started. */
  cpuSeconds: number;
}

/** One monitor process and what it has said. */
export class MonitorProcess {
  readonly child: ChildProcess;
  ready = false;
  exited = false;
  report: WorkerReport | undefined;
  readonly events: Array<{ at: number; event: WireEvent }> = [];
  /** Every sample it monitored: `asset|signal|timestamp` → when it was reported. */
  readonly samples = new Map<string, number>();
  closed: { active: Alarm[]; stats: ScaledLineMonitorStats; cpuSeconds: number } | undefined;

  constructor(
    readonly id: string,
    options: Omit<ScaledLineMonitorOptions, 'memberId' | 'onEvent' | 'onRecord'>,
    env: Record<string, string> = {},
  ) {
    this.child = fork(join(here, 'scale-worker.ts'), [JSON.stringify({ ...options, memberId: id })], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('exit', () => (this.exited = true));
    this.child.on('message', (m: { type: string } & Record<string, unknown>) => {
      if (m.type === 'ready') this.ready = true;
      else if (m.type === 'event') this.events.push({ at: m['at'] as number, event: m['event'] as WireEvent });
      else if (m.type === 'report') {
        const { keys, ...report } = m as unknown as WorkerReport & { keys: string[] };
        this.report = report;
        for (const k of keys) this.samples.set(k, report.at);
      } else if (m.type === 'closed') this.closed = m as unknown as MonitorProcess['closed'];
    });
  }

  /** Events of one type. */
  of<T extends WireEvent['type']>(type: T): Array<{ at: number; event: Extract<WireEvent, { type: T }> }> {
    return this.events.filter((e): e is { at: number; event: Extract<WireEvent, { type: T }> } => e.event.type === type);
  }

  /** Asks it to hand its partitions over and exit; resolves with its last words. */
  async close(ms = 30_000): Promise<void> {
    if (this.exited) return;
    this.child.send('close');
    await until(() => this.closed !== undefined || this.exited, ms);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export async function until(cond: () => boolean, ms = 10_000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Whether the live workers agree on 3 … n members and hold every partition exactly once. */
export function stable(workers: MonitorProcess[], partitions: number): boolean {
  const live = workers.filter((w) => !w.exited);
  if (live.some((w) => !w.report || w.report.members.length !== live.length)) return false;
  const held = live.flatMap((w) => w.report!.partitions);
  return held.length === partitions && new Set(held).size === partitions;
}

/** An MQTT 5 client for gateways and consumers in tests and benchmarks (the bench cannot import mqtt itself). */
export async function connectClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5 });
}
