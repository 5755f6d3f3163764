import { api } from 'dicomweb-client';
import { describeValue, isLeptonError, type LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { readDicom } from '../dicom/read.js';
import type { DicomJsonDataset } from './dicom-json.js';
import { dicomWebError, statusAdvice } from './errors.js';
import { FetchXhr } from './fetch-xhr.js';
import type { TransportRefusal } from './transport.js';
import { resolveDicomWebOptions, type DicomWebClientOptions, type ResolvedDicomWebOptions } from './options.js';
import { toInstance, toSeries, toStudy, type InstanceSummary, type SeriesSummary, type StudySummary } from './results.js';
import { mapPool, toQueryParams, type QidoQuery } from './query.js';
import { parseStoreResponse, postStow, type DicomWebStoreOptions, type DicomWebStoreResult, type FailedInstance, type StoredInstance } from './store.js';
import { batches, multipart, outgoing, type OutgoingInstance } from './stow-body.js';
import type { DicomWebFailure, DicomWebRequestOptions, DicomWebRetrieval, DicomWebRetrieveOptions, InstanceRef, SeriesRef, StudyRef } from './types.js';

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

/** Rejects anything but a UID, so that no caller-supplied string can reshape the request path. */
/**
 * An object argument from a JavaScript caller (a scope, a reference, request options): `null` or a number there would
 * be a TypeError on the first property read. Named by the option, never by a UID.
 */
function object<T>(value: T, name: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `${name} must be an object, got ${describeValue(value)}.`, { option: name });
  }
  const signal: unknown = name === 'options' ? (value as { signal?: unknown }).signal : undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `options.signal must be an AbortSignal, got ${describeValue(signal)}.`, { option: 'signal' });
  }
  return value;
}

/**
 * Options of the calls that retrieve many instances: {@link object}'s checks, and an `onFailure` that is a function
 * (anything else was a `TypeError` at the first failed instance, after the search and the transfers had started).
 */
