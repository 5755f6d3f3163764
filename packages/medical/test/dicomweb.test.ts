// DICOMweb against a real Orthanc with its DICOMweb plugin (Debian `orthanc`, `orthanc-dicomweb`), started on loopback
// by this file: QIDO-RS search, WADO-RS retrieval checked pixel for pixel against reading the same file, metadata,
// and every failure path (404, 401, server down, timeout, abort, bad answers, an instance lost mid-series).
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DicomWebClient,
  dicomJsonNumber,
  dicomJsonString,
  isLeptonError,
  readDicom,
  readDicomFile,
  type DicomImage,
  type DicomWebFailure,
  type FetchLike,
  type LeptonError,
} from '@lepton/medical';
import { dicomPath, frameBytes, readFixture } from './support/fixtures.js';
import { freePort, Orthanc, orthancMissing, PASSWORD, USER } from './support/orthanc.js';

// Outside CI a developer without Debian's Orthanc sees these skipped (and why); in CI (.ci/run installs it) they run.
const missing = orthancMissing();
const skip = missing !== undefined && !process.env['CI'];
if (skip) console.warn(`dicomweb.test.ts skipped: ${missing}`);

const STUDY = '2.25.100099990001';
const SERIES = '2.25.100099990002';
// One series, nine distinct instances, eight transfer syntaxes (the fixtures' variants of one image share a UID).
const FILES = ['ct_s16_jpls', 'ct_u12_j2k', 'ct_s12', 'mr8_rle', 'mf16_jpeg_sv1_frag_nobot', 'rgb_jpeg_baseline', 'mf_rgb_rle', 'palette', 'u32_rle'];
const local = new Map<string, { name: string; bytes: Uint8Array; image: DicomImage }>(); // by SOP Instance UID

async function expectCode(p: Promise<unknown>, code: string): Promise<LeptonError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${String(err)}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

async function samePixels(got: DicomImage, want: DicomImage): Promise<void> {
  expect(got.meta.numberOfFrames).toBe(want.meta.numberOfFrames);
  const a = frameBytes(await got.decodeFrames());
  const b = frameBytes(await want.decodeFrames());
  expect(a.length).toBe(b.length);
  expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
}

