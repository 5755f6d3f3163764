import { describeValue, LeptonError, seededRandom } from '@lepton/core';

/** Options for {@link ctPhantom}. */
export interface CtPhantomOptions {
  /** Seed: the same seed gives the same patient, anatomy and noise. */
  seed: number;
  /** Pixels per side (square slices). Default 64. */
  size?: number;
  /** Axial slices. Default 16. */
  slices?: number;
  /** Slice spacing and thickness, mm. Default 5. */
  sliceThickness?: number;
  /** Field of view, mm (pixel spacing = fov ÷ size). Default 360. */
  fieldOfViewMm?: number;
  /** Add a lung nodule: `true` for a random one (radius 9–14 mm), or its radius in mm. Default false. */
  lesion?: boolean | number;
  /** Image noise, HU (standard deviation). Default 15. */
  noiseHu?: number;
}

/** A phantom's nodule. */
export interface PhantomLesion {
  /** Centre, patient coordinates (LPS), mm. */
  center: [number, number, number];
  /** Radius, mm. */
  radiusMm: number;
}

/** A synthetic chest CT series: HU per slice, lesion masks and the geometry to write it as DICOM. */
export interface CtPhantom {
  /** Hounsfield units per slice, row-major `size × size`. */
  hu: Float32Array[];
  /** Lesion mask per slice (1 inside the nodule), row-major. All zero without a lesion. */
  masks: Uint8Array[];
  /** Pixels per side. */
  size: number;
  /** Pixel spacing [row, column], mm. */
  pixelSpacing: [number, number];
  /** Slice thickness (= spacing), mm. */
  sliceThickness: number;
  /** Image Position (Patient) of each slice's first pixel, mm (LPS). */
  positions: Array<[number, number, number]>;
  /** The nodule, when there is one: centre (LPS, mm) and radius (mm). */
  lesion?: PhantomLesion;
}

/** Largest phantom side, pixels. @internal */
export const MAX_SIZE = 2048;
/** Most phantom slices. @internal */
export const MAX_SLICES = 2048;
/**
 * Most voxels in one phantom (size × size × slices): 2^27, e.g. 512 × 512 × 512, about 670 MB of HU and masks. Size and
 * slices are each bounded, but 2048 × 2048 × 2048 passed those bounds and asked for 34 GB of HU slices (and hours of
 * work) before anything failed. @internal
 */
export const MAX_PHANTOM_VOXELS = 2 ** 27;
/** Largest slice thickness, field of view and nodule radius, mm: ten metres, far beyond any scanner. */
const MAX_MM = 10_000;
/** Largest image noise, HU: ten times the whole CT scale (−1024 … 3071). */
const MAX_NOISE_HU = 40_000;

/**
 * A seeded, anatomically plausible chest CT phantom in Hounsfield units — **synthetic data**, no patient: air around
 * the body, subcutaneous fat, soft tissue, two lungs (−850 HU, with vessels) that narrow towards the apex, the heart
 * and mediastinum, the spine with cortical bone and marrow, and optionally a solid lung nodule (a sphere of 20–60 HU)
 * with its mask. Patients differ in size, proportions and lung shape; every slice carries image noise.
 *
 * @param options - seed, size, slices, spacing, lesion and noise
 * @returns HU slices, lesion masks and geometry
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, a size that is not
 *   an integer from 16 to 2048, slices not an integer from 1 to 2048, more than 2^27 voxels in all (size² × slices,
 *   e.g. 512 × 512 × 512), a seed, slice thickness, field of view or noise
 *   that is not a finite number (thickness and field of view > 0 and at most 10,000 mm, noise from 0 to 40,000 HU), or
 *   a lesion that is not a boolean or a radius from > 0 to 10,000 mm
 */
