import { redactUrl } from '../internal/redact.js';
import { connectFix, converse, hostPort, ProbeFailure } from './network.js';
import { decodeCredential } from './services.js';
import type { ServiceCheck } from './types.js';

/** MQTT remaining-length encoding (1–4 bytes, 7 bits each). */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** An MQTT 3.1.1 CONNECT packet: clean session, 10 s keep-alive, credentials when given. */
function connectPacket(clientId: string, user: string, password: string): Buffer {
  let flags = 0x02;
  if (user !== '') flags |= 0x80;
  if (password !== '') flags |= 0x40;
  const variable = Buffer.concat([utf8('MQTT'), Buffer.from([0x04, flags, 0x00, 0x0a])]);
  const payload = Buffer.concat([utf8(clientId), ...(user !== '' ? [utf8(user)] : []), ...(password !== '' ? [utf8(password)] : [])]);
  const rest = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10, ...varint(rest.length)]), rest]);
}

const CONNACK: Readonly<Record<number, string>> = {
  1: 'the broker refused protocol version 3.1.1',
  2: 'the broker refused the client identifier',
  3: 'the broker says the MQTT service is unavailable',
  4: 'the broker refused the user name or password',
  5: 'the broker says this client is not authorised',
};

/**
 * Connects to an MQTT broker, sends CONNECT (MQTT 3.1.1, which MQTT 5 brokers such as Mosquitto 2 accept) and
 * reads the CONNACK; then disconnects cleanly. Return code 0 is a pass; 4 and 5 mean the broker is there but wants
 * other credentials.
 */
export async function checkMqtt(url: URL, source: 'flag' | 'env', timeoutMs: number): Promise<ServiceCheck> {
  const base = { name: 'mqtt' as const, required: true, source, target: redactUrl(url.toString()) };
  const tls = url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'tls:';
  const { host, port } = hostPort(url, tls ? 8883 : 1883);
  const clientId = `lepton-doctor-${process.pid}-${Date.now().toString(36)}`.slice(0, 23); // 23 bytes: every 3.1.1 broker takes it
  try {
    const { received, ms } = await converse({
      host,
      port,
      tls,
      timeoutMs,
      send: connectPacket(clientId, decodeCredential(url.username) ?? '', decodeCredential(url.password) ?? ''),
      complete: (b) => b.length >= 4 || (b.length > 0 && b[0] !== 0x20),
      goodbye: Buffer.from([0xe0, 0x00]),
    });
    if (received[0] !== 0x20 || received[1] !== 0x02) {
      return { ...base, status: 'error', ok: false, latencyMs: ms, detail: 'not an MQTT answer to CONNECT', fix: 'check that the port is the broker’s MQTT listener (default 1883; 8883 for mqtts)' };
    }
    const code = received[3]!;
    if (code === 0) return { ...base, status: 'ok', ok: true, latencyMs: ms, detail: 'CONNACK accepted' };
    const refused = code === 4 || code === 5;
    return {
      ...base,
      status: refused ? 'refused' : 'error',
      ok: false,
      latencyMs: ms,
      detail: `CONNACK ${code}: ${CONNACK[code] ?? 'refused'}`,
      fix: refused ? 'put the broker’s user and password in the URL (mqtt://user:password@host:1883) or allow this client in its ACL' : 'check the broker’s configuration and log',
    };
  } catch (err) {
    const code = err instanceof ProbeFailure ? err.code : 'ERROR';
    return { ...base, status: 'unreachable', ok: false, detail: err instanceof Error ? err.message : String(err), fix: connectFix(code, 'the broker (e.g. mosquitto)', '--mqtt or LEPTON_MQTT_URL') };
  }
}
