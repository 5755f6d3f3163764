// STOW-RS (PS3.18 10.5): Part 10 instances sent as one multipart/related; type="application/dicom" body per batch,
// and the Store Instances Response (DICOM JSON) turned into stored / failed lists.
import { isLeptonError, type LeptonError } from '@lepton/core';
import { dicomJsonNumber, dicomJsonString, type DicomJsonAttribute, type DicomJsonDataset } from './dicom-json.js';
import { safeFailure } from './fetch-xhr.js';
import type { ResolvedDicomWebOptions } from './options.js';
import { exchange, TransportRefusal } from './transport.js';

/** One instance the server stored (Referenced SOP Sequence of the STOW-RS response). */
export interface StoredInstance {
  /** SOP Class UID. */
  readonly sopClassUid: string;
  /** SOP Instance UID. */
  readonly sopInstanceUid: string;
  /** Where the server says it can be retrieved (Retrieve URL), when it says. */
  readonly retrieveUrl?: string;
  /** Warning Reason (0008,1196) when the server stored it with a warning (e.g. 0xB000 coercion of data elements). */
  readonly warningReason?: number;
}

/** One instance the server refused (Failed SOP Sequence of the STOW-RS response). */
export interface FailedInstance {
  /** SOP Class UID. */
  readonly sopClassUid: string;
  /** SOP Instance UID. */
  readonly sopInstanceUid: string;
  /**
   * Failure Reason (0008,1197), e.g. 0xA700 out of resources, 0xA900 data set does not match SOP class, 0xC000 cannot
   * understand, 0x0110 processing failure, 0x0122 SOP class not supported, 0xA770/0xA771 (study UID mismatch). Absent
   * when the server gave none.
   */
  readonly failureReason?: number;
}

/** What {@link DicomWebClient.store} returns: every instance stored, in the order sent. */
export interface DicomWebStoreResult {
  /** Instances the server reports as stored. */
  readonly stored: StoredInstance[];
  /** HTTP requests made (instances are sent in batches of at most `maxStoreRequestBytes`). */
  readonly requests: number;
}

/** Options for {@link DicomWebClient.store}. */
export interface DicomWebStoreOptions {
  /** Cancels the call (it then fails with `DICOMWEB_ABORTED`). */
  readonly signal?: AbortSignal;
  /** Store into this study (`POST /studies/{uid}`): the server refuses instances of other studies. Default `POST /studies`. */
  readonly studyInstanceUid?: string;
}

function items(ds: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const v = (ds[tag] as DicomJsonAttribute | undefined)?.Value;
  return Array.isArray(v) ? v.filter((x): x is DicomJsonDataset => typeof x === 'object' && x !== null) : [];
}

/**
 * Reads a Store Instances Response (DICOM JSON; Referenced SOP Sequence 0008,1199 and Failed SOP Sequence 0008,1198).
 * An empty body yields empty lists.
 * @internal
 */
export function parseStoreResponse(text: string): { stored: StoredInstance[]; failed: FailedInstance[] } | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return { stored: [], failed: [] };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const ds = (Array.isArray(json) ? json[0] : json) as DicomJsonDataset | undefined;
  if (typeof ds !== 'object' || ds === null) return undefined;
  const stored = items(ds, '00081199').map((it): StoredInstance => {
    const url = dicomJsonString(it, '00081190');
    const warning = dicomJsonNumber(it, '00081196');
    return {
      sopClassUid: dicomJsonString(it, '00081150') ?? '',
      sopInstanceUid: dicomJsonString(it, '00081155') ?? '',
      ...(url !== undefined ? { retrieveUrl: url } : {}),
      ...(warning !== undefined ? { warningReason: warning } : {}),
    };
  });
  const failed = items(ds, '00081198').map((it): FailedInstance => {
    const reason = dicomJsonNumber(it, '00081197');
    return { sopClassUid: dicomJsonString(it, '00081150') ?? '', sopInstanceUid: dicomJsonString(it, '00081155') ?? '', ...(reason !== undefined ? { failureReason: reason } : {}) };
  });
  return { stored, failed };
}

/** Most bytes of a STOW-RS response read (a status report, never bulk data). */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** How one POST ended: an HTTP answer, or no answer and why. @internal */
export type StowOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly statusText: string; readonly text: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'refused'; readonly refusal: TransportRefusal }
  | { readonly kind: 'invalid'; readonly error: LeptonError }
  | { readonly kind: 'unreachable'; readonly reason: string; readonly cause: unknown };

/**
 * POSTs one multipart body under the client's timeout, the caller's signal and its credentials (sent only in the
 * Authorization header), reading at most 8 MiB of answer.
 * @internal
 */
export async function postStow(options: ResolvedDicomWebOptions, url: string, body: Uint8Array<ArrayBuffer>, contentType: string, signal: AbortSignal | undefined): Promise<StowOutcome> {
  let timeout: AbortSignal | undefined;
  try {
    // inside the try: AbortSignal.timeout throws a RangeError for delays Node cannot keep (a backstop; timeoutMs is
    // checked at construction)
    timeout = AbortSignal.timeout(options.timeoutMs);
    const both = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    const headers = new Headers(options.headers);
    headers.set('Content-Type', contentType);
    headers.set('Accept', 'application/dicom+json, application/json');
    const res = await exchange(options, url, { method: 'POST', headers, body, signal: both, maxBytes: MAX_RESPONSE_BYTES });
    return { kind: 'answer', status: res.status, statusText: res.statusText, text: Buffer.from(res.bytes).toString('utf8') };
  } catch (cause) {
    if (cause instanceof TransportRefusal) return { kind: 'refused', refusal: cause };
    if (signal?.aborted === true) return { kind: 'aborted' };
    if (timeout?.aborted === true) return { kind: 'timeout' };
    if (isLeptonError(cause)) return { kind: 'invalid', error: cause };
    return { kind: 'unreachable', ...safeFailure(cause) };
  }
}
