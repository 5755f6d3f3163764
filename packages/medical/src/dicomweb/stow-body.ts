// STOW-RS request bodies: Part 10 instances checked, cut into size-bounded batches, framed as multipart/related.
import { randomBytes } from 'node:crypto';
import { readDicom } from '../dicom/read.js';
import { dicomWebError } from './errors.js';

/** A Part 10 instance checked before sending. @internal */
export interface OutgoingInstance {
  readonly bytes: Uint8Array;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string | undefined;
}

/**
 * Checks that an instance is a Part 10 file (preamble, `DICM`, file meta information) and reads the UIDs the STOW-RS
 * response is matched on. `undefined` (or a hole of a sparse array, passed as `undefined`) is refused like any
 * non-instance.
 * @throws LeptonError `DICOMWEB_INVALID_OPTIONS` (with `details.index`)
 * @internal
 */
export function outgoing(value: unknown, index: number): OutgoingInstance {
  const bad = (why: string, cause?: unknown): never => {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Instance ${index} ${why}; STOW-RS sends DICOM Part 10 files (bytes or { bytes }).`, { option: 'instances', index }, cause);
  };
  let inner: unknown;
  try {
    inner = value instanceof Uint8Array ? value : typeof value === 'object' && value !== null ? (value as { bytes?: unknown }).bytes : undefined; // read once
  } catch {
    return bad('could not be read (its bytes getter threw)');
  }
  const bytes = inner instanceof Uint8Array ? inner : undefined;
  if (bytes === undefined) return bad('is not a Uint8Array');
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) bad('has no Part 10 preamble and "DICM" prefix');
  let meta;
  try {
    meta = readDicom(bytes).meta;
  } catch (err) {
    return bad('is not readable DICOM', err);
  }
  if (meta.sopClassUid === undefined || meta.sopInstanceUid === undefined) bad('has no SOP Class or SOP Instance UID');
  return { bytes, sopClassUid: meta.sopClassUid!, sopInstanceUid: meta.sopInstanceUid!, studyInstanceUid: meta.studyInstanceUid };
}

/**
 * Cuts instances into batches whose multipart bodies stay within `limit` bytes (each instance's part costs its size
 * plus ~120 bytes of headers and boundary). An instance larger than the limit on its own is refused up front.
 * @throws LeptonError `DICOMWEB_INVALID_OPTIONS`
 * @internal
 */
export function batches(instances: readonly OutgoingInstance[], limit: number): OutgoingInstance[][] {
  const out: OutgoingInstance[][] = [];
  let current: OutgoingInstance[] = [];
  let size = 0;
  instances.forEach((inst, index) => {
    const cost = inst.bytes.length + PART_OVERHEAD;
    if (cost + CLOSE_OVERHEAD > limit) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Instance ${index} is ${inst.bytes.length} bytes, more than maxStoreRequestBytes (${limit}) allows in one request; raise maxStoreRequestBytes.`, { option: 'maxStoreRequestBytes', index, bytes: inst.bytes.length, limit });
    }
    if (current.length > 0 && size + cost + CLOSE_OVERHEAD > limit) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(inst);
    size += cost;
  });
  if (current.length > 0) out.push(current);
  return out;
}

const PART_OVERHEAD = 128;
const CLOSE_OVERHEAD = 64;

/**
 * The multipart/related body of one batch, with a random boundary that occurs in none of the parts (checked: a
 * boundary inside a file's bytes would cut it in two on the server).
 * @internal
 */
export function multipart(batch: readonly OutgoingInstance[]): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  let boundary = '';
  for (;;) {
    boundary = `lepton-${randomBytes(18).toString('hex')}`;
    const probe = Buffer.from(`--${boundary}`);
    if (batch.every((b) => Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength).indexOf(probe) < 0)) break;
  }
  const chunks: Uint8Array[] = [];
  for (const b of batch) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\nContent-Length: ${b.bytes.length}\r\n\r\n`, 'latin1'), b.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

