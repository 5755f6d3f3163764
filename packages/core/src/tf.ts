/**
 * The single TensorFlow.js namespace that every Lepton package uses (core, layers and graph-model
 * loading). Import `tf` from `@lepton/core` instead of installing a second copy of TensorFlow.js, so
 * there is exactly one engine and one set of registered backends in the process.
 *
 * @module
 */
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export { loadGraphModel, loadGraphModelSync, GraphModel } from '@tensorflow/tfjs-converter';
