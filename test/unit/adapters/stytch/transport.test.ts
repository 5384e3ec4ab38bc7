import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  StytchApiError,
  StytchNetworkError,
  StytchRateLimitedError,
  StytchTimeoutError,
} from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import type { StytchClientOptions } from '#adapters/stytch/types.js';
import { FakeStytch, recordingLogger, recordingSleep, stytchError, wireM2MClient } from './fakeStytch.js';

const PROJECT_ID = 'project-test-transport';
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const okClient = { json: { m2m_client: wireM2MClient() } };
const okRotateStart = { json: { m2m_client: wireM2MClient({ next_client_secret: 'next-secret-1234' }) } };

describe('Class: Transport', () => {
  let fake: FakeStytch;
  let stytch: StytchClient;
  let sleeper: ReturnType<typeof recordingSleep>;
  let log: ReturnType<typeof recordingLogger>;

  function client(overrides: Partial<StytchClientOptions> = {}): StytchClient {
    return new StytchClient({
      projectId: PROJECT_ID,
      secret: 'project-secret',
      // Read lazily: some tests stop the fake to get a refused port.
      baseUrl: overrides.baseUrl ?? fake.url,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 10_000 },
      random: () => 0.5,
      sleep: sleeper.sleep,
      now: () => NOW,
      logger: log.logger,
      ...overrides,
    });
  }

  beforeEach(async () => {
    fake = await FakeStytch.start();
    sleeper = recordingSleep();
    log = recordingLogger();
    stytch = client();
  });

  afterEach(async () => {
    await stytch.close();
    await fake.stop();
  });

  describe('error mapping', () => {
    it('returns a StytchApiError with the fields of a standard error body', async () => {
      // Prepare
      fake.enqueue(stytchError(404, 'm2m_client_not_found', 'The m2m client requested could not be found.'));

      // Act
      const error = await stytch.m2m.get('missing').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchApiError);
      expect(error).toMatchObject({
        name: 'StytchApiError',
        statusCode: 404,
        errorType: 'm2m_client_not_found',
        requestId: 'request-id-test-err',
        route: 'GET /v1/m2m/clients/{client_id}',
        retryable: false,
      });
      expect((error as Error).message).toBe(
        'Stytch GET /v1/m2m/clients/{client_id} failed with HTTP 404 m2m_client_not_found: ' +
          'The m2m client requested could not be found. (request_id request-id-test-err)',
      );
    });

    it('returns a StytchApiError with errorType from an OAuth error body', async () => {
      // Prepare
      fake.enqueue({
        status: 400,
        json: {
          status_code: 400,
          request_id: 'req-1',
          error: 'invalid_client',
          error_description: 'bad creds',
          error_uri: 'u',
        },
      });

      // Act
      const error = await stytch
        .token({ clientId: 'c', clientSecret: 'client-secret-value' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchApiError);
      expect(error).toMatchObject({
        statusCode: 400,
        errorType: 'invalid_client',
        requestId: 'req-1',
        retryable: false,
      });
      expect((error as Error).message).toContain('bad creds');
      expect(fake.requests).toHaveLength(1);
    });

    it('returns a retryable StytchApiError for a non-JSON 5xx, without its body', async () => {
      // Prepare
      fake.enqueue(...Array.from({ length: 3 }, () => ({ status: 502, body: '<html>bad gateway</html>' })));

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({
        statusCode: 502,
        errorType: 'unknown_error',
        requestId: null,
        retryable: true,
      });
      expect((error as Error).message).toContain('non-JSON error response');
      expect((error as Error).message).not.toContain('bad gateway');
    });
  });

  describe('retries', () => {
    it('retries 5xx with full-jitter exponential backoff from the injected random', async () => {
      // Prepare
      stytch = client({ retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 }, random: () => 0.9 });
      fake.enqueue(
        stytchError(500, 'internal_server_error'),
        stytchError(503, 'x'),
        stytchError(500, 'y'),
        okClient,
      );

      // Act
      const result = await stytch.m2m.get('x');

      // Assess: 0.9·min(250, 100·2^(n-1)) for n = 1, 2, 3
      expect(result.clientId).toBe('m2m-client-test-1');
      expect(fake.requests).toHaveLength(4);
      expect(sleeper.delays).toEqual([90, 180, 225]);
    });

    it('throws the last 5xx after maxAttempts', async () => {
      // Prepare
      fake.respond(() => stytchError(500, 'internal_server_error'));

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ statusCode: 500, retryable: true });
      expect(fake.requests).toHaveLength(3);
      expect(sleeper.delays).toEqual([50, 100]);
    });

    it('retries 5xx on a non-idempotent route (rotateStart): the server answered, so nothing was lost', async () => {
      // Prepare
      fake.enqueue(stytchError(503, 'unavailable'), okRotateStart);

      // Act
      const started = await stytch.m2m.rotateStart('x');

      // Assess
      expect(started.nextClientSecret.reveal()).toBe('next-secret-1234');
      expect(fake.requests).toHaveLength(2);
    });

    it.each([400, 401, 404, 409])('fails fast on a permanent %i: exactly one request', async (status) => {
      // Prepare
      fake.respond(() => stytchError(status, 'permanent'));

      // Act
      const error = await stytch.m2m.rotateComplete('x').catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ statusCode: status, retryable: false });
      expect(fake.requests).toHaveLength(1);
      expect(sleeper.delays).toEqual([]);
    });

    it('waits the Retry-After seconds of a 429 when they exceed the backoff', async () => {
      // Prepare
      fake.enqueue({ ...stytchError(429, 'too_many_requests'), headers: { 'retry-after': '3' } }, okClient);

      // Act
      await stytch.m2m.get('x');

      // Assess
      expect(sleeper.delays).toEqual([3_000]);
      expect(fake.requests).toHaveLength(2);
    });

    it('waits until the HTTP-date of a Retry-After, measured on the injected clock', async () => {
      // Prepare
      const retryAt = new Date(NOW + 7_000).toUTCString();
      fake.enqueue(
        { ...stytchError(429, 'too_many_requests'), headers: { 'retry-after': retryAt } },
        okClient,
      );

      // Act
      await stytch.m2m.get('x');

      // Assess
      expect(sleeper.delays).toEqual([7_000]);
    });

    it('uses the backoff when it is longer than Retry-After, and backoff alone without the header', async () => {
      // Prepare
      stytch = client({ random: () => 0.99, retry: { baseDelayMs: 1_000, maxDelayMs: 4_000 } });
      fake.enqueue(
        { ...stytchError(429, 'too_many_requests'), headers: { 'retry-after': '0' } },
        stytchError(429, 'too_many_requests'),
        okClient,
      );

      // Act
      await stytch.m2m.get('x');

      // Assess
      expect(sleeper.delays).toEqual([990, 1_980]);
    });

    it('throws the 429 at once when Retry-After exceeds maxRetryAfterMs', async () => {
      // Prepare
      fake.enqueue({ ...stytchError(429, 'too_many_requests'), headers: { 'retry-after': '11' } }, okClient);

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchRateLimitedError);
      expect(error).toMatchObject({ statusCode: 429, retryAfterMs: 11_000, retryable: true });
      expect(sleeper.delays).toEqual([]);
      expect(fake.requests).toHaveLength(1);
    });

    it('throws the last 429 with retryAfterMs after maxAttempts', async () => {
      // Prepare
      fake.respond(() => ({ ...stytchError(429, 'too_many_requests'), headers: { 'retry-after': '1' } }));

      // Act
      const error = await stytch.m2m.rotateStart('x').catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ name: 'StytchRateLimitedError', retryAfterMs: 1_000 });
      expect(fake.requests).toHaveLength(3);
      expect(sleeper.delays).toEqual([1_000, 1_000]);
    });

    it('logs each retry with route, attempt, status and delay', async () => {
      // Prepare
      fake.enqueue(stytchError(503, 'unavailable'), okClient);

      // Act
      await stytch.m2m.get('x');

      // Assess
      const warns = log.lines.filter((line) => line.startsWith('warn'));
      expect(warns).toHaveLength(1);
      expect(JSON.parse(warns[0]?.replace(/^warn [^{]*/, '') ?? '{}')).toEqual({
        route: 'GET /v1/m2m/clients/{client_id}',
        attempt: 1,
        maxAttempts: 3,
        delayMs: 50,
        error: 'StytchApiError',
        statusCode: 503,
        errorType: 'unavailable',
      });
    });
  });

  describe('timeouts', () => {
    beforeEach(() => {
      stytch = client({ timeoutMs: 50 });
    });

    it('throws StytchTimeoutError after retrying a GET that never answers', async () => {
      // Prepare
      fake.respond(() => ({ hang: true }));

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchTimeoutError);
      expect(error).toMatchObject({ retryable: true, outcomeUnknown: true, attempts: 3 });
      expect(fake.requests).toHaveLength(3);
    });

    it('returns the answer when a GET times out once and then succeeds', async () => {
      // Prepare
      fake.enqueue({ hang: true }, okClient);

      // Act
      const result = await stytch.m2m.get('x');

      // Assess
      expect(result.clientId).toBe('m2m-client-test-1');
      expect(fake.requests).toHaveLength(2);
    });

    it('does not retry a timed-out rotateStart and marks the outcome unknown', async () => {
      // Prepare
      fake.enqueue({ hang: true }, okRotateStart);

      // Act
      const error = await stytch.m2m.rotateStart('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchTimeoutError);
      expect(error).toMatchObject({ retryable: true, outcomeUnknown: true, attempts: 1 });
      expect(fake.requests).toHaveLength(1);
      expect(sleeper.delays).toEqual([]);
    });
  });

  describe('connection failures', () => {
    it('does not retry rotateStart after a reset following the request', async () => {
      // Prepare
      fake.enqueue({ destroy: true }, okRotateStart);

      // Act
      const error = await stytch.m2m.rotateStart('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchNetworkError);
      expect(error).toMatchObject({ retryable: true, outcomeUnknown: true, attempts: 1 });
      expect(fake.requests).toHaveLength(1);
    });

    it.each(['create', 'rotateComplete', 'rotateCancel'] as const)(
      'does not retry %s after a reset following the request',
      async (operation) => {
        // Prepare
        fake.enqueue({ destroy: true });

        // Act
        const error =
          operation === 'create'
            ? await stytch.m2m.create({ scopes: [] }).catch((e: unknown) => e)
            : await stytch.m2m[operation]('x').catch((e: unknown) => e);

        // Assess
        expect(error).toMatchObject({ name: 'StytchNetworkError', outcomeUnknown: true });
        expect(fake.requests).toHaveLength(1);
      },
    );

    it('retries a get after a reset following the request', async () => {
      // Prepare
      fake.enqueue({ destroy: true }, okClient);

      // Act
      const result = await stytch.m2m.get('x');

      // Assess
      expect(result.clientId).toBe('m2m-client-test-1');
      expect(fake.requests).toHaveLength(2);
      expect(sleeper.delays).toHaveLength(1);
    });

    it('retries a refused connection, even for rotateStart, since nothing was sent', async () => {
      // Prepare: free a port, and bring a server up on it only during the first backoff.
      const port = fake.port;
      await fake.stop();
      stytch = client({
        baseUrl: `http://127.0.0.1:${port}`,
        sleep: async (ms) => {
          sleeper.delays.push(ms);
          fake = await FakeStytch.start(port);
          fake.enqueue(okRotateStart);
        },
      });

      // Act
      const started = await stytch.m2m.rotateStart('x');

      // Assess
      expect(started.nextClientSecret.reveal()).toBe('next-secret-1234');
      expect(sleeper.delays).toHaveLength(1);
      expect(fake.requests).toHaveLength(1);
      expect(log.lines.some((line) => line.includes('"code":"ECONNREFUSED"'))).toBe(true);
    });

    it('throws a StytchNetworkError with outcomeUnknown false when the connection stays refused', async () => {
      // Prepare
      const port = fake.port;
      await fake.stop();
      stytch = client({ baseUrl: `http://127.0.0.1:${port}` });

      // Act
      const error = await stytch.m2m.create({ scopes: [] }).catch((e: unknown) => e);
      fake = await FakeStytch.start();

      // Assess
      expect(error).toBeInstanceOf(StytchNetworkError);
      expect(error).toMatchObject({
        code: 'ECONNREFUSED',
        outcomeUnknown: false,
        retryable: true,
        attempts: 3,
      });
      expect(sleeper.delays).toHaveLength(2);
    });

    it('throws a non-retryable StytchNetworkError after close()', async () => {
      // Prepare
      await stytch.close();

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchNetworkError);
      expect(error).toMatchObject({ retryable: false, outcomeUnknown: false });
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('beforeRequest (a shared rate budget)', () => {
    it('is awaited before every attempt of a management call, with its group', async () => {
      // Prepare
      const calls: string[] = [];
      stytch = client({
        beforeRequest: async ({ route, group }) => {
          calls.push(`${group} ${route} (sent so far: ${fake.requests.length})`);
        },
      });
      fake.enqueue(stytchError(503, 'unavailable'), okClient);

      // Act
      await stytch.m2m.get('x');

      // Assess
      expect(calls).toEqual([
        'management GET /v1/m2m/clients/{client_id} (sent so far: 0)',
        'management GET /v1/m2m/clients/{client_id} (sent so far: 1)',
      ]);
    });

    it('counts the token endpoint in its own group and leaves the JWKS out', async () => {
      // Prepare
      const groups: string[] = [];
      stytch = client({ beforeRequest: async ({ group }) => void groups.push(group) });
      fake.enqueue({ json: { access_token: 'a.b.c', token_type: 'bearer', expires_in: 3600 } });

      // Act
      await stytch.token({ clientId: 'c', clientSecret: 'client-secret' }).catch(() => undefined);

      // Assess
      expect(groups).toEqual(['token']);
    });

    it('ends the call with what it throws, unchanged, before anything is sent', async () => {
      // Prepare
      const spent = new Error('budget spent');
      stytch = client({
        beforeRequest: async () => {
          throw spent;
        },
      });
      fake.enqueue(okClient);

      // Act
      const error = await stytch.m2m.get('x').catch((e: unknown) => e);

      // Assess
      expect(error).toBe(spent);
      expect(fake.requests).toHaveLength(0);
    });
  });
});
