import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StytchEmulator, type StytchEmulatorOptions } from '#sandbox/stytch-emulator/index.js';

// Fault injection through plain HTTP, driven by the admin API (the same operations as the
// in-process FaultInjector), as a test of the rotator's HTTP client would use it.

interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, unknown>;
}

const running: StytchEmulator[] = [];

async function start(options: StytchEmulatorOptions = {}): Promise<StytchEmulator> {
  const emulator = await StytchEmulator.start(options);
  running.push(emulator);
  return emulator;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

function basic(emulator: StytchEmulator): string {
  return `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`;
}

/** One JSON call with project Basic auth (or none), answered as status, headers and parsed body. */
async function call(
  emulator: StytchEmulator,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { readonly body?: unknown; readonly auth?: boolean; readonly form?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.auth !== false) headers.authorization = basic(emulator);
  let body: string | undefined;
  if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await request(`${emulator.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

async function createClient(emulator: StytchEmulator): Promise<{ clientId: string; clientSecret: string }> {
  const answer = await call(emulator, 'POST', '/v1/m2m/clients', { body: { scopes: ['read:users'] } });
  const client = answer.body.m2m_client as { client_id: string; client_secret: string };
  return { clientId: client.client_id, clientSecret: client.client_secret };
}

async function getClient(emulator: StytchEmulator, clientId: string): Promise<Record<string, unknown>> {
  const answer = await call(emulator, 'GET', `/v1/m2m/clients/${clientId}`);
  return answer.body.m2m_client as Record<string, unknown>;
}

describe('Stytch emulator faults: failNext', () => {
  it('answers before anything is committed, then serves normally', async () => {
    // Prepare
    const emulator = await start();
    const { clientId } = await createClient(emulator);
    const armed = await call(emulator, 'POST', '/__emulator/faults/fail-next', {
      body: { route: 'm2m.secrets.rotateStart', status: 503 },
    });

    // Act
    const failed = await call(emulator, 'POST', `/v1/m2m/clients/${clientId}/secrets/rotate/start`, {
      body: {},
    });
    const afterFailure = await getClient(emulator, clientId);
    const retried = await call(emulator, 'POST', `/v1/m2m/clients/${clientId}/secrets/rotate/start`, {
      body: {},
    });

    // Assess
    expect(armed.status).toBe(200);
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({
      status_code: 503,
      request_id: expect.stringMatching(/^request-id-test-/),
      error_type: 'server_unavailable',
      error_message: expect.any(String),
      error_url: 'https://stytch.com/docs/api/errors/503',
    });
    expect(afterFailure.next_client_secret_last_four).toBeNull();
    expect(retried.status).toBe(200);
    expect(emulator.requestLog().find((entry) => entry.status === 503)).toMatchObject({
      route: 'm2m.secrets.rotateStart',
      fault: 'error',
      errorType: 'server_unavailable',
      clientId,
    });
  });

  it('creates nothing when a create is failed, and uses the given error type', async () => {
    // Prepare
    const emulator = await start();
    emulator.faults.failNext('m2m.clients.create', {
      status: 400,
      errorType: 'too_many_m2m_clients_for_billing_tier',
    });

    // Act
    const failed = await call(emulator, 'POST', '/v1/m2m/clients', { body: { scopes: ['read:users'] } });
    const search = await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} });

    // Assess
    expect(failed.status).toBe(400);
    expect(failed.body.error_type).toBe('too_many_m2m_clients_for_billing_tier');
    expect(search.body.results_metadata).toEqual({ total: 0, next_cursor: null });
  });

  it('answers the token endpoint in the OAuth2 error shape', async () => {
    // Prepare
    const emulator = await start();
    const { clientId, clientSecret } = await createClient(emulator);
    emulator.faults.failNext('oauth2.token', { status: 500 });

    // Act
    const failed = await call(emulator, 'POST', `/v1/public/${emulator.projectId}/oauth2/token`, {
      auth: false,
      form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
    });

    // Assess
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({
      status_code: 500,
      request_id: expect.any(String),
      error: 'internal_server_error',
      error_description: expect.any(String),
      error_uri: 'https://stytch.com/docs/api/errors/500',
    });
  });
});

describe('Stytch emulator faults: dropResponseNext', () => {
  it('commits the change, then resets the connection without an answer', async () => {
    // Prepare
    const emulator = await start();
    const { clientId } = await createClient(emulator);
    await call(emulator, 'POST', '/__emulator/faults/drop-response-next', {
      body: { route: 'm2m.secrets.rotateStart' },
    });

    // Act
    const dropped = await call(emulator, 'POST', `/v1/m2m/clients/${clientId}/secrets/rotate/start`, {
      body: {},
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const afterDrop = await getClient(emulator, clientId);
    const again = await call(emulator, 'POST', `/v1/m2m/clients/${clientId}/secrets/rotate/start`, {
      body: {},
    });

    // Assess: the caller saw a socket error, but the rotation had started at "Stytch".
    expect(dropped).toBeInstanceOf(Error);
    expect(String((dropped as Error & { code?: string }).code ?? (dropped as Error).message)).toMatch(
      /ECONNRESET|UND_ERR_SOCKET|other side closed|socket/i,
    );
    expect(afterDrop.next_client_secret_last_four).toEqual(expect.any(String));
    expect(again.status).toBe(400);
    expect(again.body.error_type).toBe('m2m_client_already_rotating_secret');
    expect(emulator.requestLog().find((entry) => entry.fault === 'dropped')).toMatchObject({
      route: 'm2m.secrets.rotateStart',
      status: 0,
      clientId,
    });
  });
});

describe('Stytch emulator faults: random errors', () => {
  async function outcomes(seed: number): Promise<number[]> {
    const emulator = await start({ seed });
    const { clientId } = await createClient(emulator);
    await call(emulator, 'PUT', '/__emulator/faults/routes/m2m.clients.get', {
      body: { errorRate: 0.5, status: 502 },
    });
    const statuses: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      statuses.push((await call(emulator, 'GET', `/v1/m2m/clients/${clientId}`)).status);
    }
    return statuses;
  }

  it('gives the same outcome sequence for the same seed, and another for another seed', async () => {
    // Act
    const first = await outcomes(42);
    const second = await outcomes(42);
    const other = await outcomes(43);

    // Assess
    expect(first).toEqual(second);
    expect(first).not.toEqual(other);
    expect(new Set(first)).toEqual(new Set([200, 502]));
  });
});

describe('Stytch emulator faults: rate limit', () => {
  it('answers excess requests with 429 too_many_requests and an integer Retry-After, on the emulator clock', async () => {
    // Prepare
    let now = Date.parse('2030-01-01T00:00:00Z');
    const emulator = await start({ now: () => now });
    await call(emulator, 'PUT', '/__emulator/faults/rate-limit', {
      body: { requestsPerSecond: 1, burst: 2 },
    });

    // Act
    const burst = [
      await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} }),
      await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} }),
      await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} }),
    ];
    const token = await call(emulator, 'POST', `/v1/public/${emulator.projectId}/oauth2/token`, {
      auth: false,
      form: { grant_type: 'client_credentials' },
    });
    now += 1000;
    const refilled = await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} });

    // Assess
    expect(burst.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(burst[2]?.headers['retry-after']).toBe('1');
    expect(burst[2]?.body).toMatchObject({
      status_code: 429,
      error_type: 'too_many_requests',
      error_message: 'Too many requests have been made.',
    });
    expect(token.status).toBe(429);
    expect(token.body.error).toBe('too_many_requests');
    expect(refilled.status).toBe(200);
    expect(emulator.requestLog().filter((entry) => entry.fault === 'rate_limited')).toHaveLength(2);
  });
});

describe('Stytch emulator faults: delays and latency', () => {
  it('holds a committed answer past a client timeout', async () => {
    // Prepare
    const emulator = await start();
    const { clientId } = await createClient(emulator);
    await call(emulator, 'POST', '/__emulator/faults/delay-next', {
      body: { route: 'm2m.secrets.rotateStart', ms: 5000 },
    });

    // Act
    const timedOut = await request(`${emulator.url}/v1/m2m/clients/${clientId}/secrets/rotate/start`, {
      method: 'POST',
      headers: { authorization: basic(emulator), 'content-type': 'application/json' },
      body: '{}',
      headersTimeout: 100,
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const afterTimeout = await getClient(emulator, clientId);

    // Assess
    expect(timedOut).toBeInstanceOf(Error);
    expect((timedOut as Error & { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(afterTimeout.next_client_secret_last_four).toEqual(expect.any(String));
  });

  it('adds route latency and records it', async () => {
    // Prepare
    const emulator = await start();
    emulator.faults.setRouteFault('jwks', { latencyMs: 150 });

    // Act
    const answer = await call(emulator, 'GET', `/v1/sessions/jwks/${emulator.projectId}`, { auth: false });

    // Assess
    expect(answer.status).toBe(200);
    const [entry] = emulator.requestLog();
    expect(entry).toMatchObject({ route: 'jwks', fault: 'latency', status: 200 });
    // A lower bound only: the answer waited at least the configured latency.
    expect(entry?.durationMs).toBeGreaterThanOrEqual(145);
  });
});

describe('Stytch emulator faults: clear and the admin API', () => {
  let emulator: StytchEmulator;

  beforeEach(async () => {
    emulator = await start();
  });

  it('restores normal service on clear', async () => {
    // Prepare
    await call(emulator, 'PUT', '/__emulator/faults/routes/*', { body: { errorRate: 1 } });
    const failing = await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} });

    // Act
    const cleared = await call(emulator, 'DELETE', '/__emulator/faults');
    const served = await call(emulator, 'POST', '/v1/m2m/clients/search', { body: {} });

    // Assess
    expect(failing.status).toBe(503);
    expect(cleared.body.faults).toEqual({
      seed: 1,
      routes: {},
      rateLimit: null,
      failNext: [],
      dropResponseNext: [],
      delayNext: [],
    });
    expect(served.status).toBe(200);
  });

  it('reports the fault configuration with remaining one-shot counts', async () => {
    // Prepare
    emulator.faults.failNext('m2m.clients.get', { count: 2 });
    await call(emulator, 'GET', '/v1/m2m/clients/anything');

    // Act
    const snapshot = await call(emulator, 'GET', '/__emulator/faults');

    // Assess
    expect(snapshot.body.faults).toMatchObject({
      failNext: [{ route: 'm2m.clients.get', status: 503, errorType: null, remaining: 1 }],
    });
  });

  it('requires project Basic auth', async () => {
    // Act
    const answer = await call(emulator, 'GET', '/__emulator/health', { auth: false });

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body.error_type).toBe('unauthorized_credentials');
  });

  it('answers health, refuses invalid settings with 400, and serves and clears the request log', async () => {
    // Act
    const health = await call(emulator, 'GET', '/__emulator/health');
    const badRoute = await call(emulator, 'POST', '/__emulator/faults/fail-next', {
      body: { route: 'nope' },
    });
    const badRate = await call(emulator, 'PUT', '/__emulator/faults/routes/jwks', { body: { errorRate: 2 } });
    await call(emulator, 'GET', `/v1/sessions/jwks/${emulator.projectId}`, { auth: false });
    const log = await call(emulator, 'GET', '/__emulator/requests');
    const cleared = await call(emulator, 'DELETE', '/__emulator/requests');

    // Assess
    expect(health.body).toMatchObject({ status: 'ok', project_id: emulator.projectId, status_code: 200 });
    expect(badRoute.status).toBe(400);
    expect(badRoute.body.error_type).toBe('bad_request');
    expect(badRate.status).toBe(400);
    expect(badRate.body.error_message).toMatch(/errorRate/);
    expect(log.body.requests).toEqual([
      expect.objectContaining({ route: 'jwks', status: 200, method: 'GET' }),
    ]);
    expect(cleared.status).toBe(200);
    expect(emulator.requestLog()).toEqual([]);
  });

  it('rotates the signing key, keeping or retiring the previous one', async () => {
    // Prepare
    const jwks = async () =>
      (
        (await call(emulator, 'GET', `/v1/sessions/jwks/${emulator.projectId}`, { auth: false })).body
          .keys as {
          kid: string;
        }[]
      ).map((key) => key.kid);
    const [original] = await jwks();

    // Act
    const kept = await call(emulator, 'POST', '/__emulator/signing-keys/rotate', { body: {} });
    const afterKeep = await jwks();
    const retired = await call(emulator, 'POST', '/__emulator/signing-keys/rotate', {
      body: { retirePrevious: true },
    });
    const afterRetire = await jwks();

    // Assess
    expect(afterKeep).toEqual([original, kept.body.kid]);
    expect(afterRetire).toEqual([retired.body.kid]);
  });
});
