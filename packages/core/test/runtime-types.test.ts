import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BACKEND_NAMES,
  initRuntime,
  isBackendName,
  registerBackendLoader,
  registeredBackendLoaders,
  runtimeInfo,
  tf,
  type BackendAttempt,
  type BackendName,
  type BackendPlan,
  type RuntimeInfo,
  type WorkerPool,
} from '@lepton/core';

describe('backend names', () => {
  it('runtimeInfo().backend and every other public backend field is the BackendName union', () => {
    expectTypeOf<RuntimeInfo['backend']>().toEqualTypeOf<BackendName>();
    expectTypeOf<BackendAttempt['backend']>().toEqualTypeOf<BackendName>();
    expectTypeOf<BackendPlan['backend']>().toEqualTypeOf<BackendName>();
    expectTypeOf<WorkerPool<unknown, unknown>['backend']>().toEqualTypeOf<BackendName>();
    expectTypeOf<BackendName>().toEqualTypeOf<'tensorflow' | 'webgpu' | 'wasm' | 'cpu'>();
    expect([...BACKEND_NAMES]).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(BACKEND_NAMES.every(isBackendName)).toBe(true);
    for (const bad of ['webgl', 'CPU', '', null, 3, {}]) expect(isBackendName(bad)).toBe(false);
  });

  it('registerBackendLoader refuses a name runtimeInfo() could not report (JavaScript callers included)', () => {
    const before = registeredBackendLoaders();
    const loader = async () => ({ ok: true, device: 'x' });
    // @ts-expect-error not a BackendName
    expect(() => registerBackendLoader('webgl', loader, 50)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('webgl') }));
    // @ts-expect-error not a function
    expect(() => registerBackendLoader('cpu', 'loader', 10)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registerBackendLoader('cpu', loader, Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(registeredBackendLoaders()).toEqual(before);
  });

  it('runtimeInfo() refuses a backend switched to outside Lepton that is not a BackendName, and recovers on initRuntime()', async () => {
    await initRuntime({ backend: 'cpu' }, {});
    // A TF.js backend Lepton does not know (a second cpu backend instance under another name), registered and
    // selected by application code directly.
    tf.registerBackend('lepton-test-foreign', tf.findBackendFactory('cpu')!, 0);
    try {
      await tf.setBackend('lepton-test-foreign');
      expect(() => runtimeInfo()).toThrow(
        expect.objectContaining({ code: 'RUNTIME_NOT_INITIALISED', message: expect.stringContaining('lepton-test-foreign') }),
      );
      const info = await initRuntime({ backend: 'cpu' }, {});
      expect(info.backend).toBe('cpu');
      expect(runtimeInfo().backend).toBe('cpu');
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('lepton-test-foreign');
    }
  });
});
