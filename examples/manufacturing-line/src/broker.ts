// A loopback MQTT broker for the example: Debian's Mosquitto when it is installed (what plants run), otherwise Aedes,
// an MQTT broker written in JavaScript that pnpm installed with this example — so `pnpm demo` works on a fresh machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aedes } from 'aedes';

export interface Broker {
  url: string;
  kind: 'mosquitto' | 'aedes';
  stop(): Promise<void>;
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

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function mosquittoBinary(): string | undefined {
  if (process.env['LEPTON_BROKER'] === 'aedes') return undefined;
  for (const b of ['mosquitto', '/usr/sbin/mosquitto']) {
    if ((b === 'mosquitto' || existsSync(b)) && spawnSync(b, ['-h'], { encoding: 'utf8' }).error === undefined) return b;
  }
  return undefined;
}

/** Starts a broker on a free loopback port. */
export async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const bin = mosquittoBinary();
  if (bin) {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-mosquitto-'));
    const conf = join(dir, 'mosquitto.conf');
    // No queue limit for the replay: the subscriber may fall behind a fast publisher for a moment.
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n`);
    const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await listening(port)); i++) await sleep(50);
    return {
      url: `mqtt://127.0.0.1:${port}`,
      kind: 'mosquitto',
      stop: async () => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    kind: 'aedes',
    stop: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
