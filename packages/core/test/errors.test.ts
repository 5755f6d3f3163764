import { describe, expect, it } from 'vitest';
import { ensure, isLeptonError, LeptonError } from '@lepton/core';

describe('LeptonError', () => {
  it('carries a stable code, details and cause', () => {
    const cause = new Error('disk');
    const err = new LeptonError('BUNDLE_FILE_MISSING', 'weights.bin missing', { cause, details: { file: 'weights.bin' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('LeptonError');
    expect(err.code).toBe('BUNDLE_FILE_MISSING');
    expect(err.details).toEqual({ file: 'weights.bin' });
    expect(err.cause).toBe(cause);
  });

  it('isLeptonError narrows by code', () => {
    const err = new LeptonError('OVERLOADED', 'busy');
    expect(isLeptonError(err)).toBe(true);
    expect(isLeptonError(err, 'OVERLOADED')).toBe(true);
    expect(isLeptonError(err, 'PREDICTOR_CLOSED')).toBe(false);
    expect(isLeptonError(new Error('x'))).toBe(false);
  });

  it('ensure builds its message lazily', () => {
    let built = 0;
    const message = (): string => {
      built++;
      return 'bad';
    };
    ensure(true, 'INVALID_ARGUMENT', message);
    expect(built).toBe(0);
    expect(() => ensure(false, 'INVALID_ARGUMENT', message)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'bad' }));
    expect(built).toBe(1);
  });
});
