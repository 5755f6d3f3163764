import { dicomError } from '../dicom/errors.js';

/**
 * Reads and checks an RLE frame's 64-byte header (PS3.5 G.5) before anything is allocated: the segment count must be
 * the one the pixel module needs, every segment must lie inside the frame, and each must be able to hold a byte plane
 * of `pixels` bytes — a PackBits replicate run turns 2 bytes into at most 128, so a segment of L bytes decodes to at
 * most 64 × L + 128 bytes. Without this, Rows × Columns from a corrupt header (65535 × 65535 × 2 segments = 8.6 GB)
 * was allocated first and failed with `RangeError: Invalid typed array length`.
 * @returns [start, end) of each segment
 * @internal
 */
export function rleSegments(data: Uint8Array, expectedSegments: number, pixels: number, where: Record<string, unknown>): Array<[number, number]> {
  if (data.length < 64) throw dicomError('DICOM_DECODE_FAILED', 'The RLE frame is shorter than its 64-byte header.', where);
  const header = new DataView(data.buffer, data.byteOffset, 64);
  const segments = header.getUint32(0, true);
  if (segments !== expectedSegments) {
    throw dicomError('DICOM_DECODE_FAILED', `The RLE frame has ${segments} segments where ${expectedSegments} are needed.`, where);
  }
  const bounds: Array<[number, number]> = [];
  for (let s = 0; s < segments; s++) {
    const start = header.getUint32(4 + s * 4, true);
    const end = s + 1 < segments ? header.getUint32(8 + s * 4, true) : data.length;
    if (start < 64 || start > end || end > data.length) {
      throw dicomError('DICOM_DECODE_FAILED', `RLE segment ${s + 1} lies outside the frame (header offsets ${start}–${end} of ${data.length} bytes): the frame is corrupt.`, where);
    }
    if (pixels > 64 * (end - start) + 128) {
      throw dicomError(
        'DICOM_DECODE_FAILED',
        `RLE segment ${s + 1} has ${end - start} bytes, which decode to at most ${64 * (end - start) + 128}, but Rows × Columns ` +
          `needs ${pixels}: the pixel module or the frame is corrupt.`,
        where,
      );
    }
    bounds.push([start, end]);
  }
  return bounds;
}

/**
 * Decodes one DICOM RLE Lossless frame (PS3.5 Annex G) into native little-endian bytes, planar or interleaved as
 * `planarConfiguration` says.
 *
 * Why our own decoder: no maintained npm package decodes DICOM RLE in Node for every sample layout. The candidates
 * checked (npm registry, 2025): `@cornerstonejs/dicom-codec` (a CJS wrapper pulling every other codec in, handles
 * 16-bit only for one sample per pixel and no 32-bit) and `@cornerstonejs/dicom-image-loader`'s `decodeRLE` (reachable
 * only through a browser loader with `@cornerstonejs/core` as a peer); generic PackBits packages do not know DICOM's
 * segment header and byte-plane order. The format is small: a 64-byte header of up to 15 segment offsets, and each
 * segment is PackBits-coded, one per byte plane, most significant byte first within each sample.
 * `scratch`, when it has the right size, receives the output instead of a new array.
 * @internal
 */
export function decodeRle(
  data: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bitsAllocated: number,
  planarConfiguration: 0 | 1,
  source: string | undefined,
  scratch?: Uint8Array,
): Uint8Array {
  const bytesPerSample = bitsAllocated / 8;
  const pixels = rows * columns;
  const expectedSegments = samplesPerPixel * bytesPerSample;
  const where = source === undefined ? {} : { source };
  if (!Number.isInteger(bytesPerSample)) throw dicomError('DICOM_DECODE_FAILED', `RLE cannot hold Bits Allocated ${bitsAllocated}.`, where);
  const bounds = rleSegments(data, expectedSegments, pixels, where);
  const segments = bounds.length;
  // Every byte is written below (a short segment throws), so a reused scratch buffer needs no clearing.
  const out = scratch !== undefined && scratch.length === pixels * expectedSegments ? scratch : new Uint8Array(pixels * expectedSegments);
  for (let s = 0; s < segments; s++) {
    const [start, end] = bounds[s]!;
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments go MSB first; output is little endian
    // Where pixel p of this byte plane lands in the output, and the step between pixels.
    const base = planarConfiguration === 1 ? sample * pixels * bytesPerSample + byteInSample : sample * bytesPerSample + byteInSample;
    const step = planarConfiguration === 1 ? bytesPerSample : samplesPerPixel * bytesPerSample;
    let p = 0;
    let i = start;
    const limit = end;
    while (i < limit && p < pixels) {
      const n = data[i++]!;
      if (n < 128) {
        // literal run of n + 1 bytes
        const count = Math.min(n + 1, pixels - p, limit - i);
        for (let k = 0; k < count; k++) out[base + (p++) * step] = data[i++]!;
      } else if (n > 128) {
        // replicate the next byte 257 - n times
        const value = data[i++]!;
        const count = Math.min(257 - n, pixels - p);
        for (let k = 0; k < count; k++) out[base + (p++) * step] = value;
      } // 128 is a no-op
    }
    if (p < pixels) {
      throw dicomError('DICOM_DECODE_FAILED', `RLE segment ${s + 1} ends after ${p} of ${pixels} pixels: the frame is corrupt.`, where);
    }
  }
  return out;
}

/**
 * Decodes the segments of an RLE frame into contiguous byte planes (segment order: most significant byte first), with
 * bulk copies for literal runs and fills for replicated runs — the fast path for greyscale frames, whose planes are
 * then combined into samples in one pass by the caller.
 *
 * @param data - the frame's RLE data (64-byte header, then the segments)
 * @param pixels - samples per plane (rows × columns)
 * @param planes - one buffer of `pixels` bytes per expected segment
 * @param source - file name for errors
 * @throws {@link @lepton/core!LeptonError} `DICOM_DECODE_FAILED` for a header or segment that does not fit
 * @internal
 */
export function decodeRlePlanes(data: Uint8Array, pixels: number, planes: Uint8Array[], source: string | undefined): void {
  const where = source === undefined ? {} : { source };
  const bounds = rleSegments(data, planes.length, pixels, where);
  const segments = bounds.length;
  for (let s = 0; s < segments; s++) {
    const out = planes[s]!;
    const [start, limit] = bounds[s]!;
    let p = 0;
    let i = start;
    while (i < limit && p < pixels) {
      const n = data[i++]!;
      if (n < 128) {
        const count = Math.min(n + 1, pixels - p, limit - i);
        out.set(data.subarray(i, i + count), p);
        p += count;
        i += count;
      } else if (n > 128) {
        const count = Math.min(257 - n, pixels - p);
        out.fill(data[i++]!, p, p + count);
        p += count;
      }
    }
    if (p < pixels) throw dicomError('DICOM_DECODE_FAILED', `RLE segment ${s + 1} ends after ${p} of ${pixels} pixels: the frame is corrupt.`, where);
  }
}
