#!/usr/bin/env node
// The `lepton` executable. Everything is in runCli; this file only connects it to the process.
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2));
// Exit once both streams have flushed (a pipe may still hold the JSON document): never cut output short, and never
// wait for handles a backend may leave open (native thread pools, a GPU device) after the work is done.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
