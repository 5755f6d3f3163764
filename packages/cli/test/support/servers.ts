import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Is a binary on the PATH? (It runs at all: `mosquitto -h` prints its usage and exits with 3.) */
export function available(binary: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 10_000 });
  return r.error === undefined && r.status !== null;
}

/** A free loopback TCP port (nothing listens on it once this returns). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Resolves once something accepts TCP connections on the port (the server has started). */
async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before listening on ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on port ${port}`);
}

/** A server process started by a test on a loopback port. */
export interface TestServer {
  port: number;
  stop(): Promise<void>;
}

async function start(binary: string, args: (port: number) => string[]): Promise<TestServer> {
  const port = await freePort();
  const child = spawn(binary, args(port), { stdio: 'ignore' });
  await waitForPort(port, child, binary);
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Debian's `redis-server` on a free loopback port, without persistence; `password` sets `requirepass`. */
export function startRedis(password?: string): Promise<TestServer> {
  return start('redis-server', (port) => [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ...(password === undefined ? [] : ['--requirepass', password]),
  ]);
}

/** Debian's `mosquitto` on a free loopback port (Mosquitto 2 without a config file: local only, anonymous allowed). */
export function startMosquitto(): Promise<TestServer> {
  return start('mosquitto', (port) => ['-p', String(port)]);
}
