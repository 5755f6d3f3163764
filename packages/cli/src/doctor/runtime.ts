import { createRequire } from 'node:module';
import { describeValue, initRuntime, isLeptonError, registeredBackendLoaders, resolveRuntimeOptions, type BackendAttempt, type RuntimeOptions } from '@lepton/core';
import { firstLine } from '../internal/errors.js';
import type { BackendStatus, RuntimeSection } from './types.js';

/**
 * The package behind each built-in backend, looked up from `@lepton/core` (for tensorflow and webgpu, optional peer
 * dependencies of core that the application installs).
 */
const PACKAGES: Readonly<Record<string, readonly string[]>> = {
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
  webgpu: ['webgpu', '@tensorflow/tfjs-backend-webgpu'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
};

/** Where to read more when core's reason carries no fix of its own. */
const FALLBACK_FIX: Readonly<Record<string, string>> = {
  tensorflow: 'optional, for native CUDA: npm install @tensorflow/tfjs-node-gpu and let its install script run, see @lepton/core/docs/backends.md#tensorflow',
  webgpu: 'see @lepton/core/docs/backends.md#webgpu',
  wasm: 'reinstall @lepton/core (it depends on @tensorflow/tfjs-backend-wasm)',
};

/** A require that resolves as `@lepton/core` does, so the doctor sees the optional packages core would load. */
function coreRequire(): NodeJS.Require {
  const here = createRequire(import.meta.url);
  try {
    return createRequire(here.resolve('@lepton/core/package.json'));
  } catch {
    return here;
  }
}

/** Whether any of a backend's packages resolves from core (undefined for a backend Lepton does not know). */
export function backendInstalled(name: string): boolean | undefined {
  const pkgs = PACKAGES[name];
  if (pkgs === undefined) return undefined;
  const req = coreRequire();
  const found = (p: string): boolean => {
    try {
      req.resolve(`${p}/package.json`);
      return true;
    } catch {
      try {
        req.resolve(p);
        return true;
      } catch {
        return false;
      }
    }
  };
  // webgpu needs both Dawn and TF.js' WebGPU backend; the others need any one of theirs.
  return name === 'webgpu' ? pkgs.every(found) : pkgs.some(found);
}

/**
 * Splits core's reason into what is wrong and what to do. Core writes the fix into the same text, after `Fix:` (or
 * `Fix (optional, …):`) or as the sentence after the first full stop (`… no WebGPU adapter. Install the GPU driver …`).
 */
export function splitFix(name: string, text: string): { reason: string; fix?: string } {
  const marked = /^([\s\S]*?)[.;]?\s+Fix(?: \(([^)]*)\))?:\s*([\s\S]+)$/.exec(text);
  if (marked) return { reason: marked[1]!, fix: marked[2] ? `${marked[2]}: ${marked[3]!}` : marked[3]! };
  const sentence = /^([\s\S]*?)\.\s+((?:Install|Force|Reinstall|Use|Set|Run)\b[\s\S]+)$/.exec(text);
  if (sentence) return { reason: sentence[1]!, fix: sentence[2]! };
  const fallback = FALLBACK_FIX[name];
  return fallback === undefined ? { reason: text } : { reason: text, fix: fallback };
}

/** Runs `initRuntime()` as an application would and explains the outcome, backend by backend. */
export async function runtimeSection(
  backend: RuntimeOptions['backend'],
  env: Record<string, string | undefined>,
): Promise<{ runtime: RuntimeSection; backends: BackendStatus[] }> {
  const options: RuntimeOptions = backend === undefined ? {} : { backend };
  // A JavaScript caller of doctor() may pass anything: the report (and the lines built from it) hold text only.
  let preference: string = backend === undefined ? 'auto' : typeof backend === 'string' ? backend : describeValue(backend);
  let preferenceSource: RuntimeSection['preferenceSource'] = backend === undefined ? 'default' : 'option';
  try {
    const resolved = resolveRuntimeOptions(options, env);
    preference = resolved.backend;
    preferenceSource = resolved.backendSource;
  } catch {
    // an unknown LEPTON_BACKEND: initRuntime below reports it as the runtime error
  }
  let attempts: BackendAttempt[] = [];
  let runtime: RuntimeSection;
  try {
    const info = await initRuntime(options, env);
    attempts = info.attempts;
    runtime = { ok: true, preference, preferenceSource, backend: info.backend, device: info.device, threads: info.threads, tfjsVersion: info.tfjsVersion };
  } catch (err) {
    const code = isLeptonError(err) ? err.code : 'BACKEND_UNAVAILABLE';
    if (isLeptonError(err) && Array.isArray(err.details['attempts'])) attempts = err.details['attempts'] as BackendAttempt[];
    runtime = { ok: false, preference, preferenceSource, error: { code, message: firstLine(err) } };
  }
  const forced = preference === 'auto' ? undefined : preferenceSource === 'env' ? `LEPTON_BACKEND=${preference}` : `--backend ${preference}`;
  const names = [...new Set([...registeredBackendLoaders(), ...attempts.map((a) => a.backend)])];
  const backends = names.map((name): BackendStatus => {
    const attempt = attempts.find((a) => a.backend === name);
    const installed = backendInstalled(name);
    const status: BackendStatus = attempt?.ok
      ? { name, status: 'selected' }
      : attempt !== undefined
        ? { name, status: 'skipped', ...splitFix(name, attempt.reason ?? 'failed') }
        : {
            name,
            status: 'not-tried',
            reason: forced !== undefined ? `${forced} forces ${preference}` : `${runtime.backend ?? 'a faster backend'} was chosen first`,
          };
    if (installed !== undefined) status.installed = installed;
    return status;
  });
  return { runtime, backends };
}