function retrieveOptions(options: DicomWebRetrieveOptions): DicomWebRetrieveOptions {
  object(options, 'options');
  const onFailure: unknown = options.onFailure;
  if (onFailure !== undefined && typeof onFailure !== 'function') {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `options.onFailure must be a function, got ${describeValue(onFailure)}.`, { option: 'onFailure' });
  }
  return options;
}

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
   * @returns the matching studies (empty when none match)
   * @throws {@link @lepton/core!LeptonError} `DICOMWEB_HTTP_ERROR`, `DICOMWEB_UNREACHABLE`, `DICOMWEB_TIMEOUT`,
   *   `DICOMWEB_ABORTED`, `DICOMWEB_BAD_RESPONSE`; `DICOMWEB_INVALID_OPTIONS` (before any request) for a query, scope,
   *   reference or options that are not objects, or a `signal` that is not an AbortSignal
   */
  async searchStudies(query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<StudySummary[]> {
    object(options, 'options');
    const queryParams = toQueryParams(query);
    const found = await this.#call('studies', options, (request) => this.#lib.searchForStudies({ queryParams, request }));
    return asDatasets(found, 'studies').map(toStudy);
  }

  /**
   * QIDO-RS: searches for series, in one study or across all.
   *
   * @param scope - `{ studyInstanceUid }` to search one study (a {@link StudySummary} will do), or `{}` for all
   * @param query - matching keys and QIDO options, e.g. `{ Modality: 'CT', SeriesNumber: 3 }`
   * @param options - an abort signal
   * @returns the matching series
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchStudies}, and `DICOMWEB_INVALID_OPTIONS`
   *   for a malformed UID
   */
  async searchSeries(scope: Partial<StudyRef> = {}, query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<SeriesSummary[]> {
    object(scope, 'scope');
    object(options, 'options');
    const study = scope.studyInstanceUid === undefined ? undefined : uid(scope.studyInstanceUid, 'studyInstanceUid');
    const queryParams = toQueryParams(query);
    const found = await this.#call('series', options, (request) =>
      this.#lib.searchForSeries(study === undefined ? { queryParams, request } : { studyInstanceUID: study, queryParams, request }),
    );
    return asDatasets(found, 'series').map((ds) => toSeries(ds, study));
  }

  /**
   * QIDO-RS: searches for instances, in one series, one study, or across all.
   *
   * @param scope - `{ studyInstanceUid, seriesInstanceUid }` (a {@link SeriesSummary} will do), `{ studyInstanceUid }`,
   *   or `{}`
   * @param query - matching keys and QIDO options, e.g. `{ InstanceNumber: 1, includefield: ['00200032'] }`
   * @param options - an abort signal
   * @returns the matching instances
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.searchSeries}
   */
  async searchInstances(scope: Partial<SeriesRef> = {}, query: QidoQuery = {}, options: DicomWebRequestOptions = {}): Promise<InstanceSummary[]> {
    object(scope, 'scope');
    object(options, 'options');
    const study = scope.studyInstanceUid === undefined ? undefined : uid(scope.studyInstanceUid, 'studyInstanceUid');
    const series = scope.seriesInstanceUid === undefined ? undefined : uid(scope.seriesInstanceUid, 'seriesInstanceUid');
    const queryParams = toQueryParams(query);
    // /series/{uid}/instances only exists under a study; without one, the series UID becomes a matching key.
    if (study === undefined && series !== undefined) queryParams['SeriesInstanceUID'] = series;
    const found = await this.#call('instances', options, (request) =>
      this.#lib.searchForInstances({
        ...(study === undefined ? {} : { studyInstanceUID: study }),
        ...(study === undefined || series === undefined ? {} : { seriesInstanceUID: series }),
        queryParams,
        request,
      }),
    );
    return asDatasets(found, 'instances').map((ds) => toInstance(ds, study, series));
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
    object(options, 'options');
    const study = uid(ref.studyInstanceUid, 'studyInstanceUid');
    const series = ref.seriesInstanceUid === undefined ? undefined : uid(ref.seriesInstanceUid, 'seriesInstanceUid');
    const sop = ref.sopInstanceUid === undefined ? undefined : uid(ref.sopInstanceUid, 'sopInstanceUid');
    if (sop !== undefined && series === undefined) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'An instance\'s metadata needs its seriesInstanceUid too.', { option: 'seriesInstanceUid' });
    }
    const found = await this.#call('metadata', options, (request) =>
      series === undefined
        ? this.#lib.retrieveStudyMetadata({ studyInstanceUID: study, request })
        : sop === undefined
          ? this.#lib.retrieveSeriesMetadata({ studyInstanceUID: study, seriesInstanceUID: series, request })
          : this.#lib.retrieveInstanceMetadata({ studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop, request }),
    );
    return asDatasets(found, 'metadata');
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
    object(options, 'options');
    const ids = { studyInstanceUID: uid(ref.studyInstanceUid, 'studyInstanceUid'), seriesInstanceUID: uid(ref.seriesInstanceUid, 'seriesInstanceUid'), sopInstanceUID: uid(ref.sopInstanceUid, 'sopInstanceUid') };
    // dicomweb-client 0.11.3 rejects every `mediaTypes` list on retrieveInstance (its _getCommonMediaType returns
    // 'application/', never equal to 'application/dicom': dcmjs-org/dicomweb-client PR #56, unmerged), and without one
    // it asks for the server's default, which PS3.18 makes Explicit VR Little Endian: a transcode that costs server CPU
    // and fails where the server lacks the codec. So the call goes without `mediaTypes` and the adapter sends the Accept header for the
    // configured transfer syntax. Remove the override only once the upstream fix ships and the Orthanc test passes.
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=${this.#options.transferSyntax}`;
    const dicomBody = /^\s*(multipart\/related\b[^]*application\/dicom(?![+\w])|application\/dicom\s*(;|$))/i;
    const part = await this.#call('instance', options, (request) => this.#lib.retrieveInstance({ ...ids, request }), accept, dicomBody);
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
   * @returns the parsed instance; its `source` is its WADO-RS URL
   * @throws {@link @lepton/core!LeptonError} as {@link DicomWebClient.retrieveInstanceBytes}, or the reader's
   *   `DICOM_*` codes when the bytes are not valid DICOM
   */
  async retrieveInstance(ref: InstanceRef, options: DicomWebRequestOptions = {}): Promise<DicomImage> {
    const bytes = await this.retrieveInstanceBytes(ref, options);
    return readDicom(bytes, { source: `${this.#options.url}/studies/${ref.studyInstanceUid}/series/${ref.seriesInstanceUid}/instances/${ref.sopInstanceUid}` });
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
   *   AbortSignal or an `onFailure` that is not a function (nothing else: failures are reported)
   */
  async retrieveInstances(refs: readonly InstanceRef[], options: DicomWebRetrieveOptions = {}): Promise<DicomWebRetrieval> {
    retrieveOptions(options);
    if (!Array.isArray(refs)) throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `refs must be an array of instance references, got ${describeValue(refs)}.`, { option: 'refs' });
    const request = options.signal === undefined ? {} : { signal: options.signal };
    const outcomes = await mapPool(refs, this.#options.concurrency, async (ref): Promise<DicomImage | DicomWebFailure> => {
      if (options.signal?.aborted === true) throw aborted();
      try {
        return await this.retrieveInstance(ref, request);
      } catch (err) {
        if (isLeptonError(err, 'DICOMWEB_ABORTED')) throw err;
        const error = isLeptonError(err) ? err : dicomWebError('DICOMWEB_BAD_RESPONSE', 'The instance could not be retrieved.', { level: 'instance' }, err);
        // a JavaScript caller's null in the list is one failure like any other, not a TypeError here
        const r = (typeof ref === 'object' && ref !== null ? ref : {}) as Partial<InstanceRef>;
        const failure = { instance: { studyInstanceUid: r.studyInstanceUid, seriesInstanceUid: r.seriesInstanceUid, sopInstanceUid: r.sopInstanceUid }, error } as DicomWebFailure;
        options.onFailure?.(failure);
        return failure;
      }
    });
    const images: DicomImage[] = [];
    const failures: DicomWebFailure[] = [];
    for (const o of outcomes) {
      if ('error' in o && 'instance' in o) failures.push(o);
      else images.push(o);
    }
    return { images, failures };
  }

  /**
   * Every instance of a series: a QIDO-RS instance search, then {@link DicomWebClient.retrieveInstances}.
   *
   * @param ref - the series (a {@link SeriesSummary} will do)
   * @param options - an abort signal and a failure callback
   * @returns images and failures
   * @throws {@link @lepton/core!LeptonError} when the search itself fails (as {@link DicomWebClient.searchInstances});
   *   instance failures are reported, not thrown
   */
  async retrieveSeries(ref: SeriesRef, options: DicomWebRetrieveOptions = {}): Promise<DicomWebRetrieval> {
    object(ref, 'ref');
    retrieveOptions(options);
    const request = options.signal === undefined ? {} : { signal: options.signal };
    const instances = await this.searchInstances({ studyInstanceUid: ref.studyInstanceUid, seriesInstanceUid: ref.seriesInstanceUid }, {}, request);
    return this.retrieveInstances(instances, options);
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
    retrieveOptions(options);
    const request = options.signal === undefined ? {} : { signal: options.signal };
    const instances = await this.searchInstances({ studyInstanceUid: ref.studyInstanceUid }, {}, request);
    return this.retrieveInstances(instances, options);
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
   *   `DICOMWEB_INVALID_OPTIONS` for an instance that is not Part 10 DICOM or too large (`details.index`), or a
   *   malformed study UID; `DICOMWEB_TIMEOUT`, `DICOMWEB_UNREACHABLE`, `DICOMWEB_ABORTED` when a request got no answer
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
    object(options, 'options'); // null was a TypeError, a string as signal reached fetch
    const path = options.studyInstanceUid === undefined ? '/studies' : `/studies/${uid(options.studyInstanceUid, 'studyInstanceUid')}`;
    const groups = batches(instances.map(outgoing), this.#options.maxStoreRequestBytes);
    const host = new URL(this.#options.url).host;
    const stored: StoredInstance[] = [];
    const ids = (list: readonly OutgoingInstance[]): StoredInstance[] => list.map((i) => ({ sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid }));
    for (let g = 0; g < groups.length; g++) {
      if (options.signal?.aborted === true) throw aborted();
      const batch = groups[g]!;
      const notSent = ids(groups.slice(g + 1).flat());
      const { body, contentType } = multipart(batch);
      const outcome = await postStow(this.#options, `${this.#options.url}${path}`, body, contentType, options.signal);
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
    const type = xhr.getResponseHeader('content-type') ?? '';
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
    if (f?.kind === 'unreachable') {
      return dicomWebError('DICOMWEB_UNREACHABLE', `Could not reach the DICOMweb server at ${host} (${f.reason}); check the URL and that the server is running.`, { host, level, reason: f.reason }, f.cause);
    }
    if (!xhr.sent) {
      // dicomweb-client validates before sending (e.g. a transfer syntax it has no media type for).
      return dicomWebError('DICOMWEB_INVALID_OPTIONS', `The request could not be built: ${err instanceof Error ? err.message : String(err)}.`, { level }, err);
    }
    if (xhr.status !== 0 && (xhr.status < 200 || xhr.status >= 300)) {
      return dicomWebError('DICOMWEB_HTTP_ERROR', `The DICOMweb server at ${host} answered ${xhr.status} ${xhr.statusText} (${level} request): ${statusAdvice(xhr.status)}.`, { host, level, method: 'GET', status: xhr.status }, err);
    }
    return dicomWebError('DICOMWEB_BAD_RESPONSE', `The DICOMweb server at ${host} sent an answer that could not be decoded (${level}); check that the URL is its DICOMweb root.`, { host, level, status: xhr.status }, err);
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

function asDatasets(found: unknown, level: string): DicomJsonDataset[] {
  if (!Array.isArray(found) || found.some((d) => typeof d !== 'object' || d === null)) {
    throw dicomWebError('DICOMWEB_BAD_RESPONSE', `The ${level} answer is not a DICOM JSON array; check that the URL is the server's DICOMweb root.`, { level });
  }
  return found as DicomJsonDataset[];
}
