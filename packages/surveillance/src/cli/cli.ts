import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeValue, isLeptonError } from '@lepton/core';
import { loadConfig, type SurveillanceConfig } from '../config/config.js';
import { parseSelector, parseShard, selectCameras, type CameraSelection, type Shard } from '../config/shard.js';
import { SurveillanceService } from '../service/service.js';
import { redactCredentials } from '../video/redact.js';
import { runCheck } from './check.js';

/**
 * The process surroundings the command line uses (a seam for tests).
 * @internal
 */
export interface SurveillanceCliIo {
  /** Writes to standard output. */
  stdout: (text: string) => void;
  /** Writes to standard error. */
  stderr: (text: string) => void;
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Working directory (relative configuration paths). */
  cwd: string;
  /** Calls `handler` on SIGTERM and SIGINT; returns a function that removes it. */
  onStop: (handler: (signal: string) => void) => () => void;
  /** Ends the process now (a second signal, a shutdown that hangs). */
  exit: (code: number) => void;
}

/**
 * The real process's streams, environment and signals.
 * @internal
 */
export function processIo(): SurveillanceCliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    onStop: (handler) => {
      const term = (): void => handler('SIGTERM');
      const int = (): void => handler('SIGINT');
      process.on('SIGTERM', term);
      process.on('SIGINT', int);
      return () => {
        process.off('SIGTERM', term);
        process.off('SIGINT', int);
      };
    },
    exit: (code) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code))),
  };
}

/** Exit codes: 0 success, 1 a failure (the message names it), 2 a usage error. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
/** Longest a clean shutdown may take before the process gives up on it. */
const STOP_TIMEOUT_MS = 120_000;

const HELP = `Usage: lepton-surveillance <command> <cameras.yaml> [flags]

Commands:
  run <cameras.yaml>     run the cameras, the HTTP API, MQTT and recording as a service until SIGTERM/SIGINT
                         (or until every camera's input has ended); exit 0 after a clean shutdown
  check <cameras.yaml>   validate the configuration and probe every camera's input (and the MQTT broker);
                         exit 1 naming the cameras that fail

Selecting cameras (run and check; all given criteria must hold):
  --shard i/n            only the cameras whose name hashes to shard i of n (1-based; same file and n everywhere)
  --cameras a,b          only these cameras
  --selector k=v[,k=v]   only cameras whose labels match

run flags:
  --instance name        name of this process (MQTT status topic, events-<name>.jsonl); default shard-i-of-n or default
  --host address         listen on this address instead of api.host
  --port number          listen on this port instead of api.port (0: any free port)

check flags:
  --timeout seconds      give up on an input after this long (default 10)

The API token comes from LEPTON_SURVEILLANCE_TOKEN (or api.token in the file).
Exit codes: 0 success; 1 failure; 2 usage error.`;

class UsageError extends Error {}

/** Runs `f`; an `INVALID_ARGUMENT` from it (a malformed flag) is a usage error. */
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (isLeptonError(err, 'INVALID_ARGUMENT')) throw new UsageError(err.message);
    throw err;
  }
}

