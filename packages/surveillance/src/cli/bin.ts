#!/usr/bin/env node
// The `lepton-surveillance` executable. Everything is in runSurveillanceCli; this file only connects it to the process.
import { processIo, runSurveillanceCli } from './cli.js';

const code = await runSurveillanceCli(process.argv.slice(2), processIo());
// Exit once both streams have flushed, without waiting for handles a backend may leave open (TF.js thread pools).
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
