import { createServer, type Server, type ServerResponse } from 'node:http';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, isLeptonError, tf } from '@lepton/core';
import {
  addGaussianNoise,
  createIdentityKeys,
  decodeWeights,
  encodeMasked,
  encodeWeights,
  FederatedCoordinator,
  FederatedPartner,
  gaussianNoiseStd,
  maskClipLimit,
  privatizeUpdate,
  RdpAccountant,
  rdpSampledGaussian,
  readWeights,
  signStatement,
  specsEqual,
  specsSize,
  unmaskSum,
  WEIGHTS_MAGIC,
  type CoordinatorOptions,
  type FederatedLogger,
  type WeightSet,
} from '@lepton/federated';
import { ADMIN, call, partnerData, smallModel, stateDir, tokenOf } from './support/federated.js';

// Findings of the hostile review (probes in /tmp/hostile-fed): each test failed before its fix.

/** What a call threw: 'LeptonError CODE', another error's class name, or 'ok'. */
function outcomeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    return isLeptonError(err) ? `LeptonError ${err.code}` : `${(err as Error)?.constructor?.name ?? typeof err}`;
  }
}

async function outcomeAsync(f: () => Promise<unknown>): Promise<{ what: string; err: unknown }> {
  try {
    await f();
    return { what: 'ok', err: null };
  } catch (err) {
    return { what: isLeptonError(err) ? `LeptonError ${err.code}` : `${(err as Error)?.constructor?.name ?? typeof err}`, err };
  }
}

let weights: WeightSet;
beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
  weights = await readWeights(smallModel());
});

const quiet: FederatedLogger = { info() {}, warn() {}, error() {} };

function coordinatorOptions(dir: string, over: Partial<CoordinatorOptions> = {}): CoordinatorOptions {
  return {
    initialWeights: weights,
    partners: [
      { id: 'A', token: tokenOf('A') },
      { id: 'B', token: tokenOf('B') },
    ],
    adminToken: ADMIN,
    rounds: 2,
    quorum: 2,
    roundDeadlineMs: 60_000,
    stateDir: dir,
    logger: quiet,
    ...over,
  };
}

describe('1–2. loadState checks every field of state.json at start()', () => {
  let dir: string;
  let state: Record<string, any>;
  beforeAll(async () => {
    dir = await stateDir();
    const c = await FederatedCoordinator.start(coordinatorOptions(dir));
    await c.close();
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Record<string, any>;
  });

  const cases: [string, (s: Record<string, any>) => void, RegExp][] = [
    ['failures that is not an array', (s) => (s['failures'] = {}), /failures/],
    ['a failure of the wrong shape', (s) => (s['failures'] = [{ round: 'x' }]), /failures\[0\]/],
    ['history: [null]', (s) => ((s['completedRounds'] = 1), (s['history'] = [null])), /history\[0\]/],
    ['baseline: 5', (s) => (s['baseline'] = 5), /baseline/],
    ['baseline with a non-number metric', (s) => (s['baseline'] = { A: { auc: 'high' } }), /baseline/],
    ['federationId: 42', (s) => (s['federationId'] = 42), /federationId/],
    ['current.bytes: "many"', (s) => (s['current'].bytes = 'many'), /current\.bytes/],
    ['totalRounds: null', (s) => (s['totalRounds'] = null), /totalRounds/],
  ];
  it.each(cases)('%s → FEDERATED_STATE_INVALID naming the field, not its value', async (_, edit, field) => {
    const s = structuredClone(state);
    edit(s);
    await writeFile(join(dir, 'state.json'), JSON.stringify(s));
    const { what, err } = await outcomeAsync(() => FederatedCoordinator.start(coordinatorOptions(dir)));
    expect(what).toBe('LeptonError FEDERATED_STATE_INVALID');
    expect((err as Error).message).toMatch(field);
    expect((err as Error).message).not.toMatch(/\b42\b|many|high/);
  });

  it.each([
    ['a path that leaves the state directory', async (d: string, s: Record<string, any>) => {
      const outside = await mkdtemp(join(tmpdir(), 'lepton-fed-outside-'));
      await copyFile(join(d, s['current'].file as string), join(outside, 'evil.lpw'));
      s['current'].file = join('..', basename(outside), 'evil.lpw');
    }],
    ['an absolute path', async (d: string, s: Record<string, any>) => {
      s['current'].file = join(d, s['current'].file as string);
    }],
  ])('current.file: %s → FEDERATED_STATE_INVALID (the file is never read)', async (_, edit) => {
    const s = structuredClone(state);
    await edit(dir, s);
    await writeFile(join(dir, 'state.json'), JSON.stringify(s));
    const { what, err } = await outcomeAsync(() => FederatedCoordinator.start(coordinatorOptions(dir)));
    expect(what).toBe('LeptonError FEDERATED_STATE_INVALID');
    expect((err as Error).message).toMatch(/current\.file/);
  });

  it('an untouched state still starts', async () => {
    await writeFile(join(dir, 'state.json'), JSON.stringify(state));
    const c = await FederatedCoordinator.start(coordinatorOptions(dir));
    expect(typeof c.status().federationId).toBe('string');
    await c.close();
  });
});

