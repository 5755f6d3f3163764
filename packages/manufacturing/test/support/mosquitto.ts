import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = ['mosquitto', '/usr/sbin/mosquitto'].find((b) => spawnSync(b, ['-h'], { encoding: 'utf8' }).error === undefined && (b === 'mosquitto' || existsSync(b)));

/** Is Debian's `mosquitto` broker installed? (`.ci/run` installs it.) */
export function mosquittoAvailable(): boolean {
  return BIN !== undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** A real Mosquitto broker on a loopback port that a test can stop and start again. */
export class Broker {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(BIN!, ['-p', String(this.port)], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await listening(this.port)); i++) await sleep(50);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
}

/** A started {@link Broker} on a free loopback port. */
export async function startBroker(): Promise<Broker> {
  const broker = new Broker(await freePort());
  await broker.start();
  return broker;
}
