import { describeValue } from '@lepton/core';
import type { SurveillanceConfig } from '../config/config.js';
import { resolveServiceConfig } from '../config/service.js';
import { localModelHandler } from '../detect/model-io.js';
import { connectPublisher } from '../pipeline/mqtt.js';
import { probeSource, type ProbeResult } from '../service/probe.js';
import { redactCredentials } from '../video/redact.js';

/**
 * What `check` needs besides the configuration.
 * @internal
 */
export interface CheckOptions {
  /** Per-input timeout, ms. */
  timeoutMs: number;
  /** Environment (API token, ffprobe). */
  env: Record<string, string | undefined>;
  /** Standard output. */
  out: (text: string) => void;
  /** A line on standard error. */
  say: (line: string) => void;
  /** Cameras in the whole file (the selection may hold fewer). */
  total: number;
}

/** At most this many inputs are probed at once (each is an ffprobe process). */
const PARALLEL = 4;

function describe(r: ProbeResult): string {
  if (!r.ok) return r.error ?? 'unreadable';
  const size = r.width !== undefined && r.height !== undefined ? ` ${r.width}x${r.height}` : '';
  const fps = r.fps === undefined ? '' : ` ${r.fps} fps`;
  return r.codec === undefined ? 'a frame decoded' : `${r.codec}${size}${fps}`;
}

/**
 * `lepton-surveillance check`: the configuration is already valid (loadConfig); checks the service settings, reads the
 * files of a detector model of your own, probes every selected camera's input and record stream, and connects to the
 * MQTT broker. One line per check on stdout;
 * credentials never appear.
 *
 * @returns 0 when everything passed, 1 otherwise
 * @internal
 */
export async function runCheck(config: SurveillanceConfig, o: CheckOptions): Promise<number> {
  const failing = new Set<string>();
  o.out(`config ok: ${config.cameras.length} of ${o.total} camera(s) selected\n`);
  try {
    resolveServiceConfig(config, { env: o.env });
    o.out('service settings ok\n');
  } catch (err) {
    o.out(`FAIL  service settings: ${redactCredentials(err instanceof Error ? err.message.replace(/\n- /g, '; ') : describeValue(err))}\n`);
    failing.add('(service settings)');
  }
  // A model of your own: its files read as the detector reads them (model.json, every weight file at its listed size).
  const model = config.detector.model;
  if (typeof model === 'object') {
    try {
      const handler = localModelHandler(model.path);
      if (handler.load === undefined) throw new Error(`no loader for ${model.path}`); // never: localModelHandler has load()
      const artifacts = await handler.load();
      o.out(`ok    model ${model.path}: ${artifacts.weightSpecs?.length ?? 0} weight tensors, ${model.labels.length} labels, decode ${model.decode}\n`);
    } catch (err) {
      o.out(`FAIL  model: ${err instanceof Error ? err.message : describeValue(err)}\n`);
      failing.add('(model)');
    }
  }
  const jobs = config.cameras.flatMap((cam) => {
    const inputs = [{ camera: cam.name, kind: 'input', input: cam.input }];
    if (cam.record !== undefined && cam.record !== cam.input) inputs.push({ camera: cam.name, kind: 'record', input: cam.record });
    return inputs.map((j) => ({ ...j, inputOptions: cam.inputOptions ?? [] }));
  });
  const results: Array<ProbeResult | undefined> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, jobs.length) }, async () => {
      while (next < jobs.length) {
        const k = next++;
        const j = jobs[k]!;
        results[k] = await probeSource(j.input, { timeoutMs: o.timeoutMs, inputOptions: j.inputOptions, env: o.env }).catch((err: unknown) => ({
          input: redactCredentials(j.input),
          ok: false,
          error: redactCredentials(err instanceof Error ? err.message : describeValue(err)),
          tool: 'ffmpeg' as const,
          ms: 0,
        }));
      }
    }),
  );
  jobs.forEach((j, k) => {
    const r = results[k]!;
    if (!r.ok) failing.add(j.camera);
    o.out(`${r.ok ? 'ok  ' : 'FAIL'}  ${j.camera} ${j.kind} ${r.input}: ${describe(r)}\n`);
  });
  if (config.mqtt !== undefined) {
    try {
      const p = await connectPublisher(config.mqtt);
      await p.close();
      o.out(`ok    mqtt ${redactCredentials(config.mqtt.url)}\n`);
    } catch (err) {
      o.out(`FAIL  mqtt: ${redactCredentials(err instanceof Error ? err.message : describeValue(err))}\n`);
      failing.add('(mqtt)');
    }
  }
  if (failing.size === 0) return 0;
  o.say(`check failed: ${[...failing].join(', ')}`);
  return 1;
}
