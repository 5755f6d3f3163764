import { dicomError } from '../dicom/errors.js';
import type { CodecOutput } from './codecs.js';
import { islowIdct } from './idct-islow.js';
import { BitReader, extend, fail, huffmanTable, NATURAL, type HuffmanTable, type Where } from './jpeg-huffman.js';

/**
 * Sequential Huffman DCT JPEG (ITU-T T.81 processes 1, 2 and 4: SOF0/SOF1, 8- or 12-bit samples) as the Independent
 * JPEG Group's library 6b decodes it — the decoder behind dcmtk's dcmdjpeg and GDCM — for the 12-bit JPEG Extended
 * transfer syntax (1.2.840.10008.1.2.4.51) that older CT and MR archives hold.
 *
 * Why our own: the npm registry has no 12-bit build of the maintained libjpeg-turbo codec
 * (`@cornerstonejs/codec-libjpeg-turbo-8bit` rejects precision 12; there is no `-12bit` package); `jpeg-js` is 8-bit
 * only; `@cornerstonejs/dicom-image-loader` carries a pdf.js-derived 12-bit decoder whose floating-point IDCT differs
 * from IJG's by ±1 grey level and which ships inside a browser image loader with `@cornerstonejs/core` as a peer. The
 * issue asks for dcmtk/GDCM's pixels exactly, so this follows IJG 6b: Huffman decoding as jdhuff.c (DC symbols limited
 * to 0–15, a code longer than 16 bits decodes as 0, missing data after a marker reads as zero bits), coefficients kept
 * in 16-bit JCOEFs, quantisation tables latched at a component's first scan, and the islow IDCT (idct-islow.ts).
 * Interleaved and non-interleaved scans and restart intervals are handled; components with different sampling
 * factors (subsampled colour) are refused rather than upsampled differently from IJG.
 * @internal
 */

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  /** Quantisation table latched at the component's first scan (jdinput.c latch_quant_tables). */
  quant?: Uint16Array;
  /** Samples, (blocks across × 8) × (blocks down × 8), cropped at the end. */
  plane?: Uint16Array;
  blocksAcross: number;
  blocksDown: number;
  dcPred: number;
}

/**
 * Decodes a sequential Huffman JPEG stream of precision 8 or 12 into 16-bit samples (interleaved components).
 * @internal
 */
