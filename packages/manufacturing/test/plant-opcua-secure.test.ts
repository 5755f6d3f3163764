import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, Variant } from 'node-opcua';
import { afterAll, describe, expect, it } from 'vitest';
import { OpcUaSource } from '@lepton/manufacturing';
import { freePort } from './support/mosquitto.js';
import { until } from './support/plant.js';

// The default security of OpcUaSource (SignAndEncrypt, Basic256Sha256, a user name and password) against node-opcua's
// own server offering only that: certificates are created on both sides in temporary PKI folders, each side trusts
// the other on first use (the server by its automaticallyAcceptUnknownCertificate, the client by
// acceptUnknownServerCertificate), and a wrong password or an endpoint without encryption is a typed connect error.

const pki = mkdtempSync(join(tmpdir(), 'lepton-opcua-secure-'));
afterAll(() => rmSync(pki, { recursive: true, force: true }));

async function startSecureServer(port: number, modes: MessageSecurityMode[], policies: SecurityPolicy[]) {
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/lepton-secure',
    securityModes: modes,
    securityPolicies: policies,
    allowAnonymous: false,
    userManager: { isValidUser: (userName: string, password: string) => userName === 'lepton' && password === 'correct horse' },
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(pki, `server-${port}`), automaticallyAcceptUnknownCertificate: true }),
    buildInfo: { productName: 'lepton-secure-plc' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const press = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Press1' });
  ns.addVariable({ componentOf: press, nodeId: 's=press-1.pressure', browseName: 'pressure', dataType: 'Double', minimumSamplingInterval: 20, value: new Variant({ dataType: DataType.Double, value: 5 }) });
  await server.start();
  return { server, url: `opc.tcp://127.0.0.1:${port}/UA/lepton-secure` };
}

describe('OpcUaSource with its default security (SignAndEncrypt, Basic256Sha256) against node-opcua’s server', () => {
  it('connects with a password over an encrypted channel and reads values; a wrong password and a None-only endpoint are typed errors', { timeout: 120_000 }, async () => {
    const plc = await startSecureServer(await freePort(), [MessageSecurityMode.SignAndEncrypt], [SecurityPolicy.Basic256Sha256]);
    const received: unknown[] = [];
    const target = { push: async (item: unknown) => void received.push(item) };
    const nodes = [{ nodeId: 'ns=1;s=press-1.pressure', asset: 'press-1', signal: 'pressure' }];
    const common = { endpointUrl: plc.url, pkiFolder: join(pki, 'client'), acceptUnknownServerCertificate: true, target, nodes, connectTimeoutMs: 30_000, reconnectDelayMs: 200 };
    try {
      // securityMode and securityPolicy left at their defaults
      const source = await OpcUaSource.start({ ...common, user: { userName: 'lepton', password: 'correct horse' } });
      try {
        await until(() => source.stats().received >= 1, 20_000, 'the first value over the encrypted channel');
        expect(source.stats()).toMatchObject({ monitoredItems: 1, badNodes: 0 });
      } finally {
        await source.close();
      }
      // The client made its own certificate in its PKI folder and trusted the server's on first use.
      expect(readdirSync(join(pki, 'client', 'own', 'certs')).length).toBeGreaterThan(0);
      expect(readdirSync(join(pki, 'client', 'trusted', 'certs')).length).toBeGreaterThan(0);

      const wrong = await OpcUaSource.start({ ...common, user: { userName: 'lepton', password: 'wrong' } }).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(wrong).toMatchObject({ code: 'MFG_OPCUA_CONNECT' });
      expect(String((wrong as Error).message)).not.toContain('wrong'); // the password never appears in the error
    } finally {
      await plc.server.shutdown(0);
    }
    // A server that offers no encryption: the default (SignAndEncrypt) refuses to fall back to plain text.
    const plain = await startSecureServer(await freePort(), [MessageSecurityMode.None], [SecurityPolicy.None]);
    try {
      await expect(
        OpcUaSource.start({ endpointUrl: plain.url, pkiFolder: join(pki, 'client'), acceptUnknownServerCertificate: true, target, nodes, connectTimeoutMs: 15_000, user: { userName: 'lepton', password: 'correct horse' } }),
      ).rejects.toMatchObject({ code: 'MFG_OPCUA_CONNECT' });
    } finally {
      await plain.server.shutdown(0);
    }
  });
});
