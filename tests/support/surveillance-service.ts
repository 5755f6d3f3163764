// @lepton/surveillance's "Quick start: the service" as a user follows it after `npm install`: cameras.yaml saved from
// the README, then each shell line of the README in a shell of its own (npm's real `npx`, the bin npm linked):
// the token line, `check`, `run` in the background, the README's curl from "another shell with the same token", and
// Ctrl-C (SIGINT to the process group, as a terminal sends it) for a clean stop with exit code 0.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { npmEnv } from './npm-apps.js';
import { readmeBlock, readmeBlocks, runBash, until } from './quick-start.js';

/** A free loopback port: `wanted` when it is free, else one the system picks. */
function port(wanted: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => {
      const any = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = any.address() as { port: number };
        any.close(() => resolve(p));
      });
    });
    srv.listen(wanted, '127.0.0.1', () => srv.close(() => resolve(wanted)));
  });
}

/** Whether any process of the group `pid` leads is still running. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the service quick start in an app that installed @lepton/surveillance with npm; asserts as it goes. */
export async function serviceQuickStart(app: string): Promise<void> {
  const heading = '## Quick start: the service';
  let yaml = await readmeBlock('surveillance', heading, 'yaml');
  const [commands, curlBlock] = await readmeBlocks('surveillance', heading, 'bash');
  const [tokenLine, checkLine, runLine] = commands!.trim().split('\n');
  expect(tokenLine).toMatch(/^export LEPTON_SURVEILLANCE_TOKEN=/);
  expect(checkLine).toMatch(/^npx lepton-surveillance check cameras\.yaml /);
  expect(runLine).toMatch(/^npx lepton-surveillance run cameras\.yaml /);
  let curl = curlBlock!.trim();
  // The README's port when it is free here; another one otherwise (other tests may hold it), in both places alike.
  const readmePort = Number(/\bport: (\d+)/.exec(yaml)![1]);
  const free = await port(readmePort);
  if (free !== readmePort) {
    console.warn(`readme.test: port ${readmePort} is in use here; the service quick start runs on ${free}`);
    yaml = yaml.replace(`port: ${readmePort}`, `port: ${free}`);
    curl = curl.replaceAll(`127.0.0.1:${readmePort}/`, `127.0.0.1:${free}/`);
  }
  const url = /'(http:\/\/[^']+)'/.exec(curl)![1]!;

  const dir = join(app, 'service-quickstart');
  await mkdir(dir);
  await writeFile(join(dir, 'cameras.yaml'), yaml);
  const token = await runBash(dir, `${tokenLine}\nprintf %s "$LEPTON_SURVEILLANCE_TOKEN"`);
  expect(token).toMatch(/^[0-9a-f]{48}$/);
  const env = { LEPTON_SURVEILLANCE_TOKEN: token };
  expect(await runBash(dir, checkLine!, env, 120_000)).toMatch(/^ok {4}path input .*vtest\.avi: \w+ 768x576 10 fps$/m);

  // detached: a process group of its own, which Ctrl-C signals as a whole (npx and the service under it)
  const service = spawn('bash', ['-c', runLine!], { cwd: dir, env: npmEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  service.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  service.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => service.on('close', (code, signal) => resolve({ code, signal })));
  try {
    let events: Array<{ label: string }> = [];
    await until(
      async () => {
        if (service.exitCode !== null) throw new Error(`the service ended early (${service.exitCode})\n${output}`);
        const body = await runBash(dir, curl, env, 30_000).catch(() => ''); // curl exits non-zero until the API listens
        events = body.startsWith('{') ? ((JSON.parse(body) as { events?: typeof events }).events ?? []) : [];
        return events.length > 0;
      },
      240_000,
      () => `an event at ${url}\n${output}`,
    );
    expect(events[0]!.label).toBe('person');
    expect((await fetch(url)).status).toBe(401); // no token, no events
    process.kill(-service.pid!, 'SIGINT');
    const exit = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit 120 s after Ctrl-C\n${output}`)), 120_000))]);
    // The service stops cleanly (its exit code 0 is checked by the package's own test, without npx); npx itself ends
    // by the same SIGINT once its child has exited (a shell shows status 130), as npm does for every bin.
    expect([{ code: 0, signal: null }, { code: null, signal: 'SIGINT' }], output).toContainEqual(exit);
    expect(output).toMatch(/lepton-surveillance: SIGINT: stopping/);
    const [, started, ended] = /stopped in [\d.]+ s; (\d+) object\(s\) started, (\d+) ended/.exec(output) ?? [];
    expect(Number(started), output).toBeGreaterThanOrEqual(1);
    expect(ended).toBe(started);
    expect(output).not.toMatch(/again: exiting|did not finish|failed/);
    await until(() => !groupAlive(service.pid!), 10_000, () => 'every process of the service to end after Ctrl-C');
    // every object that was tracked has ended, and the recording is finished (no segment still being written)
    const stored = (await readFile(join(dir, 'out', 'events-default.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { object: { endTime: number | null } });
    expect(stored.length).toBeGreaterThanOrEqual(1);
    for (const s of stored) expect(s.object.endTime).not.toBeNull();
    const segments = await readdir(join(dir, 'recordings', 'path'));
    expect(segments.length).toBeGreaterThanOrEqual(1);
    expect(segments.filter((n) => n.startsWith('.'))).toEqual([]);
  } finally {
    if (groupAlive(service.pid!)) process.kill(-service.pid!, 'SIGKILL');
  }
}