export function ctPhantom(options: CtPhantomOptions): CtPhantom {
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `ctPhantom needs an options object with a seed, got ${describeValue(options)}.`);
  const size = options.size ?? 64;
  const slices = options.slices ?? 16;
  // Number.isInteger and typeof first: `<` on a hostile value runs its valueOf (or throws on a Symbol). The upper
  // bounds keep a typo (1e9) from allocating gigabytes.
  if (!Number.isInteger(size) || size < 16 || size > MAX_SIZE || typeof slices !== 'number' || !Number.isInteger(slices) || slices < 1 || slices > MAX_SLICES) {
    throw new LeptonError('INVALID_ARGUMENT', `Need an integer size from 16 to ${MAX_SIZE} and 1 to ${MAX_SLICES} slices, got ${describeValue(size)} and ${describeValue(slices)}.`);
  }
  if (size * size * slices > MAX_PHANTOM_VOXELS) {
    throw new LeptonError('INVALID_ARGUMENT', `ctPhantom: ${size} × ${size} × ${slices} voxels is more than the ${MAX_PHANTOM_VOXELS} a phantom may have (512 × 512 × 512); use fewer slices or a smaller size.`, {
      details: { option: 'slices' },
    });
  }
  // A NaN seed, spacing, field of view or noise gave a phantom of NaN HU with no error; a '5' string was coerced.
  // Upper bounds too: a slice thickness of 1e308 put the third slice at −Infinity mm, a noise of 1e38 HU overflowed the
  // Float32Array to ±Infinity, and a nodule of 1e308 mm filled the image; none is a chest CT any more.
  const positive = (v: unknown, name: string, min: number, max: number): void => {
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max)) {
      throw new LeptonError('INVALID_ARGUMENT', `ctPhantom: ${name} must be a finite number ${min === Number.MIN_VALUE ? '> 0' : `≥ ${min}`} and ≤ ${max}, got ${describeValue(v)}.`, { details: { option: name } });
    }
  };
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) throw new LeptonError('INVALID_ARGUMENT', `ctPhantom: seed must be a finite number, got ${describeValue(options.seed)}.`, { details: { option: 'seed' } });
  positive(options.sliceThickness, 'sliceThickness', Number.MIN_VALUE, MAX_MM);
  positive(options.fieldOfViewMm, 'fieldOfViewMm', Number.MIN_VALUE, MAX_MM);
  positive(options.noiseHu, 'noiseHu', 0, MAX_NOISE_HU);
  const l: unknown = options.lesion;
  if (l !== undefined && typeof l !== 'boolean' && !(typeof l === 'number' && Number.isFinite(l) && l > 0 && l <= MAX_MM)) {
    throw new LeptonError('INVALID_ARGUMENT', `ctPhantom: lesion must be true, false or a radius in mm > 0 and ≤ ${MAX_MM}, got ${describeValue(l)}.`, { details: { option: 'lesion' } });
  }
  const rand = seededRandom(options.seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const fov = options.fieldOfViewMm ?? 360;
  const px = fov / size;
  const thickness = options.sliceThickness ?? 5;
  const noise = options.noiseHu ?? 15;
  // Patient build: body half-width/height (mm), lung size and position.
  const bodyA = 150 + 20 * rand();
  const bodyB = 105 + 20 * rand();
  const fat = 10 + 15 * rand();
  const lungA = 45 + 10 * rand();
  const lungB = 65 + 15 * rand();
  const lungX = 62 + 8 * rand();
  const vessels = Array.from({ length: 14 }, () => ({ side: rand() < 0.5 ? -1 : 1, dx: (rand() - 0.5) * 1.4, dy: (rand() - 0.5) * 1.4, r: 0.8 + 1.2 * rand() }));
  const x0 = -fov / 2 + px / 2;
  const y0 = -fov / 2 + px / 2;
  const zTop = 0;
  const positions: Array<[number, number, number]> = Array.from({ length: slices }, (_, k) => [x0, y0, zTop - k * thickness]);
  // The nodule sits inside one lung, away from its edge, in a slice of the series.
  let lesion: CtPhantom['lesion'];
  if (options.lesion) {
    const radiusMm = typeof options.lesion === "number" ? options.lesion : 9 + 5 * rand();
    const side = rand() < 0.5 ? -1 : 1;
    const k = Math.floor(slices * (0.25 + 0.5 * rand()));
    const t = lungScale(k / Math.max(1, slices - 1));
    // Inside the lung, clear of its edge and of the heart (a nodule there would be invisible against soft tissue).
    let center: [number, number, number] = [side * lungX, -5, zTop - k * thickness];
    for (let attempt = 0; attempt < 200; attempt++) {
      const ang = 2 * Math.PI * rand();
      const rr = 0.6 * Math.sqrt(rand());
      const x = side * lungX + Math.cos(ang) * rr * lungA * t;
      const y = -5 + Math.sin(ang) * rr * lungB * t;
      const inLung = ((x - side * lungX) / (lungA * t - radiusMm)) ** 2 + ((y + 5) / (lungB * t - radiusMm)) ** 2 <= 1;
      const clearOfHeart = ((x - 8) / (42 + radiusMm)) ** 2 + ((y + 12) / (38 + radiusMm)) ** 2 > 1;
      if (inLung && clearOfHeart) {
        center = [x, y, zTop - k * thickness];
        break;
      }
    }
    lesion = { center, radiusMm };
  }
  const lesionHu = 20 + 40 * rand();
  const hu: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let k = 0; k < slices; k++) {
    const z = positions[k]![2];
    const t = lungScale(k / Math.max(1, slices - 1));
    const img = new Float32Array(size * size);
    const mask = new Uint8Array(size * size);
    for (let r = 0; r < size; r++) {
      const y = y0 + r * px;
      for (let c = 0; c < size; c++) {
        const x = x0 + c * px;
        let v = -1000;
        const body = (x / bodyA) ** 2 + (y / bodyB) ** 2;
        if (body <= 1) {
          v = ((x / (bodyA - fat)) ** 2 + (y / (bodyB - fat)) ** 2 <= 1) ? 40 : -100;
          for (const side of [-1, 1]) {
            const lx = (x - side * lungX) / (lungA * t);
            const ly = (y + 5) / (lungB * t);
            if (lx * lx + ly * ly <= 1) {
              v = -850;
              for (const vs of vessels) {
                if (vs.side === side && (lx - vs.dx * 0.6) ** 2 + (ly - vs.dy * 0.6) ** 2 <= (vs.r / (lungA * t)) ** 2) v = -100;
              }
            }
          }
          if (((x - 8) / 42) ** 2 + ((y + 12) / 38) ** 2 <= 1) v = 45; // heart and mediastinum
          const sy = y - bodyB * 0.68;
          if ((x / 16) ** 2 + (sy / 16) ** 2 <= 1) v = (x / 10) ** 2 + (sy / 10) ** 2 <= 1 ? 250 : 700; // vertebra
        }
        if (lesion) {
          const d2 = (x - lesion.center[0]) ** 2 + (y - lesion.center[1]) ** 2 + (z - lesion.center[2]) ** 2;
          if (d2 <= lesion.radiusMm ** 2) {
            v = lesionHu;
            mask[r * size + c] = 1;
          }
        }
        img[r * size + c] = v + noise * normal();
      }
    }
    hu.push(img);
    masks.push(mask);
  }
  const out: CtPhantom = { hu, masks, size, pixelSpacing: [px, px], sliceThickness: thickness, positions };
  if (lesion) out.lesion = lesion;
  return out;
}

/** Lungs narrow towards the apex (top slices) and the base. */
function lungScale(u: number): number {
  return 0.55 + 0.45 * Math.sin(Math.PI * (0.15 + 0.8 * u));
}
