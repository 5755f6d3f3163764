import { api } from 'dicomweb-client';
import { describeValue, isLeptonError, type LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { readDicom } from '../dicom/read.js';
import type { DicomJsonDataset } from './dicom-json.js';
import { dicomWebError, statusAdvice } from './errors.js';
import { FetchXhr } from './fetch-xhr.js';
import type { TransportRefusal } from './transport.js';
import { readOption, resolveDicomWebOptions, type DicomWebClientOptions, type ResolvedDicomWebOptions } from './options.js';
import { mapRows, toInstance, toSeries, toStudy, type InstanceSummary, type RejectedRow, type SeriesSummary, type StudySummary } from './results.js';
import { mapPool, toQueryParams, type QidoQuery } from './query.js';
import { parseStoreResponse, postStow, type DicomWebStoreOptions, type DicomWebStoreResult, type FailedInstance, type StoredInstance } from './store.js';
import { batches, multipart, outgoing, type OutgoingInstance } from './stow-body.js';
import type { DicomWebFailure, DicomWebRequestOptions, DicomWebRetrieval, DicomWebRetrieveOptions, InstanceRef, SearchRejections, SeriesRef, StudyRef } from './types.js';

/** The subset of dicomweb-client's DICOMwebClient used here, with the request seam typed. */
interface LibRequest {
  readonly instance: XMLHttpRequest;
}
interface LibClient {
  searchForStudies(o: { queryParams?: Record<string, string>; request: LibRequest }): Promise<unknown>;
  searchForSeries(o: { studyInstanceUID?: string; queryParams?: Record<string, string>; request: LibRequest }): Promise<unknown>;
  searchForInstances(o: { studyInstanceUID?: string; seriesInstanceUID?: string; queryParams?: Record<string, string>; request: LibRequest }): Promise<unknown>;
  retrieveStudyMetadata(o: { studyInstanceUID: string; request: LibRequest }): Promise<unknown>;
  retrieveSeriesMetadata(o: { studyInstanceUID: string; seriesInstanceUID: string; request: LibRequest }): Promise<unknown>;
  retrieveInstanceMetadata(o: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string; request: LibRequest }): Promise<unknown>;
  retrieveInstance(o: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    sopInstanceUID: string;
    request: LibRequest;
  }): Promise<unknown>;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

/**
 * An object argument from a JavaScript caller (a scope, a reference, request options): `null` or a number there would
 * be a TypeError on the first property read. Named by the option, never by a UID.
 */
function object<T>(value: T, name: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `${name} must be an object, got ${describeValue(value)}.`, { option: name });
  }
  return value;
}

/**
 * Per-call options, each read once (a getter that throws is `DICOMWEB_INVALID_OPTIONS`) into a plain copy: a `signal`
 * that is an AbortSignal, or none.
 */
function requestOptions(options: DicomWebRequestOptions): { signal?: AbortSignal } {
  object(options, 'options');
  const signal = readOption(options, 'signal', 'signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `options.signal must be an AbortSignal, got ${describeValue(signal)}.`, { option: 'signal' });
  }
  return signal === undefined ? {} : { signal };
}

/**
 * Options of the calls that retrieve many instances: {@link requestOptions}' checks, and an `onFailure` that is a
 * function (anything else was a `TypeError` at the first failed instance, after the search and the transfers had started).
 */
function retrieveOptions(options: DicomWebRetrieveOptions): { signal?: AbortSignal; onFailure?: (failure: DicomWebFailure) => unknown } {
  const request = requestOptions(options);
  const onFailure = readOption(options, 'onFailure', 'onFailure');
  if (onFailure !== undefined && typeof onFailure !== 'function') {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `options.onFailure must be a function, got ${describeValue(onFailure)}.`, { option: 'onFailure' });
  }
  return onFailure === undefined ? request : { ...request, onFailure: onFailure as (failure: DicomWebFailure) => unknown };
}

/**
 * Calls the caller's `onFailure`. The failure is already recorded in `failures`: an error the callback throws, and a
 * promise it returns that rejects, are ignored (as `readDicomFolder` does), so a logging hook that fails cannot stop the
 * rest of the retrieval nor become an unhandled rejection.
 */
function notify(onFailure: ((failure: DicomWebFailure) => unknown) | undefined, failure: DicomWebFailure): void {
  if (onFailure === undefined) return;
  try {
    const r: unknown = onFailure(failure);
    if (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function') {
      (r as PromiseLike<unknown>).then(undefined, () => undefined);
    }
  } catch {
    // deliberately ignored: see above
  }
}

