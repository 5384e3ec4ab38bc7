import { describe, expect, it } from 'vitest';
import { missingScopes } from '#adapters/stytch/scopes.js';

describe('Function: missingScopes', () => {
  it.each([
    [['read:users'], ['read:users'], []],
    [['read:*'], ['read:users'], []],
    [['read:*'], ['write:users'], ['write:users']],
    [['read'], ['read:users'], ['read:users']],
    [['read:users'], ['read'], ['read']],
    [['read'], ['read'], []],
    [['*:users'], ['read:users'], ['read:users']],
    [['read:users', 'write:invoices'], ['read:users', 'write:users', 'write:invoices'], ['write:users']],
    [[], [], []],
  ])('returns the scopes of %j that do not satisfy %j', (granted, required, expected) => {
    // Act
    const missing = missingScopes(granted, required);

    // Assess
    expect(missing).toEqual(expected);
  });
});
