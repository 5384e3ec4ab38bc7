import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import {
  type CreateVerifierOptions,
  createVerifier,
  defaultJwksUrl,
  InsufficientScopeError,
  JwksUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenTooOldError,
  type Verifier,
  VerifierError,
} from '#verifier/index.js';
import {
  claimsOf,
  createClient,
  DocumentServer,
  document,
  type EmulatorClient,
  jwksUrlOf,
  startEmulator,
} from './support.js';

let emulator: StytchEmulator;
let documents: DocumentServer;
let billing: EmulatorClient;
const verifiers: Verifier[] = [];

beforeAll(async () => {
  [emulator, documents] = await Promise.all([startEmulator(), DocumentServer.start()]);
  documents.serve(document());
  billing = await createClient(emulator, 'm2m-client-test-billing', ['read:invoices', 'write:*']);
});

afterEach(() => {
  for (const verifier of verifiers.splice(0)) verifier.close();
});

afterAll(async () => {
  await Promise.all([emulator?.stop(), documents?.stop()]);
});

function verifierFor(options: Partial<CreateVerifierOptions> = {}): Verifier {
  const verifier = createVerifier({
    projectId: emulator.projectId,
    jwksUrl: jwksUrlOf(emulator),
    revocations: { url: documents.url },
    ...options,
  });
  verifiers.push(verifier);
  return verifier;
}

/** Runs `act` and returns what it threw. */
async function thrown(act: () => Promise<unknown>): Promise<unknown> {
  return act().then(
    () => 'no error',
    (error: unknown) => error,
  );
}

