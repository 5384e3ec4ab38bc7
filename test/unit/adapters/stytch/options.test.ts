import { describe, expect, it } from 'vitest';
import { StytchConfigError } from '#adapters/stytch/errors.js';
import { DEFAULTS, resolveOptions } from '#adapters/stytch/options.js';
import type { StytchClientOptions } from '#adapters/stytch/types.js';
import { Secret } from '#core/secret.js';

describe('Function: resolveOptions', () => {
  it('returns the documented defaults for minimal options', () => {
    // Act
    const resolved = resolveOptions({ projectId: 'project-live-1', secret: 'shh-secret' });

    // Assess
    expect(resolved).toMatchObject({
      projectId: 'project-live-1',
      baseUrl: 'https://api.stytch.com',
      timeoutMs: 10_000,
      retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 },
      jwks: { cacheMaxAgeMs: 600_000, refetchCooldownMs: 30_000, path: 'consumer' },
      fetch: undefined,
    });
    expect(resolved.secret).toBeInstanceOf(Secret);
    expect(resolved.secret.reveal()).toBe('shh-secret');
    expect(DEFAULTS.timeoutMs).toBe(10_000);
  });

  it('throws one StytchConfigError listing every problem, naming options but not values', () => {
    // Prepare
    const options = {
      projectId: '',
      secret: new Secret(''),
      baseUrl: 'ftp://secret-looking-value',
      timeoutMs: 0,
      retry: { maxAttempts: 0, baseDelayMs: 500, maxDelayMs: 100, maxRetryAfterMs: -1 },
      jwks: { cacheMaxAgeMs: 0, refetchCooldownMs: 1.5, path: 'b2c' },
      sleep: 'soon',
    } as unknown as StytchClientOptions;

    // Act
    const error = (() => {
      try {
        resolveOptions(options);
        return undefined;
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(StytchConfigError);
    expect((error as StytchConfigError).issues).toEqual([
      'projectId must be a non-empty string',
      'secret must be a non-empty string or Secret',
      'baseUrl must use https (or http for a local emulator)',
      'timeoutMs must be a positive integer',
      'retry.maxAttempts must be an integer >= 1',
      'retry.maxRetryAfterMs must be an integer >= 0',
      'retry.maxDelayMs must be >= retry.baseDelayMs',
      'jwks.cacheMaxAgeMs must be a positive integer',
      'jwks.refetchCooldownMs must be an integer >= 0',
      "jwks.path must be 'consumer' or 'b2b'",
      'sleep must be a function',
    ]);
    expect((error as Error).message).not.toContain('secret-looking-value');
    expect((error as StytchConfigError).retryable).toBe(false);
  });
});
