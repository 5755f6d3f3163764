import type { DcmjsDataset } from 'dcmjs';

/**
 * How much larger than its input a de-identified file may be: a quarter, plus 64 KiB. The growth de-identification
 * legitimately causes is small and bounded — replaced file meta information, a preamble for a bare data set, the
 * de-identification attributes, dummy values and 44-character UIDs in place of shorter ones, sequences rewritten
 * with undefined lengths, UN-encoded items re-encoded with explicit VRs — so anything beyond this is a mis-read
 * input, refused with `DEID_OUTPUT_TOO_LARGE` before the output is allocated. For Deflated input the size is the
 * inflated size.
 * @internal
 */
export function outputLimit(inputBytes: number): number {
  return inputBytes + Math.ceil(inputBytes / 4) + 64 * 1024;
}

/** Deflated data sets are inflated at most this far (1 GiB); beyond it the input is refused. @internal */
export const MAX_INFLATED_BYTES = 1024 * 1024 * 1024;

/** Sequences nest at most this deep; deeper input is refused as malformed (it would only exhaust the stack). @internal */
export const MAX_SEQUENCE_DEPTH = 64;

function valueBytes(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8') + 1;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return 24;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + valueBytes(x), 0);
  if (typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + valueBytes(x) + 1, 0); // PN groups
  return 16;
}

/**
 * An upper bound on the bytes dcmjs writes for a data set (UTF-8 text, undefined-length sequences, 12-byte headers),
 * so the output size can be checked before dcmjs allocates it.
 * @internal
 */
export function writtenSizeBound(ds: DcmjsDataset): number {
  let n = 0;
  for (const el of Object.values(ds)) {
    n += 16;
    if (el.vr === 'SQ') {
      n += 8;
      for (const item of (el.Value ?? []) as DcmjsDataset[]) n += 16 + writtenSizeBound(item);
    } else {
      n += Math.max(valueBytes(el.Value), valueBytes(el._rawValue));
    }
  }
  return n;
}
