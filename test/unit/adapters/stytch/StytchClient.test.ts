import { generateKeyPair, SignJWT } from 'jose';
import { Agent, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StytchConfigError, StytchResponseValidationError } from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { USER_AGENT } from '#adapters/stytch/transport.js';
import type { FetchFunction } from '#adapters/stytch/types.js';
import { Secret } from '#core/secret.js';
import { FakeStytch, recordingSleep, wireM2MClient } from './fakeStytch.js';

const PROJECT_ID = 'project-test-client';
const NOW = Date.UTC(2030, 5, 1, 8, 0, 0);

async function jwtWithClaims(claims: Record<string, unknown>): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'k' }).sign(privateKey);
}

describe('Class: StytchClient', () => {
  let fake: FakeStytch;
  let stytch: StytchClient;

  beforeEach(async () => {
    fake = await FakeStytch.start();
    stytch = new StytchClient({
      projectId: PROJECT_ID,
      secret: 'project-secret-value',
      baseUrl: `${fake.url}/`,
      now: () => NOW,
      sleep: recordingSleep().sleep,
    });
  });

  afterEach(async () => {
    await stytch.close();
    await fake.stop();
  });

  describe('base URL', () => {
    it.each([
      ['project-live-abc', 'https://api.stytch.com'],
      ['project-test-abc', 'https://test.stytch.com'],
    ])('returns the SDK default base URL for %s', async (projectId, expected) => {
      // Act
      const client = new StytchClient({ projectId, secret: 's-e-c-r-e-t' });
      await client.close();

      // Assess
      expect(client.baseUrl).toBe(expected);
    });

    it('returns the override with its trailing slash trimmed, and sends requests there', async () => {
      // Prepare
      fake.enqueue({ json: { m2m_client: wireM2MClient() } });

      // Act
      await stytch.m2m.get('c');

      // Assess
      expect(stytch.baseUrl).toBe(fake.url);
      expect(fake.requests[0]?.url).toBe('/v1/m2m/clients/c');
    });
  });

  describe('construction', () => {
    it('throws StytchConfigError for invalid options', () => {
      // Act & Assess
      expect(() => new StytchClient({ projectId: '', secret: '' })).toThrow(StytchConfigError);
      expect(() => new StytchClient({ projectId: '', secret: '' })).toThrow(
        /projectId must be a non-empty string; secret must be a non-empty string or Secret/,
      );
    });

    it('sends through an injected fetch, which a closed client leaves usable by another', async () => {
      // Prepare: undici's own fetch over a dispatcher of the test's
      const dispatcher = new Agent();
      const sent: string[] = [];
      const viaAgent: FetchFunction = async (url, init) => {
        sent.push(`${init.method ?? 'GET'} ${new URL(url).pathname}`);
        return (await undiciFetch(url, { ...init, dispatcher } as UndiciRequestInit)) as unknown as Response;
      };
      const client = new StytchClient({
        projectId: PROJECT_ID,
        secret: 'project-secret',
        baseUrl: fake.url,
        fetch: viaAgent,
      });
      fake.enqueue({ json: { m2m_client: wireM2MClient() } }, { json: { m2m_client: wireM2MClient() } });

      // Act
      await client.m2m.get('a');
      await client.close();
      const stillUsable = await new StytchClient({
        projectId: PROJECT_ID,
        secret: 'x-secret',
        baseUrl: fake.url,
        fetch: viaAgent,
      }).m2m.get('b');

      // Assess
      expect(stillUsable.clientId).toBe('m2m-client-test-1');
      expect(sent).toEqual(['GET /v1/m2m/clients/a', 'GET /v1/m2m/clients/b']);
      expect(dispatcher.closed).toBe(false);
      await dispatcher.close();
    });

    it('returns without error from a second close()', async () => {
      // Act
      await stytch.close();

      // Assess
      await expect(stytch.close()).resolves.toBeUndefined();
    });
  });

  describe('token', () => {
    it('returns the token, sending a form body without any Authorization header', async () => {
      // Prepare
      const accessToken = await jwtWithClaims({ sub: 'client-1', scope: 'read:users write:users' });
      fake.enqueue({
        json: {
          access_token: accessToken,
          token_type: 'bearer',
          expires_in: 3600,
          request_id: 'r',
          status_code: 200,
        },
      });

      // Act
      const token = await stytch.token({
        clientId: 'client-1',
        clientSecret: new Secret('client secret&=+'),
        scopes: ['read:users', 'write:users'],
      });

      // Assess
      const request = fake.requests[0];
      expect(request).toMatchObject({ method: 'POST', url: `/v1/public/${PROJECT_ID}/oauth2/token` });
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(request?.headers['user-agent']).toBe(USER_AGENT);
      expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
        grant_type: 'client_credentials',
        client_id: 'client-1',
        client_secret: 'client secret&=+',
        scope: 'read:users write:users',
      });
      expect(token.accessToken).toBeInstanceOf(Secret);
      expect(token.accessToken.reveal()).toBe(accessToken);
      expect(token).toMatchObject({
        tokenType: 'bearer',
        expiresIn: 3600,
        scope: ['read:users', 'write:users'],
      });
      expect(token.expiresAt).toEqual(new Date(NOW + 3_600_000));
    });

    it.each([[undefined], [[]]])('omits scope from the form when scopes is %j', async (scopes) => {
      // Prepare
      const accessToken = await jwtWithClaims({ scope: '' });
      fake.enqueue({ json: { access_token: accessToken, token_type: 'bearer', expires_in: 60 } });

      // Act
      const token = await stytch.token({
        clientId: 'c',
        clientSecret: 'client-secret',
        ...(scopes ? { scopes } : {}),
      });

      // Assess
      expect(new URLSearchParams(fake.requests[0]?.body).has('scope')).toBe(false);
      expect(token.scope).toEqual([]);
    });

    it('throws a validation error when the access token is not a JWT', async () => {
      // Prepare
      fake.enqueue({ json: { access_token: 'opaque-token-value', token_type: 'bearer', expires_in: 60 } });

      // Act
      const error = await stytch
        .token({ clientId: 'c', clientSecret: 'client-secret' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchResponseValidationError);
      expect((error as StytchResponseValidationError).issues).toEqual(['access_token: malformed']);
    });

    it('throws a validation error when expires_in is missing', async () => {
      // Prepare
      fake.enqueue({ json: { access_token: await jwtWithClaims({ scope: 'a' }), token_type: 'bearer' } });

      // Act
      const error = await stytch
        .token({ clientId: 'c', clientSecret: 'client-secret' })
        .catch((e: unknown) => e);

      // Assess
      expect((error as StytchResponseValidationError).issues).toEqual(['expires_in: invalid_type']);
    });
  });
});
