// Issue 16 §3: the DICOMweb client against hostile servers on loopback. Each test reproduces an attack and expects a
// typed, bounded failure: credentials never reach another origin, answers never cost more memory than
// maxResponseBytes, and a non-DICOM answer is never handed on as an instance.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DicomWebClient } from '@lepton/medical';

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

const REF = { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5' };
const SECRET = { username: 'radiology', password: 's3cret-pass' };

describe('redirects never carry credentials to another origin', () => {
  it('attack: a 302 to another origin is refused by default; the other server receives nothing', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const evil = await serve((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    const pacs = await serve((_req, res) => res.writeHead(302, { location: `${evil}/steal/studies` }).end());
    const client = new DicomWebClient({ url: `${pacs}/dicom-web`, auth: { type: 'basic', ...SECRET }, headers: { 'X-Api-Key': 'key-123' } });
    const err = await client.searchStudies().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LeptonError', code: 'DICOMWEB_REDIRECT_REFUSED' });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as { details: unknown }).details })).not.toMatch(/s3cret|key-123|radiology/);
    expect(seen).toHaveLength(0);
  });

  it('with allowCrossOriginRedirects the redirect is followed without Authorization or any configured header', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const other = await serve((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    const pacs = await serve((_req, res) => res.writeHead(307, { location: `${other}/dicom-web/studies` }).end());
    const client = new DicomWebClient({ url: `${pacs}/dicom-web`, auth: { type: 'basic', ...SECRET }, headers: { 'X-Api-Key': 'key-123' }, allowCrossOriginRedirects: true });
    expect(await client.searchStudies()).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!['authorization']).toBeUndefined();
    expect(seen[0]!['x-api-key']).toBeUndefined();
  });

  it('a same-origin redirect keeps the credentials; a redirect loop stops after 5 hops', async () => {
    const seen: Array<string | undefined> = [];
    let hops = 0;
    const pacs = await serve((req, res) => {
      if (req.url!.startsWith('/old/')) return void res.writeHead(301, { location: req.url!.replace('/old/', '/new/') }).end();
      if (req.url!.startsWith('/loop')) return void (hops++, res.writeHead(302, { location: '/loop' }).end());
      seen.push(req.headers['authorization']);
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    expect(await new DicomWebClient({ url: `${pacs}/old`, auth: { type: 'basic', ...SECRET } }).searchStudies()).toEqual([]);
    expect(seen).toEqual([`Basic ${Buffer.from(`${SECRET.username}:${SECRET.password}`).toString('base64')}`]);
    await expect(new DicomWebClient({ url: `${pacs}/loop` }).searchStudies()).rejects.toMatchObject({ code: 'DICOMWEB_REDIRECT_REFUSED' });
    expect(hops).toBe(6);
  });
});

describe('answers are bounded while they stream', () => {
  it('attack: a gzip bomb stops at maxResponseBytes (counted after decompression)', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 0x20)); // 64 MiB of spaces, ~64 KiB on the wire
    const pacs = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/dicom+json', 'content-encoding': 'gzip' }).end(bomb));
    const client = new DicomWebClient({ url: `${pacs}/dicom-web`, maxResponseBytes: 4 << 20 });
    const before = process.memoryUsage().rss;
    await expect(client.searchStudies()).rejects.toMatchObject({ code: 'DICOMWEB_RESPONSE_TOO_LARGE', details: { limit: 4 << 20 } });
    expect(process.memoryUsage().rss - before).toBeLessThan(48 << 20);
  });

  it('attack: an endless multipart answer to WADO-RS stops at the limit instead of filling memory', async () => {
    const pacs = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' });
      const chunk = Buffer.alloc(1 << 20, 0x41);
      const pump = (): void => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const client = new DicomWebClient({ url: `${pacs}/dicom-web`, maxResponseBytes: 8 << 20 });
    await expect(client.retrieveInstanceBytes(REF)).rejects.toMatchObject({ code: 'DICOMWEB_RESPONSE_TOO_LARGE' });
  });

  it('attack: a huge error body is read only up to 64 KiB and reported as the HTTP error it is', async () => {
    let sent = 0;
    const pacs = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1 << 20, 0x45);
      const pump = (): void => {
        while (sent < 512 << 20 && !res.destroyed && res.write(chunk)) sent += chunk.length;
        if (sent >= 512 << 20) res.end();
        else if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await expect(new DicomWebClient({ url: `${pacs}/dicom-web` }).searchStudies()).rejects.toMatchObject({ code: 'DICOMWEB_HTTP_ERROR', details: { status: 500 } });
    expect(sent).toBeLessThan(64 << 20); // the client hung up long before 512 MB
  });
});

describe('a WADO-RS answer must be a DICOM Part 10 file', () => {
  it('attack: 200 text/html (a login or proxy page) is not an instance', async () => {
    const pacs = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please log in</body></html>'));
    await expect(new DicomWebClient({ url: `${pacs}/dicom-web` }).retrieveInstanceBytes(REF)).rejects.toMatchObject({ code: 'DICOMWEB_BAD_RESPONSE' });
  });

  it('attack: a multipart/related answer whose part is HTML, or DICOM-labelled bytes without the DICM marker', async () => {
    for (const payload of [Buffer.from('<html>not dicom</html>'), Buffer.alloc(300, 0)]) {
      const pacs = await serve((_req, res) => {
        const body = Buffer.concat([Buffer.from('--x\r\nContent-Type: application/dicom\r\n\r\n'), payload, Buffer.from('\r\n--x--\r\n')]);
        res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }).end(body);
      });
      await expect(new DicomWebClient({ url: `${pacs}/dicom-web` }).retrieveInstanceBytes(REF)).rejects.toMatchObject({ code: 'DICOMWEB_BAD_RESPONSE' });
    }
  });

  it('a real Part 10 part in a proper multipart answer is accepted', async () => {
    const file = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from([0x02, 0x00, 0x10, 0x00, 0x55, 0x49, 0x02, 0x00, 0x31, 0x00])]);
    const pacs = await serve((_req, res) => {
      const body = Buffer.concat([Buffer.from('--x\r\nContent-Type: application/dicom\r\n\r\n'), file, Buffer.from('\r\n--x--\r\n')]);
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=x' }).end(body);
    });
    const bytes = await new DicomWebClient({ url: `${pacs}/dicom-web` }).retrieveInstanceBytes(REF);
    expect(Buffer.from(bytes.subarray(128, 132)).toString('latin1')).toBe('DICM');
  });
});
