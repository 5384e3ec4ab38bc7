import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StytchEmulator, StytchEmulatorError } from '#sandbox/stytch-emulator/index.js';

// Wire-level behaviour the official Node SDK test does not reach: what the Go and Python SDKs send,
// error shapes, validation, and lifecycle. Plain fetch against a loopback emulator.

const NOW = Date.parse('2030-01-01T00:00:00Z');

let emulator: StytchEmulator;

beforeAll(async () => {
  emulator = await StytchEmulator.start({ now: () => NOW });
});

afterAll(async () => {
  await emulator.stop();
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function projectAuth(): string {
  return `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`;
}

async function send(
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const auth = init.auth === undefined ? projectAuth() : init.auth;
  if (auth !== null) headers.authorization = auth;
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function json(method: string, path: string, body: unknown): Promise<Answer> {
  return send(method, path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

async function createClient(scopes = ['read:users', 'write:users']): Promise<{ id: string; secret: string }> {
  const answer = await json('POST', '/v1/m2m/clients', { scopes });
  const client = answer.body.m2m_client as { client_id: string; client_secret: string };
  return { id: client.client_id, secret: client.client_secret };
}

function tokenPath(projectId = emulator.projectId): string {
  return `/v1/public/${projectId}/oauth2/token`;
}

function form(fields: Record<string, string>, auth: string | null = null): Promise<Answer> {
  return send('POST', tokenPath(), {
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    auth,
  });
}

async function clientCount(): Promise<number> {
  const answer = await json('POST', '/v1/m2m/clients/search', {});
  return (answer.body.results_metadata as { total: number }).total;
}

describe('Class: StytchEmulator (token endpoint)', () => {
  it('issues RS256 tokens with exactly Stytch claims on the emulator clock', async () => {
    // Prepare
    const client = await createClient();

    // Act
    const answer = await form({
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: client.secret,
    });

    // Assess
    expect(answer.status).toBe(200);
    const token = String(answer.body.access_token);
    const iat = NOW / 1000;
    expect(decodeProtectedHeader(token)).toEqual({
      alg: 'RS256',
      typ: 'JWT',
      kid: expect.stringMatching(/^jwk-test-/),
    });
    expect(decodeJwt(token)).toEqual({
      sub: client.id,
      iss: `stytch.com/${emulator.projectId}`,
      aud: [emulator.projectId],
      scope: 'read:users write:users',
      iat,
      nbf: iat,
      exp: iat + 3600,
    });
  });

  it('accepts a JSON body with the project Basic header, as the Python SDK sends it, and scope "" as all scopes', async () => {
    // Prepare
    const client = await createClient();

    // Act
    const answer = await send('POST', tokenPath(), {
      body: JSON.stringify({
        client_id: client.id,
        client_secret: client.secret,
        grant_type: 'client_credentials',
        scope: '',
      }),
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(decodeJwt(String(answer.body.access_token)).scope).toBe('read:users write:users');
  });

  it('accepts client credentials in a Basic header', async () => {
    // Prepare
    const client = await createClient();
    const auth = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

    // Act
    const answer = await form({ grant_type: 'client_credentials', scope: 'write:users write:users' }, auth);

    // Assess
    expect(answer.status).toBe(200);
    expect(decodeJwt(String(answer.body.access_token)).scope).toBe('write:users');
  });

  it.each([
    ['no grant_type', {}, 'invalid_request'],
    ['another grant_type', { grant_type: 'authorization_code' }, 'unsupported_grant_type'],
    ['no client credentials', { grant_type: 'client_credentials' }, 'invalid_client'],
    ['a client_id without a secret', { grant_type: 'client_credentials', client_id: 'x' }, 'invalid_request'],
  ])('answers %s with 400 %s in the OAuth2 shape', async (_name, fields, error) => {
    // Act
    const answer = await form(fields);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      status_code: 400,
      request_id: expect.stringMatching(/^request-id-test-/),
      error,
      error_description: expect.any(String),
      error_uri: expect.any(String),
    });
  });

  it('answers invalid JSON and another project path with OAuth2 errors', async () => {
    // Prepare
    const client = await createClient();

    // Act
    const badJson = await send('POST', tokenPath(), {
      body: '{not json',
      headers: { 'content-type': 'application/json' },
      auth: null,
    });
    const otherProject = await send('POST', tokenPath('project-test-other'), {
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: client.secret,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      auth: null,
    });

    // Assess
    expect(badJson.body.error).toBe('invalid_request');
    expect(otherProject.body.error).toBe('invalid_client');
  });
});

describe('Class: StytchEmulator (management routes)', () => {
  it('tolerates what the Go and Python SDKs send: client_id in bodies and queries, no body on rotate and delete', async () => {
    // Prepare
    const client = await createClient();

    // Act
    const get = await send('GET', `/v1/m2m/clients/${client.id}?client_id=${client.id}`);
    const update = await json('PUT', `/v1/m2m/clients/${client.id}`, {
      client_id: client.id,
      client_name: 'go',
    });
    const start = await send('POST', `/v1/m2m/clients/${client.id}/secrets/rotate/start`);
    const cancel = await json('POST', `/v1/m2m/clients/${client.id}/secrets/rotate/cancel`, {
      client_id: client.id,
    });
    const remove = await send('DELETE', `/v1/m2m/clients/${client.id}`);

    // Assess
    expect([get.status, update.status, start.status, cancel.status, remove.status]).toEqual([
      200, 200, 200, 200, 200,
    ]);
    expect((update.body.m2m_client as { client_name: string }).client_name).toBe('go');
  });

  it.each([
    ['a body that is not JSON', '{"scopes": [', 'bad_request'],
    ['a JSON array', '[]', 'bad_request'],
    ['no scopes', '{}', 'bad_request'],
    ['scopes that are not strings', '{"scopes": [1]}', 'invalid_m2m_client_scope'],
    ['a scope with whitespace', '{"scopes": ["read users"]}', 'invalid_m2m_client_scope'],
    ['a short custom secret', '{"scopes": [], "client_secret": "short"}', 'm2m_client_invalid_client_secret'],
    ['a non-string name', '{"scopes": [], "client_name": 5}', 'm2m_client_invalid_client_name'],
    ['metadata that is not an object', '{"scopes": [], "trusted_metadata": []}', 'metadata_invalid_format'],
  ])('refuses a create with %s (400 %s) and creates nothing', async (_name, body, errorType) => {
    // Prepare
    const before = await clientCount();

    // Act
    const answer = await send('POST', '/v1/m2m/clients', {
      body,
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_type).toBe(errorType);
    expect(answer.body).not.toHaveProperty('error');
    expect(await clientCount()).toBe(before);
  });

  it('refuses a duplicate custom client_id', async () => {
    // Prepare
    await json('POST', '/v1/m2m/clients', { scopes: [], client_id: 'custom-client-1' });

    // Act
    const answer = await json('POST', '/v1/m2m/clients', { scopes: [], client_id: 'custom-client-1' });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error_type).toBe('duplicate_m2m_client_id');
  });

  it('changes nothing when an update has one invalid field', async () => {
    // Prepare
    const client = await createClient();

    // Act
    const answer = await json('PUT', `/v1/m2m/clients/${client.id}`, {
      client_name: 'changed',
      status: 'paused',
    });
    const after = await send('GET', `/v1/m2m/clients/${client.id}`);

    // Assess
    expect(answer.body.error_type).toBe('invalid_m2m_client_status');
    expect((after.body.m2m_client as { client_name: string }).client_name).toBe('');
  });

  it('answers unknown routes with 404 route_not_found and wrong methods with 405 method_not_allowed', async () => {
    // Act
    const unknown = await send('GET', '/v1/m2m/unknown');
    const wrongMethod = await send('PATCH', '/v1/m2m/clients/abc');

    // Assess
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_type).toBe('route_not_found');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error_type).toBe('method_not_allowed');
    expect(emulator.requestLog().at(-1)).toMatchObject({ route: null, status: 405 });
  });

  it('refuses a missing or malformed Authorization header with 401 unauthorized_credentials', async () => {
    // Act
    const none = await send('POST', '/v1/m2m/clients/search', { body: '{}', auth: null });
    const bearer = await send('POST', '/v1/m2m/clients/search', { body: '{}', auth: 'Bearer abc' });
    const wrongProject = await send('POST', '/v1/m2m/clients/search', {
      body: '{}',
      auth: `Basic ${Buffer.from(`project-test-other:${emulator.projectSecret}`).toString('base64')}`,
    });

    // Assess
    for (const answer of [none, bearer, wrongProject]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        status_code: 401,
        request_id: expect.any(String),
        error_type: 'unauthorized_credentials',
        error_message: 'Unauthorized credentials.',
        error_url: 'https://stytch.com/docs/api/errors/401',
      });
    }
  });
});

describe('Class: StytchEmulator (JWKS)', () => {
  it('serves the keys without authentication at the consumer and B2B paths', async () => {
    // Act
    const consumer = await send('GET', `/v1/sessions/jwks/${emulator.projectId}`, { auth: null });
    const b2b = await send('GET', `/v1/b2b/sessions/jwks/${emulator.projectId}`, { auth: null });
    const other = await send('GET', '/v1/sessions/jwks/project-test-other', { auth: null });

    // Assess
    expect(consumer.status).toBe(200);
    expect(consumer.body).toEqual({
      request_id: expect.any(String),
      keys: [
        {
          kty: 'RSA',
          use: 'sig',
          key_ops: ['verify'],
          alg: 'RS256',
          kid: expect.stringMatching(/^jwk-test-/),
          n: expect.any(String),
          e: 'AQAB',
        },
      ],
      status_code: 200,
    });
    expect(b2b.body.keys).toEqual(consumer.body.keys);
    expect(other.status).toBe(404);
  });
});

describe('Class: StytchEmulator (lifecycle)', () => {
  it('rejects invalid options before listening', async () => {
    // Act
    const error = await StytchEmulator.start({ projectId: 'my-project', port: 70_000 }).catch(
      (reason: unknown) => reason,
    );

    // Assess
    expect(error).toBeInstanceOf(StytchEmulatorError);
    expect((error as StytchEmulatorError).code).toBe('invalid_option');
    expect((error as Error).message).toMatch(/port.*projectId|projectId.*port/);
  });

  it('reports a port in use as port_in_use', async () => {
    // Act
    const port = Number(new URL(emulator.url).port);
    const error = await StytchEmulator.start({ port }).catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(StytchEmulatorError);
    expect((error as StytchEmulatorError).code).toBe('port_in_use');
  });

  it('uses live ids for a live project, and stop closes kept-alive sockets and can be called twice', async () => {
    // Prepare
    const live = await StytchEmulator.start({
      projectId: 'project-live-1234',
      projectSecret: 'secret-live-x',
    });
    const auth = `Basic ${Buffer.from('project-live-1234:secret-live-x').toString('base64')}`;
    const created = await fetch(`${live.url}/v1/m2m/clients`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', connection: 'keep-alive' },
      body: '{"scopes":[]}',
    });
    const body = (await created.json()) as { request_id: string; m2m_client: { client_id: string } };

    // Act
    await Promise.all([live.stop(), live.stop()]);
    const afterStop = await fetch(`${live.url}/v1/m2m/clients/search`, { method: 'POST' }).catch(
      (reason: unknown) => reason,
    );

    // Assess
    expect(body.request_id).toMatch(/^request-id-live-/);
    expect(body.m2m_client.client_id).toMatch(/^m2m-client-live-/);
    expect(afterStop).toBeInstanceOf(Error);
  });
});

