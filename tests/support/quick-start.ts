// README quick starts as a user pastes them: the code block is taken from the README as it is, written into an app
// that installed the packed packages with npm (tests/support/npm-apps.ts) and run there, so `@lepton/*` resolves to
// what npm installed — never to the workspace.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { npmEnv } from './npm-apps.js';
import { ROOT, run } from './process.js';

// TypeScript runs through tsx's loader (what `npx tsx quickstart.ts` does), taken from the workspace so the apps stay
// exactly what the packages install; it only strips types, module resolution stays the app's.
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;

/**
 * The fenced blocks of `lang` under a heading of a package README (the heading line exactly, e.g.
 * `## Quick start: volumes`), up to the next heading of the same or a higher level.
 */
export async function readmeBlocks(pkg: string, heading: string, lang = 'ts'): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'packages', pkg, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`packages/${pkg}/README.md has no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  let fenced = false; // a `# comment` inside a bash block is no heading
  const end = lines.findIndex((l, i) => {
    if (i <= at) return false;
    if (/^(```|~~~)/.test(l)) fenced = !fenced;
    return !fenced && new RegExp(`^#{1,${level}} `).test(l);
  });
  const section = lines.slice(at + 1, end < 0 ? undefined : end).join('\n');
  return [...section.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((m) => m[1]!);
}

/** The first fenced block of `lang` under a heading of a package README (see {@link readmeBlocks}). */
export async function readmeBlock(pkg: string, heading: string, lang = 'ts'): Promise<string> {
  const [code] = await readmeBlocks(pkg, heading, lang);
  if (code === undefined) throw new Error(`packages/${pkg}/README.md "${heading}" has no \`\`\`${lang} block`);
  return code;
}

let counter = 0;

/** A quick start running in the background (one that serves until it is stopped). */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its file. */
  stop(): Promise<void>;
}

/** Starts a TypeScript quick start in an app, in the background. */
export async function startQuickStart(app: string, code: string, env: Record<string, string> = {}): Promise<Running> {
  const file = join(app, `readme-quickstart-${process.pid}-${++counter}.ts`);
  await writeFile(file, code);
  const child = spawn(process.execPath, ['--import', TSX, file], { cwd: app, env: npmEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (c, signal) => resolve({ code: c, signal })));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(file, { force: true });
  };
  return { child, stdout: () => out, stderr: () => err, exited, stop };
}

/** Runs a TypeScript quick start in an app to the end; rejects (with its output) when it exits non-zero. */
export async function runQuickStart(app: string, code: string, env: Record<string, string> = {}): Promise<string> {
  const r = await startQuickStart(app, code, env);
  try {
    const { code: exit, signal } = await r.exited;
    if (exit !== 0) throw new Error(`quick start exited with ${exit ?? signal}\n--- stdout\n${r.stdout()}\n--- stderr\n${r.stderr()}`);
    return r.stdout();
  } finally {
    await r.stop();
  }
}

/** Runs bash lines in an app (npm's environment, `set -euo pipefail`); resolves with stdout, rejects on failure. */
export async function runBash(app: string, script: string, env: Record<string, string> = {}, timeoutMs = 240_000): Promise<string> {
  const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: app, env: npmEnv(env), timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/** Polls until `cond` holds, or fails with `what`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Relative link targets of a README (markdown links and images, reference definitions, HTML href/src), outside
 * code; URLs with a scheme (`https:`, `mailto:`) and in-page anchors are left out. Fragments are dropped.
 */
export function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!),
    ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!),
  ];
  return [...new Set(targets.filter((t) => !/^([a-z][a-z\d+.-]*:|#|\/\/)/i.test(t)).map((t) => t.replace(/[#?].*$/, '')))];
}

/**
 * Where a relative link of a packed markdown file (`from`, e.g. `package/README.md`) points inside the tarball
 * (`package/…`), or undefined when it leaves the package.
 */
export function inTarball(link: string, from = 'package/README.md'): string | undefined {
  if (link.startsWith('/')) return undefined; // the site root on npm's page, not the package
  const path = posix.normalize(posix.join(posix.dirname(from), decodeURIComponent(link)));
  return path.startsWith('package/') ? path.replace(/\/$/, '') : undefined;
}
