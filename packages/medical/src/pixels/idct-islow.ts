/**
 * The inverse DCT of the Independent JPEG Group's library 6b, `jpeg_idct_islow` (jidctint.c), with its output range
 * limiting (jdmaster.c `prepare_range_limit_table`), for 8- and 12-bit samples. dcmtk (dcmdjpeg: libijg8/libijg12)
 * and GDCM (gdcmjpeg8/12) decode lossy JPEG with exactly this code at its default (JDCT_ISLOW), so a decoder that
 * wants their pixels, not pixels within ±1 of them, has to do the same integer arithmetic step for step:
 *
 * - constants in 13-bit fixed point (CONST_BITS 13); PASS1_BITS 2 for 8-bit samples and 1 for 12-bit;
 * - DESCALE(x, n) = (x + 2^(n-1)) >> n, an arithmetic shift (floor) of the 64-bit `INT32` (a C `long` on LP64);
 * - the column pass stores into a C `int` work array (Int32Array here: the same truncation);
 * - the output goes through the range-limit table with `& RANGE_MASK`, which clamps ordinary overshoot and wraps
 *   gross overflow (corrupt data) the way IJG does.
 *
 * JS numbers hold the products exactly (|coefficient × quantiser| < 2^31, × a 15-bit constant < 2^53), and the shifts
 * are done with Math.floor on exact integers, so nothing here depends on 32-bit JS bit operations except where C uses
 * `int` too. The "all AC terms zero" shortcuts of the C code are kept: they give the same result and most blocks take them.
 * @internal
 */

const CONST_BITS = 13;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** An IDCT for one sample precision: the range-limit table and the scaling that go with it. @internal */
export interface IslowIdct {
  readonly precision: 8 | 12;
  /**
   * Dequantises and inverse-transforms one block of 64 coefficients (natural order, as decoded) into `out` at
   * `offset`, rows `stride` apart.
   */
  block(coef: Int16Array, quant: Uint16Array, out: Uint16Array | Uint8Array, offset: number, stride: number): void;
}

/** Builds the range-limit table of jdmaster.c and returns it with the index of `IDCT_range_limit` (table + CENTERJSAMPLE). */
function rangeLimit(max: number, center: number): { table: Uint16Array; base: number } {
  const table = new Uint16Array(5 * (max + 1) + center);
  const zero = max + 1; // sample_range_limit: table[zero + x] = x for 0 <= x <= MAXJSAMPLE, 0 below
  for (let i = 0; i <= max; i++) table[zero + i] = i;
  const post = zero + center; // IDCT_range_limit
  for (let i = center; i < 2 * (max + 1); i++) table[post + i] = max;
  // table[post + 2(max+1) …] stays 0, then the last CENTERJSAMPLE entries repeat 0 … CENTERJSAMPLE-1
  for (let i = 0; i < center; i++) table[post + 4 * (max + 1) - center + i] = i;
  return { table, base: post };
}

const idcts = new Map<number, IslowIdct>();

/** The IDCT for 8- or 12-bit samples. @internal */
export function islowIdct(precision: 8 | 12): IslowIdct {
  let idct = idcts.get(precision);
  if (idct === undefined) {
    idct = makeIdct(precision);
    idcts.set(precision, idct);
  }
  return idct;
}

