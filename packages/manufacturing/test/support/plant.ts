import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';

/** Waits until `cond()` holds (polling), or fails after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** One message a {@link Watcher} received. */
export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

/** A plain mqtt.js subscriber that records everything on a filter, as a plant consumer (SCADA, historian) would. */
export class Watcher {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {}

  static async start(url: string, filters: string[]): Promise<Watcher> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, clean: true });
    const w = new Watcher(client);
    client.on('message', (topic, payload, packet) => w.messages.push({ topic, payload, retain: packet.retain, qos: packet.qos }));
    await client.subscribeAsync(filters, { qos: 1 });
    return w;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  json(topic: string): unknown[] {
    return this.on(topic)
      .filter((m) => m.payload.length > 0)
      .map((m) => JSON.parse(m.payload.toString('utf8')) as unknown);
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * The retained messages under a filter right now, read as a consumer that connects later would: subscribe, then a
 * QoS 1 message to our own sync topic comes back after every retained message the broker sent (it delivers one client's
 * messages in order).
 */
export async function readRetained(url: string, filter: string): Promise<Map<string, Buffer>> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const sync = `test-sync/${randomBytes(6).toString('hex')}`;
  const out = new Map<string, Buffer>();
  let synced = false;
  client.on('message', (topic, payload, packet) => {
    if (topic === sync) synced = true;
    else if (packet.retain) out.set(topic, payload);
  });
  await client.subscribeAsync([filter, sync], { qos: 1 });
  await client.publishAsync(sync, 'x', { qos: 1 });
  await until(() => synced, 5000, 'the retained messages');
  await client.endAsync(true);
  return out;
}

/** A script run by {@link runChild} (in a child process, so that it can be killed as a crashed monitor would die). */
const CHILD = fileURLToPath(new URL('./plant-child.ts', import.meta.url));

/**
 * Starts a child process that publishes a line to the broker (MQTT publisher or Sparkplug edge node) and prints
 * `ready` once connected; the test kills it with SIGKILL to check the will.
 */
export async function runChild(kind: 'mqtt' | 'sparkplug', url: string, line: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kind, url, line], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('ready') || child.exitCode !== null, 30_000, 'the child publisher');
  if (!out.includes('ready')) throw new Error(`child publisher failed: ${out}`);
  return child;
}

/** One parsed sample of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text exposition format 0.0.4 (as Prometheus's own `textparse` reads it): every line
 * is a `# HELP`, a `# TYPE` or a sample; names and label names are valid; label values are escaped (`\\`, `\"`,
 * `\n` only); every sample's family has a TYPE before it; no series repeats; the text ends with a newline.
 */
export function parsePrometheus(text: string): { help: Map<string, string>; type: Map<string, string>; samples: PromSample[] } {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: PromSample[] = [];
  const series = new Set<string>();
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const [n, line] of text.slice(0, -1).split('\n').entries()) {
    const fail = (why: string): never => {
      throw new Error(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      if (!NAME.test(m[1]!) || help.has(m[1]!)) fail('bad or repeated HELP');
      help.set(m[1]!, m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : fail('bad escape in HELP'))));
      continue;
    }
    if ((m = /^# TYPE (\S+) (counter|gauge|untyped|summary|histogram)$/.exec(line))) {
      if (!NAME.test(m[1]!) || type.has(m[1]!)) fail('bad or repeated TYPE');
      type.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#') || line === '') fail('unexpected line');
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line) ?? fail('bad metric name');
    const name = m[1]!;
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i)) ?? fail('bad label');
        const key = lm[1]!;
        i += lm[0].length;
        let value = '';
        for (;;) {
          const c = line[i++];
          if (c === undefined) fail('unterminated label value');
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : fail('bad escape in label value');
          } else value += c;
        }
        if (key in labels) fail('repeated label');
        labels[key] = value;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') fail('expected , or }');
      }
      i++;
    }
    const rest = line.slice(i);
    const vm = /^ ([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[-+]Inf)$/.exec(rest) ?? fail('bad value');
    if (!type.has(name)) fail('sample before its TYPE');
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) fail('repeated series');
    series.add(key);
    samples.push({ name, labels, value: Number(vm[1]!.replace('Inf', 'Infinity')) });
  }
  return { help, type, samples };
}

/**
 * A raw TCP "broker" that answers CONNECT with CONNACK and SUBSCRIBE with SUBACK, then never says anything else (no
 * PUBACK, no PINGRESP): a broker that hung, or a network that drops everything but the handshake.
 */
export async function startSilentBroker(): Promise<{ url: string; publishes: () => number; close: () => Promise<void> }> {
  const { createServer } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let publishes = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        // fixed header: type byte, remaining length (varint)
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length && i < 5; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const type = buf[0]! >> 4;
        const body = buf.subarray(i + 1, i + 1 + len);
        if (type === 1) socket.write(Buffer.from([0x20, 2, 0, 0]));
        else if (type === 8) {
          const granted: number[] = [];
          for (let j = 2; j + 2 <= body.length; j += 2 + body.readUInt16BE(j) + 1) granted.push(1);
          socket.write(Buffer.from([0x90, 2 + granted.length, body[0]!, body[1]!, ...granted]));
        }
        else if (type === 3) publishes++;
        buf = buf.subarray(i + 1 + len);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    publishes: () => publishes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
