/**
 * Bounds of a diagnosis model's input, shared by the training options, the bundle check and the preprocessing
 * functions (one place, so a preprocessing that a model may store is one the preprocessing functions take).
 *
 * @internal
 * @module
 */

/** Smallest model input side: three residual stages still leave a 4×4 map for Grad-CAM. */
export const MIN_INPUT_SIZE = 32;
/** Largest model input side: a full CT slice (512×512) without reduction. */
export const MAX_INPUT_SIZE = 512;
/** Most slices per 2.5-D stack. */
export const MAX_STACK_SLICES = 9;
