import { describe, expect, it } from 'vitest';
import { mayMatch } from '#sandbox/gateway/EventRouter.js';

describe('mayMatch: which route queues a PutEvents entry can reach (errs on the side of yes)', () => {
  const pattern = {
    source: ['stytch-m2m-rotator'],
    'detail-type': ['Rotation Completed'],
    detail: { trigger: ['leak'] },
  };

  it('matches on the exact source and detail-type lists, and leaves the rest of the pattern to moto', () => {
    expect(mayMatch(pattern, { source: 'stytch-m2m-rotator', detailType: 'Rotation Completed' })).toBe(true);
    expect(mayMatch(pattern, { source: 'stytch-m2m-rotator', detailType: 'Rotation Pending' })).toBe(false);
    expect(mayMatch(pattern, { source: 'someone-else', detailType: 'Rotation Completed' })).toBe(false);
    expect(mayMatch(pattern, {})).toBe(false);
  });

  it('may match whatever a field it does not constrain, or constrains with anything but exact strings, holds', () => {
    expect(mayMatch({ 'detail-type': ['Ping'] }, { source: 'any', detailType: 'Ping' })).toBe(true);
    expect(mayMatch({ source: [{ prefix: 'stytch-m2m-rotator.consumer.' }] }, { source: 'x' })).toBe(true);
    expect(mayMatch({ source: ['a', { 'anything-but': 'b' }] }, { source: 'c' })).toBe(true);
    expect(mayMatch({}, {})).toBe(true);
  });
});
