/**
 * A lookup table from a Modality LUT Sequence or VOI LUT Sequence item (PS3.3 C.11.1 / C.11.2): input values below
 * `firstMapped` map to the first entry, values past the end map to the last one.
 */
export interface LookupTable {
  /** First input value mapped (descriptor value 2; signed when the image's pixels are). */
  readonly firstMapped: number;
  /** Bits per entry (descriptor value 3); output values lie in `0 … 2^bits - 1`. */
  readonly bits: number;
  /** The entries, one per input value from `firstMapped` on. */
  readonly data: Uint16Array;
  /** LUT Explanation (0028,3003), when present. */
  readonly explanation?: string;
  /** Modality LUT Type (0028,3004), e.g. `HU`, for modality tables. */
  readonly type?: string;
}

/**
 * Looks one value up, clamping below and above the table.
 * @internal
 */
export function lookup(table: LookupTable, value: number): number {
  let i = Math.round(value) - table.firstMapped;
  if (i < 0) i = 0;
  else if (i >= table.data.length) i = table.data.length - 1;
  return table.data[i] ?? 0;
}
