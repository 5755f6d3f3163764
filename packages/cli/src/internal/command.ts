import { parseArgs } from 'node:util';
import { usageError } from './errors.js';

/** One token of parseArgs' `tokens` output (the fields this module reads). */
type ParsedToken = { kind: 'option'; name: string; value?: string | undefined } | { kind: 'positional' | 'option-terminator' };

/** A message as one sentence: parseArgs' end without a full stop, and the usage hint follows them. */
const sentence = (text: string): string => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/** Where a command writes and what it reads from its surroundings (injectable, so `runCli` can run in-process). */
export interface CliIo {
  /** Writes to standard output (results: human text, or the one JSON document with `--json`). */
  stdout: (text: string) => void;
  /** Writes to standard error (warnings, errors in human mode, progress). */
  stderr: (text: string) => void;
  /** Environment variables (`LEPTON_REDIS_URL` …). Default `process.env`. */
  env: Record<string, string | undefined>;
  /** Directory relative paths are resolved from. Default `process.cwd()`. */
  cwd: string;
}

/** One flag of a command, as `node:util` parseArgs takes it, plus its help text. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder in the help, e.g. `URL`. */
  value?: string;
  /** One line of help. */
  help: string;
}

/** Parsed flag values: strings, booleans, or lists for repeatable flags. */
export type FlagValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** What a command returns: the exit code, the JSON document, and the same result for people. */
export interface CommandResult {
  /** 0 or 1 (usage errors are thrown, not returned). */
  exitCode: 0 | 1;
  /** The `--json` document; always carries `ok`. */
  json: Record<string, unknown> & { ok: boolean };
  /** Human-readable text for standard output (ends without a newline; one is added). */
  human: string;
}

/** Everything a command's `run` gets. */
export interface CommandContext {
  positionals: string[];
  flags: FlagValues;
  io: CliIo;
  /** Whether `--json` was given. */
  json: boolean;
}

/** A leaf command: its name after `lepton`, help text, arguments, flags and its implementation. */
export interface CommandSpec {
  /** e.g. `dicom info`. */
  name: string;
  /** What the command does, for its `--help` (the one-line summary for command lists is in the registry). */
  description: string;
  /** Positional arguments in order: `<file>`, `[out]`. */
  args: ReadonlyArray<{ name: string; required: boolean; help: string }>;
  /** Command-specific flags (`--json` and `--help` are added to every command). */
  flags: Readonly<Record<string, FlagSpec>>;
  /** Paragraphs printed after the flags in `--help` (exit codes, examples). */
  details?: string;
  run(ctx: CommandContext): Promise<CommandResult>;
}

const COMMON: Readonly<Record<string, FlagSpec>> = {
  json: { type: 'boolean', help: 'print one JSON document on stdout instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const args = spec.args.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(' ');
  const lines = [`Usage: lepton ${spec.name}${args ? ` ${args}` : ''} [flags]`, '', spec.description];
  if (spec.args.length > 0) {
    lines.push('', 'Arguments:');
    for (const a of spec.args) lines.push(`  ${`<${a.name}>`.padEnd(24)} ${a.help}`);
  }
  lines.push('', 'Flags:');
  for (const [name, f] of Object.entries({ ...spec.flags, ...COMMON })) {
    const left = `${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
    lines.push(`  ${left.padEnd(24)} ${f.help}${f.multiple ? ' (repeatable)' : ''}`);
  }
  if (spec.details) lines.push('', spec.details.trim());
  return lines.join('\n');
}

/**
 * Parses a command's arguments with `node:util` parseArgs (strict: unknown flags are usage errors) and checks the
 * number of positional arguments.
 */
export function parseCommand(spec: CommandSpec, argv: string[]): { positionals: string[]; flags: FlagValues; help: boolean; json: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, f] of Object.entries({ ...spec.flags, ...COMMON })) {
    options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  }
  let parsed: { values: FlagValues; positionals: string[]; tokens: ParsedToken[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true }) as typeof parsed;
  } catch (err) {
    // parseArgs' messages name the flag and say how to pass a value that starts with '-' (--window=-600,1500).
    throw usageError(sentence((err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')), spec.name);
  }
  // parseArgs keeps the last of a repeated flag and takes '--key=' as an empty value: both hide a mistake (which of
  // two keys signs?), so a flag that is not repeatable may be given once, and a value may not be empty. The values
  // themselves are never echoed: they may be secrets (--salt).
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const f = options[t.name];
    if (f === undefined) continue;
    if (f.type === 'string' && t.value === '') throw usageError(`--${t.name} needs a value; it was given an empty one.`, spec.name);
    if (!f.multiple && f.type === 'string' && seen.has(t.name)) throw usageError(`--${t.name} is given more than once; give it once.`, spec.name);
    seen.add(t.name);
  }
  const help = parsed.values['help'] === true;
  const json = parsed.values['json'] === true;
  if (!help) {
    const required = spec.args.filter((a) => a.required).length;
    if (parsed.positionals.length < required) {
      const missing = spec.args.slice(parsed.positionals.length).filter((a) => a.required).map((a) => `<${a.name}>`);
      throw usageError(`Missing ${missing.join(' ')}.`, spec.name);
    }
    if (parsed.positionals.length > spec.args.length) {
      throw usageError(`Unexpected argument '${parsed.positionals[spec.args.length]!.slice(0, 80)}'.`, spec.name);
    }
  }
  return { positionals: parsed.positionals, flags: parsed.values, help, json };
}

/** A string flag's value, or undefined. */
export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string flag's values (empty when absent). */
export function stringList(flags: FlagValues, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** A positive integer flag (milliseconds, indices …), or the default; anything else is a usage error. */
export function integerFlag(flags: FlagValues, name: string, fallback: number, min: number, command: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = stringFlag(flags, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? `≥ ${min} and ≤ ${max}` : `≥ ${min}`;
    // the value is never echoed: a secret typed into the wrong flag must not reach a terminal or a log
    throw usageError(`--${name} must be an integer ${range}.`, command);
  }
  return n;
}
