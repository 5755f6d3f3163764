// Hostile review 2 of the DICOMweb client and the DICOMDIR reader, sections numbered by finding. Each test reproduces
// an attack (a node:http server on 127.0.0.1 is the hostile PACS; links, FIFOs and devices the hostile medium) and
// expects a typed, bounded outcome.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient, isLeptonError, parseDicomDir, readDicomDir, type DicomWebFailure, type LeptonError } from '@lepton/medical';

const SAMPLES = join(import.meta.dirname, '..', 'samples');
const DCM = readFileSync(join(SAMPLES, 'ct-jpeg-ls.dcm'));
const ST = '1.2.3';
const SE = '1.2.3.4';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown> | (() => unknown), code: string): Promise<LeptonError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${inspect(err, { depth: 0 })}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

/** A WADO-RS instance answer, well-formed multipart/related. */
function multipartDicom(res: ServerResponse, boundary = 'BOUNDARY42', quoted = false): void {
  res.setHeader('content-type', `multipart/related; type="application/dicom"; boundary=${quoted ? `"${boundary}"` : boundary}`);
  res.end(Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), DCM, Buffer.from(`\r\n--${boundary}--\r\n`)]));
}

const row = (sop?: string, series: string = SE): Record<string, unknown> => ({
  '0020000D': { vr: 'UI', Value: [ST] },
  '0020000E': { vr: 'UI', Value: [series] },
  ...(sop === undefined ? {} : { '00080018': { vr: 'UI', Value: [sop] } }),
});

/** A PACS whose QIDO instance search answers `rows` and whose WADO-RS answers each instance (404 for those in `gone`). */
async function pacs(rows: unknown[], gone: readonly string[] = []): Promise<{ url: string; served: () => number }> {
  let served = 0;
  const url = await serve((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (/\/instances$/.test(path) || /\/studies$/.test(path)) {
      res.setHeader('content-type', 'application/dicom+json');
      return void res.end(JSON.stringify(rows));
    }
    served++;
    if (gone.some((g) => path.endsWith(`/instances/${g}`))) return void res.writeHead(404).end();
    multipartDicom(res);
  });
  return { url, served: () => served };
}

describe('1. timeoutMs is a whole number from 1 to 2^31 − 1', () => {
  it('values Node cannot keep as a timer are DICOMWEB_INVALID_OPTIONS (they timed out at once, crashed the process or hung)', async () => {
    for (const timeoutMs of [2 ** 31, 3e9, 2 ** 32, 1e10, Number.MAX_SAFE_INTEGER, 0, -1, 1.5, Infinity]) {
      const err = await failure(() => new DicomWebClient({ url: 'http://127.0.0.1:1/dicom-web', timeoutMs }), 'DICOMWEB_INVALID_OPTIONS');
      expect(err.details['option']).toBe('timeoutMs');
    }
  });

  it('2^31 − 1 is accepted and requests go through (QIDO and STOW)', async () => {
    const url = await serve((req, res) => {
      res.setHeader('content-type', 'application/dicom+json');
      res.end(req.method === 'POST' ? '' : '[]');
    });
    const client = new DicomWebClient({ url, timeoutMs: 2 ** 31 - 1 });
    expect(await client.searchStudies()).toEqual([]);
    expect((await client.store([DCM])).requests).toBe(1);
  });
});