/** A scope's or reference's UID, read once: absent stays undefined; anything else must be a UID. */
function optionalUid(from: object, key: 'studyInstanceUid' | 'seriesInstanceUid' | 'sopInstanceUid'): string | undefined {
  const v = readOption(from, key);
  return v === undefined ? undefined : uid(v as string, key);
}

/** The source label of instances read from WADO-RS: never the URL, whose path holds the study's UIDs. */
const INSTANCE_SOURCE = 'dicomweb:instance';

/** Rejects anything but a UID, so that no caller-supplied string can reshape the request path. */
function uid(value: string | undefined, name: string): string {
  // a string first: testing a Symbol against the pattern throws, and an object's toString would run
  if (typeof value !== 'string' || value.length > 64 || !UID.test(value)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `${name} must be a DICOM UID (digits and dots, at most 64 characters).`, { option: name });
  }
  return value;
}

/**
 * A DICOMweb client for a PACS or VNA: QIDO-RS search for studies, series and instances, and WADO-RS retrieval of
 * instances (as {@link DicomImage}s, through the same reader as files) and metadata. Built on the `dicomweb-client`
 * package (request building, Accept negotiation, multipart/related decoding), whose XMLHttpRequest calls go through a
 * fetch-based adapter here, so it runs in Node with timeouts, abort signals and typed errors.
 *
 * @example
 * ```ts
 * import { DicomWebClient, applyModalityLut } from '@lepton/medical';
 * const pacs = new DicomWebClient({ url: 'http://127.0.0.1:8042/dicom-web', auth: { type: 'basic', username: 'lepton', password: 'secret' } });
 * const [study] = await pacs.searchStudies({ PatientID: 'LEPTON-0001', StudyDate: '20240101-20241231', limit: 10 });
 * if (study !== undefined) {
 *   const [series] = await pacs.searchSeries(study, { Modality: 'CT' });
 *   const { images, failures } = await pacs.retrieveSeries(series!);
 *   for (const f of failures) console.log('not retrieved:', f.error.code, f.error.details['status']);
 *   const hu = applyModalityLut(await images[0]!.decodeFrame(0), images[0]!.meta);
 *   console.log(images.length, 'instances;', hu.length, 'voxels in the first');
 * }
 * ```
 */
export class DicomWebClient {
  readonly #options: ResolvedDicomWebOptions;
  readonly #lib: LibClient;

  /**
   * @param options - the DICOMweb root URL, authentication, headers, timeout, concurrency, transfer syntax
   * @throws {@link @lepton/core!LeptonError} `DICOMWEB_INVALID_OPTIONS` for a missing or malformed URL or option, an
   *   `auth` that is not a valid credential (a bearer token that is empty or not visible ASCII without spaces; a Basic
   *   username or password that is not a string, holds a control character, or a username with a colon) or a
   *   `headers` entry that is not a valid HTTP header — the message never quotes the credential or header value. A
   *   token function's result is checked before each request, failing that request the same way.
   */
  constructor(options: DicomWebClientOptions) {
    this.#options = resolveDicomWebOptions(options);
    // verbose false: dicomweb-client would otherwise console.error every failed request with its URL (patient UIDs).
    this.#lib = new api.DICOMwebClient({ url: this.#options.url, verbose: false, singlepart: false }) as unknown as LibClient;
  }

  /** The DICOMweb root this client talks to (without credentials). */
  get url(): string {
    return this.#options.url;
  }