describe('Class: StytchEmulator (modes)', () => {
  const clock = { ms: NOW };
  let moded: StytchEmulator;

  beforeAll(async () => {
    moded = await StytchEmulator.start({
      now: () => clock.ms,
      modes: { tokenRefusal: { error: 'unauthorized_client', status: 401 } },
    });
  });

  afterAll(async () => {
    await moded.stop();
  });

  function modedAuth(): string {
    return `Basic ${Buffer.from(`${moded.projectId}:${moded.projectSecret}`).toString('base64')}`;
  }

  async function call(method: string, path: string, body?: unknown): Promise<Answer & { headers: Headers }> {
    const response = await fetch(`${moded.url}${path}`, {
      method,
      headers: { authorization: modedAuth(), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  async function mint(clientId: string, clientSecret: string): Promise<Answer & { headers: Headers }> {
    const response = await fetch(`${moded.url}/v1/public/${moded.projectId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  async function newClient(): Promise<{ id: string; secret: string }> {
    const answer = await call('POST', '/v1/m2m/clients', { scopes: [] });
    const client = answer.body.m2m_client as { client_id: string; client_secret: string };
    return { id: client.client_id, secret: client.client_secret };
  }

  it('answers a wrong secret with the OAuth error and status given at start', async () => {
    // Prepare
    const client = await newClient();

    // Act
    const refused = await mint(client.id, `${client.secret}x`);
    const unknown = await mint('m2m-client-test-nobody', client.secret);

    // Assess
    for (const answer of [refused, unknown]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ status_code: 401, error: 'unauthorized_client' });
      expect(answer.body.error_type).toBeUndefined();
    }
    expect((await mint(client.id, client.secret)).status).toBe(200);
  });

  it('shows a rotation to management reads at once and to the token endpoint after the delay', async () => {
    // Prepare
    moded.modes.set({ consistencyDelay: { startMs: 1_000, completeMs: 2_000 } });
    const client = await newClient();

    // Act
    const started = await call('POST', `/v1/m2m/clients/${client.id}/secrets/rotate/start`);
    const next = (started.body.m2m_client as { next_client_secret: string }).next_client_secret;
    const readAtOnce = await call('GET', `/v1/m2m/clients/${client.id}`);
    const nextEarly = await mint(client.id, next);
    clock.ms += 1_000;
    const nextOnTime = await mint(client.id, next);
    await call('POST', `/v1/m2m/clients/${client.id}/secrets/rotate`);
    const oldEarly = await mint(client.id, client.secret);
    clock.ms += 2_000;
    const oldOnTime = await mint(client.id, client.secret);
    moded.modes.set({ consistencyDelay: null });

    // Assess
    expect(
      (readAtOnce.body.m2m_client as { next_client_secret_last_four: string }).next_client_secret_last_four,
    ).toBe(next.slice(-4));
    expect([nextEarly.status, nextOnTime.status]).toEqual([401, 200]);
    expect([oldEarly.status, oldOnTime.status]).toEqual([200, 401]);
  });

  it('throttles by fixed window with 429 too_many_requests and no Retry-After, in each route shape', async () => {
    // Prepare
    clock.ms = NOW; // a window boundary for both limits
    const client = await newClient();
    moded.modes.set({
      fixedWindowRateLimit: {
        management: { requests: 1, windowMs: 10_000 },
        token: { requests: 1, windowMs: 10_000 },
      },
    });
    moded.faults.clear(); // faults are not modes: the limit stays
    moded.clearRequestLog();

    // Act
    const management = [
      await call('GET', `/v1/m2m/clients/${client.id}`),
      await call('GET', `/v1/m2m/clients/${client.id}`),
    ];
    const token = [await mint(client.id, client.secret), await mint(client.id, client.secret)];
    clock.ms += 10_000;
    const nextWindow = await call('GET', `/v1/m2m/clients/${client.id}`);
    moded.modes.set({ fixedWindowRateLimit: null });

    // Assess
    expect(management.map((answer) => answer.status)).toEqual([200, 429]);
    expect(management[1]?.body).toMatchObject({ status_code: 429, error_type: 'too_many_requests' });
    expect(token.map((answer) => answer.status)).toEqual([200, 429]);
    expect(token[1]?.body).toMatchObject({ status_code: 429, error: 'too_many_requests' });
    expect(management[1]?.headers.get('retry-after')).toBeNull();
    expect(token[1]?.headers.get('retry-after')).toBeNull();
    expect(nextWindow.status).toBe(200);
    expect(moded.requestLog().filter((entry) => entry.fault === 'rate_limited')).toHaveLength(2);
  });

  it('serves the modes through the admin API and names a refused field', async () => {
    // Act
    const put = await call('PUT', '/__emulator/modes', { consistencyDelay: { cancelMs: 250 } });
    const got = await call('GET', '/__emulator/modes');
    const typo = await call('PUT', '/__emulator/modes', { consistencyDelays: {} });
    const bad = await call('PUT', '/__emulator/modes', {
      tokenRefusal: { error: 'invalid_client', status: 500 },
    });
    const reset = await call('DELETE', '/__emulator/modes');

    // Assess
    expect(put.status).toBe(200);
    expect(got.body.modes).toMatchObject({
      consistencyDelay: { startMs: 0, completeMs: 0, cancelMs: 250 },
      tokenRefusal: { error: 'unauthorized_client', status: 401 },
    });
    expect(typo).toMatchObject({ status: 400, body: { error_type: 'bad_request' } });
    expect(typo.body.error_message).toContain('consistencyDelays');
    expect(bad).toMatchObject({ status: 400, body: { error_type: 'bad_request' } });
    expect(bad.body.error_message).toContain('tokenRefusal.status');
    expect(reset.body.modes).toEqual({
      fixedWindowRateLimit: null,
      consistencyDelay: { startMs: 0, completeMs: 0, cancelMs: 0 },
      tokenRefusal: { error: 'invalid_client', status: 400 },
    });
  });

  it('refuses invalid modes at start, naming the field', async () => {
    // Act
    const start = StytchEmulator.start({ modes: { consistencyDelay: { startMs: -5 } } });

    // Assess
    await expect(start).rejects.toThrow(StytchEmulatorError);
    await expect(start).rejects.toMatchObject({
      code: 'invalid_option',
      message: expect.stringContaining('consistencyDelay.startMs'),
    });
  });
});