describe('2. multipart answers are decoded with the header\'s boundary, natively', () => {
  it('a 4 MiB body of dashes with a 900-dash boundary (18 s of blocked event loop before) is DICOMWEB_BAD_RESPONSE at once', async () => {
    const b = `${'-'.repeat(900)}X`;
    const body = Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.alloc(4 * 1024 * 1024, 0x2d)]);
    const url = await serve((_req, res) => res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=XYZ' }).end(body));
    const client = new DicomWebClient({ url, timeoutMs: 1000 });
    const t0 = performance.now();
    const err = await failure(client.retrieveInstanceBytes({ studyInstanceUid: ST, seriesInstanceUid: SE, sopInstanceUid: '1.1' }), 'DICOMWEB_BAD_RESPONSE');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(err.details['reason']).toMatch(/boundary/);
  });

  it('a header boundary over 70 characters (RFC 2046) is refused; a 70-dash one over a body of dashes ends fast', async () => {
    const long = 'b'.repeat(71);
    let mode: 'long' | 'dashes' = 'long';
    const url = await serve((_req, res) => {
      if (mode === 'long') return void multipartDicom(res, long);
      res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${'-'.repeat(70)}` }).end(Buffer.alloc(4 * 1024 * 1024, 0x2d));
    });
    const client = new DicomWebClient({ url, timeoutMs: 1000 });
    const ref = { studyInstanceUid: ST, seriesInstanceUid: SE, sopInstanceUid: '1.1' };
    await failure(client.retrieveInstanceBytes(ref), 'DICOMWEB_BAD_RESPONSE');
    mode = 'dashes';
    const t0 = performance.now();
    await failure(client.retrieveInstanceBytes(ref), 'DICOMWEB_BAD_RESPONSE');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a well-formed answer still decodes, with a plain or a quoted boundary parameter', async () => {
    let quoted = false;
    const url = await serve((_req, res) => multipartDicom(res, "lepton'(b)+_,-./:=?", quoted));
    const client = new DicomWebClient({ url });
    const ref = { studyInstanceUid: ST, seriesInstanceUid: SE, sopInstanceUid: '1.1' };
    expect(Buffer.from(await client.retrieveInstanceBytes(ref)).equals(DCM)).toBe(true);
    quoted = true;
    expect(Buffer.from(await client.retrieveInstanceBytes(ref)).equals(DCM)).toBe(true);
  });
});

describe('3. one failure callback or one odd reference never loses the retrieval', () => {
  const refs = ['1.1', '1.2', '1.3'].map((sop) => ({ studyInstanceUid: ST, seriesInstanceUid: SE, sopInstanceUid: sop }));

  it('an onFailure that throws is ignored: the images and the failure still come back', async () => {
    const { url } = await pacs([], ['1.2']);
    const seen: DicomWebFailure[] = [];
    const r = await new DicomWebClient({ url }).retrieveInstances(refs, {
      onFailure: (f) => {
        seen.push(f);
        throw new Error('logger down');
      },
    });
    expect(r.images).toHaveLength(2);
    expect(r.failures.map((f) => f.instance.sopInstanceUid)).toEqual(['1.2']);
    expect(seen).toHaveLength(1);
  });

  it('an async onFailure that rejects is no unhandled rejection', async () => {
    const { url } = await pacs([], ['1.2']);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = await new DicomWebClient({ url }).retrieveInstances(refs, { onFailure: () => Promise.reject(new Error('async logger failed')) });
      expect(r.failures).toHaveLength(1);
      await new Promise((res) => setTimeout(res, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a reference whose getter throws (each UID read once) is one failure; the others arrive', async () => {
    const { url } = await pacs([]);
    let reads = 0;
    const odd = {
      studyInstanceUid: ST,
      get seriesInstanceUid(): string {
        if (++reads > 1) throw new Error('getter boom');
        return SE;
      },
      sopInstanceUid: '1.9',
    };
    const hostile = {
      studyInstanceUid: ST,
      get seriesInstanceUid(): string {
        throw new Error('getter boom');
      },
      sopInstanceUid: '1.8',
    };
    const r = await new DicomWebClient({ url }).retrieveInstances([refs[0]!, odd, hostile, null as never]);
    expect(r.images).toHaveLength(2); // refs[0] and odd (read once, so its second read never happens)
    expect(reads).toBe(1);
    expect(r.failures.map((f) => [f.error.code, f.error.details['index']])).toEqual([
      ['DICOMWEB_INVALID_OPTIONS', 2],
      ['DICOMWEB_INVALID_OPTIONS', 3],
    ]);
    expect(r.failures[0]!.instance).toEqual({ studyInstanceUid: ST, seriesInstanceUid: undefined, sopInstanceUid: undefined });
  });
});

describe('4. one malformed QIDO-RS row never hides the others', () => {
  const rows = [row('1.1'), row('1.2'), row(), row('1.3'), row('1.x/../evil'), row('1.4', '')];

  it('searchInstances skips rows without valid UIDs and counts them in `rejected`', async () => {
    const { url } = await pacs(rows);
    const found = await new DicomWebClient({ url }).searchInstances({ studyInstanceUid: ST, seriesInstanceUid: SE });
    expect(found.map((i) => i.sopInstanceUid)).toEqual(['1.1', '1.2', '1.3']); // an empty series UID is no UID either
    expect(found.rejected).toBe(3);
    expect(JSON.parse(JSON.stringify(found))).toHaveLength(3); // not enumerable
    const studies = await new DicomWebClient({ url }).searchStudies();
    expect(studies.rejected).toBe(0);
    expect(studies).toHaveLength(rows.length);
  });

  it('searchStudies and searchSeries skip rows without their UIDs', async () => {
    const { url } = await pacs([row('1.1'), { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DOE^JANE' }] } }]);
    const client = new DicomWebClient({ url });
    const studies = await client.searchStudies();
    expect(studies).toHaveLength(1);
    expect(studies.rejected).toBe(1);
  });

  it('retrieveSeries and retrieveStudy retrieve the good rows and report each bad one (DICOMWEB_BAD_RESPONSE, details.index)', async () => {
    const { url, served } = await pacs(rows);
    const client = new DicomWebClient({ url });
    const seen: DicomWebFailure[] = [];
    const r = await client.retrieveSeries({ studyInstanceUid: ST, seriesInstanceUid: SE }, { onFailure: (f) => void seen.push(f) });
    expect(r.images).toHaveLength(3);
    expect(r.failures.map((f) => [f.error.code, f.error.details['index']])).toEqual([
      ['DICOMWEB_BAD_RESPONSE', 2],
      ['DICOMWEB_BAD_RESPONSE', 4],
      ['DICOMWEB_BAD_RESPONSE', 5],
    ]);
    expect(seen).toHaveLength(3);
    expect(served()).toBe(3);
    const s = await client.retrieveStudy({ studyInstanceUid: ST });
    expect([s.images.length, s.failures.length]).toEqual([3, 3]);
    expect(JSON.stringify(s.failures.map((f) => f.error.message))).not.toContain('evil');
  });
});

describe('5. no patient data in an error\'s cause chain', () => {
  it('an HTTP error from a server echoing the query prints neither the patient\'s name nor ID', async () => {
    const url = await serve((req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ HttpError: 'Bad Request', Uri: req.url, Message: 'no' }));
    });
    const err = await failure(new DicomWebClient({ url }).searchStudies({ PatientName: 'MUELLER^JORG', PatientID: 'PID-0042' }), 'DICOMWEB_HTTP_ERROR');
    expect(err.details['status']).toBe(400);
    const printed = inspect(err, { depth: 10 });
    expect(printed).not.toMatch(/MUELLER|PID-0042/);
    expect(err.cause).toBeUndefined();
  });

  it('a WADO-RS 404 whose body echoes the path prints no UID either', async () => {
    const url = await serve((req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ HttpError: 'Not Found', Uri: req.url })));
    const err = await failure(new DicomWebClient({ url }).retrieveMetadata({ studyInstanceUid: '1.2.840.999.1', seriesInstanceUid: '1.2.840.999.2' }), 'DICOMWEB_HTTP_ERROR');
    expect(err.details['status']).toBe(404);
    expect(inspect(err, { depth: 10 })).not.toContain('1.2.840.999');
  });
});

describe('10. a bearer-token function is raced against the request\'s timeout and signal', () => {
  const never = { type: 'bearer' as const, token: (): Promise<string> => new Promise<string>(() => undefined) };

  it('a token provider that never answers ends in DICOMWEB_TIMEOUT (QIDO and STOW)', async () => {
    const url = await serve((_req, res) => res.end('[]'));
    const client = new DicomWebClient({ url, auth: never, timeoutMs: 200 });
    const t0 = performance.now();
    await failure(client.searchStudies(), 'DICOMWEB_TIMEOUT');
    await failure(client.store([DCM]), 'DICOMWEB_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('… and in DICOMWEB_ABORTED when the caller aborts', async () => {
    const url = await serve((_req, res) => res.end('[]'));
    const client = new DicomWebClient({ url, auth: never, timeoutMs: 60_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await failure(client.searchStudies({}, { signal: ac.signal }), 'DICOMWEB_ABORTED');
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 100);
    await failure(client.store([DCM], { signal: ac2.signal }), 'DICOMWEB_ABORTED');
  });
});

describe('13. boundary validation: sparse arrays, getters, URLs with a query', () => {
  it('store() refuses a hole in a sparse array like undefined, before anything is sent', async () => {
    let requests = 0;
    const url = await serve((_req, res) => (requests++, res.end('')));
    const client = new DicomWebClient({ url });
    const sparse = [DCM, DCM];
    delete (sparse as unknown[])[0];
    const err = await failure(client.store(sparse), 'DICOMWEB_INVALID_OPTIONS');
    expect(err.details).toMatchObject({ option: 'instances', index: 0 });
    expect(requests).toBe(0);
  });

  it('options, auth, headers, queries, call options and references whose getters throw are DICOMWEB_INVALID_OPTIONS naming the option', async () => {
    const boom = (obj: Record<string, unknown>, key: string): Record<string, unknown> =>
      Object.defineProperty(obj, key, { enumerable: true, get: () => { throw new Error('getter'); } });
    const base = 'http://127.0.0.1:1/dicom-web';
    expect((await failure(() => new DicomWebClient(boom({ url: base }, 'timeoutMs') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('timeoutMs');
    expect((await failure(() => new DicomWebClient({ url: base, headers: boom({}, 'X-Key') as never }), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('headers');
    expect((await failure(() => new DicomWebClient({ url: base, auth: boom({ type: 'basic', username: 'u' }, 'password') as never }), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('auth.password');
    const client = new DicomWebClient({ url: base });
    expect((await failure(client.searchStudies(boom({}, 'PatientID') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('query');
    expect((await failure(client.searchStudies({}, boom({}, 'signal') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('signal');
    expect((await failure(client.searchSeries(boom({}, 'studyInstanceUid') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('studyInstanceUid');
    expect((await failure(client.store([DCM], boom({}, 'studyInstanceUid') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('studyInstanceUid');
    expect((await failure(client.store([boom({}, 'bytes') as never]), 'DICOMWEB_INVALID_OPTIONS')).details).toMatchObject({ option: 'instances', index: 0 });
    expect((await failure(client.retrieveSeries({ studyInstanceUid: ST, seriesInstanceUid: SE }, boom({}, 'onFailure') as never), 'DICOMWEB_INVALID_OPTIONS')).details['option']).toBe('onFailure');
  });

  it('a url with a query or a fragment is refused (paths were appended after it), never quoting it', async () => {
    for (const url of ['http://127.0.0.1:1/dicom-web?apikey=SECRET', 'http://127.0.0.1:1/dicom-web#frag', 'http://127.0.0.1:1/dicom-web?']) {
      const err = await failure(() => new DicomWebClient({ url }), 'DICOMWEB_INVALID_OPTIONS');
      expect(err.details['option']).toBe('url');
      expect(err.message).not.toContain('SECRET');
    }
  });
});

describe('14. retrieveInstance: the reader\'s errors carry a neutral source, no UID', () => {
  it('bytes that are not valid DICOM fail with details.source "dicomweb:instance"', async () => {
    const url = await serve((_req, res) => {
      const b = 'B0';
      res.setHeader('content-type', `multipart/related; type="application/dicom"; boundary=${b}`);
      res.end(Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), DCM.subarray(0, 200), Buffer.from(`\r\n--${b}--\r\n`)]));
    });
    let err: unknown;
    try {
      await new DicomWebClient({ url }).retrieveInstance({ studyInstanceUid: '1.2.840.999.1', seriesInstanceUid: '1.2.840.999.2', sopInstanceUid: '1.2.840.999.3' });
    } catch (e) {
      err = e;
    }
    expect(isLeptonError(err) && err.code.startsWith('DICOM_')).toBe(true);
    expect((err as LeptonError).details['source']).toBe('dicomweb:instance');
    expect(inspect(err, { depth: 10 })).not.toContain('1.2.840.999');
    const image = await new DicomWebClient({ url: await pacs([]).then((p) => p.url) }).retrieveInstance({ studyInstanceUid: ST, seriesInstanceUid: SE, sopInstanceUid: '1.1' });
    expect(image.source).toBe('dicomweb:instance');
  });
});

describe('DICOMDIR media', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lepton-dicomdir-hostile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const medium = (name: string): string => {
    const root = join(dir, name);
    mkdirSync(root, { recursive: true });
    cpSync(join(SAMPLES, 'dicomdir', 'DICOMDIR'), join(root, 'DICOMDIR'));
    return root;
  };

  describe('6. links on the medium never lead outside the DICOMDIR\'s folder', () => {
    it('a linked folder and a linked file are refused (rejectedFiles, missing); a link within the medium gives the real path', async () => {
      // the medium's DICOM folder is a link to a folder elsewhere holding files named like the instances
      const outside = join(dir, 'secret');
      cpSync(join(SAMPLES, 'dicomdir', 'DICOM'), join(outside, 'DICOM'), { recursive: true });
      const a = medium('linked-folder');
      symlinkSync(join(outside, 'DICOM'), join(a, 'DICOM'));
      const da = await readDicomDir(a);
      expect(da.files).toEqual([]);
      expect(da.missing).toHaveLength(3);
      expect(da.rejectedFiles.map((r) => [r.instance.fileId.join('/'), r.reason])).toEqual([
        ['DICOM/P1/S1/IM1', 'outside-root'],
        ['DICOM/P1/S1/IM2', 'outside-root'],
        ['DICOM/P1/S1/IM3', 'outside-root'],
      ]);
      // a file-level link to an absolute path outside; IM2 a link inside the medium (to IM3's copy), IM3 a real file
      const b = medium('linked-file');
      mkdirSync(join(b, 'DICOM', 'P1', 'S1'), { recursive: true });
      symlinkSync(join(outside, 'DICOM', 'P1', 'S1', 'IM1'), join(b, 'DICOM', 'P1', 'S1', 'IM1'));
      cpSync(join(SAMPLES, 'dicomdir', 'DICOM', 'P1', 'S1', 'IM3'), join(b, 'DICOM', 'P1', 'S1', 'IM3'));
      cpSync(join(SAMPLES, 'dicomdir', 'DICOM', 'P1', 'S1', 'IM2'), join(b, 'real-im2'));
      symlinkSync(join(b, 'real-im2'), join(b, 'DICOM', 'P1', 'S1', 'IM2'));
      const db = await readDicomDir(b);
      expect(db.files).toEqual([join(db.root, 'real-im2'), join(db.root, 'DICOM', 'P1', 'S1', 'IM3')]);
      expect(db.rejectedFiles.map((r) => r.instance.fileId.join('/'))).toEqual(['DICOM/P1/S1/IM1']);
      expect(db.missing.map((i) => i.fileId.join('/'))).toEqual(['DICOM/P1/S1/IM1']);
    });
  });

  describe('7. the DICOMDIR must be a regular file, read through one handle, bounded', () => {
    it('a FIFO named DICOMDIR is refused at once (it hung forever)', async () => {
      const root = join(dir, 'fifo');
      mkdirSync(root);
      execFileSync('mkfifo', [join(root, 'DICOMDIR')]);
      const t0 = performance.now();
      const err = await failure(readDicomDir(root), 'DICOMDIR_READ_FAILED');
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(err.details['reason']).toBe('ENOTFILE');
      await failure(readDicomDir(join(root, 'DICOMDIR')), 'DICOMDIR_READ_FAILED');
    });

    it('a DICOMDIR that is a link to /dev/zero is refused without reading (it read until 2 GiB)', async () => {
      const root = join(dir, 'zero');
      mkdirSync(root);
      symlinkSync('/dev/zero', join(root, 'DICOMDIR'));
      const t0 = performance.now();
      await failure(readDicomDir(root), 'DICOMDIR_READ_FAILED');
      // passed directly (a link the caller chose is followed, but a device is still no regular file)
      const err = await failure(readDicomDir(join(root, 'DICOMDIR')), 'DICOMDIR_READ_FAILED');
      expect(err.details['reason']).toBe('ENOTFILE');
      expect(performance.now() - t0).toBeLessThan(2000);
    });
  });

  describe('12. one hostile instance record is rejected on its own', () => {
    it('a File ID climbing out of the medium drops that record (offset, reason); the others are kept', async () => {
      const bytes = new Uint8Array(readFileSync(join(SAMPLES, 'dicomdir', 'DICOMDIR')));
      const at = Buffer.from(bytes).indexOf('DICOM\\P1\\S1\\IM2', 0, 'latin1');
      const hostile = bytes.slice();
      hostile.set(Buffer.from('..\\..', 'latin1'), at);
      const tree = parseDicomDir(hostile);
      expect(tree.instances.map((i) => i.fileId.join('/'))).toEqual(['DICOM/P1/S1/IM1', 'DICOM/P1/S1/IM3']);
      expect(tree.rejectedRecords).toHaveLength(1);
      expect(tree.rejectedRecords[0]!.reason).toBe('unsafe-file-id');
      expect(tree.rejectedRecords[0]!.offset).toBeGreaterThan(0);
      expect(parseDicomDir(bytes).rejectedRecords).toEqual([]);
      const root = join(dir, 'one-bad');
      cpSync(join(SAMPLES, 'dicomdir'), root, { recursive: true });
      await writeFile(join(root, 'DICOMDIR'), hostile);
      const d = await readDicomDir(root);
      expect(d.files).toHaveLength(2);
      expect(d.rejectedRecords).toEqual(tree.rejectedRecords);
    });
  });
});
