import { describe, expect, it } from 'vitest';
import {
  CLIENT_AUTH_REFUSAL_ERRORS,
  isClientAuthRefusal,
  StytchApiError,
  StytchRateLimitedError,
} from '#adapters/stytch/index.js';

describe('Function: isClientAuthRefusal', () => {
  it('names exactly the four OAuth refusal values', () => {
    // Assess
    expect([...CLIENT_AUTH_REFUSAL_ERRORS].sort()).toEqual([
      'access_denied',
      'invalid_client',
      'invalid_grant',
      'unauthorized_client',
    ]);
  });

  it.each(
    [...CLIENT_AUTH_REFUSAL_ERRORS].flatMap((error) => [
      [400, error],
      [401, error],
    ]),
  )('counts HTTP %i %s as a refusal', (status, error) => {
    // Act
    const refused = isClientAuthRefusal(status, error);

    // Assess
    expect(refused).toBe(true);
  });

  it.each([
    [429, 'too_many_requests'],
    [429, 'invalid_client'],
    [500, 'invalid_client'],
    [503, 'server_unavailable'],
    [403, 'access_denied'],
    [0, 'invalid_client'],
    [400, 'invalid_scope'],
    [400, 'invalid_request'],
    [400, 'unsupported_grant_type'],
    [400, 'INVALID_CLIENT'],
    [400, undefined],
    [401, null],
  ])('does not count HTTP %i %s as a refusal', (status, error) => {
    // Act
    const refused = isClientAuthRefusal(status, error);

    // Assess
    expect(refused).toBe(false);
  });
});

describe('Class: StytchRateLimitedError', () => {
  const details = {
    route: 'POST /v1/public/{project_id}/oauth2/token',
    statusCode: 429,
    errorType: 'too_many_requests',
    requestId: null,
    errorMessage: 'Too many requests have been made.',
    retryAfterMs: null,
  };

  it('is retryable and throttled, with throttled non-enumerable and read-only', () => {
    // Act
    const error = new StytchRateLimitedError(details);

    // Assess
    expect(error.retryable).toBe(true);
    expect(error.throttled).toBe(true);
    expect(Object.keys(error)).not.toContain('throttled');
    expect(JSON.stringify(error)).not.toContain('throttled');
    expect(() => {
      (error as { throttled: boolean }).throttled = false;
    }).toThrow(TypeError);
  });

  it('is the only Stytch API error that is throttled', () => {
    // Act
    const serverError = new StytchApiError({ ...details, statusCode: 503, errorType: 'server_unavailable' });

    // Assess
    expect((serverError as { throttled?: boolean }).throttled).toBeUndefined();
    expect(serverError.retryable).toBe(true);
  });
});
