import { inspect } from 'node:util';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StytchError } from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import type { StytchClientOptions } from '#adapters/stytch/types.js';
import { Secret } from '#core/secret.js';
import { FakeStytch, type Reply, recordingLogger, recordingSleep, wireM2MClient } from './fakeStytch.js';

const PROJECT_ID = 'project-test-leak';
const PROJECT_SECRET = 'LEAK-project-secret-5f3a9c0d';
const CLIENT_SECRET = 'LEAK-client-secret-77b1e0aa';
const NEXT_SECRET = 'LEAK-next-secret-c4d2aa91';
const OPAQUE_TOKEN = 'LEAK-opaque-access-token-0e9f';
const BASIC = Buffer.from(`${PROJECT_ID}:${PROJECT_SECRET}`).toString('base64');
const NOW = Date.UTC(2030, 0, 1);

/** An error reply that echoes every secret it can, as a hostile or buggy server might. */
function echoingError(status: number, ...values: string[]): Reply {
  const echo = values.join(' ');
  return {
    status,
    headers: { 'retry-after': '1' },
    json: {
      status_code: status,
      request_id: `req ${echo}`,
      error_type: `type ${echo}`,
      error_message: `msg ${echo}`,
    },
  };
}

function oauthEchoingError(status: number, ...values: string[]): Reply {
  const echo = values.join(' ');
  return {
    status,
    json: {
      status_code: status,
      request_id: `req ${echo}`,
      error: `err ${echo}`,
      error_description: `desc ${echo}`,
    },
  };
}

/** Every string reachable through enumerable properties and `cause`, recursively. */
function reachableStrings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const values: unknown[] = Object.keys(value).map((key) => (value as Record<string, unknown>)[key]);
  if (value instanceof Error) values.push(value.cause, value.message);
  return values.flatMap((v) => reachableStrings(v, seen));
}

