/**
 * The thread side of {@link createWorkerPool}: every pool worker starts here. It initialises TF.js on the pool's
 * backend (never redirected by `LEPTON_BACKEND`: the pool already chose, and results must match the main thread's),
 * imports the worker module, calls its setup once, then serves requests one at a time until terminated.
 *
 * Plain JavaScript once compiled, needing no Node flags. In an esbuild bundle it is its own entry file, written next
 * to the bundled app (see bench/gpu-bundle.sh); the wasm binaries are then found beside it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LeptonError } from '../errors/lepton-error.js';
import { initRuntime, type BackendPreference } from '../runtime/init.js';
import type { WorkerHandler, WorkerSetup } from './worker-module.js';
import { toWire, type FromWorker, type ToWorker, type WorkerStart } from './worker-protocol.js';

/**
 * In a single-file bundle TF.js' wasm loader cannot find its binaries (they live in node_modules when unbundled), so
 * the bundle script copies them next to the entry: point TF.js at them. Unbundled, nothing is found and TF.js keeps
 * its own resolution.
 */
async function useBundledWasmBinaries(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = [here, dirname(here)].find((d) => existsSync(join(d, 'tfjs-backend-wasm-simd.wasm')));
  if (dir === undefined) return;
  // The Emscripten loader reads the CommonJS `__dirname`, which an ESM bundle lacks.
  (globalThis as { __dirname?: string }).__dirname ??= dir;
  type Wasm = { setWasmPaths?: (prefix: string) => void };
  // Bundled by esbuild, a dynamic import of this CommonJS package yields its exports under `default`.
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as Wasm & { default?: Wasm };
  (wasm.setWasmPaths ?? wasm.default?.setWasmPaths)?.(`${dir}/`);
}

async function setUp(start: WorkerStart): Promise<WorkerHandler<unknown, unknown>> {
  if (start.backend === 'wasm') await useBundledWasmBinaries();
  const runtime = await initRuntime({ backend: start.backend as BackendPreference }, {});
  const mod = (await import(start.module)) as { default?: unknown; setup?: unknown };
  const setup = (typeof mod.default === 'function' ? mod.default : mod.setup) as WorkerSetup<unknown, unknown, unknown> | undefined;
  if (typeof setup !== 'function') {
    throw new LeptonError(
      'INVALID_ARGUMENT',
      `The worker module ${start.module} exports no setup function; export one as default (or as \`setup\`): (init, context) => handler.`,
    );
  }
  const handler = await setup(start.init, { index: start.index, backend: runtime.backend, runtime });
  if (typeof handler !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `The setup function of ${start.module} returned ${typeof handler}; it must return a handler (request) => ({ result, transfer? }).`);
  }
  return handler;
}

async function serve(port: MessagePort, handler: WorkerHandler<unknown, unknown>, msg: ToWorker): Promise<void> {
  const send = (m: FromWorker, transfer?: Parameters<MessagePort['postMessage']>[1]): void => port.postMessage(m, transfer);
  let reply: Awaited<ReturnType<typeof handler>>;
  try {
    reply = await handler(msg.request);
    if (reply === null || typeof reply !== 'object' || !('result' in reply)) {
      throw new LeptonError('INVALID_ARGUMENT', 'A worker handler must return { result, transfer? }; it returned something else.');
    }
  } catch (err) {
    send({ type: 'error', id: msg.id, error: toWire(err, 'WORKER_TASK_FAILED') });
    return;
  }
  try {
    send({ type: 'result', id: msg.id, result: reply.result }, reply.transfer);
  } catch (err) {
    // DataCloneError: the result holds a function, a class instance with private state, a detached buffer …
    const error = new LeptonError('WORKER_TASK_FAILED', `The worker's result could not be sent to the main thread: ${(err as Error).message}`);
    send({ type: 'error', id: msg.id, error: toWire(error, 'WORKER_TASK_FAILED') });
  }
}

async function main(port: MessagePort, start: WorkerStart): Promise<void> {
  let handler: WorkerHandler<unknown, unknown>;
  try {
    handler = await setUp(start);
  } catch (err) {
    // The pool terminates this worker when it reads this message.
    port.postMessage({ type: 'setup-error', error: toWire(err, 'WORKER_SETUP_FAILED') } satisfies FromWorker);
    return;
  }
  // The pool may send the next request while one is computing (`pipeline`): serve them strictly one after another,
  // so a handler never runs concurrently with itself (it would interleave at its awaits otherwise).
  let queue = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    queue = queue
      .then(() => serve(port, handler, msg))
      // serve() answers every error itself; one escaping means the port is unusable: crash (the pool replaces this
      // worker and fails what it held) rather than stall with the chain broken.
      .catch((err: unknown) => process.nextTick(() => {
        throw err;
      }));
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (parentPort !== null && (workerData as Partial<WorkerStart> | null)?.kind === 'lepton-worker-pool') {
  void main(parentPort, workerData as WorkerStart);
}
