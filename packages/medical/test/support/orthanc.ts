// A real Orthanc PACS (Debian `orthanc` + `orthanc-dicomweb`) on a loopback port, for the DICOMweb tests: a fresh
// storage directory and a minimal configuration written to a temp folder, HTTP only (its DICOM listener is disabled),
// Basic authentication with one user, the DICOMweb plugin at /dicom-web.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'].find((b) => existsSync(b));

/** The DICOMweb plugin as `dpkg -L orthanc-dicomweb` lists it (the versioned library, or its plugins-folder link). */
function dicomWebPlugin(): string | undefined {
  const linked = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
  if (existsSync(linked)) return linked;
  const dir = '/usr/lib/orthanc';
  if (!existsSync(dir)) return undefined;
  const lib = readdirSync(dir).find((f) => f.startsWith('libOrthancDicomWeb.so'));
  return lib === undefined ? undefined : join(dir, lib);
}
const PLUGIN = dicomWebPlugin();

/** Why Orthanc can't run here, or undefined when it can. */
export function orthancMissing(): string | undefined {
  if (BIN === undefined) return 'Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb)';
  if (PLUGIN === undefined) return 'the Orthanc DICOMweb plugin is not installed (apt-get install -y orthanc-dicomweb)';
  return undefined;
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

export const USER = 'lepton';
export const PASSWORD = 'dicomweb-test';

export class Orthanc {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private log = '';
  port = 0;

  get root(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get dicomWeb(): string {
    return `${this.root}/dicom-web`;
  }

  private get authHeader(): string {
    return `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'lepton-orthanc-'));
    this.port = await freePort();
    const config = {
      Name: 'lepton-test',
      HttpPort: this.port,
      DicomPort: await freePort(),
      DicomServerEnabled: false,
      StorageDirectory: join(this.dir, 'db'),
      IndexDirectory: join(this.dir, 'db'),
      RemoteAccessAllowed: false,
      AuthenticationEnabled: true,
      RegisteredUsers: { [USER]: PASSWORD },
      SaveJobs: false,
      Plugins: [PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false },
    };
    const file = join(this.dir, 'orthanc.json');
    await writeFile(file, JSON.stringify(config, null, 2));
    this.child = spawn(BIN!, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => void (this.log = (this.log + b.toString()).slice(-4000));
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    for (let i = 0; i < 200; i++) {
      if (this.child.exitCode !== null) break;
      try {
        if ((await this.rest('GET', '/system')).ok) return;
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    await this.stop();
    throw new Error(`Orthanc did not start:\n${this.log}`);
  }

  /** Orthanc's own REST API (not DICOMweb), with the test user's credentials. */
  rest(method: string, path: string, body?: Uint8Array | string): Promise<Response> {
    const init: RequestInit = { method, headers: { Authorization: this.authHeader } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : new Uint8Array(body); // an ArrayBuffer-backed copy
    return fetch(`${this.root}${path}`, init);
  }

  /** Stores a DICOM file through `POST /instances`; returns Orthanc's id for it. */
  async upload(bytes: Uint8Array): Promise<string> {
    const res = await this.rest('POST', '/instances', bytes);
    if (!res.ok) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { ID: string }).ID;
  }

  /** Orthanc's id of the instance with this SOP Instance UID. */
  async idOf(sopInstanceUid: string): Promise<string> {
    const res = await this.rest('POST', '/tools/lookup', sopInstanceUid);
    const found = (await res.json()) as Array<{ ID: string; Type: string }>;
    const hit = found.find((f) => f.Type === 'Instance');
    if (hit === undefined) throw new Error('no such instance');
    return hit.ID;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}
