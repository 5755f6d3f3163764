import { createRequire } from 'node:module';
import { commandHelp, parseCommand, type CliIo } from './internal/command.js';
import { CliError, errorCode, firstLine, isUsageError, USAGE_CODE, usageError } from './internal/errors.js';
import { EXIT_CODES, type ExitCode } from './internal/exit-codes.js';
import { COMMANDS, explainImportError, loadCommand, type CommandEntry } from './registry.js';

// Nothing here imports @lepton/core (see registry.ts): help, usage errors and "core is missing" work without it.

function cliVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const list = (entries: readonly CommandEntry[]): string[] => entries.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`);

function topHelp(): string {
  return [
    'Usage: lepton <command> [arguments] [flags]',
    '',
    'Commands:',
    ...list(COMMANDS),
    '',
    "Every command takes --json (one JSON document on stdout) and --help. 'lepton dicom' needs @lepton/medical.",
    'Exit codes: 0 success; 1 a check, verification or operation failed (the output names the error code); 2 usage error.',
    "'lepton --version' prints the version.",
  ].join('\n');
}

function groupHelp(group: string): string {
  const entries = COMMANDS.filter((c) => c.group === group);
  return [`Usage: lepton ${group} <command> [arguments] [flags]`, '', 'Commands:', ...list(entries), '', `Run 'lepton ${group} <command> --help' for details.`].join('\n');
}

const HELP = ['--help', '-h', 'help'];

/** Finds the command an argument list names, with the arguments after its name; or a group's help. */
function lookup(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | { help: string } {
  const [first, second] = argv;
  const group = COMMANDS.filter((c) => c.group === first);
  if (first === undefined || group.length === 0) throw usageError(first === undefined ? 'No command given.' : `Unknown command '${first.slice(0, 40)}'.`);
  const single = group.find((c) => c.name === first);
  if (single !== undefined) return { entry: single, rest: argv.slice(1) };
  const names = group.map((c) => c.name.slice(first.length + 1)).join(', ');
  if (second === undefined) throw usageError(`'lepton ${first}' needs a command: ${names}.`, first);
  if (HELP.includes(second)) return { help: groupHelp(first) };
  const entry = group.find((c) => c.name === `${first} ${second}`);
  if (entry === undefined) throw usageError(`Unknown command 'lepton ${first} ${second.slice(0, 40)}'; use one of ${names}.`, first);
  return { entry, rest: argv.slice(2) };
}

/** The real process's streams and surroundings. */
function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * The caller's `io`, checked: output must go somewhere, so a writer that is not a function (or an environment that is
 * not an object) is refused at once instead of failing inside the error handler.
 *
 * @throws CliError `CLI_USAGE` naming the field
 */
function checkIo(io: unknown): Partial<CliIo> {
  const refuse = (what: string): never => {
    throw new CliError(USAGE_CODE, `runCli: ${what}.`);
  };
  if (io === undefined) return {};
  if (typeof io !== 'object' || io === null) refuse('io must be an object { stdout?, stderr?, env?, cwd? }');
  const o = io as Record<string, unknown>;
  for (const k of ['stdout', 'stderr'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') refuse(`io.${k} must be a function (text) => void`);
  if (o['env'] !== undefined && (typeof o['env'] !== 'object' || o['env'] === null)) refuse('io.env must be an object of environment variables');
  if (o['cwd'] !== undefined && (typeof o['cwd'] !== 'string' || o['cwd'] === '')) refuse('io.cwd must be a directory path');
  return io as Partial<CliIo>;
}

/**
 * Runs one `lepton` command line in this process and returns its exit code (it never calls `process.exit`). Output
 * goes to `io` (default: the process's stdout and stderr); with `--json`, stdout receives exactly one JSON document,
 * for failures and usage errors too: `{ ok: false, error: { code, message } }`.
 *
 * @param argv - the arguments after `lepton`, e.g. `['bundle', 'verify', './model', '--key', 'release.pub.pem']`
 * @param io - output writers, environment and working directory (each optional)
 * @returns 0 success, 1 failure, 2 usage error (see {@link EXIT_CODES}; arguments that are not strings are a usage error)
 * @throws CliError `CLI_USAGE` when `io` is not an object of writers (functions), `env` (an object) and `cwd` (a path):
 *   there would be nowhere to report anything
 * @example
 * ```ts
 * import { runCli } from '@lepton/cli';
 * const out: string[] = [];
 * const code = await runCli(['bundle', 'inspect', '/nonexistent', '--json'], { stdout: (t) => void out.push(t) });
 * console.log(code, JSON.parse(out.join('')).error.code); // 1 BUNDLE_NOT_FOUND
 * ```
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<ExitCode> {
  const given = checkIo(io);
  const defaults = processIo();
  // Field by field: a spread would let `{ stdout: undefined }` replace the default writer with nothing.
  const full: CliIo = {
    stdout: given.stdout ?? defaults.stdout,
    stderr: given.stderr ?? defaults.stderr,
    env: given.env ?? defaults.env,
    cwd: given.cwd ?? defaults.cwd,
  };
  // Arguments come from a shell as strings; a JavaScript caller may pass anything, which is a wrong command line.
  const args: readonly unknown[] = Array.isArray(argv) ? argv : [];
  // Only before '--': after it, '--json' is an argument (a file name), not the flag.
  const end = args.indexOf('--');
  const wantsJson = (end < 0 ? args : args.slice(0, end)).includes('--json');
  let command: string | undefined;
  try {
    if (!Array.isArray(argv)) throw usageError('The arguments must be a list of strings.');
    const bad = args.findIndex((a) => typeof a !== 'string');
    if (bad >= 0) throw usageError(`Argument ${bad + 1} is not a string.`);
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
      full.stdout(`${cliVersion()}\n`);
      return EXIT_CODES.ok;
    }
    if (argv.length === 0) {
      full.stderr(`${topHelp()}\n`);
      return EXIT_CODES.usage;
    }
    if (argv.length === 1 && HELP.includes(argv[0]!)) {
      full.stdout(`${topHelp()}\n`);
      return EXIT_CODES.ok;
    }
    const found = lookup(argv);
    if ('help' in found) {
      full.stdout(`${found.help}\n`);
      return EXIT_CODES.ok;
    }
    command = found.entry.name;
    const spec = await loadCommand(found.entry);
    const parsed = parseCommand(spec, found.rest);
    if (parsed.help) {
      full.stdout(`${commandHelp(spec)}\n`);
      return EXIT_CODES.ok;
    }
    const result = await spec.run({ positionals: parsed.positionals, flags: parsed.flags, io: full, json: parsed.json });
    full.stdout(parsed.json ? `${JSON.stringify({ command, ...result.json })}\n` : `${result.human}\n`);
    return result.exitCode;
  } catch (thrown) {
    const err = command === undefined ? thrown : explainImportError(thrown, command);
    const usage = isUsageError(err);
    const code = errorCode(err);
    const message = firstLine(err);
    if (wantsJson) {
      full.stdout(`${JSON.stringify({ ...(command ? { command } : {}), ok: false, error: { code: code ?? 'CLI_FAILED', message } })}\n`);
    } else {
      full.stderr(usage ? `lepton: ${message}\n` : `lepton${command ? ` ${command}` : ''}: ${code ?? 'CLI_FAILED'}: ${message}\n`);
    }
    // An error without a code is a bug, not an outcome: its stack helps whoever reports it (LEPTON_DEBUG=1).
    if (code === undefined && full.env['LEPTON_DEBUG']) full.stderr(`${(err as Error)?.stack ?? ''}\n`);
    return usage ? EXIT_CODES.usage : EXIT_CODES.failure;
  }
}