function makeIdct(precision: 8 | 12): IslowIdct {
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const PASS1_BITS = precision === 8 ? 2 : 1;
  const RANGE_MASK = max * 4 + 3;
  const { table, base } = rangeLimit(max, center);
  const ws = new Int32Array(64);
  // DESCALE: x may exceed 32 bits (a C long), so no JS shift operators here
  const d1 = 2 ** (CONST_BITS - PASS1_BITS);
  const h1 = d1 / 2;
  const d2 = 2 ** (CONST_BITS + PASS1_BITS + 3);
  const h2 = d2 / 2;
  const d0 = 2 ** (PASS1_BITS + 3);
  const h0 = d0 / 2;
  const p1 = 2 ** PASS1_BITS;
  const cb = 2 ** CONST_BITS;
  const limit = (x: number): number => table[base + ((x | 0) & RANGE_MASK)]!; // (int) cast, then & RANGE_MASK

  return {
    precision,
    block(coef, quant, out, offset, stride): void {
      // Pass 1: columns from the coefficients into the work array
      for (let c = 0; c < 8; c++) {
        if (coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 && coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0) {
          const dc = coef[c]! * quant[c]! * p1; // stored as int (truncated like the C cast)
          for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
          continue;
        }
        let z2 = coef[16 + c]! * quant[16 + c]!;
        let z3 = coef[48 + c]! * quant[48 + c]!;
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 - z3 * FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        z2 = coef[c]! * quant[c]!;
        z3 = coef[32 + c]! * quant[32 + c]!;
        let tmp0 = (z2 + z3) * cb;
        let tmp1 = (z2 - z3) * cb;
        const tmp10 = tmp0 + tmp3;
        const tmp13 = tmp0 - tmp3;
        const tmp11 = tmp1 + tmp2;
        const tmp12 = tmp1 - tmp2;
        tmp0 = coef[56 + c]! * quant[56 + c]!;
        tmp1 = coef[40 + c]! * quant[40 + c]!;
        tmp2 = coef[24 + c]! * quant[24 + c]!;
        tmp3 = coef[8 + c]! * quant[8 + c]!;
        z1 = tmp0 + tmp3;
        z2 = tmp1 + tmp2;
        z3 = tmp0 + tmp2;
        let z4 = tmp1 + tmp3;
        const z5 = (z3 + z4) * FIX_1_175875602;
        tmp0 *= FIX_0_298631336;
        tmp1 *= FIX_2_053119869;
        tmp2 *= FIX_3_072711026;
        tmp3 *= FIX_1_501321110;
        z1 *= -FIX_0_899976223;
        z2 *= -FIX_2_562915447;
        z3 = z3 * -FIX_1_961570560 + z5;
        z4 = z4 * -FIX_0_390180644 + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        ws[c] = Math.floor((tmp10 + tmp3 + h1) / d1);
        ws[56 + c] = Math.floor((tmp10 - tmp3 + h1) / d1);
        ws[8 + c] = Math.floor((tmp11 + tmp2 + h1) / d1);
        ws[48 + c] = Math.floor((tmp11 - tmp2 + h1) / d1);
        ws[16 + c] = Math.floor((tmp12 + tmp1 + h1) / d1);
        ws[40 + c] = Math.floor((tmp12 - tmp1 + h1) / d1);
        ws[24 + c] = Math.floor((tmp13 + tmp0 + h1) / d1);
        ws[32 + c] = Math.floor((tmp13 - tmp0 + h1) / d1);
      }
      // Pass 2: rows from the work array into the samples
      for (let r = 0; r < 8; r++) {
        const w = r * 8;
        const o = offset + r * stride;
        if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
          const v = limit(Math.floor((ws[w]! + h0) / d0));
          for (let c = 0; c < 8; c++) out[o + c] = v;
          continue;
        }
        let z2 = ws[w + 2]!;
        let z3 = ws[w + 6]!;
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 - z3 * FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        let tmp0 = (ws[w]! + ws[w + 4]!) * cb;
        let tmp1 = (ws[w]! - ws[w + 4]!) * cb;
        const tmp10 = tmp0 + tmp3;
        const tmp13 = tmp0 - tmp3;
        const tmp11 = tmp1 + tmp2;
        const tmp12 = tmp1 - tmp2;
        tmp0 = ws[w + 7]!;
        tmp1 = ws[w + 5]!;
        tmp2 = ws[w + 3]!;
        tmp3 = ws[w + 1]!;
        z1 = tmp0 + tmp3;
        z2 = tmp1 + tmp2;
        z3 = tmp0 + tmp2;
        let z4 = tmp1 + tmp3;
        const z5 = (z3 + z4) * FIX_1_175875602;
        tmp0 *= FIX_0_298631336;
        tmp1 *= FIX_2_053119869;
        tmp2 *= FIX_3_072711026;
        tmp3 *= FIX_1_501321110;
        z1 *= -FIX_0_899976223;
        z2 *= -FIX_2_562915447;
        z3 = z3 * -FIX_1_961570560 + z5;
        z4 = z4 * -FIX_0_390180644 + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        out[o] = limit(Math.floor((tmp10 + tmp3 + h2) / d2));
        out[o + 7] = limit(Math.floor((tmp10 - tmp3 + h2) / d2));
        out[o + 1] = limit(Math.floor((tmp11 + tmp2 + h2) / d2));
        out[o + 6] = limit(Math.floor((tmp11 - tmp2 + h2) / d2));
        out[o + 2] = limit(Math.floor((tmp12 + tmp1 + h2) / d2));
        out[o + 5] = limit(Math.floor((tmp12 - tmp1 + h2) / d2));
        out[o + 3] = limit(Math.floor((tmp13 + tmp0 + h2) / d2));
        out[o + 4] = limit(Math.floor((tmp13 - tmp0 + h2) / d2));
      }
    },
  };
}
