import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// A real Mosquitto broker on a free loopback port (Debian's `mosquitto` package; CI installs it).

const BIN = ['/usr/sbin/mosquitto', 'mosquitto'].find((b) => (b.startsWith('/') ? existsSync(b) : spawnSync(b, ['-h']).error === undefined));

/** Whether a mosquitto binary is installed. */
export const mosquittoAvailable = (): boolean => BIN !== undefined;

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Starts mosquitto on `port` (loopback, anonymous) and waits until it accepts connections. */
export async function startBroker(port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(BIN!, ['-p', String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await listening(port)); i++) await sleep(50);
  if (!(await listening(port))) throw new Error(`mosquitto did not start on port ${port}`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
