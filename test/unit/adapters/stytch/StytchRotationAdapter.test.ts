import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  StytchApiError,
  StytchClient,
  StytchConfigError,
  StytchNetworkError,
  StytchPublicClientError,
  StytchRateLimitedError,
} from '#adapters/stytch/index.js';
import { StytchRotationAdapter } from '#adapters/stytch/rotation.js';
import type { ClientRef } from '#core/ports.js';
import { AlreadyRotatingError, NotRotatingError, SelfTestFailedError } from '#core/rotationErrors.js';
import { Secret } from '#core/secret.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

describe('Class: StytchRotationAdapter (against the Stytch emulator)', () => {
  let emulator: StytchEmulator;
  let stytch: StytchClient;
  let adapter: StytchRotationAdapter;
  // Every secret value seen, and everything observable, for the leak check at the end.
  const secrets: string[] = [];
  const observed: unknown[] = [];

  // One simulated clock for the emulator, the client and the adapter: the adapter's consistency
  // grace passes in simulated time, and the emulator's consistency delays end by it.
  const clock = { ms: Date.now() };
  const now = (): number => clock.ms;
  const sleep = async (ms: number): Promise<void> => {
    clock.ms += ms;
  };

  beforeAll(async () => {
    emulator = await StytchEmulator.start({ now });
    stytch = new StytchClient({
      projectId: emulator.projectId,
      secret: emulator.projectSecret,
      baseUrl: emulator.url,
      // No waiting between retries: the emulator answers at once.
      sleep: async () => undefined,
      now,
    });
    adapter = new StytchRotationAdapter({ stytch, now, sleep });
  });

  afterAll(async () => {
    await stytch?.close();
    await emulator?.stop();
  });

  beforeEach(() => {
    emulator.faults.clear();
    emulator.modes.reset();
  });

  function remember(secret: Secret): Secret {
    secrets.push(secret.reveal());
    return secret;
  }

  async function failure(promise: Promise<unknown>): Promise<unknown> {
    const error = await promise.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    observed.push(error);
    return error;
  }

  async function m2mClient(): Promise<{ client: ClientRef; secret: Secret }> {
    const created = await stytch.m2m.create({ scopes: ['read:invoices'] });
    return {
      client: { clientId: created.client.clientId, kind: 'm2m' },
      secret: remember(created.clientSecret),
    };
  }

  async function connectedApp(clientType: 'first_party' | 'first_party_public'): Promise<ClientRef> {
    // StytchClient has no Connected App create (the rotator never creates them): raw HTTP.
    const response = await fetch(`${emulator.url}/v1/connected_apps/clients`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ client_type: clientType, client_name: `adapter ${clientType}` }),
    });
    const body = (await response.json()) as { connected_app: { client_id: string; client_secret?: string } };
    if (body.connected_app.client_secret !== undefined) secrets.push(body.connected_app.client_secret);
    return { clientId: body.connected_app.client_id, kind: 'connected_app' };
  }

  describe('m2m', () => {
    it('starts a rotation: the one-time next secret and both last-fours', async () => {
      // Prepare
      const { client, secret } = await m2mClient();

      // Act
      const { nextSecret, state } = await adapter.startRotation(client);
      remember(nextSecret);

      // Assess
      expect(nextSecret).toBeInstanceOf(Secret);
      expect(state).toEqual({ currentLastFour: secret.lastFour, nextLastFour: nextSecret.lastFour });
      expect(await adapter.getSecretState(client)).toEqual(state);
    });

    it('passes the self-test with the next secret, and both secrets authenticate while pending', async () => {
      // Prepare
      const { client, secret } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);

      // Act
      await adapter.selfTest(client, nextSecret);
      const old = await adapter.authenticates(client, secret);
      const next = await adapter.authenticates(client, nextSecret);

      // Assess
      expect([old, next]).toEqual([true, true]);
    });

    it('completes: the next secret is the only one that authenticates', async () => {
      // Prepare
      const { client, secret } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);

      // Act
      const state = await adapter.completeRotation(client);

      // Assess
      expect(state).toEqual({ currentLastFour: nextSecret.lastFour, nextLastFour: null });
      expect(await adapter.authenticates(client, secret)).toBe(false);
      expect(await adapter.authenticates(client, nextSecret)).toBe(true);
    });

    it('cancels: the next secret stops working, the current one stays', async () => {
      // Prepare
      const { client, secret } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);

      // Act
      const state = await adapter.cancelRotation(client);

      // Assess
      expect(state).toEqual({ currentLastFour: secret.lastFour, nextLastFour: null });
      expect(await adapter.authenticates(client, secret)).toBe(true);
      expect(await adapter.authenticates(client, nextSecret)).toBe(false);
    });

    it('turns "already rotating" into AlreadyRotatingError, keeping the Stytch error as cause', async () => {
      // Prepare
      const { client } = await m2mClient();
      remember((await adapter.startRotation(client)).nextSecret);

      // Act
      const error = await failure(adapter.startRotation(client));

      // Assess
      expect(error).toBeInstanceOf(AlreadyRotatingError);
      expect(error).toMatchObject({ name: 'AlreadyRotatingError', retryable: false });
      expect((error as Error).cause).toBeInstanceOf(StytchApiError);
      expect((error as Error).cause).toMatchObject({ errorType: 'm2m_client_already_rotating_secret' });
    });

    it.each(['completeRotation', 'cancelRotation'] as const)(
      'turns "not rotating" from %s into NotRotatingError',
      async (method) => {
        // Prepare
        const { client } = await m2mClient();

        // Act
        const error = await failure(adapter[method](client));

        // Assess
        expect(error).toBeInstanceOf(NotRotatingError);
        expect((error as Error).cause).toMatchObject({ errorType: 'm2m_client_not_rotating_secret' });
      },
    );

    it('fails the self-test (permanent, with cause) for a secret Stytch rejects', async () => {
      // Prepare
      const { client } = await m2mClient();
      remember((await adapter.startRotation(client)).nextSecret);
      const wrong = remember(new Secret('LEAK-wrong-secret-0000-zzzz'));

      // Act
      const error = await failure(adapter.selfTest(client, wrong));

      // Assess
      expect(error).toBeInstanceOf(SelfTestFailedError);
      expect(error).toMatchObject({ retryable: false });
      expect((error as Error).message).toContain('…zzzz');
      expect((error as Error).cause).toMatchObject({ errorType: 'invalid_client' });
    });

    it('lets a transient token failure through unchanged, so the step retries instead of cancelling', async () => {
      // Prepare
      const { client } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);
      emulator.faults.failNext('oauth2.token', { status: 503, count: 5 });

      // Act
      const error = await failure(adapter.selfTest(client, nextSecret));

      // Assess
      expect(error).toBeInstanceOf(StytchApiError);
      expect(error).not.toBeInstanceOf(SelfTestFailedError);
      expect(error).toMatchObject({ statusCode: 503, retryable: true });
    });

    it('passes other Stytch errors through unchanged (they already carry retryable)', async () => {
      // Prepare
      const { client } = await m2mClient();
      emulator.faults.failNext('m2m.secrets.rotateStart', { status: 429, count: 5 });
      emulator.faults.dropResponseNext('m2m.secrets.rotate');

      // Act
      const limited = await failure(adapter.startRotation(client));
      const dropped = await failure(adapter.completeRotation(client));
      const missing = await failure(
        adapter.getSecretState({ clientId: 'm2m-client-test-nobody', kind: 'm2m' }),
      );

      // Assess
      expect(limited).toBeInstanceOf(StytchRateLimitedError);
      expect(limited).toMatchObject({ retryable: true });
      expect(dropped).toBeInstanceOf(StytchNetworkError);
      expect(dropped).toMatchObject({ outcomeUnknown: true });
      expect(missing).toBeInstanceOf(StytchApiError);
      expect(missing).toMatchObject({ statusCode: 404, retryable: false });
    });

    it('rethrows from authenticates anything but a client-authentication refusal', async () => {
      // Prepare
      const { client, secret } = await m2mClient();
      emulator.faults.failNext('oauth2.token', { status: 500, count: 5 });

      // Act
      const error = await failure(adapter.authenticates(client, secret));

      // Assess
      expect(error).toMatchObject({ statusCode: 500, retryable: true });
    });
  });

  describe('m2m, against a token endpoint that lags or refuses differently', () => {
    /** The statuses the token endpoint answered for `client`, in order. */
    function tokenStatuses(client: ClientRef): number[] {
      return emulator
        .requestLog()
        .filter((entry) => entry.route === 'oauth2.token' && entry.clientId === client.clientId)
        .map((entry) => entry.status);
    }

    it('self-tests a next secret the token endpoint sees late: re-checks until it authenticates', async () => {
      // Prepare
      emulator.modes.set({ consistencyDelay: { startMs: 2_000 } });
      const { client } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);

      // Act
      await adapter.selfTest(client, nextSecret);

      // Assess
      const statuses = tokenStatuses(client);
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.slice(0, -1).length).toBeGreaterThan(0);
      expect(new Set(statuses.slice(0, -1))).toEqual(new Set([400]));
    });

    it('fails the self-test once the grace is over when the next secret is still refused', async () => {
      // Prepare
      emulator.modes.set({ consistencyDelay: { startMs: 60_000 } });
      const impatient = new StytchRotationAdapter({ stytch, now, sleep, consistencyGraceMs: 1_000 });
      const { client } = await m2mClient();
      const { nextSecret } = await impatient.startRotation(client);
      remember(nextSecret);
      const startedAt = clock.ms;

      // Act
      const error = await failure(impatient.selfTest(client, nextSecret));

      // Assess
      expect(error).toBeInstanceOf(SelfTestFailedError);
      expect((error as Error).cause).toMatchObject({ statusCode: 400, errorType: 'invalid_client' });
      expect(clock.ms - startedAt).toBe(1_000);
      expect(tokenStatuses(client).length).toBeGreaterThan(1);
    });

    it('proves the old secret dead once the token endpoint catches up with the completion', async () => {
      // Prepare
      emulator.modes.set({ consistencyDelay: { completeMs: 3_000 } });
      const { client, secret } = await m2mClient();
      remember((await adapter.startRotation(client)).nextSecret);
      await adapter.completeRotation(client);

      // Act
      const alive = await adapter.authenticates(client, secret);

      // Assess
      expect(alive).toBe(false);
      const statuses = tokenStatuses(client);
      expect(statuses.at(-1)).toBe(400);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    });

    it('answers true only when the old secret still authenticates at the end of the grace', async () => {
      // Prepare
      emulator.modes.set({ consistencyDelay: { completeMs: 60_000 } });
      const impatient = new StytchRotationAdapter({ stytch, now, sleep, consistencyGraceMs: 2_000 });
      const { client, secret } = await m2mClient();
      remember((await impatient.startRotation(client)).nextSecret);
      await impatient.completeRotation(client);
      const startedAt = clock.ms;

      // Act
      const alive = await impatient.authenticates(client, secret);

      // Assess
      expect(alive).toBe(true);
      expect(clock.ms - startedAt).toBe(2_000);
      expect(new Set(tokenStatuses(client))).toEqual(new Set([200]));
    });

    it('answers false at once on a refusal, with a single token request', async () => {
      // Prepare
      const { client } = await m2mClient();
      const startedAt = clock.ms;

      // Act
      const alive = await adapter.authenticates(client, remember(new Secret('LEAK-never-issued-0000-aaaa')));

      // Assess
      expect(alive).toBe(false);
      expect(tokenStatuses(client)).toEqual([400]);
      expect(clock.ms).toBe(startedAt);
    });

    it.each([
      ['invalid_client', 401],
      ['unauthorized_client', 400],
      ['unauthorized_client', 401],
      ['invalid_grant', 400],
      ['invalid_grant', 401],
      ['access_denied', 400],
      ['access_denied', 401],
    ] as const)('counts %s with HTTP %i as a refusal', async (error, status) => {
      // Prepare
      emulator.modes.set({ tokenRefusal: { error, status } });
      const { client, secret } = await m2mClient();
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);
      await adapter.completeRotation(client);
      const wrong = remember(new Secret('LEAK-never-issued-0000-bbbb'));

      // Act
      const oldAlive = await adapter.authenticates(client, secret);
      const selfTest = await failure(adapter.selfTest(client, wrong));

      // Assess
      expect(oldAlive).toBe(false);
      expect(selfTest).toBeInstanceOf(SelfTestFailedError);
      expect((selfTest as Error).cause).toMatchObject({ statusCode: status, errorType: error });
    });

    it('does not count another OAuth error as a refusal: authenticates rethrows it', async () => {
      // Prepare
      emulator.modes.set({ tokenRefusal: { error: 'invalid_request', status: 400 } });
      const { client } = await m2mClient();

      // Act
      const error = await failure(
        adapter.authenticates(client, remember(new Secret('LEAK-never-issued-0000-cccc'))),
      );

      // Assess
      expect(error).toBeInstanceOf(StytchApiError);
      expect(error).toMatchObject({ statusCode: 400, errorType: 'invalid_request', retryable: false });
    });

    it.each([
      [503, 'server_unavailable'],
      [500, 'internal_server_error'],
    ])('does not count a %i as a refusal: it stays retryable', async (status) => {
      // Prepare
      const { client, secret } = await m2mClient();
      emulator.faults.failNext('oauth2.token', { status, count: 10 });

      // Act
      const authenticates = await failure(adapter.authenticates(client, secret));
      const selfTest = await failure(adapter.selfTest(client, secret));

      // Assess
      for (const error of [authenticates, selfTest]) {
        expect(error).toBeInstanceOf(StytchApiError);
        expect(error).not.toBeInstanceOf(SelfTestFailedError);
        expect(error).toMatchObject({ statusCode: status, retryable: true });
      }
    });

    it('does not count a 429 as a refusal: it stays retryable and is marked throttled', async () => {
      // Prepare
      const { client, secret } = await m2mClient();
      emulator.modes.set({ fixedWindowRateLimit: { token: { requests: 0, windowMs: 60_000 } } });

      // Act
      const authenticates = await failure(adapter.authenticates(client, secret));
      const selfTest = await failure(adapter.selfTest(client, secret));

      // Assess
      for (const error of [authenticates, selfTest]) {
        expect(error).toBeInstanceOf(StytchRateLimitedError);
        expect(error).toMatchObject({
          statusCode: 429,
          retryable: true,
          throttled: true,
          retryAfterMs: null,
        });
      }
    });

    it('refuses a negative grace', () => {
      // Act
      const build = () => new StytchRotationAdapter({ stytch, consistencyGraceMs: -1 });

      // Assess
      expect(build).toThrow(StytchConfigError);
    });
  });

  describe('connected_app', () => {
    it('starts, cancels and completes through connectedApps', async () => {
      // Prepare
      const client = await connectedApp('first_party');
      const before = await adapter.getSecretState(client);

      // Act
      const first = await adapter.startRotation(client);
      remember(first.nextSecret);
      const cancelled = await adapter.cancelRotation(client);
      const second = await adapter.startRotation(client);
      remember(second.nextSecret);
      const completed = await adapter.completeRotation(client);

      // Assess
      expect(first.state).toEqual({
        currentLastFour: before.currentLastFour,
        nextLastFour: first.nextSecret.lastFour,
      });
      expect(cancelled).toEqual({ currentLastFour: before.currentLastFour, nextLastFour: null });
      expect(completed).toEqual({ currentLastFour: second.nextSecret.lastFour, nextLastFour: null });
    });

    it('translates the Connected App rotation-state errors', async () => {
      // Prepare
      const client = await connectedApp('first_party');

      // Act
      const notRotating = await failure(adapter.completeRotation(client));
      remember((await adapter.startRotation(client)).nextSecret);
      const already = await failure(adapter.startRotation(client));

      // Assess
      expect(notRotating).toBeInstanceOf(NotRotatingError);
      expect((notRotating as Error).cause).toMatchObject({ errorType: 'connected_app_not_rotating_secret' });
      expect(already).toBeInstanceOf(AlreadyRotatingError);
      expect((already as Error).cause).toMatchObject({ errorType: 'connected_app_already_rotating_secret' });
    });

    it('self-tests by last four (no client-credentials endpoint for Connected Apps)', async () => {
      // Prepare
      const client = await connectedApp('first_party');
      const { nextSecret } = await adapter.startRotation(client);
      remember(nextSecret);
      const wrong = remember(new Secret(`LEAK-other-app-secret-${nextSecret.lastFour}x`));

      // Act
      await adapter.selfTest(client, nextSecret);
      const error = await failure(adapter.selfTest(client, wrong));

      // Assess
      expect(error).toBeInstanceOf(SelfTestFailedError);
      expect((error as Error).cause).toBeDefined();
      expect(await adapter.authenticates(client, nextSecret)).toBe(true);
      expect(await adapter.authenticates(client, wrong)).toBe(false);
    });

    it('refuses a public app, which has no secret, with the permanent public-client error', async () => {
      // Prepare
      const client = await connectedApp('first_party_public');

      // Act
      const state = await failure(adapter.getSecretState(client));
      const start = await failure(adapter.startRotation(client));

      // Assess
      expect(state).toBeInstanceOf(StytchPublicClientError);
      expect(start).toBeInstanceOf(StytchPublicClientError);
      expect(start).toMatchObject({ retryable: false });
    });
  });

  it('never lets a secret value into an error', () => {
    // Assess
    expect(secrets.length).toBeGreaterThan(10);
    expect(observed.length).toBeGreaterThan(10);
    for (const value of observed) {
      const text = `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(value)} ${String(value)}`;
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