  /**
   * QIDO-RS: searches for studies.
   *
   * @param query - matching keys and QIDO options, e.g. `{ PatientID: 'X', StudyDate: '20240101-20240630', limit: 20 }`
   * @param options - an abort signal
   * @returns the matching studies (empty when none match). A result the server sent without a valid Study Instance
   *   UID (absent, or not a UID of at most 64 digits and dots) is left out and counted in the array's `rejected`
   *   property (not enumerable: it does not show in `JSON.stringify` or `toEqual`), so one bad row never hides the rest
   * @throws {@link @lepton/core!LeptonError} `DICOMWEB_HTTP_ERROR`, `DICOMWEB_UNREACHABLE`, `DICOMWEB_TIMEOUT`,
   *   `DICOMWEB_ABORTED`, `DICOMWEB_BAD_RESPONSE` (an answer that is not a JSON array); `DICOMWEB_INVALID_OPTIONS`
   *   (before any request) for a query, scope, reference or options that are not objects or cannot be read, or a
   *   `signal` that is not an AbortSignal
   */
  async searchStudies(query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<StudySummary[] & SearchRejections> {
    const request = requestOptions(options);
    const queryParams = toQueryParams(query);
    const found = await this.#call('studies', request, (req) => this.#lib.searchForStudies({ queryParams, request: req }));
    return counted(mapRows(asDatasets(found, 'studies'), toStudy));
  }

  /**
   * QIDO-RS: searches for series, in one study or across all.
   *
   * @param scope - `{ studyInstanceUid }` to search one study (a {@link StudySummary} will do), or `{}` for all
   * @param query - matching keys and QIDO options, e.g. `{ Modality: 'CT', SeriesNumber: 3 }`
   * @param options - an abort signal
   * @returns the matching series; results without valid Study/Series Instance UIDs are left out and counted in
   *   `rejected`, as for {@link DicomWebClient.searchStudies}
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchStudies}, and `DICOMWEB_INVALID_OPTIONS`
   *   for a malformed UID
   */
  async searchSeries(scope: Partial<StudyRef> = {}, query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<SeriesSummary[] & SearchRejections> {
    object(scope, 'scope');
    const study = optionalUid(scope, 'studyInstanceUid');
    const request = requestOptions(options);
    const queryParams = toQueryParams(query);
    const found = await this.#call('series', request, (req) =>
      this.#lib.searchForSeries(study === undefined ? { queryParams, request: req } : { studyInstanceUID: study, queryParams, request: req }),
    );
    return counted(mapRows(asDatasets(found, 'series'), (ds) => toSeries(ds, study)));
  }

  /**
   * QIDO-RS: searches for instances, in one series, one study, or across all.
   *
   * @param scope - `{ studyInstanceUid, seriesInstanceUid }` (a {@link SeriesSummary} will do), `{ studyInstanceUid }`,
   *   or `{}`
   * @param query - matching keys and QIDO options, e.g. `{ InstanceNumber: 1, includefield: ['00200032'] }`
   * @param options - an abort signal
   * @returns the matching instances; results without valid Study/Series/SOP Instance UIDs are left out and counted in
   *   `rejected`, as for {@link DicomWebClient.searchStudies}
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchSeries}
   */
  async searchInstances(scope: Partial<SeriesRef> = {}, query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<InstanceSummary[] & SearchRejections> {
    return counted(await this.#searchInstances(scope, query, options));
  }

  /** {@link DicomWebClient.searchInstances}, with each rejected row's index and reason. */
  async #searchInstances(scope: Partial<SeriesRef>, query: QidoQuery, options: DicomWebRequestOptions): Promise<{ rows: InstanceSummary[]; rejected: RejectedRow[] }> {
    object(scope, 'scope');
    const study = optionalUid(scope, 'studyInstanceUid');
    const series = optionalUid(scope, 'seriesInstanceUid');
    const request = requestOptions(options);
    const queryParams = toQueryParams(query);
    // /series/{uid}/instances only exists under a study; without one, the series UID becomes a matching key.
    if (study === undefined && series !== undefined) queryParams['SeriesInstanceUID'] = series;
    const found = await this.#call('instances', request, (req) =>
      this.#lib.searchForInstances({
        ...(study === undefined ? {} : { studyInstanceUID: study }),
        ...(study === undefined || series === undefined ? {} : { seriesInstanceUID: series }),
        queryParams,
        request: req,
      }),
    );
    return mapRows(asDatasets(found, 'instances'), (ds) => toInstance(ds, study, series));
  }

  /**
   * WADO-RS: the metadata (DICOM JSON, bulk data such as pixels left out as `BulkDataURI`s) of every instance in a
   * study or series, or of one instance.
   *
   * @param ref - `{ studyInstanceUid }`, plus `seriesInstanceUid`, plus `sopInstanceUid` to narrow it
   * @param options - an abort signal
   * @returns one data set per instance
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchSeries}
   */
  async retrieveMetadata(ref: StudyRef & Partial<InstanceRef>, options: DicomWebRequestOptions = {}): Promise<DicomJsonDataset[]> {
    object(ref, 'ref');
    const study = uid(readOption(ref, 'studyInstanceUid') as string, 'studyInstanceUid');
    const series = optionalUid(ref, 'seriesInstanceUid');
    const sop = optionalUid(ref, 'sopInstanceUid');
    if (sop !== undefined && series === undefined) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'An instance\'s metadata needs its seriesInstanceUid too.', { option: 'seriesInstanceUid' });
    }
    const found = await this.#call('metadata', requestOptions(options), (request) =>
      series === undefined
        ? this.#lib.retrieveStudyMetadata({ studyInstanceUID: study, request })
        : sop === undefined
          ? this.#lib.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series, request })
          : this.#lib.retrieveInstanceMetadata({ studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop, request }),
    );
    return asDatasets(found, 'metadata') as DicomJsonDataset[];
  }

  /**
   * WADO-RS: one instance as DICOM Part 10 bytes, in the client's `transferSyntax` (as stored, by default).
   *
   * @param ref - the instance (an {@link InstanceSummary} will do)
   * @param options - an abort signal
   * @returns the file's bytes
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchSeries}; `DICOMWEB_HTTP_ERROR` with
   *   `details.status` 404 when the server does not hold it
   */
  async retrieveInstanceBytes(ref: InstanceRef, options: DicomWebRequestOptions = {}): Promise<Uint8Array> {
    object(ref, 'ref');
    const ids = {
      studyInstanceUID: uid(readOption(ref, 'studyInstanceUid') as string, 'studyInstanceUid'),
      seriesInstanceUID: uid(readOption(ref, 'seriesInstanceUid') as string, 'seriesInstanceUid'),
      sopInstanceUID: uid(readOption(ref, 'sopInstanceUid') as string, 'sopInstanceUid'),
    };
    const request = requestOptions(options);
    // dicomweb-client 0.11.3 rejects every `mediaTypes` list on retrieveInstance (its _getCommonMediaType returns
    // 'application/', never equal to 'application/dicom': dcmjs-org/dicomweb-client PR #56, unmerged), and without one
    // it asks for the server's default, which PS3.18 makes Explicit VR Little Endian: a transcode that costs server CPU
    // and fails where the server lacks the codec. So the call goes without `mediaTypes` and the adapter sends the Accept header for the
    // configured transfer syntax. Remove the override only once the upstream fix ships and the Orthanc test passes.
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=${this.#options.transferSyntax}`;
    const dicomBody = /^\s*(multipart\/related\b[^]*application\/dicom(?![+\w])|application\/dicom\s*(;|$))/i;
    const part = await this.#call('instance', request, (req) => this.#lib.retrieveInstance({ ...ids, request: req }), accept, dicomBody);
    if (!(part instanceof ArrayBuffer) && !ArrayBuffer.isView(part)) {
      throw dicomWebError('DICOMWEB_BAD_RESPONSE', 'The WADO-RS answer held no DICOM part; check that the URL is the server\'s DICOMweb root.', { level: 'instance' });
    }
    const bytes = part instanceof ArrayBuffer ? new Uint8Array(part) : new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    // A Part 10 file: 128-byte preamble, then 'DICM' (PS3.10 7.1). Anything else is not an instance, whatever its label.
    if (bytes.byteLength < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
      throw dicomWebError('DICOMWEB_BAD_RESPONSE', 'The WADO-RS part is not a DICOM Part 10 file (no DICM marker after the preamble); check that the URL is the server\'s DICOMweb root.', { level: 'instance' });
    }
    return bytes;
  }

  /**
   * WADO-RS: one instance, parsed by {@link readDicom} (frames decode on demand, as for files).
   *
   * @param ref - the instance (an {@link InstanceSummary} will do)
   * @param options - an abort signal
   * @returns the parsed instance; its `source` is `'dicomweb:instance'` (never the WADO-RS URL, whose path holds the
   *   study's UIDs: `source` goes into the `details` of the reader's and the frame decoder's errors)
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.retrieveInstanceBytes}, or the reader's
   *   `DICOM_*` codes when the bytes are not valid DICOM (`details.source` `'dicomweb:instance'`)
   */
  async retrieveInstance(ref: InstanceRef, options: DicomWebRequestOptions = {}): Promise<DicomImage> {
    const bytes = await this.retrieveInstanceBytes(ref, options);
    return readDicom(bytes, { source: INSTANCE_SOURCE });
  }

  /**
   * WADO-RS: many instances, `concurrency` at a time, one request each, so that one that fails (deleted since the
   * search, a server error, a timeout, bytes that are not DICOM) is reported in `failures` and the rest still arrive.
   *
   * @param refs - the instances (e.g. {@link DicomWebClient.searchInstances}' result)
   * @param options - an abort signal and a failure callback
   * @returns images and failures, each in the order of `refs`
   * @throws {@link @lepton/core!LeptonError} `DICOMWEB_ABORTED` when the signal fires; `DICOMWEB_INVALID_OPTIONS` (before
   *   any request) for `refs` that is not an array, options that are not an object, a `signal` that is not an
   *   AbortSignal or an `onFailure` that is not a function (nothing else: failures are reported). A reference that
   *   cannot be read (`null`, a getter that throws) is one failure (`DICOMWEB_INVALID_OPTIONS`, `details.index`); an
   *   `onFailure` that throws or returns a rejected promise is ignored (the failure is in `failures` already).
   */
  async retrieveInstances(refs: readonly InstanceRef[], options: DicomWebRetrieveOptions = {}): Promise<DicomWebRetrieval> {
    const opts = retrieveOptions(options);
    return this.#retrieveInstances(refs, opts, []);
  }

  async #retrieveInstances(refs: readonly InstanceRef[], opts: { signal?: AbortSignal; onFailure?: (failure: DicomWebFailure) => unknown }, earlier: readonly DicomWebFailure[]): Promise<DicomWebRetrieval> {
    if (!Array.isArray(refs)) throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `refs must be an array of instance references, got ${describeValue(refs)}.`, { option: 'refs' });
    const request = opts.signal === undefined ? {} : { signal: opts.signal };
    const indices = Array.from({ length: refs.length }, (_, i) => i);
    const outcomes = await mapPool(indices, this.#options.concurrency, async (index): Promise<DicomImage | DicomWebFailure> => {
      if (opts.signal?.aborted === true) throw aborted();
      // Each reference's UIDs read once, inside the try, into a plain copy: a getter that throws (or a null, a hole in
      // a sparse array) is this instance's failure, and the failure is built from the copy, never from the reference.
      const ids: Partial<Record<'studyInstanceUid' | 'seriesInstanceUid' | 'sopInstanceUid', unknown>> = {};
      try {
        let ref: unknown;
        try {
          ref = refs[index];
        } catch {
          throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `refs[${index}] could not be read (its getter threw).`, { option: 'refs', index });
        }
        if (typeof ref !== 'object' || ref === null) {
          throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `refs[${index}] must be an instance reference (an object), got ${describeValue(ref)}.`, { option: 'refs', index });
        }
        for (const key of ['studyInstanceUid', 'seriesInstanceUid', 'sopInstanceUid'] as const) {
          try {
            ids[key] = (ref as Record<string, unknown>)[key];
          } catch {
            throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `refs[${index}].${key} could not be read (its getter threw).`, { option: 'refs', index });
          }
        }
        return await this.retrieveInstance(ids as unknown as InstanceRef, request);
      } catch (err) {
        if (isLeptonError(err, 'DICOMWEB_ABORTED')) throw err;
        // never a foreign error as cause: it may carry the server's answer (patient data)
        const error = isLeptonError(err) ? err : dicomWebError('DICOMWEB_BAD_RESPONSE', 'The instance could not be retrieved.', { level: 'instance', index });
        const failure = { instance: { studyInstanceUid: ids.studyInstanceUid, seriesInstanceUid: ids.seriesInstanceUid, sopInstanceUid: ids.sopInstanceUid }, error } as DicomWebFailure;
        notify(opts.onFailure, failure);
        return failure;
      }
    });
    const images: DicomImage[] = [];
    const failures: DicomWebFailure[] = [...earlier];
    for (const o of outcomes) {
      if ('error' in o && 'instance' in o) failures.push(o);
      else images.push(o);
    }
    return { images, failures };
  }

  /**
   * The instances of a series or study by QIDO-RS, then retrieved; each QIDO row rejected (no or malformed UIDs) is a
   * failure first, `DICOMWEB_BAD_RESPONSE` with `details.index` (its position in the answer).
   */
  async #retrieveAll(scope: Partial<SeriesRef>, options: DicomWebRetrieveOptions): Promise<DicomWebRetrieval> {
    const opts = retrieveOptions(options);
    const { rows, rejected } = await this.#searchInstances(scope, {}, opts.signal === undefined ? {} : { signal: opts.signal });
    const earlier = rejected.map((r): DicomWebFailure => {
      const failure = {
        instance: { studyInstanceUid: scope.studyInstanceUid, seriesInstanceUid: scope.seriesInstanceUid, sopInstanceUid: undefined },
        error: dicomWebError('DICOMWEB_BAD_RESPONSE', `QIDO-RS result ${r.index} has no valid ${r.attribute}; that instance was skipped.`, { level: 'instances', index: r.index, attribute: r.tag }),
      } as unknown as DicomWebFailure;
      notify(opts.onFailure, failure);
      return failure;
    });
    return this.#retrieveInstances(rows, opts, earlier);
  }

  /**
   * Every instance of a series: a QIDO-RS instance search, then {@link DicomWebClient.retrieveInstances}.
   *
   * @param ref - the series (a {@link SeriesSummary} will do)
   * @param options - an abort signal and a failure callback
   * @returns images and failures; a QIDO-RS result without valid UIDs is a failure (`DICOMWEB_BAD_RESPONSE`,
   *   `details.index` its position in the search answer, listed before the retrieval failures) and the rest still arrive
   * @throws {@link @lepton/core!LeptonError} when the search itself fails (as {@link DicomWebClient.searchInstances});
   *   instance failures are reported, not thrown
   */
  async retrieveSeries(ref: SeriesRef, options: DicomWebRetrieveOptions = {}): Promise<DicomWebRetrieval> {
    object(ref, 'ref');
    const studyInstanceUid = uid(readOption(ref, 'studyInstanceUid') as string, 'studyInstanceUid');
    const seriesInstanceUid = uid(readOption(ref, 'seriesInstanceUid') as string, 'seriesInstanceUid');
    return this.#retrieveAll({ studyInstanceUid, seriesInstanceUid }, options);
  }

  /**
   * Every instance of a study: a QIDO-RS instance search, then {@link DicomWebClient.retrieveInstances}.
   *
   * @param ref - the study (a {@link StudySummary} will do)
   * @param options - an abort signal and a failure callback
   * @returns images and failures
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.retrieveSeries}
   */
  async retrieveStudy(ref: StudyRef, options: DicomWebRetrieveOptions = {}): Promise<DicomWebRetrieval> {
    object(ref, 'ref');
    const studyInstanceUid = uid(readOption(ref, 'studyInstanceUid') as string, 'studyInstanceUid');
    return this.#retrieveAll({ studyInstanceUid }, options);
  }

  /**
   * STOW-RS: stores DICOM Part 10 instances (e.g. the `bytes` of {@link segmentationToDicomSeg} and
   * {@link diagnosisToDicomSr} results) as `multipart/related; type="application/dicom"` requests, each at most
   * `maxStoreRequestBytes` long, one after the other. Every instance is checked (Part 10, readable, with SOP UIDs)
   * before the first request goes out.
   *
   * @param instances - Part 10 files, as bytes or objects with `bytes`
   * @param options - a study to store into, an abort signal
   * @returns the stored instances as the server reports them (Retrieve URL, warnings), and the number of requests
   * @throws {@link @lepton/core!LeptonError} `DICOMWEB_STORE_FAILED` when the server answered but did not store every
   *   instance (`details.status`, `details.failed` with Failure Reasons, `details.stored`, `details.notSent`);
   *   `DICOMWEB_INVALID_OPTIONS` for an instance that is not Part 10 DICOM, missing (`undefined`, a hole in a sparse
   *   array) or too large (`details.index`), a malformed study UID, or options that cannot be read (`details.option`); `DICOMWEB_TIMEOUT`, `DICOMWEB_UNREACHABLE`, `DICOMWEB_ABORTED` when a request got no answer
   *   (`details.stored`: what earlier requests stored; `details.unconfirmed`: the unanswered request's instances, which
   *   the server may or may not have stored; `details.notSent`); `DICOMWEB_BAD_RESPONSE` for a success answer that is
   *   not a STOW-RS response
   * @example
   * ```ts
   * import { DicomWebClient, diagnosisToDicomSr, type DicomImage, type SeriesDiagnosis } from '@lepton/medical';
   * declare const series: DicomImage[];
   * declare const diagnosis: SeriesDiagnosis;
   * const pacs = new DicomWebClient({ url: 'http://127.0.0.1:8042/dicom-web', auth: { type: 'basic', username: 'lepton', password: 'secret' } });
   * const sr = diagnosisToDicomSr(diagnosis, series);
   * const { stored } = await pacs.store([sr]);
   * console.log(stored[0]?.retrieveUrl);
   * ```
   */
  async store(instances: ReadonlyArray<Uint8Array | { readonly bytes: Uint8Array }>, options: DicomWebStoreOptions = {}): Promise<DicomWebStoreResult> {
    if (!Array.isArray(instances) || instances.length === 0) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'store() needs a non-empty array of DICOM Part 10 instances.', { option: 'instances' });
    }
    const request = requestOptions(options); // null was a TypeError, a string as signal reached fetch
    const signal = request.signal;
    const study = optionalUid(options, 'studyInstanceUid');
    const path = study === undefined ? '/studies' : `/studies/${study}`;
    // by index, not map/forEach: those skip the holes of a sparse array, which would then be dropped unsent
    const checked: OutgoingInstance[] = [];
    for (let i = 0; i < instances.length; i++) {
      let value: unknown;
      try {
        value = instances[i];
      } catch {
        throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Instance ${i} could not be read (its getter threw).`, { option: 'instances', index: i });
      }
      checked.push(outgoing(value, i));
    }
    const groups = batches(checked, this.#options.maxStoreRequestBytes);
    const host = new URL(this.#options.url).host;
    const stored: StoredInstance[] = [];
    const ids = (list: readonly OutgoingInstance[]): StoredInstance[] => list.map((i) => ({ sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid }));
    for (let g = 0; g < groups.length; g++) {
      if (signal?.aborted === true) throw aborted();
      const batch = groups[g]!;
      const notSent = ids(groups.slice(g + 1).flat());
      const { body, contentType } = multipart(batch);
      const outcome = await postStow(this.#options, `${this.#options.url}${path}`, body, contentType, signal);
      // Without an answer nobody knows whether this batch was stored: it is `unconfirmed`, later ones `notSent`.
      const progress = { level: 'store', stored: [...stored], unconfirmed: ids(batch), notSent };
      if (outcome.kind === 'aborted') throw dicomWebError('DICOMWEB_ABORTED', 'The DICOMweb request was aborted by its signal.', progress);
      if (outcome.kind === 'timeout') {
        throw dicomWebError('DICOMWEB_TIMEOUT', `The DICOMweb server at ${host} did not answer the store request within ${this.#options.timeoutMs} ms; raise timeoutMs or lower maxStoreRequestBytes.`, { ...progress, host, timeoutMs: this.#options.timeoutMs });
      }
      if (outcome.kind === 'refused') throw refusalError(outcome.refusal, host, { ...progress, host });
      if (outcome.kind === 'invalid') throw outcome.error;
      if (outcome.kind === 'unreachable') {
        throw dicomWebError('DICOMWEB_UNREACHABLE', `Could not reach the DICOMweb server at ${host} (${outcome.reason}); check the URL and that the server is running.`, { ...progress, host, reason: outcome.reason }, outcome.cause);
      }
      const { status, statusText } = outcome;
      const response = parseStoreResponse(outcome.text);
      const ok = status >= 200 && status < 300;
      if (ok && response === undefined) {
        throw dicomWebError('DICOMWEB_BAD_RESPONSE', `The DICOMweb server at ${host} answered the store request with ${status} but no STOW-RS response; check that the URL is its DICOMweb root.`, { ...progress, host, status });
      }
      const sent = new Set(batch.map((b) => b.sopInstanceUid));
      // A server that answers 200 with an empty body stored everything; otherwise it lists what it stored.
      const reported = response?.stored.filter((s) => sent.has(s.sopInstanceUid)) ?? [];
      const batchStored = ok && response !== undefined && response.stored.length === 0 && response.failed.length === 0 ? ids(batch) : reported;
      stored.push(...batchStored);
      const storedHere = new Set(batchStored.map((s) => s.sopInstanceUid));
      const failed: FailedInstance[] = response?.failed.length ? response.failed : [];
      // Anything sent that the server neither stored nor reported as failed counts as failed (no reason known).
      for (const b of batch) if (!storedHere.has(b.sopInstanceUid) && !failed.some((f) => f.sopInstanceUid === b.sopInstanceUid)) failed.push({ sopClassUid: b.sopClassUid, sopInstanceUid: b.sopInstanceUid });
      if (!ok || failed.length > 0) {
        const reasons = [...new Set(failed.map((f) => (f.failureReason === undefined ? 'none given' : `0x${f.failureReason.toString(16).toUpperCase().padStart(4, '0')}`)))].join(', ');
        throw dicomWebError(
          'DICOMWEB_STORE_FAILED',
          `The DICOMweb server at ${host} answered ${status} ${statusText} and did not store ${failed.length} of ${batch.length} instance(s) in request ${g + 1} of ${groups.length} (failure reasons: ${reasons}): ${ok ? 'see details.failed' : statusAdvice(status)}.`,
          { level: 'store', method: 'POST', host, status, failed, stored: [...stored], notSent },
        );
      }
    }
    return { stored, requests: groups.length };
  }

  /** Runs one dicomweb-client call through a fresh fetch adapter and turns every way it can fail into a LeptonError. */
  async #call(level: string, options: DicomWebRequestOptions, run: (request: LibRequest) => Promise<unknown>, accept?: string, contentType?: RegExp): Promise<unknown> {
    if (options.signal?.aborted === true) throw aborted();
    const xhr = new FetchXhr(this.#options, options.signal, accept);
    let result: unknown;
    try {
      result = await Promise.race([run({ instance: xhr as unknown as XMLHttpRequest }), xhr.callbackFailure]);
    } catch (err) {
      throw this.#mapError(err, xhr, level);
    }
    const type = xhr.responseContentType ?? '';
    if (contentType !== undefined && !contentType.test(type)) {
      // e.g. a login page or a proxy's error page answered 200 text/html: never hand it on as DICOM
      const host = new URL(this.#options.url).host;
      throw dicomWebError('DICOMWEB_BAD_RESPONSE', `The DICOMweb server at ${host} answered the ${level} request with ${type.split(';')[0] || 'no content type'}, not DICOM; check that the URL is its DICOMweb root.`, { host, level, status: xhr.status });
    }
    return result;
  }

  #mapError(err: unknown, xhr: FetchXhr, level: string): LeptonError {
    if (isLeptonError(err)) return err;
    const host = new URL(this.#options.url).host;
    const f = xhr.failure;
    if (f?.kind === 'aborted') return aborted();
    if (f?.kind === 'refused') return refusalError(f.refusal, host, { host, level });
    if (f?.kind === 'timeout') {
      return dicomWebError('DICOMWEB_TIMEOUT', `The DICOMweb server at ${host} did not answer within ${this.#options.timeoutMs} ms; raise timeoutMs or check the server's load.`, { host, level, timeoutMs: this.#options.timeoutMs });
    }
    if (f?.kind === 'invalid') return f.error;
    if (f?.kind === 'malformed') {
      return dicomWebError('DICOMWEB_BAD_RESPONSE', `The DICOMweb server at ${host} sent ${f.reason} (${level} request); check that the URL is its DICOMweb root.`, { host, level, reason: f.reason });
    }
    if (f?.kind === 'unreachable') {
      return dicomWebError('DICOMWEB_UNREACHABLE', `Could not reach the DICOMweb server at ${host} (${f.reason}); check the URL and that the server is running.`, { host, level, reason: f.reason }, f.cause);
    }
    if (!xhr.sent) {
      // dicomweb-client validates before sending (e.g. a transfer syntax it has no media type for).
      // no cause, and no message text from the library: its errors may quote the request's UIDs
      return dicomWebError('DICOMWEB_INVALID_OPTIONS', `The ${level} request could not be built (dicomweb-client refused its options).`, { level });
    }
    // Never dicomweb-client's error as cause: it carries the request and the server's answer, which often echoes the
    // query (patient name, ID) or the UIDs, and loggers print the cause chain. The status is in details.
    if (xhr.status !== 0 && (xhr.status < 200 || xhr.status >= 300)) {
      return dicomWebError('DICOMWEB_HTTP_ERROR', `The DICOMweb server at ${host} answered ${xhr.status} (${level} request): ${statusAdvice(xhr.status)}.`, { host, level, method: 'GET', status: xhr.status });
    }
    return dicomWebError('DICOMWEB_BAD_RESPONSE', `The DICOMweb server at ${host} sent an answer that could not be decoded (${level}); check that the URL is its DICOMweb root.`, { host, level, status: xhr.status });
  }
}

/** A redirect or an answer the transport refused, as the caller's typed error (never the URL: its path holds UIDs). */
function refusalError(refusal: TransportRefusal, host: string, details: Record<string, unknown>): LeptonError {
  if (refusal.kind === 'too-large') {
    return dicomWebError('DICOMWEB_RESPONSE_TOO_LARGE', `The DICOMweb server at ${host} sent more than maxResponseBytes (${refusal.limit} bytes, after decompression); reading stopped there. Raise maxResponseBytes for very large instances.`, { ...details, limit: refusal.limit });
  }
  if (refusal.kind === 'too-many-redirects') {
    return dicomWebError('DICOMWEB_REDIRECT_REFUSED', `The DICOMweb server at ${host} redirected more than ${refusal.limit} times; check the URL.`, details);
  }
  return dicomWebError('DICOMWEB_REDIRECT_REFUSED', `The DICOMweb server at ${host} redirected to another origin; refused so that credentials never leave it. Point the client at the final URL, or set allowCrossOriginRedirects (credentials are then not forwarded).`, details);
}

function aborted(): LeptonError {
  return dicomWebError('DICOMWEB_ABORTED', 'The DICOMweb request was aborted by its signal.', {});
}

/**
 * The answer as a list of data sets. Entries that are not objects (e.g. a non-DICOMweb REST root's list of ids) make
 * the whole answer not DICOM JSON; data sets without valid UIDs are checked later, one by one ({@link mapRows}).
 */
function asDatasets(found: unknown, level: string): readonly unknown[] {
  if (!Array.isArray(found) || found.some((d) => typeof d !== 'object' || d === null || Array.isArray(d))) {
    throw dicomWebError('DICOMWEB_BAD_RESPONSE', `The ${level} answer is not a DICOM JSON array; check that the URL is the server's DICOMweb root.`, { level });
  }
  return found;
}

/** The rows, with the count of rejected ones as a non-enumerable `rejected` property. */
function counted<T>(mapped: { rows: T[]; rejected: readonly RejectedRow[] }): T[] & { readonly rejected: number } {
  return Object.defineProperty(mapped.rows, 'rejected', { value: mapped.rejected.length, enumerable: false, writable: false }) as T[] & { readonly rejected: number };
}
