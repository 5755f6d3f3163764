/**
 * The single TensorFlow.js namespace that every Lepton package uses: the standard `@tensorflow/tfjs` API
 * (core ops with chained methods such as `t.reshape()`, layers, graph-model loading, data). Import `tf` from
 * `@lepton/core` instead of installing a second copy of TensorFlow.js, so there is exactly one engine and one
 * set of registered backends in the process. Call `initRuntime()` before heavy work so the fastest backend
 * is active.
 *
 * @module
 */
export * from '@tensorflow/tfjs';