describe('3–4. the partner: no credentials in the URL, bounded answers', () => {
  const model = smallModel(3);
  const data = partnerData(1, 16, 1);
  afterAll(() => tf.dispose([data.x, data.y]));
  const make = (url: string, over: Record<string, unknown> = {}, lines: string[] = []): FederatedPartner =>
    new FederatedPartner({
      url,
      id: 'A',
      token: tokenOf('A'),
      model,
      trainData: data,
      retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2, timeoutMs: 5000 },
      logger: { info() {}, warn: (...a: unknown[]) => lines.push(JSON.stringify(a)), error: (...a: unknown[]) => lines.push(JSON.stringify(a)) },
      ...over,
    });

  it('refuses a url with user:password@ at construction, without quoting the password', () => {
    for (const url of ['http://admin:hunter2-SECRET@127.0.0.1:9/', 'http://hunter2-SECRET@127.0.0.1:9']) {
      let err: unknown;
      try {
        make(url);
      } catch (e) {
        err = e;
      }
      expect(isLeptonError(err, 'INVALID_ARGUMENT'), url).toBe(true);
      expect((err as Error).message).toMatch(/credentials/);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('never logs or throws fetch’s raw error message (it may quote the URL)', async () => {
    const lines: string[] = [];
    const leaky: typeof fetch = async () => {
      throw new TypeError('fetch failed for http://someone:LEAKED-SECRET@127.0.0.1:9/v1/round');
    };
    const { what, err } = await outcomeAsync(() => make('http://127.0.0.1:9', { fetch: leaky }, lines).run());
    expect(what).toBe('LeptonError FEDERATED_UNREACHABLE');
    expect((err as Error).message).not.toContain('LEAKED');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('LEAKED');
  });

  describe('a coordinator that answers with huge bodies', () => {
    let server: Server;
    let url: string;
    let sent = 0;
    const CHUNK = Buffer.alloc(1 << 20, 0x61);
    /** Streams up to 256 MiB, stopping when the partner hangs up. */
    const flood = (res: ServerResponse, prefix: string): void => {
      res.write(prefix);
      const more = (): void => {
        while (sent < 256 * CHUNK.length && !res.destroyed) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    };
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url?.startsWith('/error/')) {
          res.writeHead(403, { 'content-type': 'application/json' });
          return flood(res, '{"code":"FEDERATED_FORBIDDEN","message":"');
        }
        if (req.url?.startsWith('/json/')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return flood(res, '{"phase":"');
        }
        if (req.url?.startsWith('/bytes/')) {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return flood(res, WEIGHTS_MAGIC);
        }
        res.writeHead(404);
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it.each(['error', 'json'])('a %s answer is refused with FEDERATED_BAD_RESPONSE without reading it all', async (kind) => {
      sent = 0;
      const { what, err } = await outcomeAsync(() => make(`${url}/${kind}`).run());
      // A 4xx body is read only up to its bound (64 KiB), then dropped: the refusal keeps its status, not the flood.
      expect(what).toBe(kind === 'error' ? 'LeptonError FEDERATED_BAD_REQUEST' : 'LeptonError FEDERATED_BAD_RESPONSE');
      expect((err as Error).message.length).toBeLessThan(400);
      expect(sent).toBeLessThan(64 * CHUNK.length);
    });

    it('the global weights are bounded by the size the model’s specs imply', async () => {
      // A round info pointing at nothing unusual, then a global-weights answer far larger than the model.
      const n = specsSize(weights.specs);
      const info = {
        session: 's', stateVersion: 1, phase: 'training', round: 1, attempt: 1, totalRounds: 1, completedRounds: 0, quorum: 1, partners: 1,
        specs: weights.specs, deadlineAt: null, algorithm: 'fedavg', mu: 0, secureAggregation: false, masking: null, federationId: 'f', roundId: null,
        participants: null, survivors: null, dropped: null, confirmations: null, totalSamples: null, dp: null, failure: null,
        you: { id: 'A', fetched: false, keySubmitted: false, submitted: false, participant: false, survivor: false, confirmed: false, revealed: false },
      };
      const fake: typeof fetch = async (input, init) => {
        const path = new URL(String(input)).pathname;
        if (path === '/v1/round') return new Response(JSON.stringify(info), { status: 200, headers: { 'content-type': 'application/json' } });
        return fetch(`${url}/bytes${path}`, init);
      };
      sent = 0;
      const localModel = smallModel(1);
      const p = new FederatedPartner({ url, id: 'A', token: tokenOf('A'), model: localModel, trainData: data, fetch: fake, retry: { retries: 0 } });
      const { what } = await outcomeAsync(() => p.runRound());
      expect(what).toBe('LeptonError FEDERATED_BAD_RESPONSE');
      expect(sent).toBeLessThan(n * 4 + 64 * CHUNK.length);
    });
  });
});

describe('5. the rejection log is the authenticated callers’', () => {
  it('requests that fail authentication are counted, not recorded or logged; recorded texts are bounded', async () => {
    const warnings: unknown[][] = [];
    const dir = await stateDir();
    const c = await FederatedCoordinator.start(coordinatorOptions(dir, { logger: { info() {}, warn: (...a: unknown[]) => warnings.push(a), error() {} } }));
    try {
      const long = `/v1/${'x'.repeat(5000)}`;
      for (let i = 0; i < 5; i++) expect((await call(c.url, 'GET', long, { token: 'not-a-token-of-anyone' })).status).toBe(401);
      expect((await call(c.url, 'GET', long)).status).toBe(401);
      const s = c.status();
      expect(s.rejections).toEqual([]);
      expect(s.unauthenticatedRequests).toBe(6);
      expect(warnings).toEqual([]);
      // An authenticated partner's 404 is recorded, its route and message cut to 200 characters.
      expect((await call(c.url, 'GET', long, { token: tokenOf('A') })).status).toBe(404);
      const [r] = c.status().rejections;
      expect(r).toMatchObject({ code: 'FEDERATED_NOT_FOUND', partner: 'A' });
      expect(r!.route.length).toBeLessThanOrEqual(200);
      expect(r!.message.length).toBeLessThanOrEqual(200);
      expect(JSON.stringify(warnings).length).toBeLessThan(2000);
    } finally {
      await c.close();
    }
  });
});

describe('6. encodeWeights writes only what decodeWeights reads back as given', () => {
  const specs = [{ name: 'w', shape: [2] }];
  const values = (): Float32Array => new Float32Array([1, 2]);

  it('refuses NaN or infinite weights (its own decoder refuses them)', () => {
    expect(outcomeOf(() => encodeWeights({ specs, values: new Float32Array([NaN, 1]) }))).toBe('LeptonError INVALID_INPUT');
    expect(outcomeOf(() => encodeWeights({ specs, values: new Float32Array([1, Infinity]) }))).toBe('LeptonError INVALID_INPUT');
    // uint32 words have no NaN: masked payloads are unaffected
    expect(decodeWeights(encodeMasked(new Uint32Array([1, 2]), specs)).dtype).toBe('uint32');
  });

  it.each([
    ['NaN', { samples: NaN }],
    ['Infinity', { x: { y: -Infinity } }],
    ['a function', { f: () => 1 }],
    ['undefined', { u: undefined }],
    ['a BigInt', { b: 1n }],
    ['a Symbol', { s: Symbol('s') }],
    ['an array hole', { a: [1, , 3] }],
  ])('refuses meta holding %s (JSON would change or drop it)', (_, meta) => {
    expect(outcomeOf(() => encodeWeights({ specs, values: values() }, meta as Record<string, unknown>))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => encodeMasked(new Uint32Array(2), specs, meta as Record<string, unknown>))).toBe('LeptonError INVALID_ARGUMENT');
  });

  it('wraps throwing getters and proxies into INVALID_ARGUMENT', () => {
    const boom = (): never => {
      throw new RangeError('boom');
    };
    expect(outcomeOf(() => encodeWeights({ specs, values: values() }, { get x() { return boom(); } }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => encodeWeights({ specs, values: values() }, new Proxy({}, { ownKeys: boom })))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => encodeWeights({ get specs() { return boom(); }, values: values() } as unknown as WeightSet))).toBe('LeptonError INVALID_ARGUMENT');
    const shapeProxy = new Proxy([2], { get: (t, k) => (k === 'every' ? boom() : (t as unknown as Record<PropertyKey, unknown>)[k]) });
    expect(outcomeOf(() => encodeWeights({ specs: [{ name: 'w', shape: shapeProxy }], values: values() }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => specsSize([{ name: 'w', get shape() { return boom(); } }]))).toBe('LeptonError INVALID_ARGUMENT');
    expect(specsEqual([{ name: 'w', get shape() { return boom(); } }], specs)).toBe(false);
    const { privateKey } = createIdentityKeys();
    expect(outcomeOf(() => signStatement(privateKey, { get who() { return boom(); } }))).toBe('LeptonError INVALID_ARGUMENT');
  });

  it('still writes ordinary metadata', () => {
    expect(decodeWeights(encodeWeights({ specs, values: values() }, { round: 3, list: [1, 'a', null, { ok: true }] })).meta).toEqual({
      round: 3,
      list: [1, 'a', null, { ok: true }],
    });
  });
});

describe('7. privacy helpers never return non-finite numbers', () => {
  const random = (): number => 0.5;
  it('refuses noise that overflows', () => {
    expect(outcomeOf(() => privatizeUpdate(new Float32Array([1, 2, 3]), { clipNorm: 1e20, noiseMultiplier: 1e20, partners: 1, random }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => addGaussianNoise(new Float32Array([1, 2]), 1e300, () => 0.9))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => gaussianNoiseStd(1e300, 1e300, 1))).toBe('LeptonError INVALID_ARGUMENT');
    expect(Number.isFinite(gaussianNoiseStd(1, 1.1, 4))).toBe(true);
  });

  it('the RDP of a vanishing σ is Infinity (no finite guarantee, as documented), never NaN', () => {
    const r = rdpSampledGaussian(0.5, 1e-160, [2, 3]);
    expect(r.some(Number.isNaN)).toBe(false);
    expect(r).toEqual([Infinity, Infinity]);
    const acc = new RdpAccountant([2, 3]).compose({ samplingRate: 0.5, noiseMultiplier: 1e-160 });
    expect(acc.rdp().some(Number.isNaN)).toBe(false);
    expect(acc.epsilon(1e-5).epsilon).toBe(Infinity);
  });

  it('refuses a fixed-point scale so small that the unmasked sum overflows float32', () => {
    expect(outcomeOf(() => unmaskSum(new Uint32Array([1, 0xffffffff]), { scale: 1e-320, clipValue: 1 }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(outcomeOf(() => maskClipLimit(1e-320, 2))).toBe('LeptonError INVALID_ARGUMENT');
    expect(Array.from(unmaskSum(new Uint32Array([2 ** 16]), { scale: 2 ** 16, clipValue: 1 }))).toEqual([1]);
  });
});

describe('8. decodeWeights: dimensions are safe integers, as for specsSize', () => {
  /** A payload whose header JSON text is `header`. */
  function payload(header: string): Uint8Array {
    const json = new TextEncoder().encode(header);
    const out = new Uint8Array(Math.ceil((8 + json.length) / 4) * 4);
    out.set(new TextEncoder().encode(WEIGHTS_MAGIC), 0);
    new DataView(out.buffer).setUint32(4, json.length, true);
    out.set(json, 8);
    return out;
  }
  it('refuses a dimension above 2^53 with FEDERATED_BAD_UPDATE', () => {
    const bytes = payload(JSON.stringify({ specs: [{ name: 'w', shape: [2 ** 60, 0] }], dtype: 'float32', count: 0, meta: {} }));
    let err: unknown;
    try {
      decodeWeights(bytes);
    } catch (e) {
      err = e;
    }
    expect(isLeptonError(err, 'FEDERATED_BAD_UPDATE')).toBe(true);
    expect((err as Error).message).toMatch(/safe integers/);
  });
});