export function decodeJpegExtended(data: Uint8Array, source?: string): CodecOutput {
  const where: Where = source === undefined ? {} : { source };
  if (data[0] !== 0xff || data[1] !== 0xd8) fail('no start-of-image marker.', where);
  const quant: Array<Uint16Array | undefined> = [];
  const dc: Array<HuffmanTable | undefined> = [];
  const ac: Array<HuffmanTable | undefined> = [];
  let frame: { precision: 8 | 12; width: number; height: number; components: Component[]; hmax: number; vmax: number; mcusX: number; mcusY: number } | undefined;
  let restartInterval = 0;
  let pos = 2;
  const u16 = (p: number): number => ((data[p] ?? 0) << 8) | (data[p + 1] ?? 0);
  for (;;) {
    // next marker (skipping fill bytes; anything else between segments is corrupt, as in IJG's next_marker)
    while (pos < data.length && data[pos] !== 0xff) pos++;
    while (pos < data.length && data[pos] === 0xff) pos++;
    if (pos >= data.length) {
      if (frame?.components.every((c) => c.quant !== undefined)) break; // every component decoded; EOI lost
      fail('the stream ends before its image data.', where);
    }
    const marker = data[pos++]!;
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (pos + 2 > data.length) fail('a marker segment is cut off.', where);
    const length = u16(pos);
    const end = pos + length;
    if (length < 2 || end > data.length) fail('a marker segment runs past the end of the stream.', where);
    const seg = data.subarray(pos + 2, end);
    pos = end;
    switch (marker) {
      case 0xdb: {
        // DQT: Pq/Tq, then 64 values in zigzag order (8- or 16-bit)
        let p = 0;
        while (p < seg.length) {
          const pq = seg[p]! >> 4;
          const tq = seg[p]! & 15;
          p++;
          if (tq > 3 || p + 64 * (pq + 1) > seg.length) fail('a quantisation table is malformed.', where);
          const table = new Uint16Array(64);
          for (let i = 0; i < 64; i++) table[NATURAL[i]!] = pq === 0 ? seg[p + i]! : (seg[p + 2 * i]! << 8) | seg[p + 2 * i + 1]!;
          p += 64 * (pq + 1);
          quant[tq] = table;
        }
        break;
      }
      case 0xc4: {
        // DHT: Tc/Th, 16 counts, the symbols
        let p = 0;
        while (p < seg.length) {
          const tc = seg[p]! >> 4;
          const th = seg[p]! & 15;
          if (tc > 1 || th > 3 || p + 17 > seg.length) fail('a Huffman table is malformed.', where);
          const counts = seg.subarray(p + 1, p + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          if (total > 256 || p + 17 + total > seg.length) fail('a Huffman table is malformed.', where);
          const table = huffmanTable(counts, seg.slice(p + 17, p + 17 + total), tc === 0, where);
          (tc === 0 ? dc : ac)[th] = table;
          p += 17 + total;
        }
        break;
      }
      case 0xdd:
        if (seg.length < 2) fail('a DRI segment is malformed.', where);
        restartInterval = (seg[0]! << 8) | seg[1]!;
        break;
      case 0xc0:
      case 0xc1: {
        if (frame !== undefined) fail('the stream has two frame headers.', where);
        const precision = seg[0];
        if (precision !== 8 && precision !== 12) fail(`sample precision ${precision} is not 8 or 12.`, where);
        const height = ((seg[1] ?? 0) << 8) | (seg[2] ?? 0);
        const width = ((seg[3] ?? 0) << 8) | (seg[4] ?? 0);
        const n = seg[5] ?? 0;
        if (height === 0 || width === 0 || n === 0 || n > 4 || seg.length < 6 + 3 * n) fail('the frame header is malformed (or uses DNL).', where);
        const components: Component[] = [];
        for (let i = 0; i < n; i++) {
          const h = seg[7 + 3 * i]! >> 4;
          const v = seg[7 + 3 * i]! & 15;
          const tq = seg[8 + 3 * i]!;
          if (h < 1 || h > 4 || v < 1 || v > 4 || tq > 3) fail('a component has invalid sampling factors.', where);
          components.push({ id: seg[6 + 3 * i]!, h, v, tq, blocksAcross: 0, blocksDown: 0, dcPred: 0 });
        }
        const hmax = Math.max(...components.map((c) => c.h));
        const vmax = Math.max(...components.map((c) => c.v));
        if (components.some((c) => c.h !== hmax || c.v !== vmax)) {
          throw dicomError('DICOM_UNSUPPORTED_PIXEL_FORMAT', 'JPEG Extended with subsampled colour components is not supported; convert the file with `dcmdjpeg`.', where);
        }
        const mcusX = Math.ceil(width / (8 * hmax));
        const mcusY = Math.ceil(height / (8 * vmax));
        for (const c of components) {
          c.blocksAcross = mcusX * c.h;
          c.blocksDown = mcusY * c.v;
        }
        frame = { precision: precision as 8 | 12, width, height, components, hmax, vmax, mcusX, mcusY };
        break;
      }
      case 0xc2:
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw dicomError(
          'DICOM_UNSUPPORTED_PIXEL_FORMAT',
          `JPEG process with SOF marker 0x${marker.toString(16)} (progressive, lossless, hierarchical or arithmetic) is not supported in JPEG Extended.`,
          where,
        );
      case 0xda:
        if (frame === undefined) fail('a scan comes before the frame header.', where);
        pos = decodeScan(data, pos, seg, frame!, quant, dc, ac, restartInterval, where);
        break;
      default:
        break; // APPn, COM, DNL-less others: skipped by their length
    }
  }
  if (frame === undefined) fail('the stream has no frame header.', where);
  const f = frame!;
  if (f.components.some((c) => c.plane === undefined)) fail('a component has no scan.', where);
  const n = f.components.length;
  const samples = new Uint16Array(f.width * f.height * n);
  for (let ci = 0; ci < n; ci++) {
    const c = f.components[ci]!;
    const stride = c.blocksAcross * 8;
    const plane = c.plane!;
    for (let y = 0; y < f.height; y++) {
      for (let x = 0, o = y * f.width * n + ci, i = y * stride; x < f.width; x++, o += n) samples[o] = plane[i + x]!;
    }
  }
  const out8 = f.precision === 8 ? Uint8Array.from(samples) : samples;
  return { samples: out8, width: f.width, height: f.height, components: n, layout: 'interleaved', colorConverted: false };
}

/** One scan (SOS header `seg`, entropy-coded data from `pos`); returns the position after its data. */
function decodeScan(
  data: Uint8Array,
  pos: number,
  seg: Uint8Array,
  frame: { precision: 8 | 12; components: Component[]; mcusX: number; mcusY: number; width: number; height: number; hmax: number; vmax: number },
  quant: Array<Uint16Array | undefined>,
  dcTables: Array<HuffmanTable | undefined>,
  acTables: Array<HuffmanTable | undefined>,
  restartInterval: number,
  where: Where,
): number {
  const ns = seg[0] ?? 0;
  if (ns < 1 || ns > 4 || seg.length < 1 + 2 * ns + 3) fail('a scan header is malformed.', where);
  const scan: Array<{ c: Component; dc: HuffmanTable; ac: HuffmanTable }> = [];
  for (let i = 0; i < ns; i++) {
    const c = frame.components.find((k) => k.id === seg[1 + 2 * i]);
    const td = seg[2 + 2 * i]! >> 4;
    const ta = seg[2 + 2 * i]! & 15;
    const dct = dcTables[td];
    const act = acTables[ta];
    if (c === undefined || dct === undefined || act === undefined) fail('a scan names a component or Huffman table that is not defined.', where);
    if (c!.quant === undefined) {
      const q = quant[c!.tq];
      if (q === undefined) fail('a component has no quantisation table.', where);
      c!.quant = q!.slice(); // latched: a later DQT must not change it
      c!.plane = new Uint16Array(c!.blocksAcross * 8 * c!.blocksDown * 8);
    }
    c!.dcPred = 0;
    scan.push({ c: c!, dc: dct!, ac: act! });
  }
  // Ss, Se and Ah/Al are not checked: IJG only warns when a sequential scan's are not 0, 63, 0 (PVRG writes Se = 0)
  const idct = islowIdct(frame.precision);
  const reader = new BitReader(data, pos, where);
  const coef = new Int16Array(64);
  const blockAt = (e: { c: Component; dc: HuffmanTable; ac: HuffmanTable }, bx: number, by: number): void => {
    coef.fill(0);
    const s0 = reader.decode(e.dc);
    const diff = s0 === 0 ? 0 : extend(reader.bits(s0), s0);
    e.c.dcPred = (e.c.dcPred + diff) | 0;
    coef[0] = e.c.dcPred; // JCOEF: 16-bit
    for (let k = 1; k < 64; k++) {
      const rs = reader.decode(e.ac);
      const r = rs >> 4;
      const s = rs & 15;
      if (s !== 0) {
        k += r;
        coef[NATURAL[k]!] = extend(reader.bits(s), s);
      } else {
        if (r !== 15) break;
        k += 15;
      }
    }
    if (bx < e.c.blocksAcross && by < e.c.blocksDown) {
      const stride = e.c.blocksAcross * 8;
      idct.block(coef, e.c.quant!, e.c.plane!, by * 8 * stride + bx * 8, stride);
    }
  };
  let total: number;
  let mcuAt: (m: number) => void;
  if (ns === 1) {
    // non-interleaved: the component's own blocks, in raster order, without MCU padding (T.81 A.2.2)
    const e = scan[0]!;
    const across = Math.ceil(Math.ceil((frame.width * e.c.h) / frame.hmax) / 8);
    const down = Math.ceil(Math.ceil((frame.height * e.c.v) / frame.vmax) / 8);
    total = across * down;
    mcuAt = (m) => blockAt(e, m % across, Math.floor(m / across));
  } else {
    total = frame.mcusX * frame.mcusY;
    mcuAt = (m) => {
      const mx = m % frame.mcusX;
      const my = Math.floor(m / frame.mcusX);
      for (const e of scan) for (let v = 0; v < e.c.v; v++) for (let h = 0; h < e.c.h; h++) blockAt(e, mx * e.c.h + h, my * e.c.v + v);
    };
  }
  let nextRestart = 0;
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      reader.restart(nextRestart, where);
      nextRestart = (nextRestart + 1) & 7;
      for (const e of scan) e.c.dcPred = 0;
    }
    mcuAt(m);
  }
  // continue after the scan's data: at the marker that ended it (or past the bytes read)
  if (reader.marker !== 0) return reader.pos - 2;
  return reader.pos;
}
