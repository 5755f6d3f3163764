import { describeValue, LeptonError, seededRandom } from '@lepton/core';

/** Class of a synthetic part image: a good part or one of the two defect kinds. */
export type PartLabel = 'good' | 'scratch' | 'dent';

/** The labels {@link generateParts} draws from, in the class-index order the classifier uses by default. */
export const PART_LABELS: readonly PartLabel[] = ['good', 'scratch', 'dent'];

/** One synthetic grayscale part image with its ground truth. */
export interface PartImage {
  /** Pixel intensities in [0, 1], row-major (`image[row * width + col]`), length `width × height`. */
  image: Float32Array;
  /** Ground-truth defect mask, same layout as `image`: 1 where a defect is, 0 elsewhere (all 0 for a good part). */
  mask: Uint8Array;
  /** What the part is. */
  label: PartLabel;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
}

/** Options for {@link generateParts}. */
export interface GeneratePartsOptions {
  /** Seed; the same seed gives bit-identical images. Default 1. */
  seed?: number;
  /** Side of the square image in pixels (at least 32). Default 64. */
  size?: number;
  /**
   * Labels to produce, assigned round-robin (`['good', 'scratch', 'dent']` gives a third of each, in that order).
   * Default `['good']`.
   */
  labels?: readonly PartLabel[];
}

/** Standard normal deviate from a uniform generator (Box–Muller). */
function normalFrom(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Smooth step from 0 at `a` to 1 at `b`. */
function smoothstep(a: number, b: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - a) / (b - a)));
  return t * t * (3 - 2 * t);
}

/** Geometry shared by the surface and the defect placement. */
interface Scene {
  size: number;
  cx: number;
  cy: number;
  radius: number;
  /** Unit vector pointing towards the light, in image coordinates. */
  lx: number;
  ly: number;
}

/**
 * Renders a defect-free part: a brushed metal face (row streaks plus fine grain), a lighting gradient, and a
 * machined bore with a lit chamfer, plus sensor noise added later by the caller.
 */
function renderSurface(rand: () => number, normal: () => number, size: number): { pixels: Float32Array; scene: Scene } {
  const base = 0.52 + 0.04 * normal();
  const angle = rand() * 2 * Math.PI;
  const lx = Math.cos(angle);
  const ly = Math.sin(angle);
  const gradient = 0.08 + 0.08 * rand();
  // Brushing: each row gets a slowly varying offset (a smoothed random walk), so streaks run along the rows.
  const rows = new Float32Array(size);
  let walk = 0;
  for (let y = 0; y < size; y++) {
    walk = 0.7 * walk + normal();
    rows[y] = 0.012 * walk;
  }
  const scene: Scene = {
    size,
    cx: size / 2 + (rand() - 0.5) * 3,
    cy: size / 2 + (rand() - 0.5) * 3,
    radius: size * (0.2 + 0.03 * rand()),
    lx,
    ly,
  };
  const chamfer = Math.max(1.5, size / 28);
  const pixels = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x / size - 0.5;
      const v = y / size - 0.5;
      const face = base + gradient * (u * lx + v * ly) + rows[y]! + 0.012 * normal();
      const dx = x - scene.cx;
      const dy = y - scene.cy;
      const r = Math.hypot(dx, dy);
      // The bore: dark, a little brighter towards the light side of its wall.
      const along = r > 0 ? (dx * lx + dy * ly) / r : 0;
      const bore = 0.12 + 0.05 * (r / scene.radius) * -along;
      // The chamfer ring reflects the light on the side facing it.
      const ring = 0.62 + 0.22 * -along;
      const inBore = 1 - smoothstep(scene.radius - 0.6, scene.radius + 0.6, r);
      const inRing = smoothstep(scene.radius - 0.6, scene.radius + 0.6, r) * (1 - smoothstep(scene.radius + chamfer - 0.6, scene.radius + chamfer + 0.6, r));
      pixels[y * size + x] = inBore * bore + inRing * ring + (1 - inBore - inRing) * face;
    }
  }
  return { pixels, scene };
}

/** A point on the flat face: away from the bore and the border. */
function facePoint(rand: () => number, scene: Scene, clearance: number): [number, number] {
  const margin = 5;
  for (;;) {
    const x = margin + rand() * (scene.size - 2 * margin);
    const y = margin + rand() * (scene.size - 2 * margin);
    if (Math.hypot(x - scene.cx, y - scene.cy) > scene.radius + clearance) return [x, y];
  }
}

/** Distance from point p to segment a–b. */
function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.min(1, Math.max(0, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy)));
  return Math.hypot(px - ax - t * vx, py - ay - t * vy);
}

/** A thin bright or dark line segment at a random angle, kept off the bore. */
function addScratch(rand: () => number, scene: Scene, pixels: Float32Array, mask: Uint8Array): void {
  const { size } = scene;
  let a: [number, number] = [0, 0];
  let b: [number, number] = [0, 0];
  for (let tries = 0; tries < 100; tries++) {
    a = facePoint(rand, scene, 3);
    const angle = rand() * Math.PI;
    const length = size * (0.2 + 0.25 * rand());
    b = [a[0] + length * Math.cos(angle), a[1] + length * Math.sin(angle)];
    const inside = b[0] > 3 && b[0] < size - 3 && b[1] > 3 && b[1] < size - 3;
    if (inside && segmentDistance(scene.cx, scene.cy, a[0], a[1], b[0], b[1]) > scene.radius + 3) break;
  }
  const width = 0.6 + 0.5 * rand();
  const contrast = (rand() < 0.5 ? -1 : 1) * (0.2 + 0.15 * rand());
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = segmentDistance(x, y, a[0], a[1], b[0], b[1]);
      const profile = Math.exp(-((d / width) ** 2));
      if (profile < 0.01) continue;
      pixels[y * size + x] = pixels[y * size + x]! + contrast * profile;
      if (profile >= 0.3) mask[y * size + x] = 1;
    }
  }
}

