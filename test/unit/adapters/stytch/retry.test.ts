import { describe, expect, it } from 'vitest';
import { backoffDelayMs, parseRetryAfterMs } from '#adapters/stytch/retry.js';

const policy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 1_000, maxRetryAfterMs: 30_000 };

describe('Function: backoffDelayMs', () => {
  it.each([
    [1, 0.5, 100],
    [2, 0.5, 200],
    [3, 0.5, 400],
    [4, 0.5, 500],
    [9, 0.999, 999],
    [1, 0, 0],
  ])('returns the full-jitter delay for attempt %i and random %d', (attempt, random, expected) => {
    // Act
    const delay = backoffDelayMs(attempt, policy, () => random);

    // Assess
    expect(delay).toBe(expected);
  });
});

describe('Function: parseRetryAfterMs', () => {
  const now = Date.UTC(2030, 0, 1);

  it.each([
    ['delta-seconds', '5', 5_000],
    ['an array, using the first value', ['2', '9'], 2_000],
    ['an HTTP-date', new Date(now + 4_000).toUTCString(), 4_000],
    ['a past HTTP-date as 0', new Date(now - 4_000).toUTCString(), 0],
    ['a missing header as null', undefined, null],
    ['an empty header as null', ' ', null],
    ['garbage as null', 'soon', null],
    ['a negative number as null', '-3', null],
  ] as const)('parses %s', (_label, header, expected) => {
    // Act
    const result = parseRetryAfterMs(header as string | string[] | undefined, now);

    // Assess
    expect(result).toBe(expected);
  });
});
