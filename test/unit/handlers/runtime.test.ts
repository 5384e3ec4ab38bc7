import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import { EnvironmentError, readRotatorEnv } from '#handlers/runtime/env.js';
import { TRANSIENT_ERROR_NAME, toLambdaError } from '#handlers/runtime/lambdaError.js';

const GOOD_ENV = {
  ROTATOR_TABLE_NAME: 'ledger',
  ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
  ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbCdEf',
  ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fp-AbCdEf',
  ROTATOR_CLIENTS: JSON.stringify({
    'm2m-client-test-1': { kind: 'm2m', policy: { expectedConsumers: ['api'] } },
  }),
};

describe('Function: readRotatorEnv', () => {
  it('reads and validates the environment, with defaults', () => {
    // Act
    const env = readRotatorEnv(GOOD_ENV);

    // Assess
    expect(env.ROTATOR_SECRET_PREFIX).toBe('stytch/m2m');
    expect(env.ROTATOR_CLIENTS['m2m-client-test-1']?.policy.expectedConsumers).toEqual(['api']);
    expect(env.ROTATOR_STYTCH_BASE_URL).toBeUndefined();
  });

  it('names every missing or malformed variable at once', () => {
    // Act
    let error: unknown;
    try {
      readRotatorEnv({ ROTATOR_CLIENTS: '{not json', ROTATOR_STYTCH_BASE_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues.join('\n');
    expect(issues).toMatch(/ROTATOR_TABLE_NAME/);
    expect(issues).toMatch(/ROTATOR_EVENT_BUS_NAME/);
    expect(issues).toMatch(/ROTATOR_STYTCH_CREDENTIALS_SECRET_ID/);
    expect(issues).toMatch(/ROTATOR_CLIENTS: is not valid JSON/);
    expect(issues).toMatch(/ROTATOR_STYTCH_BASE_URL/);
  });

  it('rejects a client entry with an unknown kind or policy key', () => {
    // Prepare
    const env = {
      ...GOOD_ENV,
      ROTATOR_CLIENTS: JSON.stringify({ c1: { kind: 'saml', policy: { weekly: {} } } }),
    };

    // Act & Assess
    expect(() => readRotatorEnv(env)).toThrow(/ROTATOR_CLIENTS\.c1\.kind[\s\S]*weekly/);
  });
});

describe('Function: toLambdaError', () => {
  it('reports a retryable error under the one name the state machine retries, keeping the original', () => {
    // Prepare
    const original = new RotatorError('Stytch answered 503', { retryable: true });
    original.name = 'StytchApiError';

    // Act
    const mapped = toLambdaError(original);

    // Assess
    expect(mapped.name).toBe(TRANSIENT_ERROR_NAME);
    expect(mapped.message).toBe('StytchApiError: Stytch answered 503');
    expect(mapped.cause).toBe(original);
  });

  it('keeps a permanent error as it is, so Catch can match its name', () => {
    // Prepare
    const original = new RotatorError('Stytch answered 404');
    original.name = 'StytchApiError';

    // Act & Assess
    expect(toLambdaError(original)).toBe(original);
  });

  it('treats an unknown error as permanent and wraps a non-Error', () => {
    expect(toLambdaError(new TypeError('x')).name).toBe('TypeError');
    expect(toLambdaError('boom')).toBeInstanceOf(RotatorError);
  });
});
