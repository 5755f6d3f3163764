// What a new user gets: every package packed as it would be published (`pnpm pack`, which turns `workspace:^` into
// versions), then `npm install` of a vertical and core's tarballs into a blank app outside the workspace — npm, not
// pnpm, because npm is what most users have, its flat node_modules is what they see on disk, and it warns
// EBADENGINE for a dependency that needs a newer Node.js than this one (Node 20 here, as the packages declare).
// Dependencies come from the registry (through npm's cache when it has them: --prefer-offline).
//
// Each app is installed once per test run (tests/readme.test.ts): its size is measured right after the install, then
// the packages its READMEs tell the user to add (`npm install @lepton/charts` …) are installed into it, and every
// README quick start runs in it.
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pnpmCommand, ROOT, run } from './process.js';

/** One blank app. */
export interface AppSpec {
  /** Name in the table, e.g. `medical`. */
  readonly name: string;
  /** Workspace packages (folders under packages/) installed together: what is measured. */
  readonly packages: readonly string[];
  /** Largest node_modules, MB. */
  readonly budgetMb: number;
  /** An ES module run in the app right after the install; its last line of output should be `function`. */
  readonly smoke: string;
  /** Packages a README quick start run in this app tells the user to add; installed after the measurement. */
  readonly addLater?: readonly string[];
}

/** An installed app. */
export interface NpmApp {
  /** Its folder (package.json, node_modules). */
  dir: string;
  /** Seconds `npm install` took. */
  seconds: number;
  /** node_modules on disk right after the install (`du -sk`), MB. */
  mb: number;
  /** Packages npm says it added. */
  packages: number;
  /** npm's output (warnings included). */
  output: string;
  /** Last line the smoke module printed. */
  smoke: string;
  /** npm's output for the packages added later ('' when none). */
  laterOutput: string;
  /** Seconds that second install took (0 when none). */
  laterSeconds: number;
}

/** Environment for npm without the npm_* variables pnpm sets for the scripts it runs, which npm would read as config. */
export function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))), ...extra };
}

/**
 * Packs workspace packages with `pnpm pack`, one folder each under `dest`.
 *
 * @returns package folder name → tarball path
 */
export async function packWorkspace(names: readonly string[], dest: string): Promise<Map<string, string>> {
  const pnpm = pnpmCommand();
  const tarballs = new Map<string, string>();
  for (const name of names) {
    const out = join(dest, name);
    await mkdir(out, { recursive: true });
    await run(pnpm.file, [...pnpm.prefix, 'pack', '--pack-destination', out], { cwd: join(ROOT, 'packages', name) });
    tarballs.set(name, join(out, (await readdir(out))[0]!));
  }
  return tarballs;
}

function npmInstall(app: string, name: string, tarballs: readonly string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs],
      { cwd: app, env: npmEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`npm install (${name}) failed: ${err.message}\n${stdout}${stderr}`)) : resolve(`${stdout}${stderr}`)),
    );
  });
}

/** Creates a blank app under `work`, installs the spec's tarballs, measures it, runs the smoke module, then adds `addLater`. */
export async function installApp(work: string, spec: AppSpec, tarballs: ReadonlyMap<string, string>): Promise<NpmApp> {
  const tarball = (p: string): string => tarballs.get(p) ?? ((): never => { throw new Error(`${p} was not packed`); })();
  const dir = join(work, `app-${spec.name.replace(/\W+/g, '-')}`);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'blank-app', version: '1.0.0', private: true, type: 'module' }));
  const started = performance.now();
  const output = await npmInstall(dir, spec.name, spec.packages.map(tarball));
  const seconds = (performance.now() - started) / 1000;
  const { stdout: du } = await run('du', ['-sk', 'node_modules'], { cwd: dir });
  // A package that fails to load fails its own size test (smoke), not every other app's quick starts.
  const smokeOut = await run(process.execPath, ['--input-type=module', '-e', spec.smoke], { cwd: dir }).then(
    (r) => r.stdout,
    (err: Error) => `smoke failed: ${err.message}`.replaceAll('\n', ' '),
  );
  let laterOutput = '';
  let laterSeconds = 0;
  if (spec.addLater?.length) {
    const again = performance.now();
    laterOutput = await npmInstall(dir, `${spec.name} + ${spec.addLater.join(', ')}`, spec.addLater.map(tarball));
    laterSeconds = (performance.now() - again) / 1000;
  }
  return {
    dir,
    seconds,
    mb: Number(du.split('\t')[0]) / 1024,
    packages: Number(/added (\d+) packages?/.exec(output)?.[1] ?? Number.NaN),
    output,
    smoke: smokeOut.trim().split('\n').at(-1) ?? '',
    laterOutput,
    laterSeconds,
  };
}

/** The table the test prints: install time, node_modules size and package count per app. */
export function installTable(apps: ReadonlyArray<readonly [AppSpec, NpmApp]>): string {
  const row = ([s, r]: readonly [AppSpec, NpmApp]): string =>
    `${s.name.padEnd(25)} ${r.seconds.toFixed(1).padStart(5)} s ${r.mb.toFixed(0).padStart(8)} MB ${String(r.packages).padStart(9)}` +
    (s.addLater?.length ? `   then + ${s.addLater.join(', ')} in ${r.laterSeconds.toFixed(1)} s` : '');
  return ['install (npm, blank app)   time    node_modules  packages', ...apps.map(row)].join('\n');
}
