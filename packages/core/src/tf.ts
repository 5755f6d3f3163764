/**
 * The single TensorFlow.js namespace that every Lepton package uses: the standard TensorFlow.js API (core ops with
 * chained methods such as `t.reshape()`, layers, the CPU backend's exports) — what the `@tensorflow/tfjs` union
 * package exports, less its browser-only WebGL backend, `tf.data` and graph-model loading (`loadGraphModel`): install
 * `@tensorflow/tfjs-data@4.22.0` or `@tensorflow/tfjs-converter@4.22.0` and import them directly if you need them;
 * they run on this same engine (`@lepton/surveillance` depends on the converter for its detectors). Import
 * `tf` from `@lepton/core` instead of installing a second copy of TensorFlow.js, so there is exactly one engine and
 * one set of registered backends in the process. Call `initRuntime()` before heavy work so the fastest backend is
 * active.
 *
 * Built from the TF.js packages themselves (tfjs-core, -layers, -backend-cpu) rather than the
 * `@tensorflow/tfjs` union, whose package holds 140 MB of browser bundles and source maps plus the WebGL backend and
 * core-js; see `internal/chained-ops.ts` for the one thing the union's Node build added.
 *
 * @module
 */
import './internal/chained-ops.js';
// tfjs-core declares the chained methods on its Tensor interface in these files (module augmentation). This re-export
// of nothing, unlike a type-only import, is kept in tf.d.ts, so every program that uses `tf` sees the declarations;
// their run-time part is ./internal/chained-ops.js.
export type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { version_core } from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export * from '@tensorflow/tfjs-backend-cpu';

/**
 * Versions of the TensorFlow.js packages in this namespace, as the union package's `tf.version` reports them
 * (`tfjs` is the tfjs-core version: they are released together).
 */
export const version = {
  /** `@tensorflow/tfjs-core`: ops, tensors, the engine. */
  'tfjs-core': version_core,
  /** `@tensorflow/tfjs-backend-cpu`: the JavaScript backend. */
  'tfjs-backend-cpu': version_cpu,
  /** `@tensorflow/tfjs-layers`: Keras-style models and layers. */
  'tfjs-layers': version_layers,
  /** The TensorFlow.js release (the tfjs-core version). */
  tfjs: version_core,
} as const;