describe('Secret hygiene of StytchClient failures', () => {
  let fake: FakeStytch;
  let accessToken: string;
  let signingJwk: JWK;
  const log = recordingLogger();
  const failures: { readonly label: string; readonly error: unknown }[] = [];
  const secrets: string[] = [PROJECT_SECRET, CLIENT_SECRET, NEXT_SECRET, OPAQUE_TOKEN, BASIC];

  function client(overrides: Partial<StytchClientOptions> = {}): StytchClient {
    return new StytchClient({
      projectId: PROJECT_ID,
      secret: new Secret(PROJECT_SECRET),
      baseUrl: overrides.baseUrl ?? fake.url,
      timeoutMs: 50,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      logger: log.logger,
      sleep: recordingSleep().sleep,
      now: () => NOW,
      ...overrides,
    });
  }

  async function fail(label: string, action: () => Promise<unknown>): Promise<void> {
    const error = await action().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, `${label} should fail`).toBeInstanceOf(StytchError);
    failures.push({ label, error });
  }

  beforeAll(async () => {
    fake = await FakeStytch.start();
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    signingJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const iat = Math.floor(NOW / 1000) - 7200;
    accessToken = await new SignJWT({
      sub: 'c',
      iss: `stytch.com/${PROJECT_ID}`,
      aud: [PROJECT_ID],
      scope: 'read:x',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'k1' })
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 3600)
      .sign(privateKey);
    secrets.push(accessToken);

    const stytch = client();
    // A server reflects what the request carried: the project credentials, and the client secret
    // on create and token calls.
    const echoProject = [PROJECT_SECRET, BASIC];
    const echoAll = [...echoProject, CLIENT_SECRET];

    // Management errors that echo the credentials.
    fake.enqueue(echoingError(401, ...echoProject));
    await fail('get 401 echoing', () => stytch.m2m.get('c'));
    fake.enqueue(echoingError(400, ...echoAll));
    await fail('create 400 echoing', () => stytch.m2m.create({ scopes: [], clientSecret: CLIENT_SECRET }));
    fake.enqueue(echoingError(429, ...echoProject), echoingError(429, ...echoProject));
    await fail('search 429 echoing, retried', () => stytch.m2m.search());
    fake.enqueue(echoingError(500, ...echoProject), echoingError(503, ...echoProject));
    await fail('rotateComplete 5xx echoing, retried', () => stytch.m2m.rotateComplete('c'));
    fake.enqueue(echoingError(503, ...echoAll), echoingError(400, ...echoAll));
    await fail('token 503 then 400 echoing', () =>
      stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }),
    );
    fake.enqueue({ status: 502, body: `<html>${PROJECT_SECRET} ${BASIC}</html>` }, { status: 502, body: '' });
    await fail('update non-JSON 502', () => stytch.m2m.update('c', { clientName: 'n' }));
    fake.enqueue(echoingError(400, 'public_connected_apps_do_not_have_secrets'));
    fake.enqueue({
      status: 400,
      json: { error_type: 'public_connected_apps_do_not_have_secrets', error_message: PROJECT_SECRET },
    });
    await fail('connected app 400', () => stytch.connectedApps.rotateStart('app'));
    await fail('connected app public', () => stytch.connectedApps.rotateStart('app'));

    // Transport failures while a client secret is in flight.
    fake.enqueue({ hang: true });
    await fail('create timeout', () =>
      stytch.m2m.create({ scopes: [], clientSecret: new Secret(CLIENT_SECRET) }),
    );
    fake.enqueue({ destroy: true });
    await fail('create reset', () => stytch.m2m.create({ scopes: [], clientSecret: CLIENT_SECRET }));
    fake.enqueue({ hang: true }, { hang: true });
    await fail('token timeout', () => stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }));
    fake.enqueue({ destroy: true }, { destroy: true });
    await fail('token reset', () => stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }));

    // Validation failures of bodies that hold secrets.
    fake.enqueue({
      json: { m2m_client: wireM2MClient({ client_secret: CLIENT_SECRET, status: CLIENT_SECRET }) },
    });
    await fail('create invalid body', () => stytch.m2m.create({ scopes: [] }));
    fake.enqueue({
      json: { m2m_client: wireM2MClient({ next_client_secret: NEXT_SECRET, scopes: NEXT_SECRET }) },
    });
    await fail('rotateStart invalid body', () => stytch.m2m.rotateStart('c'));
    fake.enqueue({
      json: {
        m2m_client: wireM2MClient({ next_client_secret: 42, client_secret_last_four: NEXT_SECRET.slice(-4) }),
      },
    });
    await fail('rotateStart wrong secret type', () => stytch.m2m.rotateStart('c'));
    fake.enqueue({
      json: { connected_app: { client_id: 'a', client_type: NEXT_SECRET, next_client_secret: NEXT_SECRET } },
    });
    await fail('connected app rotateStart invalid body', () => stytch.connectedApps.rotateStart('a2'));
    fake.enqueue({ json: { access_token: OPAQUE_TOKEN, token_type: 'bearer', expires_in: 3600 } });
    await fail('token opaque', () => stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }));
    fake.enqueue({ json: { access_token: accessToken, token_type: 'bearer', expires_in: OPAQUE_TOKEN } });
    await fail('token invalid body', () => stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }));
    fake.enqueue(oauthEchoingError(400, CLIENT_SECRET, PROJECT_SECRET));
    await fail('token invalid_client echoing', () =>
      stytch.token({ clientId: 'c', clientSecret: CLIENT_SECRET }),
    );

    // Verification failures of a real token.
    fake.respond(() => ({ json: { keys: [signingJwk] } }));
    await fail('verify expired', () => stytch.verifyToken(new Secret(accessToken)));
    await fail('verify too old', () =>
      stytch.verifyToken(accessToken, { clockToleranceSeconds: 99_999, maxTokenAgeSeconds: 1 }),
    );
    await fail('verify missing scope', () =>
      stytch.verifyToken(accessToken, { clockToleranceSeconds: 99_999, requiredScopes: ['write:x'] }),
    );
    const [header = '', payload = '', signature = ''] = accessToken.split('.');
    const tampered = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    await fail('verify bad signature', () => stytch.verifyToken(tampered, { clockToleranceSeconds: 99_999 }));
    secrets.push(tampered);
    await fail('verify malformed secret-looking token', () => stytch.verifyToken(OPAQUE_TOKEN));
    fake.respond(() => ({ json: { keys: [] } }));
    const other = client({ jwks: { refetchCooldownMs: 0 } });
    await fail('verify unknown kid', () => other.verifyToken(accessToken));
    fake.respond(() => echoingError(500, PROJECT_SECRET));
    const third = client();
    await fail('verify jwks 500', () => third.verifyToken(accessToken));

    // Connection refused, and bad options.
    const port = fake.port;
    await fake.stop();
    await fail('token refused', () =>
      client({ baseUrl: `http://127.0.0.1:${port}` }).token({ clientId: 'c', clientSecret: CLIENT_SECRET }),
    );
    await fail('config error', async () => client({ baseUrl: PROJECT_SECRET, timeoutMs: Number.NaN }));
    fake = await FakeStytch.start();
    await Promise.all([stytch.close(), other.close(), third.close()]);
  });

  afterAll(async () => {
    await fake.stop();
  });

  it('returns failures for every path driven', () => {
    // Assess
    expect(failures).toHaveLength(28);
    expect(log.lines.filter((line) => line.startsWith('warn')).length).toBeGreaterThanOrEqual(6);
  });

  it.each([
    ['message', (e: unknown) => (e as Error).message],
    ['JSON.stringify', (e: unknown) => JSON.stringify(e)],
    [
      'util.inspect with hidden fields and causes',
      (e: unknown) => inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    ],
    ['enumerable values and causes, recursively', (e: unknown) => reachableStrings(e).join('\n')],
  ])('returns no secret in any error %s', (_view, render) => {
    for (const { label, error } of failures) {
      const text = render(error);
      for (const secret of secrets) {
        expect(text.includes(secret), `${label} leaks ${secret.slice(0, 12)}…`).toBe(false);
      }
    }
  });

  it('returns no secret in any log line', () => {
    for (const line of log.lines) {
      for (const secret of secrets) {
        expect(line.includes(secret), `log line leaks ${secret.slice(0, 12)}…: ${line.slice(0, 60)}`).toBe(
          false,
        );
      }
    }
  });
});
