/**
 * The package's readers' one wrapper around core's line and CSV readers.
 *
 * @internal
 * @module
 */
import { isLeptonError, LeptonError } from '@lepton/core';

/**
 * `items`, with anything but a `LeptonError` thrown while reading turned into the reader's `code`: a source
 * that yields something other than text or bytes (a number, null, an object) made the decoder throw a plain
 * `TypeError` that escaped as it was.
 */
export async function* readFailuresTyped<T>(items: AsyncIterable<T>, what: string, code: 'TRANSACTIONS_READ_FAILED' | 'OHLCV_READ_FAILED'): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    if (isLeptonError(err)) throw err;
    throw new LeptonError(code, `${what} could not be read (${err instanceof Error ? err.name : typeof err}); the source must yield text or bytes.`, { cause: err });
  }
}
