import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StytchApiError, StytchTokenVerificationError } from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import type { StytchClientOptions } from '#adapters/stytch/types.js';
import { Secret } from '#core/secret.js';
import { FakeStytch, recordingSleep, stytchError } from './fakeStytch.js';

const PROJECT_ID = 'project-test-verify';
const START = Date.UTC(2030, 0, 1, 0, 0, 0);

interface SigningKey {
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

describe('Class: TokenVerifier', () => {
  let keyA: SigningKey;
  let keyB: SigningKey;
  let fake: FakeStytch;
  let stytch: StytchClient;
  let nowMs: number;
  let served: JWK[];

  beforeAll(async () => {
    keyA = await signingKey('jwk-test-a');
    keyB = await signingKey('jwk-test-b');
  });

  function client(overrides: Partial<StytchClientOptions> = {}): StytchClient {
    return new StytchClient({
      projectId: PROJECT_ID,
      secret: 'project-secret',
      baseUrl: fake.url,
      now: () => nowMs,
      sleep: recordingSleep().sleep,
      jwks: { cacheMaxAgeMs: 600_000, refetchCooldownMs: 30_000 },
      ...overrides,
    });
  }

  beforeEach(async () => {
    nowMs = START;
    served = [keyA.jwk];
    fake = await FakeStytch.start();
    fake.respond(() => ({ json: { keys: served, request_id: 'r', status_code: 200 } }));
    stytch = client();
  });

  afterEach(async () => {
    await stytch.close();
    await fake.stop();
  });

  const jwksRequests = () => fake.requests.filter((r) => r.url.includes('/jwks/'));

  interface TokenSpec {
    readonly key?: SigningKey;
    readonly kid?: string;
    readonly header?: Record<string, unknown>;
    readonly claims?: Record<string, unknown>;
    readonly iatOffset?: number;
  }

  async function token(spec: TokenSpec = {}): Promise<string> {
    const key = spec.key ?? keyA;
    const iat = Math.floor(nowMs / 1000) + (spec.iatOffset ?? 0);
    return new SignJWT({
      sub: 'm2m-client-test-1',
      iss: `stytch.com/${PROJECT_ID}`,
      aud: [PROJECT_ID],
      scope: 'read:users write:*',
      iat,
      nbf: iat,
      exp: iat + 3600,
      ...spec.claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: spec.kid ?? key.kid, ...spec.header })
      .sign(key.privateKey);
  }

  async function reason(promise: Promise<unknown>): Promise<string> {
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StytchTokenVerificationError);
    expect((error as StytchTokenVerificationError).retryable).toBe(false);
    return (error as StytchTokenVerificationError).reason;
  }

  it('returns the claims of a valid token, fetching the JWKS without credentials', async () => {
    // Prepare
    const jwt = await token({ claims: { jti: 'j1', tenant: 'acme' } });

    // Act
    const verified = await stytch.verifyToken(new Secret(jwt), {
      requiredScopes: ['read:users', 'write:invoices'],
    });

    // Assess
    expect(verified).toEqual({
      clientId: 'm2m-client-test-1',
      scopes: ['read:users', 'write:*'],
      issuedAt: new Date(START),
      notBefore: new Date(START),
      expiresAt: new Date(START + 3_600_000),
      customClaims: { tenant: 'acme' },
    });
    expect(jwksRequests()).toHaveLength(1);
    expect(jwksRequests()[0]).toMatchObject({ method: 'GET', url: `/v1/sessions/jwks/${PROJECT_ID}` });
    expect(jwksRequests()[0]?.headers.authorization).toBeUndefined();
  });

  it('returns claims from the cache for later tokens, without fetching again', async () => {
    // Act
    await stytch.verifyToken(await token());
    nowMs += 60_000;
    await stytch.verifyToken(await token());

    // Assess
    expect(jwksRequests()).toHaveLength(1);
  });

  it('fetches the JWKS once for concurrent first verifications', async () => {
    // Prepare
    const jwts = await Promise.all([token(), token(), token()]);

    // Act
    await Promise.all(jwts.map((jwt) => stytch.verifyToken(jwt)));

    // Assess
    expect(jwksRequests()).toHaveLength(1);
  });

  it('fetches the JWKS again once the cache is older than cacheMaxAgeMs', async () => {
    // Prepare
    await stytch.verifyToken(await token());
    nowMs += 600_000;

    // Act
    await stytch.verifyToken(await token());

    // Assess
    expect(jwksRequests()).toHaveLength(2);
  });

  it('uses the b2b JWKS path when configured', async () => {
    // Prepare
    stytch = client({ jwks: { path: 'b2b' } });

    // Act
    await stytch.verifyToken(await token());

    // Assess
    expect(jwksRequests()[0]?.url).toBe(`/v1/b2b/sessions/jwks/${PROJECT_ID}`);
  });

  it('accepts the base URL as issuer (custom domains)', async () => {
    // Act
    const verified = await stytch.verifyToken(await token({ claims: { iss: fake.url } }));

    // Assess
    expect(verified.clientId).toBe('m2m-client-test-1');
  });

  it.each([
    ['an expired token', { iatOffset: -3601 }, 'expired'],
    ['a token not yet valid', { claims: { nbf: Math.floor(START / 1000) + 60 } }, 'invalid_claims'],
    ['a wrong audience', { claims: { aud: ['project-test-other'] } }, 'invalid_claims'],
    ['a wrong issuer', { claims: { iss: 'stytch.com/project-test-other' } }, 'invalid_claims'],
    ['a missing typ', { header: { typ: undefined } }, 'invalid_claims'],
    ['a missing sub', { claims: { sub: undefined } }, 'invalid_claims'],
    ['a non-string scope', { claims: { scope: ['read:users'] } }, 'invalid_claims'],
  ] as const)('throws for %s', async (_label, spec, expected) => {
    // Prepare
    const jwt = await token(spec as TokenSpec);

    // Act & Assess
    expect(await reason(stytch.verifyToken(jwt))).toBe(expected);
  });

  it('throws invalid_signature for a token signed by another key under a known kid', async () => {
    // Prepare
    const jwt = await token({ key: keyB, kid: keyA.kid });

    // Act & Assess
    expect(await reason(stytch.verifyToken(jwt))).toBe('invalid_signature');
  });

  it('accepts a slightly expired token within clockToleranceSeconds', async () => {
    // Prepare
    const jwt = await token({ iatOffset: -3605 });

    // Act
    const verified = await stytch.verifyToken(jwt, { clockToleranceSeconds: 10 });

    // Assess
    expect(verified.clientId).toBe('m2m-client-test-1');
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['an empty string', ''],
  ])('throws malformed for %s', async (_label, jwt) => {
    // Act & Assess
    expect(await reason(stytch.verifyToken(jwt))).toBe('malformed');
  });

  it('throws malformed for an HS256 token (only RS256 is accepted)', async () => {
    // Prepare
    const jwt = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keyA.kid })
      .sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef'));

    // Act & Assess
    expect(await reason(stytch.verifyToken(jwt))).toBe('malformed');
  });

  it('throws missing_scopes naming the scopes, honouring action:* grants', async () => {
    // Prepare
    const jwt = await token();

    // Act
    const ok = await stytch.verifyToken(jwt, { requiredScopes: ['write:anything'] });
    const error = await stytch
      .verifyToken(jwt, { requiredScopes: ['read:invoices', 'read'] })
      .catch((e: unknown) => e);

    // Assess
    expect(ok.scopes).toEqual(['read:users', 'write:*']);
    expect(error).toMatchObject({ reason: 'missing_scopes' });
    expect((error as Error).message).toContain('read:invoices, read');
  });

  it('throws too_old when the token is at least maxTokenAgeSeconds old', async () => {
    // Prepare
    const jwt = await token({ iatOffset: -120 });

    // Act & Assess
    expect(await reason(stytch.verifyToken(jwt, { maxTokenAgeSeconds: 120 }))).toBe('too_old');
    await expect(stytch.verifyToken(jwt, { maxTokenAgeSeconds: 121 })).resolves.toBeDefined();
  });

  it('returns the claims after one refetch when the kid is unknown and the server now serves it', async () => {
    // Prepare
    await stytch.verifyToken(await token());
    served = [keyA.jwk, keyB.jwk];
    nowMs += 31_000;

    // Act
    const verified = await stytch.verifyToken(await token({ key: keyB }));

    // Assess
    expect(verified.clientId).toBe('m2m-client-test-1');
    expect(jwksRequests()).toHaveLength(2);
  });

  it('throws unknown_kid without refetching within the cooldown, and refetches after it', async () => {
    // Prepare: the first fetch happened at START.
    await stytch.verifyToken(await token());
    const forged = await token({ key: keyB, kid: 'jwk-test-unknown' });

    // Act
    nowMs += 1_000;
    const first = await reason(stytch.verifyToken(forged));
    const second = await reason(stytch.verifyToken(forged));
    const requestsWithinCooldown = jwksRequests().length;
    nowMs += 30_000;
    const third = await reason(stytch.verifyToken(forged));
    const fourth = await reason(stytch.verifyToken(forged));

    // Assess
    expect([first, second, third, fourth]).toEqual([
      'unknown_kid',
      'unknown_kid',
      'unknown_kid',
      'unknown_kid',
    ]);
    expect(requestsWithinCooldown).toBe(1);
    expect(jwksRequests()).toHaveLength(2);
  });

  it('throws the retryable transport error, not a verification error, when the JWKS cannot be fetched', async () => {
    // Prepare
    fake.respond(() => stytchError(503, 'unavailable'));

    // Act
    const error = await stytch.verifyToken(await token()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchApiError);
    expect(error).toMatchObject({
      statusCode: 503,
      retryable: true,
      route: 'GET /v1/sessions/jwks/{project_id}',
    });
  });
});