describe('Function: createVerifier', () => {
  it('accepts an emulator token and returns its client, scopes, times and claims', async () => {
    // Prepare
    const token = await billing.mint();
    const claims = claimsOf(token);

    // Act
    const verified = await verifierFor().verify(token, { requiredScopes: ['read:invoices'] });

    // Assess
    expect(verified).toEqual({
      clientId: 'm2m-client-test-billing',
      scopes: ['read:invoices', 'write:*'],
      issuedAt: new Date(claims.iat * 1000),
      expiresAt: new Date(claims.exp * 1000),
      claims: expect.objectContaining({
        sub: 'm2m-client-test-billing',
        iss: `stytch.com/${emulator.projectId}`,
      }),
    });
  });

  it('follows a signing key rollover: a token signed by a new kid refetches the JWKS', async () => {
    // Prepare
    const verifier = verifierFor({ jwks: { cooldownMs: 0 } });
    await verifier.verify(await billing.mint());
    const { kid } = emulator.rotateSigningKey();
    const token = await billing.mint();

    // Act
    const verified = await verifier.verify(token);

    // Assess
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).kid).toBe(kid);
    expect(verified.clientId).toBe(billing.clientId);
  });

  it('refuses a token of an unknown kid while the JWKS refetch cools down', async () => {
    // Prepare
    const verifier = verifierFor({ jwks: { cooldownMs: 3_600_000 } });
    await verifier.verify(await billing.mint());
    emulator.rotateSigningKey();

    // Act
    const error = await thrown(async () => verifier.verify(await billing.mint()));

    // Assess
    expect(error).toBeInstanceOf(TokenInvalidError);
    expect((error as Error).message).toBe(
      'The access token is invalid: no key of the JWKS matches the token',
    );
  });

  it.each([
    ['20 s before nbf, within the 30 s skew', -20, 'accepted'],
    ['40 s before nbf', -40, 'TokenNotYetValidError'],
    ['20 s after exp, within the skew', 3620, 'accepted'],
    ['40 s after exp', 3640, 'TokenExpiredError'],
  ])('applies the clock skew: %s', async (_case, offsetSeconds, expected) => {
    // Prepare
    const token = await billing.mint();
    const { iat } = claimsOf(token);
    // The document is read on the same clock: keep it fresh at the verifier's "now".
    const verifier = verifierFor({
      now: () => (iat + offsetSeconds) * 1000,
      revocations: { url: documents.url, maxStalenessMs: 10_000_000 },
    });

    // Act
    const outcome = await verifier.verify(token).then(
      () => 'accepted',
      (error: Error) => error.name,
    );

    // Assess
    expect(outcome).toBe(expected);
  });

  it('refuses exp and nbf exactly at the edge with no skew', async () => {
    // Prepare
    const token = await billing.mint();
    const { iat, exp } = claimsOf(token);
    const at = (seconds: number) =>
      verifierFor({
        clockSkewSeconds: 0,
        now: () => seconds * 1000,
        revocations: { url: documents.url, maxStalenessMs: 1e9 },
      });

    // Act
    const early = await thrown(() => at(iat - 1).verify(token));
    const late = await thrown(() => at(exp).verify(token));

    // Assess
    expect(early).toBeInstanceOf(TokenNotYetValidError);
    expect(late).toBeInstanceOf(TokenExpiredError);
  });

  it('refuses a token issued maxTokenAgeSeconds or more ago, as the Stytch SDKs do', async () => {
    // Prepare
    const token = await billing.mint();
    const { iat } = claimsOf(token);
    const aged = (max: number) =>
      verifierFor({
        maxTokenAgeSeconds: max,
        now: () => (iat + 100) * 1000,
        revocations: { url: documents.url, maxStalenessMs: 1e9 },
      });

    // Act
    const tooOld = await thrown(() => aged(100).verify(token));
    const young = await aged(101).verify(token);

    // Assess
    expect(tooOld).toBeInstanceOf(TokenTooOldError);
    expect((tooOld as TokenTooOldError).maxTokenAgeSeconds).toBe(100);
    expect(young.clientId).toBe(billing.clientId);
  });

  it("checks required scopes by Stytch's rule: `write:*` grants `write:invoices`, `read:invoices` not `read:users`", async () => {
    // Prepare
    const verifier = verifierFor();
    const token = await billing.mint();

    // Act
    const granted = await verifier.verify(token, { requiredScopes: ['write:invoices', 'read:invoices'] });
    const missing = await thrown(() =>
      verifier.verify(token, { requiredScopes: ['read:users', 'read:invoices'] }),
    );

    // Assess
    expect(granted.scopes).toEqual(['read:invoices', 'write:*']);
    expect(missing).toBeInstanceOf(InsufficientScopeError);
    expect(missing).toMatchObject({ clientId: billing.clientId, missingScopes: ['read:users'] });
  });

  it.each([
    ['another audience', { audience: 'project-test-other' }, 'the "aud" check failed'],
    ['another issuer', { issuer: 'stytch.com/project-test-other' }, 'the "iss" check failed'],
  ])('refuses a token for %s', async (_case, options, message) => {
    // Prepare
    const token = await billing.mint();

    // Act
    const error = await thrown(() => verifierFor(options).verify(token));

    // Assess
    expect(error).toBeInstanceOf(TokenInvalidError);
    expect((error as Error).message).toContain(message);
  });

  it('refuses a forged signature and a malformed token with TokenInvalidError, never quoting the token', async () => {
    // Prepare
    const verifier = verifierFor();
    const token = await billing.mint();
    const [header, payload, signature = ''] = token.split('.');
    const forged = `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;

    // Act
    const errors = [
      await thrown(() => verifier.verify(forged)),
      await thrown(() => verifier.verify('not-a-jwt')),
      await thrown(() => verifier.verify(`${header}.${payload}`)),
    ];

    // Assess
    expect(errors.map((error) => (error as Error).name)).toEqual([
      'TokenInvalidError',
      'TokenInvalidError',
      'TokenInvalidError',
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(VerifierError);
      const shown = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`;
      expect(shown).not.toContain(signature.slice(0, 16));
      expect(shown).not.toContain(payload);
    }
  });

  it('throws JwksUnavailableError (not an invalid token) when the JWKS cannot be fetched', async () => {
    // Prepare
    const token = await billing.mint();
    const verifier = verifierFor({ jwksUrl: `${emulator.url}/v1/sessions/jwks/project-test-nowhere` });

    // Act
    const error = await thrown(() => verifier.verify(token));

    // Assess
    expect(error).toBeInstanceOf(JwksUnavailableError);
    expect((error as JwksUnavailableError).retryable).toBe(true);
  });

  it("defaults to Stytch's JWKS URL for the project's environment", () => {
    // Act
    const urls = [defaultJwksUrl('project-test-1'), defaultJwksUrl('project-live-2')];

    // Assess
    expect(urls).toEqual([
      'https://test.stytch.com/v1/sessions/jwks/project-test-1',
      'https://api.stytch.com/v1/sessions/jwks/project-live-2',
    ]);
  });

  it('refuses options that would leave revocations unchecked or make no sense', () => {
    // Act
    const act = () =>
      createVerifier({
        projectId: '',
        revocations: { refreshIntervalMs: 0, onStale: 'open' as 'fail_closed' },
        clockSkewSeconds: -1,
      });

    // Assess
    expect(act).toThrow(
      "createVerifier: projectId is required; revocations.url or revocations.fetchDocument is required; revocations.refreshIntervalMs must be > 0; revocations.onStale must be 'fail_closed' or 'accept_without_revocations'; clockSkewSeconds must be >= 0",
    );
  });
});