/** A small elliptical depression: darker floor, the wall facing the light lit, the other in shadow. */
function addDent(rand: () => number, scene: Scene, pixels: Float32Array, mask: Uint8Array): void {
  const { size } = scene;
  const rx = size * (0.04 + 0.04 * rand());
  const ry = rx * (0.55 + 0.35 * rand());
  const [cx, cy] = facePoint(rand, scene, rx + 3);
  const theta = rand() * Math.PI;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const depth = 0.18 + 0.14 * rand();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const u = (dx * cos + dy * sin) / rx;
      const v = (-dx * sin + dy * cos) / ry;
      const r = Math.hypot(u, v);
      if (r > 1.3) continue;
      const soft = 1 - smoothstep(0.85, 1.15, r);
      const d = Math.hypot(dx, dy) || 1;
      // Far wall (facing the light) brightens, near wall darkens: a depression lit from (lx, ly).
      const shade = -((dx * scene.lx + dy * scene.ly) / d) * Math.min(1, r);
      pixels[y * size + x] = pixels[y * size + x]! + soft * (-depth * (0.55 + 0.45 * (1 - r * r)) + 0.5 * depth * shade);
      if (r <= 1) mask[y * size + x] = 1;
    }
  }
}

/**
 * Generates one **synthetic** part image (not real camera data): a grayscale machined face with brushing
 * texture, a lighting gradient from a random direction, a bore with a lit chamfer and sensor noise, and for a
 * defective part one `scratch` (thin bright or dark line at a random angle) or `dent` (small dark shaded
 * ellipse) on the flat face, with its ground-truth pixel mask.
 *
 * @param label - what to draw
 * @param seed - seed; the same seed and size give bit-identical output
 * @param size - side of the square image in pixels (at least 32; default 64)
 * @returns the image in [0, 1], its mask and label
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown label, a size that is not an integer from
 *   32 to 4096, or a seed that is not a finite number
 * @example
 * ```ts
 * import { generatePart } from '@lepton/manufacturing';
 * const part = generatePart('scratch', 7);
 * console.log(part.image.length, part.mask.some((m) => m === 1)); // 4096 true
 * ```
 */
export function generatePart(label: PartLabel, seed: number, size = 64): PartImage {
  if (!PART_LABELS.includes(label)) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown part label ${describeValue(label)}; use one of ${PART_LABELS.join(', ')}.`);
  }
  if (!Number.isInteger(size) || size < 32 || size > 4096) throw new LeptonError('INVALID_ARGUMENT', `Part image size must be an integer from 32 to 4096, got ${describeValue(size)}.`);
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new LeptonError('INVALID_ARGUMENT', `Part seed must be a finite number, got ${describeValue(seed)}.`);
  const rand = seededRandom(seed);
  const normal = normalFrom(rand);
  const { pixels, scene } = renderSurface(rand, normal, size);
  const mask = new Uint8Array(size * size);
  if (label === 'scratch') addScratch(rand, scene, pixels, mask);
  else if (label === 'dent') addDent(rand, scene, pixels, mask);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(1, Math.max(0, pixels[i]! + 0.015 * normal()));
  return { image: pixels, mask, label, width: size, height: size };
}

/** Most pixels (count × size²) one {@link generateParts} call draws: 2^28, about 1 GiB of float32 images. */
const MAX_PART_PIXELS = 2 ** 28;

/**
 * Generates a seeded set of **synthetic** part images (see {@link generatePart}); labels are assigned
 * round-robin from `options.labels`, and each image has its own seed derived from `options.seed`.
 *
 * @param count - number of images
 * @param options - seed, size and labels
 * @returns the images with masks and labels
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a count that is not an integer from 0 to 100,000,
 *   options that are not an object, no labels, an unknown label, a bad size, a seed that is not a finite number, or
 *   more than 2^28 pixels in all (count × size²: about 1 GiB of images)
 * @example
 * ```ts
 * import { generateParts } from '@lepton/manufacturing';
 * const parts = generateParts(6, { seed: 3, labels: ['good', 'scratch', 'dent'] });
 * console.log(parts.map((p) => p.label).join()); // good,scratch,dent,good,scratch,dent
 * ```
 */
export function generateParts(count: number, options: GeneratePartsOptions = {}): PartImage[] {
  if (!Number.isInteger(count) || count < 0 || count > 100_000) throw new LeptonError('INVALID_ARGUMENT', `count must be an integer from 0 to 100000, got ${describeValue(count)}.`);
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `options must be an object, got ${describeValue(options)}.`);
  const labels = options.labels ?? ['good'];
  if (!Array.isArray(labels) || labels.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'labels must name at least one of good, scratch, dent.');
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new LeptonError('INVALID_ARGUMENT', `options.seed must be a finite number, got ${describeValue(seed)}.`);
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 32 || size > 4096) throw new LeptonError('INVALID_ARGUMENT', `Part image size must be an integer from 32 to 4096, got ${describeValue(size)}.`, { details: { field: 'options.size' } });
  // Checked before any image is drawn: each part is size² float pixels (count and size alone are each bounded, not jointly).
  if (count * size * size > MAX_PART_PIXELS) {
    throw new LeptonError('INVALID_ARGUMENT', `count × size² is ${count * size * size} pixels, over ${MAX_PART_PIXELS}; generate the parts in smaller batches.`, { details: { field: 'count' } });
  }
  const seeds = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => generatePart(labels[i % labels.length]!, Math.floor(seeds() * 2 ** 32), size));
}