describe.skipIf(skip)('DicomWebClient against a real Orthanc (DICOMweb plugin)', () => {
  const orthanc = new Orthanc();
  let pacs: DicomWebClient;
  let secondStudy: string;

  beforeAll(async () => {
    await orthanc.start();
    for (const name of FILES) {
      const bytes = new Uint8Array(readFileSync(dicomPath(name)));
      const image = await readDicomFile(dicomPath(name));
      local.set(image.meta.sopInstanceUid!, { name, bytes, image });
      await orthanc.upload(bytes);
    }
    // A second patient and study, made by Orthanc's own modify tool from another fixture (its pixels untouched).
    const id = await orthanc.upload(new Uint8Array(readFileSync(dicomPath('ct_s16_sigmoid'))));
    secondStudy = '2.25.200099990001';
    const modified = await orthanc.rest(
      'POST',
      `/instances/${id}/modify`,
      JSON.stringify({
        Replace: { PatientID: 'LEPTON-0002', PatientName: 'PHANTOM^SECOND', StudyInstanceUID: secondStudy, SeriesInstanceUID: '2.25.200099990002', StudyDate: '20230105', AccessionNumber: 'ACC0002' },
        Force: true,
      }),
    );
    expect(modified.ok).toBe(true);
    await orthanc.upload(new Uint8Array(await modified.arrayBuffer()));
    await orthanc.rest('DELETE', `/instances/${id}`);
    pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD }, timeoutMs: 10_000 });
  });
  afterAll(async () => orthanc.stop());

  it('QIDO-RS: finds studies by matching keys, date ranges and limits, with typed results', async () => {
    const all = await pacs.searchStudies();
    expect(all.map((s) => s.studyInstanceUid).sort()).toEqual([STUDY, secondStudy].sort());

    const [first, ...rest] = await pacs.searchStudies({ PatientID: 'LEPTON-0001' });
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      studyInstanceUid: STUDY,
      patientId: 'LEPTON-0001',
      patientName: 'PHANTOM^LEPTON',
      accessionNumber: 'ACC0001',
      studyDate: '20240611',
      numberOfInstances: FILES.length,
      numberOfSeries: 1,
    });
    expect(dicomJsonString(first!.attributes, '(0020,000D)')).toBe(STUDY);

    expect((await pacs.searchStudies({ StudyDate: '20230101-20231231' })).map((s) => s.patientId)).toEqual(['LEPTON-0002']);
    expect((await pacs.searchStudies({ PatientName: '*SECOND' })).map((s) => s.studyInstanceUid)).toEqual([secondStudy]);
    expect(await pacs.searchStudies({ PatientID: 'NO-SUCH-PATIENT' })).toEqual([]);
    expect(await pacs.searchStudies({ limit: 1 })).toHaveLength(1);
    expect(await pacs.searchStudies({ StudyInstanceUID: [STUDY, secondStudy] })).toHaveLength(2); // UID list matching
  });

  it('QIDO-RS: finds series in a study and instances in a series', async () => {
    const series = await pacs.searchSeries({ studyInstanceUid: STUDY });
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, seriesNumber: 7, numberOfInstances: FILES.length });
    expect(await pacs.searchSeries({}, { SeriesInstanceUID: '2.25.200099990002' })).toHaveLength(1);

    const instances = await pacs.searchInstances(series[0]!, { includefield: ['00280010', '00280011'] });
    expect(instances.map((i) => i.sopInstanceUid).sort()).toEqual([...local.keys()].sort());
    for (const i of instances) {
      const want = local.get(i.sopInstanceUid)!.image.meta;
      expect(i).toMatchObject({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, instanceNumber: want.instanceNumber, rows: want.rows, columns: want.columns });
      expect(i.sopClassUid).toBe(want.sopClassUid);
    }
    const third = await pacs.searchInstances({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES }, { InstanceNumber: 3 });
    expect(third.map((i) => local.get(i.sopInstanceUid)?.name)).toEqual(['ct_s12']);
    // a series UID without its study becomes a matching key
    expect(await pacs.searchInstances({ seriesInstanceUid: SERIES })).toHaveLength(FILES.length);
  });

  it('WADO-RS: every instance comes back byte-identical to the stored file and decodes pixel-identical to reading it', async () => {
    const instances = await pacs.searchInstances({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES });
    for (const ref of instances) {
      const want = local.get(ref.sopInstanceUid)!;
      const bytes = await pacs.retrieveInstanceBytes(ref);
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(want.bytes)), want.name).toBe(0);
      const image = await pacs.retrieveInstance(ref);
      expect(image.meta.transferSyntaxUid, want.name).toBe(want.image.meta.transferSyntaxUid);
      expect(image.source).toBe('dicomweb:instance'); // never the WADO-RS URL: its path holds the UIDs
      await samePixels(image, want.image);
    }
  });

  it('WADO-RS: a study retrieved whole, and one modified by the PACS keeps its pixels', async () => {
    const { images, failures } = await pacs.retrieveStudy({ studyInstanceUid: secondStudy });
    expect(failures).toEqual([]);
    expect(images).toHaveLength(1);
    expect(images[0]!.meta.patientId).toBe('LEPTON-0002');
    await samePixels(images[0]!, await readDicomFile(dicomPath('ct_s16_sigmoid')));
  });

  it('WADO-RS: the server transcodes when a transfer syntax is asked for, and the pixels stay identical', async () => {
    const explicit = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD }, transferSyntax: '1.2.840.10008.1.2.1' });
    const ref = { studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: [...local.entries()].find(([, v]) => v.name === 'ct_s16_jpls')![0] };
    const image = await explicit.retrieveInstance(ref);
    expect(image.meta.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    await samePixels(image, local.get(ref.sopInstanceUid)!.image);
  });

  it('WADO-RS: a series with an instance deleted between search and retrieval reports it and delivers the rest', async () => {
    const instances = await pacs.searchInstances({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES });
    const victim = instances[4]!;
    const victimId = await orthanc.idOf(victim.sopInstanceUid);
    const victimBytes = local.get(victim.sopInstanceUid)!.bytes;
    // The HTTP seam deletes the instance from Orthanc just before its own WADO request goes out: Orthanc answers 404.
    const racing: FetchLike = async (url, init) => {
      if (url.endsWith(`/instances/${victim.sopInstanceUid}`)) await orthanc.rest('DELETE', `/instances/${victimId}`);
      return fetch(url, init);
    };
    const client = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD }, fetch: racing, concurrency: 3 });
    const seen: DicomWebFailure[] = [];
    try {
      const { images, failures } = await client.retrieveInstances(instances, { onFailure: (f) => seen.push(f) });
      expect(failures).toHaveLength(1);
      expect(seen).toEqual(failures);
      expect(failures[0]!.instance).toEqual({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: victim.sopInstanceUid });
      expect(failures[0]!.error.code).toBe('DICOMWEB_HTTP_ERROR');
      expect(failures[0]!.error.details['status']).toBe(404);
      expect(images).toHaveLength(instances.length - 1);
      // the rest arrive in the order asked for, each pixel-identical
      expect(images.map((i) => i.meta.sopInstanceUid)).toEqual(instances.filter((i) => i !== victim).map((i) => i.sopInstanceUid));
      for (const image of images) await samePixels(image, local.get(image.meta.sopInstanceUid!)!.image);
      // retrieveSeries now sees the series without it
      const again = await pacs.retrieveSeries({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES });
      expect(again.failures).toEqual([]);
      expect(again.images).toHaveLength(instances.length - 1);
    } finally {
      await orthanc.upload(victimBytes);
    }
    expect((await pacs.retrieveSeries({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES })).images).toHaveLength(FILES.length);
  });

  it('WADO-RS metadata: DICOM JSON per instance, pixel data as bulk data', async () => {
    const series = await pacs.retrieveMetadata({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES });
    expect(series).toHaveLength(FILES.length);
    for (const ds of series) {
      const want = local.get(dicomJsonString(ds, '00080018')!)!.image.meta;
      expect(dicomJsonNumber(ds, '00280010')).toBe(want.rows);
      expect(dicomJsonNumber(ds, '00280100')).toBe(want.bitsAllocated);
      expect(dicomJsonString(ds, '00100010')).toBe('PHANTOM^LEPTON');
      expect(ds['7FE00010']?.Value).toBeUndefined(); // pixels are never inlined as values
    }
    const one = series[0]!;
    const uid = dicomJsonString(one, '00080018')!;
    const single = await pacs.retrieveMetadata({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: uid });
    expect(single.map((d) => dicomJsonString(d, '00080018'))).toEqual([uid]);
    expect(await pacs.retrieveMetadata({ studyInstanceUid: STUDY })).toHaveLength(FILES.length);
  });

  it('HTTP failures are typed: 404 for an unknown instance or study, 401 without credentials', async () => {
    const e404 = await expectCode(pacs.retrieveInstance({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: '2.25.999' }), 'DICOMWEB_HTTP_ERROR');
    expect(e404.details).toMatchObject({ status: 404, level: 'instance' });
    expect(e404.message).not.toContain('2.25.999'); // no UIDs (patient-linked) in messages
    expect((await expectCode(pacs.retrieveMetadata({ studyInstanceUid: '2.25.999' }), 'DICOMWEB_HTTP_ERROR')).details['status']).toBe(404);

    const anonymous = new DicomWebClient({ url: orthanc.dicomWeb });
    const e401 = await expectCode(anonymous.searchStudies(), 'DICOMWEB_HTTP_ERROR');
    expect(e401.details['status']).toBe(401);
    expect(e401.message).toMatch(/credentials/);
    const wrong = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: 'wrong' } });
    expect((await expectCode(wrong.searchStudies(), 'DICOMWEB_HTTP_ERROR')).details['status']).toBe(401);
    // credentials in the URL become Basic auth and leave the URL
    const inUrl = new DicomWebClient({ url: orthanc.dicomWeb.replace('http://', `http://${USER}:${PASSWORD}@`) });
    expect(inUrl.url).toBe(orthanc.dicomWeb);
    expect(await inUrl.searchStudies({ PatientID: 'LEPTON-0002' })).toHaveLength(1);
    // a bearer token provider is called per request (Orthanc has no bearer auth: the header is sent and refused)
    let calls = 0;
    const bearer = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'bearer', token: () => `t${++calls}` } });
    await expectCode(bearer.searchStudies(), 'DICOMWEB_HTTP_ERROR');
    expect(calls).toBe(1);
  });

  it('an answer that is not DICOMweb is DICOMWEB_BAD_RESPONSE (Orthanc\'s own REST root instead of /dicom-web)', async () => {
    const wrongRoot = new DicomWebClient({ url: orthanc.root, auth: { type: 'basic', username: USER, password: PASSWORD } });
    await expectCode(wrongRoot.searchStudies(), 'DICOMWEB_BAD_RESPONSE'); // /studies lists Orthanc ids, not DICOM JSON
  });

  it('STOW-RS: stores a file the server does not hold yet, which WADO-RS then returns byte-identical', async () => {
    // ct_s16_sigmoid under a new study (Orthanc's modify tool), as any client would send it
    const id = await orthanc.upload(new Uint8Array(readFileSync(dicomPath('ct_s16'))));
    const modified = await orthanc.rest('POST', `/instances/${id}/modify`, JSON.stringify({ Replace: { StudyInstanceUID: '2.25.300099990001', SeriesInstanceUID: '2.25.300099990002', SOPInstanceUID: '2.25.300099990003' }, Force: true }));
    const bytes = new Uint8Array(await modified.arrayBuffer());
    await orthanc.rest('DELETE', `/instances/${id}`);
    const { stored, requests } = await pacs.store([bytes]);
    expect(requests).toBe(1);
    expect(stored).toEqual([{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '2.25.300099990003', retrieveUrl: `${orthanc.dicomWeb}/studies/2.25.300099990001/series/2.25.300099990002/instances/2.25.300099990003` }]);
    const back = await pacs.retrieveInstanceBytes({ studyInstanceUid: '2.25.300099990001', seriesInstanceUid: '2.25.300099990002', sopInstanceUid: '2.25.300099990003' });
    expect(Buffer.compare(Buffer.from(back), Buffer.from(bytes))).toBe(0);
    // storing the same instance again is not an error for Orthanc (it keeps the first copy)
    expect((await pacs.store([{ bytes }])).stored).toHaveLength(1);
  });

  it('a server that goes down is DICOMWEB_UNREACHABLE', async () => {
    await orthanc.stop();
    const err = await expectCode(pacs.searchStudies(), 'DICOMWEB_UNREACHABLE');
    expect(err.details['reason']).toBe('ECONNREFUSED');
    const { images, failures } = await pacs.retrieveInstances([{ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: [...local.keys()][0]! }]);
    expect(images).toEqual([]);
    expect(failures.map((f) => f.error.code)).toEqual(['DICOMWEB_UNREACHABLE']);
  });
});

