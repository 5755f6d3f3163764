/** A point or direction in patient coordinates (LPS, mm): x to the patient's left, y posterior, z superior. */
export type Vec3 = readonly [number, number, number];

/** @internal */
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
/** @internal */
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
/** @internal */
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
/** @internal */
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
/** @internal */
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
/** @internal */
export const normalize = (a: Vec3): Vec3 => scale(a, 1 / norm(a));

/**
 * Inverse of a 3×3 matrix given by its columns. Volume axes need not be orthogonal (a gantry-tilted CT series gives a
 * sheared volume), so this is a general inverse, not a transpose.
 * @internal
 */
export function invert3(c0: Vec3, c1: Vec3, c2: Vec3): [Vec3, Vec3, Vec3] {
  const det = dot(c0, cross(c1, c2));
  // rows of the inverse are the cross products of the other two columns, over the determinant
  return [scale(cross(c1, c2), 1 / det), scale(cross(c2, c0), 1 / det), scale(cross(c0, c1), 1 / det)];
}

/**
 * Largest |cos| between the (normalised) row and column directions of an Image Orientation (Patient) still accepted
 * (about 2.9° off perpendicular).
 * @internal
 */
export const MAX_ORIENTATION_COSINE = 0.05;

/**
 * The unit slice normal (row × column, PS3.3 C.7.6.2.1.1) of an Image Orientation (Patient), from its normalised
 * direction cosines; `undefined` when the orientation is unusable (a non-finite value, a zero vector, or row and column
 * directions further than {@link MAX_ORIENTATION_COSINE} from perpendicular). Every normal in this package comes from
 * here or from the same rules, so non-unit cosines never scale positions.
 * @internal
 */
export function unitSliceNormal(iop: readonly number[]): Vec3 | undefined {
  if (iop.length < 6 || !iop.slice(0, 6).every(Number.isFinite)) return undefined;
  const r: Vec3 = [iop[0]!, iop[1]!, iop[2]!];
  const c: Vec3 = [iop[3]!, iop[4]!, iop[5]!];
  if (!(norm(r) > 1e-6 && norm(c) > 1e-6)) return undefined;
  const ru = normalize(r);
  const cu = normalize(c);
  if (Math.abs(dot(ru, cu)) > MAX_ORIENTATION_COSINE) return undefined;
  const n = cross(ru, cu);
  return norm(n) > 0.5 ? normalize(n) : undefined;
}