function version(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function selection(values: { shard?: string | undefined; cameras?: string | undefined; selector?: string | undefined }): { selection: CameraSelection; shard?: Shard } {
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  const cameras = values.cameras === undefined ? undefined : values.cameras.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (cameras !== undefined && cameras.length === 0) throw new UsageError('--cameras needs at least one camera name (a,b,c).');
  const selector = values.selector === undefined ? undefined : parseSelector(values.selector);
  return {
    selection: { ...(shard === undefined ? {} : { shard }), ...(cameras === undefined ? {} : { cameras }), ...(selector === undefined ? {} : { selector }) },
    ...(shard === undefined ? {} : { shard }),
  };
}

/**
 * Runs one `lepton-surveillance` command line and returns its exit code. `run` returns once the service has stopped.
 *
 * @param argv - the arguments after the program name, e.g. `['run', 'cameras.yaml', '--shard', '1/2']`
 * @param io - streams, environment, signals
 * @returns 0 success, 1 failure, 2 usage error
 * @internal
 */
export async function runSurveillanceCli(argv: readonly string[], io: SurveillanceCliIo): Promise<number> {
  const say = (line: string): void => io.stderr(`lepton-surveillance: ${redactCredentials(line)}\n`);
  let parsed: ReturnType<typeof parse>;
  const parse = (args: readonly string[]) =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        shard: { type: 'string' },
        cameras: { type: 'string' },
        selector: { type: 'string' },
        instance: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  try {
    parsed = parse(argv);
  } catch (err) {
    say(`${err instanceof Error ? err.message : describeValue(err)} (see --help)`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, file, ...extra] = positionals;
  if (values.version === true) {
    io.stdout(`${version()}\n`);
    return EXIT.ok;
  }
  if (values.help === true || command === 'help') {
    io.stdout(`${HELP}\n`);
    return EXIT.ok;
  }
  try {
    if (command !== 'run' && command !== 'check') throw new UsageError(command === undefined ? 'No command given: run or check.' : `Unknown command '${command.slice(0, 40)}': use run or check.`);
    if (file === undefined) throw new UsageError(`'${command}' needs the configuration file: lepton-surveillance ${command} cameras.yaml.`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument '${extra[0]!.slice(0, 40)}'.`);
    const allowed = command === 'run' ? ['instance', 'host', 'port'] : ['timeout'];
    for (const flag of ['instance', 'host', 'port', 'timeout'] as const) {
      if (values[flag] !== undefined && !allowed.includes(flag)) throw new UsageError(`--${flag} does not apply to '${command}'.`);
    }
    const { selection: sel, shard } = asUsage(() => selection(values));
    const config: SurveillanceConfig = await loadConfig(resolve(io.cwd, file));
    const selected = asUsage(() => selectCameras(config, sel));
    if (command === 'check') {
      const timeout = values.timeout === undefined ? 10 : Number(values.timeout);
      if (!(Number.isFinite(timeout) && timeout > 0 && timeout <= 600)) throw new UsageError('--timeout must be a number of seconds in (0, 600].');
      return await runCheck(selected, { timeoutMs: timeout * 1000, env: io.env, out: io.stdout, say, total: config.cameras.length });
    }
    let port: number | undefined;
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!(Number.isInteger(port) && port >= 0 && port <= 65535) || !/^\d+$/.test(values.port)) throw new UsageError('--port must be an integer from 0 to 65535.');
    }
    say(`${selected.cameras.length} of ${config.cameras.length} camera(s) selected${shard === undefined ? '' : ` for shard ${shard.index}/${shard.count}`}: ${selected.cameras.map((c) => c.name).join(', ') || '(none: serving the API only)'}`);
    // The handlers are in place before the start: a signal while the detector loads (seconds) aborts the start,
    // which stops what it had started (the recorders' ffmpeg included), instead of killing the process around them.
    let signals = 0;
    let service: SurveillanceService | undefined;
    const starting = new AbortController();
    const off = io.onStop((signal) => {
      signals++;
      if (signals > 1) {
        say(`${signal} again: exiting without finishing the shutdown`);
        io.exit(EXIT.failure);
        return;
      }
      setTimeout(() => {
        say(`the shutdown did not finish within ${STOP_TIMEOUT_MS / 1000} s; exiting`);
        io.exit(EXIT.failure);
      }, STOP_TIMEOUT_MS).unref();
      if (service === undefined) {
        say(`${signal} while starting: stopping what was started`);
        starting.abort();
        return;
      }
      say(`${signal}: stopping (ending events, finishing recordings, flushing MQTT)`);
      void service.stop();
    });
    try {
      service = await SurveillanceService.start(selected, {
        ...(values.instance === undefined ? {} : { instance: values.instance }),
        ...(shard === undefined ? {} : { shard }),
        env: io.env,
        api: { ...(values.host === undefined ? {} : { host: values.host }), ...(port === undefined ? {} : { port }) },
        log: say,
        signal: starting.signal,
      });
    } catch (err) {
      off();
      if (starting.signal.aborted) {
        say('stopped before the start finished');
        return EXIT.ok;
      }
      throw err;
    }
    const report = await service.done;
    off();
    const failed = report.pipeline?.cameras.filter((c) => c.error !== undefined) ?? [];
    if (report.error !== undefined) {
      say(`failed: ${report.error}`);
      return EXIT.failure;
    }
    if (report.reason === 'cameras-ended' && failed.length > 0) {
      say(`camera(s) failed: ${failed.map((c) => `${c.camera} (${c.error!.code})`).join(', ')}`);
      return EXIT.failure;
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      say(`${err.message} (see --help)`);
      return EXIT.usage;
    }
    say(isLeptonError(err) ? `${err.code}: ${err.message}` : `unexpected error: ${err instanceof Error ? err.message : describeValue(err)}`);
    return EXIT.failure;
  }
}
