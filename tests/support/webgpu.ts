import { initRuntime, tf } from '@lepton/core';

// Helpers for the WebGPU tests of every package (one copy, imported by relative path). On this project's CI the adapter is Mesa's lavapipe (software Vulkan, see GPU.md):
// slow, but it runs the same shaders and kernels as a real GPU, so a synchronous read or a missing kernel shows here.

/**
 * Starts the `webgpu` backend. Returns why it is unusable (no `webgpu` package, no Vulkan driver …), or undefined when
 * it runs: tests use the reason to skip with a clear message rather than fail on a machine without WebGPU.
 */
export async function webgpuUnavailable(): Promise<string | undefined> {
  try {
    await initRuntime({ backend: 'webgpu' }, {});
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** What {@link watchWebgpu} saw between its start and `stop()`. */
export interface WebgpuWatch {
  /**
   * Synchronous reads through the webgpu backend's `readSync`, including harmless ones of data still on the CPU side:
   * tfjs-backend-webgpu runs small kernels (Tile, …) on the CPU when their inputs were never uploaded, and
   * tfjs-converter reads a graph's constant parameters (axes, shapes) that way.
   */
  syncReads: number;
  /**
   * Of those, reads that had to come back from the GPU: these stall the GPU queue, and in Node they throw (the
   * synchronous path of tfjs-backend-webgpu needs an `OffscreenCanvas`). Must be zero.
   */
  gpuSyncReads: number;
  /** Call sites of the first few GPU reads, to name the culprit in a failure message. */
  sites: string[];
  /** Backends switched to (`tf.setBackend`), e.g. by core's kernel check moving training off a backend. */
  switches: string[];
  /** Stops watching. */
  stop(): void;
}

interface WebgpuBackendInternals {
  readSync(dataId: object): unknown;
  tensorMap: { has(dataId: object): boolean; get(dataId: object): { values?: unknown; dtype?: string } | undefined };
}

/**
 * Wraps the webgpu backend's `readSync` (every synchronous read goes through it: `dataSync`, `arraySync`,
 * `bufferSync`, moving a tensor to another backend) and the engine's `setBackend`, counting calls. On a GPU a
 * synchronous read stalls the queue; in Node tfjs-backend-webgpu needs an `OffscreenCanvas` for it and throws.
 *
 * @returns the counters; call `stop()` when done
 */
export function watchWebgpu(): WebgpuWatch {
  const backend = tf.findBackend('webgpu') as unknown as WebgpuBackendInternals;
  // Without its tensor map a GPU read could not be told from a cached one, and every check would pass.
  if (typeof backend?.tensorMap?.has !== 'function') throw new Error('the webgpu backend has no tensorMap: update watchWebgpu for this TF.js version');
  const engine = tf.engine() as unknown as { setBackend(name: string): Promise<boolean> };
  const readSync = backend.readSync;
  const setBackend = engine.setBackend;
  const watch: WebgpuWatch = {
    syncReads: 0,
    gpuSyncReads: 0,
    sites: [],
    switches: [],
    stop: () => {
      backend.readSync = readSync;
      engine.setBackend = setBackend;
    },
  };
  backend.readSync = function (this: unknown, dataId: object) {
    watch.syncReads++;
    // tfjs-backend-webgpu's readSync returns `values` at once while the data is CPU-side, and reads the GPU otherwise.
    // has() first: DataStorage.get() of an id it does not hold would itself move data between backends.
    const data = backend.tensorMap.has(dataId) ? backend.tensorMap.get(dataId) : undefined;
    if (data !== undefined && data.values == null && data.dtype !== 'string') {
      watch.gpuSyncReads++;
      if (watch.sites.length < 3) watch.sites.push(new Error('readSync').stack?.split('\n').slice(2, 12).join('\n') ?? '');
    }
    return readSync.call(this, dataId);
  };
  engine.setBackend = function (this: unknown, name: string) {
    watch.switches.push(name);
    return setBackend.call(this, name);
  };
  return watch;
}

/** Largest absolute difference between two equally long number lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
