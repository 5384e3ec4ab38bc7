import { describe, expect, it } from 'vitest';
import { ApiError } from '#sandbox/stytch-emulator/errors.js';
import { checkMetadata, mergeMetadata } from '#sandbox/stytch-emulator/metadata.js';

describe('Function: mergeMetadata', () => {
  it('merges at the top level, deletes null keys and replaces nested values', () => {
    // Prepare
    const current = { team: 'payments', tags: ['a', 'b'], nested: { x: 1, y: 2 }, drop: true };

    // Act
    const merged = mergeMetadata(current, { tags: ['c'], nested: { z: 3 }, drop: null, added: 1 });

    // Assess
    expect(merged).toEqual({ team: 'payments', tags: ['c'], nested: { z: 3 }, added: 1 });
    expect(current.drop).toBe(true);
  });

  it('refuses more than 20 keys and more than 4 KB', () => {
    // Prepare
    const manyKeys = Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`k${index}`, index]));

    // Assess
    expect(() => mergeMetadata({}, manyKeys)).toThrow(ApiError);
    expect(() => checkMetadata({ big: 'x'.repeat(5000) })).toThrow(/4096 bytes/);
  });
});