describe('DicomWebClient without a PACS: timeouts, aborts, options', () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: what a hung PACS looks like.
    server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('a server that never answers is DICOMWEB_TIMEOUT after timeoutMs', async () => {
    const client = new DicomWebClient({ url: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 300 });
    const t0 = Date.now();
    const err = await expectCode(client.searchStudies(), 'DICOMWEB_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(err.details['timeoutMs']).toBe(300);
  });

  it('an abort signal ends a call with DICOMWEB_ABORTED, also mid-series', async () => {
    const client = new DicomWebClient({ url: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 30_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expectCode(client.searchStudies({}, { signal: ac.signal }), 'DICOMWEB_ABORTED');
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 100);
    const refs = Array.from({ length: 6 }, (_, i) => ({ studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: `2.25.${i + 1}` }));
    await expectCode(client.retrieveInstances(refs, { signal: ac2.signal }), 'DICOMWEB_ABORTED');
  });

  it('nothing listening is DICOMWEB_UNREACHABLE with the system reason', async () => {
    const client = new DicomWebClient({ url: `http://127.0.0.1:${await freePort()}/dicom-web` });
    expect((await expectCode(client.searchSeries(), 'DICOMWEB_UNREACHABLE')).details['reason']).toBe('ECONNREFUSED');
  });

  it('bad options and malformed UIDs are DICOMWEB_INVALID_OPTIONS before any request', async () => {
    expect(() => new DicomWebClient({ url: 'not a url' })).toThrow(expect.objectContaining({ code: 'DICOMWEB_INVALID_OPTIONS' }));
    expect(() => new DicomWebClient({ url: 'ftp://pacs/dicom-web' })).toThrow(expect.objectContaining({ code: 'DICOMWEB_INVALID_OPTIONS' }));
    expect(() => new DicomWebClient({ url: 'http://pacs/dicom-web', timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'DICOMWEB_INVALID_OPTIONS' }));
    expect(() => new DicomWebClient({ url: 'http://pacs/dicom-web', transferSyntax: 'jpeg' })).toThrow(expect.objectContaining({ code: 'DICOMWEB_INVALID_OPTIONS' }));
    let requests = 0;
    const client = new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', fetch: async () => (requests++, new Response('[]')) });
    await expectCode(client.retrieveInstance({ studyInstanceUid: '../../tools', seriesInstanceUid: SERIES, sopInstanceUid: '1' }), 'DICOMWEB_INVALID_OPTIONS');
    await expectCode(client.searchSeries({ studyInstanceUid: '' }), 'DICOMWEB_INVALID_OPTIONS');
    await expectCode(client.searchStudies({ 'PatientID&x': '1' }), 'DICOMWEB_INVALID_OPTIONS');
    expect(requests).toBe(0);
  });

  it('STOW-RS: one multipart/related request per size-bounded batch, each part a whole Part 10 file', async () => {
    const files = ['ct_s16', 'ct_s12', 'mr8_rle'].map((n) => readFixture(n));
    const seen: Array<{ url: string; type: string; accept: string; auth: string; parts: Uint8Array[] }> = [];
    const server: FetchLike = async (url, init) => {
      const headers = new Headers(init.headers);
      const type = headers.get('content-type')!;
      const boundary = /boundary=([^;]+)/.exec(type)![1]!;
      const body = Buffer.from(init.body as Uint8Array);
      const parts: Uint8Array[] = [];
      const sep = Buffer.from(`--${boundary}`);
      let at = body.indexOf(sep);
      while (at >= 0) {
        const next = body.indexOf(sep, at + sep.length);
        if (next < 0) break;
        const part = body.subarray(at + sep.length, next);
        const start = part.indexOf('\r\n\r\n') + 4;
        parts.push(new Uint8Array(part.subarray(start, part.length - 2)));
        at = next;
      }
      seen.push({ url, type, accept: headers.get('accept')!, auth: headers.get('authorization')!, parts });
      const uids = parts.map((p) => readDicom(p).meta);
      const ok = { '00081199': { vr: 'SQ', Value: uids.map((m) => ({ '00081150': { vr: 'UI', Value: [m.sopClassUid] }, '00081155': { vr: 'UI', Value: [m.sopInstanceUid] } })) } };
      return new Response(JSON.stringify(ok), { status: 200, headers: { 'Content-Type': 'application/dicom+json' } });
    };
    const limit = files[0]!.length + files[1]!.length + 2 * 128 + 64;
    const client = new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', auth: { type: 'basic', username: 'u', password: 'p' }, fetch: server, maxStoreRequestBytes: limit });
    const result = await client.store(files);
    expect(result.requests).toBe(2);
    expect(result.stored.map((s) => s.sopInstanceUid)).toEqual(files.map((f) => readDicom(f).meta.sopInstanceUid));
    expect(seen.map((r) => r.parts.length)).toEqual([2, 1]);
    expect(seen.flatMap((r) => r.parts).map((p) => Buffer.from(p).toString('base64'))).toEqual(files.map((f) => Buffer.from(f).toString('base64')));
    for (const r of seen) {
      expect(r.url).toBe('http://pacs.invalid/dicom-web/studies');
      expect(r.type).toMatch(/^multipart\/related; type="application\/dicom"; boundary=lepton-[0-9a-f]+$/);
      expect(r.accept).toMatch(/application\/dicom\+json/);
      expect(r.auth).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    }
    await client.store(files.slice(0, 1), { studyInstanceUid: readDicom(files[0]!).meta.studyInstanceUid! });
    expect(seen.at(-1)!.url).toBe(`http://pacs.invalid/dicom-web/studies/${readDicom(files[0]!).meta.studyInstanceUid}`);
  });

  it('STOW-RS: a partial failure is DICOMWEB_STORE_FAILED with the failed instances, what was stored and what was not sent', async () => {
    const files = ['ct_s16', 'ct_s12', 'mr8_rle'].map((n) => readFixture(n));
    const metas = files.map((f) => readDicom(f).meta);
    let calls = 0;
    // first request fine; the second answers 202 with the instance in the Failed SOP Sequence (0xA700, out of resources)
    const server: FetchLike = async () => {
      calls++;
      const m = metas[calls - 1]!;
      const item = { '00081150': { vr: 'UI', Value: [m.sopClassUid] }, '00081155': { vr: 'UI', Value: [m.sopInstanceUid] } };
      const body = calls === 1 ? { '00081199': { vr: 'SQ', Value: [item] } } : { '00081198': { vr: 'SQ', Value: [{ ...item, '00081197': { vr: 'US', Value: [0xa700] } }] } };
      return new Response(JSON.stringify(body), { status: calls === 1 ? 200 : 202, headers: { 'Content-Type': 'application/dicom+json' } });
    };
    const client = new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', auth: { type: 'basic', username: 'u', password: 'secret-pw' }, fetch: server, maxStoreRequestBytes: Math.max(...files.map((f) => f.length)) + 200 });
    const err = await expectCode(client.store(files), 'DICOMWEB_STORE_FAILED');
    expect(calls).toBe(2); // the third instance was never sent
    expect(err.details).toMatchObject({
      status: 202,
      failed: [{ sopClassUid: metas[1]!.sopClassUid, sopInstanceUid: metas[1]!.sopInstanceUid, failureReason: 0xa700 }],
      stored: [{ sopClassUid: metas[0]!.sopClassUid, sopInstanceUid: metas[0]!.sopInstanceUid }],
      notSent: [{ sopClassUid: metas[2]!.sopClassUid, sopInstanceUid: metas[2]!.sopInstanceUid }],
    });
    expect(err.message).toMatch(/0xA700/);
    for (const m of metas) expect(err.message).not.toContain(m.sopInstanceUid!);
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('secret-pw');
  });

  it('STOW-RS: instances are checked before anything is sent; no answer is a transport error that says what was stored', async () => {
    let requests = 0;
    const counting: FetchLike = async () => (requests++, new Response('{}', { status: 200 }));
    const client = new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', fetch: counting, maxStoreRequestBytes: 4096 });
    const good = readFixture('ct_s16');
    await expectCode(client.store([]), 'DICOMWEB_INVALID_OPTIONS');
    expect((await expectCode(client.store([good, new TextEncoder().encode('not dicom')]), 'DICOMWEB_INVALID_OPTIONS')).details['index']).toBe(1);
    expect((await expectCode(client.store([good.subarray(132)]), 'DICOMWEB_INVALID_OPTIONS')).details['index']).toBe(0); // a bare data set
    const big = await expectCode(client.store([readFixture('mf16_jpeg_sv1_frag_nobot')]), 'DICOMWEB_INVALID_OPTIONS');
    expect(big.details).toMatchObject({ option: 'maxStoreRequestBytes', index: 0, limit: 4096 });
    await expectCode(client.store([good], { studyInstanceUid: '../../tools' }), 'DICOMWEB_INVALID_OPTIONS');
    expect(requests).toBe(0);
    expect(() => new DicomWebClient({ url: 'http://pacs/dicom-web', maxStoreRequestBytes: 0 })).toThrow(expect.objectContaining({ code: 'DICOMWEB_INVALID_OPTIONS' }));
    // a 200 whose body is not a STOW-RS response
    const html: FetchLike = async () => new Response('<html>login</html>', { status: 200 });
    await expectCode(new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', fetch: html }).store([good]), 'DICOMWEB_BAD_RESPONSE');
    // a server that never answers: DICOMWEB_TIMEOUT, with nothing stored
    const hung = new DicomWebClient({ url: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 300 });
    const t = await expectCode(hung.store([good]), 'DICOMWEB_TIMEOUT');
    expect(t.details).toMatchObject({ stored: [], unconfirmed: [{ sopInstanceUid: readDicom(good).meta.sopInstanceUid }], notSent: [], timeoutMs: 300 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expectCode(new DicomWebClient({ url: `http://127.0.0.1:${port}/dicom-web` }).store([good], { signal: ac.signal }), 'DICOMWEB_ABORTED');
    expect((await expectCode(new DicomWebClient({ url: `http://127.0.0.1:${await freePort()}/dicom-web` }).store([good]), 'DICOMWEB_UNREACHABLE')).details['reason']).toBe('ECONNREFUSED');
  });

  it('a 2xx answer with a broken multipart body, or a part that is not a Part 10 file, is DICOMWEB_BAD_RESPONSE', async () => {
    const broken: FetchLike = async () => new Response('no boundary here', { headers: { 'Content-Type': 'multipart/related; type="application/dicom"' } });
    const ref = { studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: '2.25.1' };
    await expectCode(new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', fetch: broken }).retrieveInstance(ref), 'DICOMWEB_BAD_RESPONSE');
    const notDicom: FetchLike = async () =>
      new Response('--b\r\nContent-Type: application/dicom\r\n\r\nhello, not dicom\r\n--b--', { headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b' } });
    const { failures } = await new DicomWebClient({ url: 'http://pacs.invalid/dicom-web', fetch: notDicom }).retrieveInstances([ref]);
    // the client checks the DICM marker after the preamble itself (issue 16): bytes that are not a Part 10 file never
    // reach the caller as an instance, whatever the part is labelled
    expect(failures.map((f) => f.error.code)).toEqual(['DICOMWEB_BAD_RESPONSE']);
    expect(() => readDicom(new TextEncoder().encode('hello, not dicom'))).toThrow(expect.objectContaining({ code: 'DICOM_NOT_DICOM' }));
  });
});
