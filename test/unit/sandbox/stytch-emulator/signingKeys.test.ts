import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { SigningKeyRing } from '#sandbox/stytch-emulator/signingKeys.js';

const ring = (): SigningKeyRing => new SigningKeyRing(() => `jwk-test-${randomUUID()}`);

const claims = {
  sub: 'm2m-client-test-1',
  iss: 'stytch.com/project-test-1',
  aud: ['project-test-1'],
  scope: 'read:users write:users',
  iat: 4_102_473_300,
  nbf: 4_102_473_300,
  exp: 4_102_476_900,
};

describe('Class: SigningKeyRing', () => {
  it('signs RS256 JWTs with typ JWT and a kid, verifiable against its JWKS, with exactly the standard claims', async () => {
    // Prepare
    const keys = ring();

    // Act
    const token = await keys.sign(claims);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: keys.jwks() }), {
      currentDate: new Date(claims.iat * 1000),
      audience: 'project-test-1',
      issuer: 'stytch.com/project-test-1',
      typ: 'JWT',
    });

    // Assess
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: keys.currentKid });
    expect(payload).toEqual(claims);
    expect(payload).not.toHaveProperty('jti');
  });

  it('serves JWKS entries with Stytch fields and no private parts', () => {
    // Act
    const [jwk] = ring().jwks();

    // Assess
    expect(Object.keys(jwk ?? {}).sort()).toEqual(['alg', 'e', 'key_ops', 'kid', 'kty', 'n', 'use']);
    expect(jwk).toMatchObject({ kty: 'RSA', use: 'sig', key_ops: ['verify'], alg: 'RS256', e: 'AQAB' });
  });

  it('signs with the new key after a rotation and keeps the old key in the JWKS', async () => {
    // Prepare
    const keys = ring();
    const oldKid = keys.currentKid;
    const oldToken = await keys.sign(claims);

    // Act
    const { kid } = keys.rotate();
    const newToken = await keys.sign(claims);

    // Assess
    expect(decodeProtectedHeader(newToken).kid).toBe(kid);
    expect(keys.jwks().map((jwk) => jwk.kid)).toEqual([oldKid, kid]);
    const jwks = createLocalJWKSet({ keys: keys.jwks() });
    await expect(
      jwtVerify(oldToken, jwks, { currentDate: new Date(claims.iat * 1000) }),
    ).resolves.toBeDefined();
  });

  it('drops older keys from the JWKS when retiring them', async () => {
    // Prepare
    const keys = ring();
    const oldToken = await keys.sign(claims);

    // Act
    const { kid } = keys.rotate({ retirePrevious: true });

    // Assess
    expect(keys.jwks().map((jwk) => jwk.kid)).toEqual([kid]);
    const jwks = createLocalJWKSet({ keys: keys.jwks() });
    await expect(jwtVerify(oldToken, jwks, { currentDate: new Date(claims.iat * 1000) })).rejects.toThrow();
  });
});
